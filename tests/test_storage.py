from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.errors import Invalid, NotFound
from seedbed.storage import ArtifactStore


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore((tmp_path / "artifacts").as_uri())


def test_put_and_read_bytes(store: ArtifactStore) -> None:
    store.put_bytes("runs/a/file.txt", b"hello")
    assert store.get_bytes("runs/a/file.txt") == b"hello"
    assert store.exists("runs/a/file.txt")
    assert store.list("runs") == ["a/file.txt"]


def test_writes_leave_no_temporary_files(store: ArtifactStore, tmp_path: Path) -> None:
    store.put_bytes("a.bin", b"1")
    store.put_bytes("a.bin", b"2")
    assert store.get_bytes("a.bin") == b"2"
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == ["a.bin"]


def test_put_dir_and_download_dir(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model"
    (source / "sub").mkdir(parents=True)
    (source / "MLmodel").write_text("flavors: {}")
    (source / "sub" / "w.bin").write_bytes(b"\x00\x01")
    keys = store.put_dir(source, "runs/r1/artifacts/model")
    assert keys == ["runs/r1/artifacts/model/MLmodel", "runs/r1/artifacts/model/sub/w.bin"]
    copy = store.download_dir("runs/r1/artifacts/model", tmp_path / "copy")
    assert (copy / "sub" / "w.bin").read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "", ".", "a\\b"])
def test_keys_cannot_leave_the_store(store: ArtifactStore, key: str) -> None:
    with pytest.raises(Invalid):
        store.put_bytes(key, b"x")


def test_missing_artifact(store: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        store.get_bytes("nothing/here")
    assert store.list("nothing") == []
