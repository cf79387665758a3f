"""Personal data at rest (PIPL Art. 51): AES-256-GCM with one key per purpose, derived (HKDF-SHA256)
from ``JINLIN_VOLUNTEER_ID_KEY`` or, when unset, from the secret key; keyed fingerprints (HMAC-SHA256, another
derived key) where a column must be unique without holding the value in clear. A ciphertext is bound to
associated data the caller chooses (the row and field it belongs to): copied elsewhere, it does not decrypt.
Format: ``v1.<base64(nonce|ct)>``. Moved here from ``backend/volunteers`` when the visits ledger needed it
(docs/adr/0022); the volunteers' ID-number keys and formats are unchanged, so their rows still decrypt.

    LEDGER = crypto.Purpose(salt=b"jinlin/visits", seal_info=b"resident ledger aes-gcm v1")
    token = LEDGER.seal(settings, "高血压", bound_to="household:7:health_status")
    LEDGER.unseal(settings, token, bound_to="household:7:health_status")  # -> "高血压"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.config import Settings

VERSION = "v1"


@lru_cache(maxsize=32)
def _derive(material: str, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material.encode())


def _material(settings: Settings) -> str:
    return settings.volunteer_id_key or settings.secret_key


def is_sealed(value: str | None) -> bool:
    """Does this look like one of our ciphertexts (used by data migrations to skip rows already done)?"""
    return bool(value) and value.startswith(VERSION + ".")  # type: ignore[union-attr]


@dataclass(frozen=True)
class Purpose:
    """The keys of one kind of data: a salt of its own, an ``info`` for the cipher, one for fingerprints."""

    salt: bytes
    seal_info: bytes
    digest_info: bytes = b""

    def seal(self, settings: Settings, text: str, *, bound_to: str) -> str:
        nonce = os.urandom(12)
        key = _derive(_material(settings), self.salt, self.seal_info)
        sealed = AESGCM(key).encrypt(nonce, text.encode(), bound_to.encode())
        return f"{VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, settings: Settings, token: str, *, bound_to: str) -> str:
        """The clear text; ``InvalidTag`` (cryptography) if the key or the binding is not the one used."""
        version, _, body = token.partition(".")
        if version != VERSION:
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.urlsafe_b64decode(body)
        key = _derive(_material(settings), self.salt, self.seal_info)
        return AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()

    def digest(self, settings: Settings, text: str) -> str:
        if not self.digest_info:
            raise ValueError("this purpose has no fingerprint key")
        key = _derive(_material(settings), self.salt, self.digest_info)
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------------------------ ID numbers

ID_NUMBERS = Purpose(
    salt=b"jinlin/volunteers", seal_info=b"id-number aes-gcm v1", digest_info=b"id-number fingerprint v1"
)


def fingerprint(settings: Settings, id_number: str) -> str:
    """A volunteer's ID number as a keyed fingerprint ("one profile per ID number" is a unique column)."""
    return ID_NUMBERS.digest(settings, id_number.upper())


def encrypt(settings: Settings, id_number: str, *, bound_to: str) -> str:
    return ID_NUMBERS.seal(settings, id_number.upper(), bound_to=bound_to)


def decrypt(settings: Settings, token: str, *, bound_to: str) -> str:
    return ID_NUMBERS.unseal(settings, token, bound_to=bound_to)


WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def valid_id_number(number: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return False
    return CHECK[sum(int(d) * w for d, w in zip(number[:17], WEIGHTS, strict=True)) % 11] == number[17]
