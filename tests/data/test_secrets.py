"""Credentials encrypted at rest with the workspace key."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from seedbed.data.secrets import SecretBox
from seedbed.errors import Invalid

SECRET = "pg-pa$$word-äö-42"


def test_round_trip_through_a_new_box_on_the_same_key(tmp_path: Path) -> None:
    key_path = tmp_path / ".seedbed" / "secret.key"
    token = SecretBox(key_path).encrypt(SECRET)

    assert SecretBox(key_path).decrypt(token) == SECRET


def test_the_key_file_is_created_on_first_use_for_the_owner_only(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    box = SecretBox(key_path)
    assert not key_path.exists()

    box.encrypt(SECRET)

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [key_path]  # no temporary file left beside it


def test_tokens_hide_the_secret_and_differ_each_time(tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "secret.key")

    first, second = box.encrypt(SECRET), box.encrypt(SECRET)

    assert first != second
    assert SECRET not in first
    assert SECRET.encode().hex() not in first


def test_another_workspace_key_cannot_decrypt(tmp_path: Path) -> None:
    token = SecretBox(tmp_path / "one.key").encrypt(SECRET)
    other = SecretBox(tmp_path / "two.key")
    other.encrypt("anything")  # creates a different key

    with pytest.raises(Invalid, match="cannot be decrypted with the workspace key") as caught:
        other.decrypt(token)
    assert SECRET not in str(caught.value)


def test_a_damaged_token_is_invalid(tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "secret.key")
    token = box.encrypt(SECRET)

    with pytest.raises(Invalid, match="enter the credential again"):
        box.decrypt(token[:-6] + "AAAAAA")
    with pytest.raises(Invalid):
        box.decrypt("not a token at all")


def test_decrypting_without_a_key_file_says_so(tmp_path: Path) -> None:
    token = SecretBox(tmp_path / "secret.key").encrypt(SECRET)

    with pytest.raises(Invalid, match="no workspace key at"):
        SecretBox(tmp_path / "elsewhere.key").decrypt(token)
    assert not (tmp_path / "elsewhere.key").exists()


def test_a_damaged_key_file_is_invalid(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    key_path.write_text("too short")

    with pytest.raises(Invalid, match="is damaged"):
        SecretBox(key_path).encrypt(SECRET)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    boxes = [SecretBox(key_path) for _ in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(lambda box: box.encrypt(SECRET), boxes))

    assert {SecretBox(key_path).decrypt(token) for token in tokens} == {SECRET}


def test_repr_shows_the_key_path_but_never_the_key(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    box = SecretBox(key_path)
    box.encrypt(SECRET)

    assert repr(box) == f"SecretBox(key_path={str(key_path)!r})"
    assert key_path.read_text().strip() not in repr(box)
