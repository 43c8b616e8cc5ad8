"""The artifact store: files addressed by relative keys over any fsspec filesystem."""

from __future__ import annotations

import posixpath
import uuid
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs

from seedbed.errors import Invalid, NotFound


class ArtifactStore:
    """Keys are relative POSIX paths ("runs/<id>/artifacts/model/MLmodel"); writes are atomic."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        fs, root = url_to_fs(self.url)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, key: str) -> str:
        """The store-native path of `key`, after checking it stays inside the store."""
        normal = posixpath.normpath(key.strip())
        if not key or normal.startswith(("/", "..")) or normal == "." or "\\" in key:
            raise Invalid(f"Artifact path {key!r} must be relative and stay inside the store.")
        return f"{self.root}/{normal}"

    def uri(self, key: str) -> str:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{self.path(key)}"

    def local_path(self, key: str) -> Path | None:
        """A path on this machine for `key` when the store is a local folder, else None."""
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return Path(self.path(key)) if protocol in ("file", "local") else None

    def delete(self, key: str) -> None:
        path = self.path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self.path(key)))

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key`: to a temporary name first, then moved into place."""
        target = self.path(key)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        temporary = f"{target}.tmp-{uuid.uuid4().hex}"
        with self.fs.open(temporary, "wb") as handle:
            handle.write(data)
        self.fs.mv(temporary, target)

    def put_file(self, local: Path, key: str) -> None:
        target = self.path(key)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        temporary = f"{target}.tmp-{uuid.uuid4().hex}"
        self.fs.put_file(str(local), temporary)
        self.fs.mv(temporary, target)

    def move_in(self, local: Path, key: str) -> None:
        """Like put_file, but a local store takes the file over by renaming it (no copy)."""
        target = self.local_path(key)
        if target is None:
            self.put_file(local, key)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            local.replace(target)
        except OSError:  # another filesystem: copy, then rename into place
            self.put_file(local, key)

    def put_dir(self, local: Path, prefix: str) -> list[str]:
        """Copy a local folder under `prefix`; returns the keys written."""
        keys = []
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{file.relative_to(local).as_posix()}"
            self.put_file(file, key)
            keys.append(key)
        return keys

    def get_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            data: bytes = handle.read()
        return data

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        path = self.path(key)
        if "r" in mode and not self.fs.isfile(path):
            raise NotFound(f"No artifact at {key!r}.")
        handle: IO[Any] = self.fs.open(path, mode)
        return handle

    def list(self, prefix: str) -> list[str]:
        """Keys of all files under `prefix`, relative to `prefix`, sorted."""
        base = self.path(prefix)
        if not self.fs.isdir(base):
            return []
        found = self.fs.find(base)
        return sorted(posixpath.relpath(str(item), base) for item in found)

    def download_dir(self, prefix: str, local: Path) -> Path:
        """Copy everything under `prefix` to a local folder (for loaders that need files)."""
        for key in self.list(prefix):
            destination = local / key
            destination.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(self.path(f"{prefix}/{key}"), str(destination))
        return local
