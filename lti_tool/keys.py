"""The tool's RSA signing keys: generated on first use, rotated publish first, sign later.

Platforms cache the tool's JWKS (`/lti/jwks` is served with max-age JWKS_MAX_AGE) and many do not
fetch it again when a token names a kid they do not know. So a rotation publishes the new key at
once but signs with it only SIGNING_DELAY later, when every platform's cached copy has expired;
until then the previous key signs. The key it replaces stays published for RETIRED_KEY_KEPT after
the switch, so tokens signed just before it still verify. `rotate(immediately=True)` is for a
compromised key: the new key signs at once and every older key is withdrawn.

Which key signs, and which keys are published, is worked out from the key rows (`signs_from`,
`published`) and the clock alone, so every worker and process sharing the database switches at
the same moment. A worker caches the rows for ROWS_TTL, far less than SIGNING_DELAY, so it always
knows a new key before that key is due to sign. Parsed key objects are cached per process: parsing
a PEM private key costs tens of milliseconds, which would otherwise be paid on every launch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from .store import ToolKey

KEY_SIZE = 2048
# The Cache-Control max-age of /lti/jwks (lti_tool/views/lti.py; a test checks the two agree).
JWKS_MAX_AGE = 300
# How long a worker trusts its cached copy of the key rows (for signing and for the JWKS it serves).
ROWS_TTL = 10.0
# Covers ROWS_TTL (a worker may serve a JWKS that old) and clock differences between the tool's
# servers and the platforms.
PUBLISH_MARGIN = 60
# How long after a rotation the new key starts signing.
SIGNING_DELAY = JWKS_MAX_AGE + PUBLISH_MARGIN
# How long a key stays published after the next key took over. The tool's tokens live at most
# 10 minutes (deep-linking responses; client assertions 1 minute), so an hour is plenty.
RETIRED_KEY_KEPT = 3600

LTI = "lti"


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


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime) -> float:
    # SQLite hands back naive datetimes; the tool stores UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def new_key(now: float | None = None, signs_from: float | None = None) -> ToolKey:
    """A new RSA key row, newest (`current`) and published, signing from `signs_from` (default: now)."""
    now = time.time() if now is None else now
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = public_jwk(private.public_key())
    return ToolKey(
        kid=jwk["kid"],
        purpose=LTI,
        private_pem=pem,
        public_jwk=jwk,
        current=True,
        published=True,
        created_at=_dt(now),
        signs_from=_dt(now if signs_from is None else signs_from),
    )


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    private_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyRow:
    """What the schedule needs of a key row (no private key)."""

    kid: str
    created: float
    signs_from: float
    published: bool
    public_jwk: dict[str, Any]

    @classmethod
    def of(cls, kid: str, created: datetime, signs_from: datetime | None, published: bool, jwk: Any) -> KeyRow:
        return cls(kid, _ts(created), _ts(signs_from or created), bool(published), dict(jwk))

    @property
    def order(self) -> tuple[float, float, str]:
        return (self.signs_from, self.created, self.kid)


@dataclass(frozen=True)
class KeyStatus:
    """A key's place in the schedule at one moment.

    state: "signing"; "next" (published, signs from `signs_from`); "previous" (published until
    `withdraw_at`, for tokens it signed); "withdrawn".
    """

    kid: str
    created_at: datetime
    signs_from: datetime
    state: str
    withdraw_at: datetime | None = None

    @property
    def published(self) -> bool:
        return self.state != "withdrawn"


def _split(rows: Sequence[KeyRow], now: float) -> tuple[list[KeyRow], list[KeyRow]]:
    """The published keys that have started signing, and those that have not, oldest first."""
    live = sorted((r for r in rows if r.published), key=lambda r: r.order)
    active = [r for r in live if r.signs_from <= now]
    pending = live[len(active) :]
    if not active and pending:  # every older key was withdrawn by hand: sign rather than fail
        return pending[:1], pending[1:]
    return active, pending


def signing_row(rows: Sequence[KeyRow], now: float) -> KeyRow | None:
    """The key that signs at `now`: the published key with the latest signs_from that has come."""
    active, _ = _split(rows, now)
    return active[-1] if active else None


def schedule(rows: Sequence[KeyRow], now: float, kept: float = RETIRED_KEY_KEPT) -> dict[str, KeyStatus]:
    """Every key's state at `now`: the newest key whose signs_from has come signs; pending keys
    and keys replaced less than `kept` seconds ago stay published; the rest are withdrawn.

    A pure function of the rows and the clock: every worker that reads the same rows agrees.
    """
    active, pending = _split(rows, now)
    out: dict[str, KeyStatus] = {}
    for r in rows:
        out[r.kid] = KeyStatus(r.kid, _dt(r.created), _dt(r.signs_from), "withdrawn")
    for r, after in zip(active, active[1:], strict=False):
        # replaced when `after` started signing
        until = after.signs_from + kept
        if until > now:
            out[r.kid] = KeyStatus(r.kid, _dt(r.created), _dt(r.signs_from), "previous", _dt(until))
    if active:
        r = active[-1]
        out[r.kid] = KeyStatus(r.kid, _dt(r.created), _dt(r.signs_from), "signing")
    for r in pending:
        out[r.kid] = KeyStatus(r.kid, _dt(r.created), _dt(r.signs_from), "next")
    return out


@dataclass(frozen=True)
class Rotation:
    """What `rotate()` did: the new key, when it signs, and the keys it withdrew."""

    kid: str
    signs_from: datetime
    immediately: bool
    withdrawn: tuple[str, ...]


class KeyRing:
    """Reads and rotates the tool's LTI keys in the database, caching the rows and parsed keys.

    `clock` (seconds since the epoch) is injectable for tests; every decision uses it.
    """

    def __init__(
        self,
        sessions: sessionmaker,
        *,
        clock: Callable[[], float] = time.time,
        signing_delay: float = SIGNING_DELAY,
        retired_kept: float = RETIRED_KEY_KEPT,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.signing_delay = signing_delay
        self.retired_kept = retired_kept
        self._lock = threading.Lock()
        self._rows: tuple[float, list[KeyRow]] | None = None
        self._parsed: dict[str, SigningKey] = {}

    # --- reading

    def _read_rows(self, published_only: bool = True) -> list[KeyRow]:
        q = select(ToolKey.kid, ToolKey.created_at, ToolKey.signs_from, ToolKey.published, ToolKey.public_jwk).where(
            ToolKey.purpose == LTI
        )
        if published_only:
            q = q.where(ToolKey.published.is_(True))
        with self.sessions() as s:
            return [KeyRow.of(*row) for row in s.execute(q)]

    def _cached_rows(self, now: float) -> list[KeyRow]:
        hit = self._rows
        if hit and hit[0] <= now < hit[0] + ROWS_TTL:
            return hit[1]
        with self._lock:
            hit = self._rows
            if hit and hit[0] <= now < hit[0] + ROWS_TTL:
                return hit[1]
            rows = self._read_rows()
            self._rows = (now, rows)
            return rows

    def _parse(self, kid: str) -> SigningKey:
        cached = self._parsed.get(kid)
        if cached is None:
            with self.sessions() as s:
                pem = s.scalar(select(ToolKey.private_pem).where(ToolKey.kid == kid))
            if pem is None:
                raise LookupError(f"no tool key {kid!r}")
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cached = SigningKey(kid, pem, key)
            self._parsed[kid] = cached
        return cached

    def _signing_kid(self, now: float) -> str:
        for attempt in range(2):
            row = signing_row(self._cached_rows(now), now)
            if row is not None:
                return row.kid
            if attempt == 0:
                self._create_first(now)
        raise RuntimeError("the tool has no LTI signing key")  # pragma: no cover - _create_first made one

    def current(self) -> SigningKey:
        """The key to sign with now, generating the first one when there is none."""
        return self._parse(self._signing_kid(self.clock()))

    def _create_first(self, now: float) -> None:
        # Two workers may race to create the first key; the loser's key is simply a second
        # published key, and both pick the same one once they read the rows again.
        with self.sessions.begin() as s:
            existing = s.scalar(select(ToolKey.kid).where(ToolKey.purpose == LTI, ToolKey.published.is_(True)))
            if existing is None:
                s.add(new_key(now))
        self._rows = None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The published keys, newest first: the next key (if any), the signing key, the previous ones."""
        now = self.clock()
        self._signing_kid(now)  # make sure there is a key to publish
        rows = self._cached_rows(now)
        plan = schedule(rows, now, self.retired_kept)
        published = sorted((r for r in rows if plan[r.kid].published), key=lambda r: r.order, reverse=True)
        return {"keys": [dict(r.public_jwk) for r in published]}

    def status(self) -> list[KeyStatus]:
        """Every LTI key, oldest first, with its state now (read from the database, not the cache)."""
        now = self.clock()
        self._signing_kid(now)
        rows = self._read_rows(published_only=False)
        plan = schedule(rows, now, self.retired_kept)
        return sorted(plan.values(), key=lambda st: (st.created_at, st.kid))

    # --- rotating

    def rotate(self, *, immediately: bool = False) -> Rotation:
        """Add a new key: published at once, signing after `signing_delay` (publish first, sign later).

        Keys whose publication has ended are marked withdrawn. With `immediately` (a compromised
        key) the new key signs at once and every other key is withdrawn; platforms that cached
        the JWKS refuse the tool's messages until their copy expires (up to JWKS_MAX_AGE).
        """
        now = self.clock()
        with self.sessions.begin() as s:
            found = s.execute(
                select(
                    ToolKey.kid, ToolKey.created_at, ToolKey.signs_from, ToolKey.published, ToolKey.public_jwk
                ).where(ToolKey.purpose == LTI, ToolKey.published.is_(True))
            )
            rows = [KeyRow.of(*r) for r in found]
            plan = schedule(rows, now, self.retired_kept)
            keep = set() if immediately else {k for k, st in plan.items() if st.published}
            # With nothing published no platform can have cached a key: the new one signs at once.
            signs_from = now if immediately or not keep else now + self.signing_delay
            withdrawn = tuple(sorted(r.kid for r in rows if r.kid not in keep))
            if withdrawn:
                s.execute(update(ToolKey).where(ToolKey.kid.in_(withdrawn)).values(published=False))
            s.execute(update(ToolKey).where(ToolKey.purpose == LTI).values(current=False))
            row = new_key(now, signs_from)
            s.add(row)
        with self._lock:
            self._rows = None
        return Rotation(row.kid, _dt(signs_from), immediately or signs_from <= now, withdrawn)
