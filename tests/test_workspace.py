from __future__ import annotations

from pathlib import Path

from seedbed.settings import load_settings
from seedbed.workspace import Workspace


def test_open_creates_layout_and_settings_file(tmp_path: Path) -> None:
    root = tmp_path / "new"
    with Workspace.open(load_settings(workspace=root, port=9999)) as workspace:
        for folder in ("artifacts", "notebooks", "features", "lib", ".seedbed"):
            assert (root / folder).is_dir()
        assert (root / "metadata.db").is_file()
        text = (root / "seedbed.toml").read_text()
        assert "docs/settings.md" in text and "9999" not in text  # arguments are not saved
        assert workspace.artifacts.url.startswith("file://")


def test_reopen_keeps_existing_settings_file(tmp_path: Path) -> None:
    (tmp_path / "seedbed.toml").write_text("port = 7000\n")
    with Workspace.open(load_settings(workspace=tmp_path)) as workspace:
        assert workspace.settings.port == 7000
    assert (tmp_path / "seedbed.toml").read_text() == "port = 7000\n"


def test_custom_locations_from_settings(tmp_path: Path) -> None:
    settings = load_settings(
        workspace=tmp_path / "ws",
        database_url=f"sqlite:///{tmp_path / 'meta.db'}",
        artifact_url=(tmp_path / "store").as_uri(),
        warehouse_path=tmp_path / "wh.duckdb",
    )
    with Workspace.open(settings) as workspace:
        workspace.warehouse.query("create table t as select 1 as a")
        workspace.artifacts.put_bytes("x.txt", b"x")
    assert (tmp_path / "meta.db").is_file()
    assert (tmp_path / "wh.duckdb").is_file()
    assert (tmp_path / "store" / "x.txt").read_bytes() == b"x"
