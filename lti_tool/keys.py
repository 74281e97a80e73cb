"""The tool's RSA signing keys: generated on first use, rotated with the old key still published.

Loaded key objects are cached per process: parsing a PEM private key costs tens of milliseconds,
which would otherwise be paid on every access-token request and deep-linking response.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from .store import ToolKey

KEY_SIZE = 2048
# How long a worker trusts its cached idea of the current key. After a rotation, workers keep
# signing with the previous key for at most this long; that key stays in the JWKS, so nothing fails.
CURRENT_KEY_TTL = 30.0
# How long a worker serves its cached JWKS. Shorter than CURRENT_KEY_TTL, so a new key is published
# by every worker before any worker signs with it.
JWKS_TTL = 10.0


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The RFC 7517 JWK of a public key, with its RFC 7638 thumbprint as kid."""
    nums = public_key.public_numbers()
    jwk = {"e": _b64(nums.e), "kty": "RSA", "n": _b64(nums.n)}
    thumb = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumb).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def new_key() -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = public_jwk(private.public_key())
    return ToolKey(kid=jwk["kid"], private_pem=pem, public_jwk=jwk, current=True, published=True)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    private_key: rsa.RSAPrivateKey


class KeyRing:
    """Reads and rotates the tool's keys in the database, caching parsed key objects."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()
        self._current: tuple[float, SigningKey] | None = None
        self._parsed: dict[str, SigningKey] = {}
        self._jwks: tuple[float, dict[str, list[dict[str, Any]]]] | None = None

    def _parse(self, row: ToolKey) -> SigningKey:
        cached = self._parsed.get(row.kid)
        if cached is None:
            key = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cached = SigningKey(row.kid, row.private_pem, key)
            self._parsed[row.kid] = cached
        return cached

    def current(self) -> SigningKey:
        """The key to sign with, generating the first one when there is none."""
        hit = self._current
        if hit and hit[0] > time.monotonic():
            return hit[1]
        with self._lock:
            with self.sessions() as s:
                row = s.scalars(
                    select(ToolKey)
                    .where(ToolKey.purpose == "lti", ToolKey.current.is_(True))
                    .order_by(ToolKey.created_at.desc())
                ).first()
            if row is None:
                row = self._create_first()
            key = self._parse(row)
            self._current = (time.monotonic() + CURRENT_KEY_TTL, key)
            return key

    def _create_first(self) -> ToolKey:
        # Two workers may race to create the first key; the loser's key is simply a second
        # published key, and both read back the same current one afterwards.
        with self.sessions.begin() as s:
            existing = s.scalars(select(ToolKey).where(ToolKey.purpose == "lti", ToolKey.current.is_(True))).first()
            if existing is not None:
                return existing
            row = new_key()
            s.add(row)
        with self.sessions() as s:
            return s.scalars(
                select(ToolKey)
                .where(ToolKey.purpose == "lti", ToolKey.current.is_(True))
                .order_by(ToolKey.created_at.desc())
            ).first()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        hit = self._jwks
        if hit and hit[0] > time.monotonic():
            return hit[1]
        self.current()  # make sure there is a key to publish
        with self.sessions() as s:
            rows = s.scalars(
                select(ToolKey)
                .where(ToolKey.purpose == "lti", ToolKey.published.is_(True))
                .order_by(ToolKey.created_at.desc())
            )
            data = {"keys": [dict(r.public_jwk) for r in rows]}
        self._jwks = (time.monotonic() + JWKS_TTL, data)
        return data

    def rotate(self) -> ToolKey:
        """Make a new current key. The previous current key stays published; older ones are withdrawn.

        Platforms cache our JWKS, and workers cache the current key, so the previous key must keep
        verifying until the next rotation.
        """
        with self.sessions.begin() as s:
            previous = s.scalars(select(ToolKey).where(ToolKey.purpose == "lti", ToolKey.current.is_(True))).all()
            keep = {k.kid for k in previous}
            lti = ToolKey.purpose == "lti"
            s.execute(update(ToolKey).where(lti, ToolKey.kid.not_in(keep)).values(published=False))
            s.execute(update(ToolKey).where(lti).values(current=False))
            row = new_key()
            s.add(row)
        with self._lock:
            self._current = None
            self._jwks = None
        return row

    def list(self, session: Session | None = None) -> list[ToolKey]:
        with self.sessions() as s:
            return list(s.scalars(select(ToolKey).where(ToolKey.purpose == "lti").order_by(ToolKey.created_at)))
