from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.errors import Invalid
from seedbed.settings import load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(workspace=tmp_path)
    assert settings.host == "127.0.0.1"
    assert settings.port == 8765
    assert settings.database_url is None


def test_precedence_arguments_over_environment_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seedbed.toml").write_text('port = 9001\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    settings = load_settings(workspace=tmp_path)
    assert (settings.port, settings.host, settings.log_level) == (9001, "0.0.0.0", "debug")

    monkeypatch.setenv("SEEDBED_PORT", "9002")
    monkeypatch.setenv("SEEDBED_ALLOWED_HOSTS", '["ws.example.org"]')
    settings = load_settings(workspace=tmp_path)
    assert settings.port == 9002
    assert settings.host == "0.0.0.0"
    assert settings.allowed_hosts == ["ws.example.org"]

    assert load_settings(workspace=tmp_path, port=9003).port == 9003


def test_workspace_from_environment_selects_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seedbed.toml").write_text("port = 9100\n")
    monkeypatch.setenv("SEEDBED_WORKSPACE", str(tmp_path))
    settings = load_settings()
    assert settings.workspace == tmp_path
    assert settings.port == 9100


def test_unknown_key_in_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "seedbed.toml").write_text("prot = 1\n")
    with pytest.raises(Invalid, match="prot"):
        load_settings(workspace=tmp_path)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "seedbed.toml").write_text("port = = 1\n")
    with pytest.raises(Invalid, match=r"seedbed\.toml"):
        load_settings(workspace=tmp_path)


@pytest.mark.parametrize("value", [-1, 70000])
def test_port_out_of_range(tmp_path: Path, value: int) -> None:
    with pytest.raises(Invalid, match="port"):
        load_settings(workspace=tmp_path, port=value)


def test_log_level_checked(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="log_level"):
        load_settings(workspace=tmp_path, log_level="loud")
