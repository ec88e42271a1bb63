"""Encryption of originals at rest: AES-256-GCM with a keyring, so keys can be rotated.

The newest key encrypts; every key in the ring decrypts, so old ciphertexts stay readable
until ``reencrypt`` moves them to the newest key and the old key can be dropped. The
associated data binds a ciphertext to its row (e.g. ``b"message:42"``): a ciphertext copied
into another row does not decrypt.

Setting ``STEMME_ENCRYPTION_KEYS``: ``id:base64key`` pairs separated by commas, newest first.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stemme.errors import ConfigurationError, InvalidInputError

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptionError(InvalidInputError):
    """A ciphertext that is damaged, was moved to another row, or needs an unknown key."""


@dataclass(frozen=True, slots=True)
class Keyring:
    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ConfigurationError("Krypteringsnøkkelen %(id)s finnes ikke.", id=self.current)
        for key_id, key in self.keys.items():
            if not _KEY_ID.match(key_id) or len(key) != KEY_BYTES:
                raise ConfigurationError(
                    "Ugyldig krypteringsnøkkel %(id)s: trenger id og 32 byte i base64.", id=key_id
                )

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        """Parse ``id:base64key,...`` (newest first)."""
        pairs = [part.strip() for part in value.split(",") if part.strip()]
        if not pairs:
            raise ConfigurationError(
                "STEMME_ENCRYPTION_KEYS mangler; lag en nøkkel med `stemme keys generate`."
            )
        keys: dict[str, bytes] = {}
        for pair in pairs:
            key_id, _, encoded = pair.partition(":")
            try:
                keys[key_id] = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ConfigurationError(
                    "Ugyldig krypteringsnøkkel %(id)s: ikke base64.", id=key_id
                ) from None
        return cls(keys, pairs[0].partition(":")[0])

    def encrypt(self, plaintext: str, associated: bytes) -> bytes:
        key_id = self.current.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), self._aad(key_id, associated)
        )
        return bytes([FORMAT_VERSION, len(key_id)]) + key_id + nonce + sealed

    def decrypt(self, token: bytes, associated: bytes) -> str:
        key_id, nonce, sealed = self._split(token)
        key = self.keys.get(key_id.decode("ascii", "replace"))
        if key is None:
            raise DecryptionError(
                "Ukjent krypteringsnøkkel: %(id)s", id=key_id.decode("ascii", "replace")
            )
        try:
            return AESGCM(key).decrypt(nonce, sealed, self._aad(key_id, associated)).decode()
        except InvalidTag:
            raise DecryptionError("Kan ikke dekryptere: skadet eller flyttet innhold.") from None

    def key_id_of(self, token: bytes) -> str:
        return self._split(token)[0].decode("ascii", "replace")

    def reencrypt(self, token: bytes, associated: bytes) -> bytes:
        """The same plaintext under the newest key (unchanged if it already uses it)."""
        if self.key_id_of(token) == self.current:
            return token
        return self.encrypt(self.decrypt(token, associated), associated)

    @staticmethod
    def _aad(key_id: bytes, associated: bytes) -> bytes:
        return bytes([FORMAT_VERSION]) + key_id + b"\x00" + associated

    @staticmethod
    def _split(token: bytes) -> tuple[bytes, bytes, bytes]:
        if len(token) < 2 or token[0] != FORMAT_VERSION:
            raise DecryptionError("Ukjent format på kryptert innhold.")
        end = 2 + token[1]
        if len(token) < end + NONCE_BYTES + 16:
            raise DecryptionError("Kryptert innhold er avkortet.")
        return token[2:end], token[end : end + NONCE_BYTES], token[end + NONCE_BYTES :]


def generate_key(key_id: str | None = None) -> str:
    """A new ``id:base64key`` entry for STEMME_ENCRYPTION_KEYS."""
    key_id = key_id or "k" + secrets.token_hex(4)
    if not _KEY_ID.match(key_id):
        raise InvalidInputError("Ugyldig nøkkel-id: %(id)s", id=key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
