"""Credentials encrypted at rest with the workspace key (Fernet: AES-128-CBC with HMAC-SHA256)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from seedbed.errors import Invalid
from seedbed.workspace import Workspace

KEY_FILE = "secret.key"
KEY_FILE_MODE = 0o600


def secret_box(workspace: Workspace) -> SecretBox:
    """The workspace's box: its key lives in the runtime folder, beside the server file."""
    return SecretBox(workspace.runtime_dir / KEY_FILE)


class SecretBox:
    """Encrypts and decrypts short secrets; the owner-only key file is made on first encrypt."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._fernet: Fernet | None = None

    def __repr__(self) -> str:
        return f"SecretBox(key_path={str(self.key_path)!r})"

    def encrypt(self, plaintext: str) -> str:
        """An opaque token for `plaintext`; a new random token on every call."""
        return self._key(create=True).encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext of `token`; Invalid when this workspace's key did not make it."""
        fernet = self._key(create=False)
        try:
            return fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise Invalid(
                f"A stored credential cannot be decrypted with the workspace key {self.key_path} "
                "(the key was replaced, or the credential is damaged): enter the credential again."
            ) from None

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (keyed PII hashes, tokens), derived from the workspace
        key, so it is the same on every start and changes only with the workspace key."""
        self._key(create=True)
        raw = self.key_path.read_bytes().strip()
        return hmac.new(raw, f"seedbed:{purpose}".encode(), hashlib.sha256).digest()

    def _key(self, create: bool) -> Fernet:
        if self._fernet is None:
            if create and not self.key_path.exists():
                _publish_new_key(self.key_path)
            try:
                key = self.key_path.read_bytes().strip()
            except FileNotFoundError:
                raise Invalid(
                    f"There is no workspace key at {self.key_path}, so stored credentials cannot "
                    "be decrypted: restore the key file or enter the credentials again."
                ) from None
            try:
                self._fernet = Fernet(key)
            except ValueError:
                raise Invalid(
                    f"The workspace key file {self.key_path} is damaged: restore it from a backup."
                ) from None
        return self._fernet


def _publish_new_key(path: Path) -> None:
    """Write a fresh key beside `path`, then link it into place: never half-written, never two."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".key-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, KEY_FILE_MODE)
        # link() fails when another process published a key first; theirs is kept.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
