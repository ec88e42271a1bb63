"""Encryption of originals: round trip, binding to the row, tampering, rotation, bad keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stemme.cli import app
from stemme.errors import ConfigurationError
from stemme.privacy.crypto import DecryptionError, Keyring, generate_key

OLD = generate_key("old")
NEW = generate_key("new")


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_round_trip(text: str) -> None:
    ring = Keyring.from_setting(NEW)
    token = ring.encrypt(text, b"message:1")
    assert ring.decrypt(token, b"message:1") == text
    if len(text.encode()) >= 8:  # shorter byte strings can occur in random bytes by chance
        assert text.encode() not in token


def test_ciphertext_is_bound_to_its_row() -> None:
    ring = Keyring.from_setting(NEW)
    token = ring.encrypt("ring meg på 917 45 302", b"message:1")
    with pytest.raises(DecryptionError):
        ring.decrypt(token, b"message:2")


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    ring = Keyring.from_setting(NEW)
    token = bytearray(ring.encrypt("hemmelig", b"row"))
    token[position] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(token), b"row")


def test_truncated_and_foreign_tokens() -> None:
    ring = Keyring.from_setting(NEW)
    with pytest.raises(DecryptionError):
        ring.decrypt(b"\x01", b"row")
    with pytest.raises(DecryptionError):
        ring.decrypt(ring.encrypt("x", b"row")[:20], b"row")


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    before = Keyring.from_setting(OLD)
    token = before.encrypt("original", b"row")
    after = Keyring.from_setting(f"{NEW},{OLD}")
    assert after.current == "new"
    assert after.decrypt(token, b"row") == "original"
    moved = after.reencrypt(token, b"row")
    assert after.key_id_of(moved) == "new"
    assert after.reencrypt(moved, b"row") == moved
    assert Keyring.from_setting(NEW).decrypt(moved, b"row") == "original"
    with pytest.raises(DecryptionError):
        Keyring.from_setting(NEW).decrypt(token, b"row")  # the old key is gone


@pytest.mark.parametrize(
    "setting",
    ["", " , ", "k1:not-base64!", "k1:" + "QUFB", "bad id:" + NEW.partition(":")[2]],
)
def test_bad_settings_are_configuration_errors(setting: str) -> None:
    with pytest.raises(ConfigurationError):
        Keyring.from_setting(setting)


def test_current_key_must_exist() -> None:
    with pytest.raises(ConfigurationError):
        Keyring({"a": b"\x00" * 32}, "b")


def test_generate_key_command() -> None:
    result = CliRunner().invoke(app, ["keys", "generate", "--id", "k2026"])
    assert result.exit_code == 0
    assert Keyring.from_setting(result.stdout.strip()).current == "k2026"
    bad = CliRunner().invoke(app, ["keys", "generate", "--id", "no spaces"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("stemme: ")
