"""Tokens and passwords.

JWTs use PyJWT with HS256 pinned and ``exp``/``iat``/``iss``/``aud``/``typ`` required (not python-jose: see
docs/adr/0002). Passwords are argon2id. Refresh tokens are JWTs of type ``refresh`` whose hash is stored, so the
server can rotate and revoke them; an access token names its session (``sid``) so logout ends it at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.config import Settings
from backend.core.errors import InvalidToken
from backend.core.timeutil import utcnow

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"

_hasher = PasswordHasher()
# Verified against when the phone is unknown, so that timing does not reveal which phones have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: uuid.UUID
    typ: str
    expires_at: datetime


def _encode(settings: Settings, *, user_id: int, session_id: uuid.UUID, typ: str, ttl: int) -> str:
    now = utcnow()
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "sid": str(session_id),
        "typ": typ,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def issue_access(settings: Settings, *, user_id: int, session_id: uuid.UUID) -> str:
    return _encode(
        settings, user_id=user_id, session_id=session_id, typ=ACCESS, ttl=settings.access_token_ttl_seconds
    )


def issue_refresh(settings: Settings, *, user_id: int, session_id: uuid.UUID) -> str:
    return _encode(
        settings, user_id=user_id, session_id=session_id, typ=REFRESH, ttl=settings.refresh_token_ttl_seconds
    )


_verified: OrderedDict[tuple[str, str, str], TokenClaims] = OrderedDict()
_VERIFIED_MAX = 20_000


def decode(settings: Settings, token: str, *, typ: str) -> TokenClaims:
    """Verify signature, algorithm, issuer, audience, expiry and type; raise ``InvalidToken`` otherwise.

    A token that verified once is remembered (keyed by the whole token and the secret, so nothing but that exact
    token can hit the entry) until it expires: a client sends the same access token for its 15 minutes, and the
    signature check and base64 parsing are a large share of a cheap request."""
    key = (token, typ, settings.secret_key)
    cached = _verified.get(key)
    if cached is not None:
        if cached.expires_at > utcnow():
            return cached
        _verified.pop(key, None)
        raise InvalidToken("登录已过期，请重新登录", detail={"reason": "expired"})
    claims = _decode(settings, token, typ=typ)
    _verified[key] = claims
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return claims


def _decode(settings: Settings, token: str, *, typ: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "sid", "typ"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("登录已过期，请重新登录", detail={"reason": "expired"}) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(detail={"reason": "invalid"}) from exc
    if claims.get("typ") != typ:
        raise InvalidToken(detail={"reason": "wrong_type"})
    try:
        return TokenClaims(
            user_id=int(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            typ=claims["typ"],
            expires_at=datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidToken(detail={"reason": "invalid"}) from exc
