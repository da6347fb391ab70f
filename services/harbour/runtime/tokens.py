"""Signed short-lived bearer tokens: JWTs signed with Ed25519 (EdDSA), verified by every service.

An issuer holding the private key (``harbour token issue``, or the organisation's own token
service with the same key) signs ``sub`` (the caller, recorded as the actor of its events),
``roles`` (a list of role names, harbour.runtime.authorization), ``aud`` (the deployment the
token is for) and ``exp``. A service holds only the public key (HARBOUR_TOKEN_PUBLIC_KEY) and
its audience (HARBOUR_TOKEN_AUDIENCE): it cannot mint a token, and a token for another
deployment, expired, altered or without roles is refused UNAUTHENTICATED with a reason the
caller can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harbour.application.caller import Principal
from harbour.audit.keys import KeyFileError, load_public_key
from harbour.runtime.errors import Unauthenticated

ALGORITHM = "EdDSA"
# Clocks of the issuer and the services disagree by a little; no more than this is forgiven.
LEEWAY = timedelta(seconds=30)
# "Short-lived": the issuer refuses longer; a stolen token is worth at most this much time.
MAX_TTL = timedelta(hours=24)
REQUIRED_CLAIMS = ("sub", "roles", "aud", "exp")
_TTL = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class TokenSetupError(ValueError):
    """The token key or audience is unusable; the message names the variable or file."""


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h`` → a lifetime, at most MAX_TTL."""
    match = _TTL.match(text.strip())
    if match is None:
        raise TokenSetupError(f"a lifetime looks like 90s, 15m, 1h or 1d, not {text!r}")
    ttl = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if ttl > MAX_TTL:
        hours = int(MAX_TTL.total_seconds()) // 3600
        raise TokenSetupError(f"a token lives at most {hours}h (short-lived), not {text}")
    return ttl


def issue_token(
    key: Ed25519PrivateKey,
    *,
    subject: str,
    roles: Iterable[str],
    audience: str,
    ttl: timedelta,
    now: datetime,
) -> str:
    """A token for ``subject`` holding ``roles``, valid for ``audience`` from ``now`` for
    ``ttl``."""
    held = sorted(set(roles))
    if not subject or not held or not audience:
        raise TokenSetupError("a token needs a subject, at least one role and an audience")
    claims = {
        "sub": subject,
        "roles": held,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class TokenVerifier:
    """Checks a bearer token's signature, audience and expiry; gives the principal it names."""

    def __init__(self, public_key: Ed25519PublicKey, audience: str) -> None:
        self._key = public_key
        self._audience = audience

    @classmethod
    def from_files(cls, public_key: Path, audience: str) -> TokenVerifier:
        try:
            key = load_public_key(public_key)
        except KeyFileError as bad:
            raise TokenSetupError(f"HARBOUR_TOKEN_PUBLIC_KEY: {bad}") from None
        return cls(key, audience)

    @property
    def audience(self) -> str:
        return self._audience

    def principal(self, token: str) -> Principal:
        claims = self._claims(token)
        roles = claims["roles"]
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise Unauthenticated("the bearer token's 'roles' claim must be a list of role names")
        if not roles:
            raise Unauthenticated(
                "the bearer token holds no role: ask its issuer for one with the roles you need"
            )
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the bearer token's 'sub' claim must name the caller")
        return Principal(subject, frozenset(roles))

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                leeway=LEEWAY,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as refused:
            raise Unauthenticated(_reason(refused, self._audience)) from None
        return claims


def _reason(refused: jwt.PyJWTError, audience: str) -> str:
    """What the caller should do about a refused token (PyJWT's own words are terse)."""
    if isinstance(refused, jwt.ExpiredSignatureError):
        return "the bearer token has expired: ask its issuer for a new one"
    if isinstance(refused, jwt.InvalidAudienceError):
        return f"the bearer token is not for this deployment: its audience must be {audience!r}"
    if isinstance(refused, jwt.MissingRequiredClaimError):
        return f"the bearer token has no {refused.claim!r} claim (it needs sub, roles, aud, exp)"
    if isinstance(refused, jwt.InvalidSignatureError):
        return (
            "the bearer token's signature does not verify: it was not signed by the key this "
            "deployment trusts, or it was altered"
        )
    if isinstance(refused, jwt.InvalidAlgorithmError):
        return f"the bearer token must be signed with {ALGORITHM} (Ed25519)"
    if isinstance(refused, jwt.ImmatureSignatureError):
        return "the bearer token is not valid yet: check the issuer's clock"
    return f"the bearer token is not a valid signed token: {refused}"
