"""ID numbers at rest: AES-256-GCM with a key derived (HKDF-SHA256) from ``JINLIN_VOLUNTEER_ID_KEY`` or, when
unset, from the secret key; a keyed fingerprint (HMAC-SHA256, another derived key) makes "one profile per ID
number" a unique column without storing the number in clear. The ciphertext is bound to its fingerprint
(associated data), so a ciphertext copied onto another row does not decrypt. Format:
``v1.<base64(nonce|ct)>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.config import Settings

VERSION = "v1"


@lru_cache(maxsize=8)
def _derive(material: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jinlin/volunteers", info=purpose).derive(
        material.encode()
    )


def _material(settings: Settings) -> str:
    return settings.volunteer_id_key or settings.secret_key


def fingerprint(settings: Settings, id_number: str) -> str:
    key = _derive(_material(settings), b"id-number fingerprint v1")
    return hmac.new(key, id_number.upper().encode(), hashlib.sha256).hexdigest()


def encrypt(settings: Settings, id_number: str, *, bound_to: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(_material(settings), b"id-number aes-gcm v1")).encrypt(
        nonce, id_number.upper().encode(), bound_to.encode()
    )
    return f"{VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(settings: Settings, token: str, *, bound_to: str) -> str:
    version, _, body = token.partition(".")
    if version != VERSION:
        raise ValueError(f"unknown ciphertext version {version!r}")
    raw = base64.urlsafe_b64decode(body)
    return (
        AESGCM(_derive(_material(settings), b"id-number aes-gcm v1"))
        .decrypt(raw[:12], raw[12:], bound_to.encode())
        .decode()
    )


WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def valid_id_number(number: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return False
    return CHECK[sum(int(d) * w for d, w in zip(number[:17], WEIGHTS, strict=True)) % 11] == number[17]
