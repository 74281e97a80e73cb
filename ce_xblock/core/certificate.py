"""The frozen certificate record: its short id, its Ed25519 signature, supersession and revocation.

The record, not the PDF, is the source of truth. At issue it stores every printed field; it is
signed over a canonical JSON serialisation (see `canonical_json`) and never changes afterwards.
A correction issues a new record that names the one it supersedes; a revocation is an entry in a
status log kept beside the records. The signature covers the record, never its mutable status.

Time, randomness and keys come in as arguments: `issue(..., certificate_id=new_certificate_id(
os.urandom(5)), issued_at=now, private_key=key)`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ce_xblock.core import credit
from ce_xblock.core.activity import Accreditation, Accreditor, Activity
from ce_xblock.core.locale import DEFAULT_LOCALE, negotiate

# Bump when the printed layout changes; stored in each record so an old record renders as issued.
TEMPLATE_VERSION = "1"
RECORD_FORMAT = "ce-credit-certificate/1"

BODY_NAMES = {
    Accreditor.APA: "American Psychological Association",
    Accreditor.ASWB_ACE: "Association of Social Work Boards (ASWB) Approved Continuing Education (ACE) program",
    Accreditor.NBCC: "National Board for Certified Counselors",
    Accreditor.NAADAC: "NAADAC, the Association for Addiction Professionals",
}

# ---------------------------------------------------------------------------------------------
# Certificate ids: "CE-" + 7 Crockford base32 symbols + 1 check symbol, grouped 4-4.
# ---------------------------------------------------------------------------------------------

ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CHECK_ALPHABET = ID_ALPHABET + "*~$=U"  # Crockford's mod-37 check symbols
ID_DATA_SYMBOLS = 7
ID_PREFIX = "CE"
# Typing aids: Crockford decoding folds these look-alikes onto real symbols.
_FOLD = str.maketrans({"I": "1", "L": "1", "O": "0"})


class CertificateIdError(ValueError):
    """A typed certificate id that cannot be right (bad symbol, wrong length or check symbol)."""


def new_certificate_id(entropy: bytes) -> str:
    """A fresh id such as ``CE-7F3K-9Q2M`` from at least 5 random bytes (pass ``os.urandom(5)``).

    The last symbol is a mod-37 check, so any single mistyped symbol and any swap of two
    neighbours is caught. Ids whose check would be one of Crockford's extra symbols (``*~$=U``)
    are moved to a neighbouring value, so every id uses letters and digits only. 35 bits of
    data: the home must still refuse to store a duplicate and draw again.
    """
    if len(entropy) < 5:
        raise ValueError(f"A certificate id needs at least 5 random bytes, got {len(entropy)}; pass os.urandom(5).")
    value = int.from_bytes(entropy[:5], "big") >> (40 - 5 * ID_DATA_SYMBOLS)
    check = value % 37
    if check >= 32:
        value -= check - 31  # now value % 37 == 31; never negative since value >= check
    return _format_id(value)


def _format_id(value: int) -> str:
    symbols = []
    for _ in range(ID_DATA_SYMBOLS):
        symbols.append(ID_ALPHABET[value % 32])
        value //= 32
    data = "".join(reversed(symbols))
    body = data + CHECK_ALPHABET[_decode(data) % 37]
    return f"{ID_PREFIX}-{body[:4]}-{body[4:]}"


def _decode(data: str) -> int:
    value = 0
    for ch in data:
        value = value * 32 + ID_ALPHABET.index(ch)
    return value


def normalize_certificate_id(text: str) -> str:
    """The canonical form of a typed id, or `CertificateIdError` saying what is wrong.

    Accepts lower case, spaces, missing or extra hyphens, a missing ``CE`` prefix, and the
    look-alikes I/L (read as 1) and O (read as 0).
    """
    raw = str(text).strip().upper().replace(" ", "").replace("-", "").replace("_", "")
    if raw.startswith(ID_PREFIX) and len(raw) == ID_DATA_SYMBOLS + 1 + len(ID_PREFIX):
        raw = raw[len(ID_PREFIX) :]
    raw = raw.translate(_FOLD)
    data, check = raw[:-1], raw[-1:]
    if len(raw) != ID_DATA_SYMBOLS + 1:
        raise CertificateIdError(
            f"{text!r} is not a certificate id: it has {len(raw)} symbols after the CE- prefix, not "
            f"{ID_DATA_SYMBOLS + 1}. Type it as printed, e.g. CE-7F3K-9Q2M."
        )
    bad = sorted({c for c in data if c not in ID_ALPHABET})
    if bad or check not in CHECK_ALPHABET:
        shown = ", ".join(repr(c) for c in (bad or [check]))
        raise CertificateIdError(
            f"{text!r} is not a certificate id: {shown} cannot appear in one. Ids use the digits 0-9 and the "
            "letters A-Z except I, L, O and U."
        )
    if CHECK_ALPHABET[_decode(data) % 37] != check:
        raise CertificateIdError(
            f"{text!r} is not a certificate id: its last symbol does not match the others, so a symbol was "
            "probably mistyped or two were swapped. Check it against the certificate."
        )
    return f"{ID_PREFIX}-{(data + check)[:4]}-{(data + check)[4:]}"


def is_certificate_id(text: str) -> bool:
    try:
        normalize_certificate_id(text)
    except CertificateIdError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccreditationLine:
    """One accreditation as printed: the body, its approval, the statement and the credits."""

    body: str  # Accreditor value, e.g. "apa"
    body_name: str  # as printed, e.g. "American Psychological Association"
    provider_number: str
    statement: str
    credits: Decimal
    credit_unit: str  # as printed, e.g. "60-minute hour"
    credit_type: str  # CreditType value, e.g. "ethics"
    approval_start: date | None = None
    approval_end: date | None = None
    state: str = ""


@dataclass(frozen=True)
class CertificateRecord:
    """Every field printed on a certificate, frozen at issue."""

    certificate_id: str
    issued_at: datetime  # timezone-aware; stored in UTC
    template_version: str
    legal_name: str
    activity_id: str
    activity_title: str
    activity_version: str
    delivery_format: str  # DeliveryFormat value
    level: str  # Level value
    duration_minutes: int
    completion_date: date
    accreditations: tuple[AccreditationLine, ...]
    sponsor_name: str
    signatory_name: str
    signatory_title: str
    verification_url: str
    license_number: str = ""
    license_state: str = ""
    profession: str = ""
    supersedes: str = ""  # the id this record corrects
    supersede_reason: str = ""
    # The language the certificate is printed in ("fr", "ar"...), frozen at issue so that every
    # download renders the same bytes. English, the default, is left out of the signed JSON:
    # records issued before languages existed keep their bytes and their signatures.
    locale: str = DEFAULT_LOCALE

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: dates ISO 8601, datetimes UTC with 'Z', decimals as strings."""
        d = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if d["locale"] == DEFAULT_LOCALE:
            del d["locale"]
        d["accreditations"] = [
            {f.name: _jsonable(getattr(a, f.name)) for f in dataclasses.fields(a)} for a in self.accreditations
        ]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CertificateRecord:
        try:
            lines = tuple(
                AccreditationLine(
                    **{
                        **a,
                        "credits": Decimal(a["credits"]),
                        "approval_start": _date_or_none(a.get("approval_start")),
                        "approval_end": _date_or_none(a.get("approval_end")),
                    }
                )
                for a in d["accreditations"]
            )
            return cls(
                **{
                    **d,
                    "issued_at": _parse_datetime(d["issued_at"]),
                    "completion_date": date.fromisoformat(d["completion_date"]),
                    "accreditations": lines,
                }
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:
            raise ValueError(f"This is not a certificate record this version can read ({e}).") from e

    @property
    def total_credits(self) -> dict[str, Decimal]:
        return {a.body: a.credits for a in self.accreditations}


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, enum.Enum):
        return v.value
    return v


def _date_or_none(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _parse_datetime(v: str) -> datetime:
    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"{v!r} has no time zone")
    return dt


def canonical_json(obj: Any) -> bytes:
    """The bytes that are signed: JSON with keys sorted, no whitespace, UTF-8 (not ASCII-escaped).

    Only strings, integers, booleans, null, lists and objects appear (no floats: credits are
    decimal strings), so every JSON library reproduces these bytes from the same data.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Keys and signatures
# ---------------------------------------------------------------------------------------------

KeyLike = Ed25519PrivateKey | bytes | str


def load_private_key(key: KeyLike) -> Ed25519PrivateKey:
    """An Ed25519 private key from a key object or PEM (PKCS#8, unencrypted) bytes or text."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    pem = key.encode() if isinstance(key, str) else key
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"The signing key is not an unencrypted PEM private key ({e}).") from e
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(
            f"The signing key is a {type(loaded).__name__}, not Ed25519. Generate one with "
            "`openssl genpkey -algorithm ed25519`."
        )
    return loaded


def load_public_key(key: Ed25519PublicKey | Ed25519PrivateKey | bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from a key object (public or private) or PEM bytes or text."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    pem = key.encode() if isinstance(key, str) else key
    if b"PRIVATE KEY" in pem:
        return load_private_key(pem).public_key()
    try:
        loaded = serialization.load_pem_public_key(pem)
    except ValueError as e:
        raise ValueError(f"The verification key is not a PEM public key ({e}).") from e
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError(f"The verification key is a {type(loaded).__name__}, not Ed25519.")
    return loaded


def public_key_pem(key: Ed25519PublicKey | Ed25519PrivateKey | bytes | str) -> bytes:
    return load_public_key(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey | bytes | str) -> str:
    """A short stable name for a public key: 'ed25519:' + the first 16 hex of SHA-256 of its raw bytes."""
    raw = load_public_key(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedRecord:
    """A record with its Ed25519 signature over `canonical_json(record.to_dict())`."""

    record: CertificateRecord
    signature: str  # base64url, no padding
    key_id: str

    @property
    def certificate_id(self) -> str:
        return self.record.certificate_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "alg": "Ed25519",
            "key_id": self.key_id,
            "record": self.record.to_dict(),
            "signature": self.signature,
        }

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SignedRecord:
        if d.get("format") != RECORD_FORMAT:
            raise ValueError(
                f"This is not a signed certificate record (format {d.get('format')!r}, not {RECORD_FORMAT!r})."
            )
        return cls(CertificateRecord.from_dict(d["record"]), str(d["signature"]), str(d.get("key_id", "")))

    @classmethod
    def from_json(cls, text: str | bytes) -> SignedRecord:
        return cls.from_dict(json.loads(text))


def sign(record: CertificateRecord, private_key: KeyLike) -> SignedRecord:
    key = load_private_key(private_key)
    sig = key.sign(canonical_json(record.to_dict()))
    return SignedRecord(record, b64url(sig), key_id(key))


class SignatureError(ValueError):
    """The signature does not match: the record was changed, or signed by another key."""


def verify_signature(signed: SignedRecord | Mapping[str, Any], public_keys: Iterable[Any] | Any) -> SignedRecord:
    """Check the signature against any of the trusted public keys; return the record, or raise `SignatureError`.

    Given a dict (as read from JSON), the signature is checked over exactly the record that was
    received, so an added, removed or changed field in any form fails.
    """
    data = signed.to_dict() if isinstance(signed, SignedRecord) else signed
    if data.get("format") != RECORD_FORMAT:
        raise SignatureError(f"This is not a signed certificate record (format {data.get('format')!r}).")
    keys = _key_list(public_keys)
    if not keys:
        raise SignatureError(
            "No verification key was given, so the signature cannot be checked. Pass the provider's public key."
        )
    try:
        sig = b64url_decode(str(data["signature"]))
        message = canonical_json(data["record"])
    except (KeyError, ValueError, TypeError) as e:
        raise SignatureError(f"The signature is missing or unreadable ({e}).") from e
    for k in keys:
        try:
            k.verify(sig, message)
        except InvalidSignature:
            continue
        try:
            return SignedRecord.from_dict(data)
        except ValueError as e:
            raise SignatureError(str(e)) from e
    named = data.get("key_id", "")
    known = ", ".join(key_id(k) for k in keys)
    if named and named not in {key_id(k) for k in keys}:
        raise SignatureError(
            f"The record says it was signed with key {named}, which is not one of the trusted keys ({known}). "
            "Use the provider's public key for that id."
        )
    raise SignatureError(
        "The signature does not match the record: a field was changed after issue, or it was signed by a "
        "different key. Do not accept this certificate; check it on the provider's verification page."
    )


def _key_list(public_keys: Iterable[Any] | Any) -> list[Ed25519PublicKey]:
    if public_keys is None:
        return []
    if isinstance(public_keys, (Ed25519PublicKey, Ed25519PrivateKey, bytes, str)):
        public_keys = [public_keys]
    elif isinstance(public_keys, Mapping):
        public_keys = list(public_keys.values())
    return [load_public_key(k) for k in public_keys]


# ---------------------------------------------------------------------------------------------
# Issue, supersede, revoke
# ---------------------------------------------------------------------------------------------


class CertificateRefused(Exception):
    """The credit check found reasons a board would reject this certificate; `.refusals` lists them."""

    def __init__(self, refusals: list[Any]):
        self.refusals = list(refusals)
        lines = "; ".join(getattr(r, "message", str(r)) for r in self.refusals)
        super().__init__(f"The certificate was not issued: {lines}")

    @property
    def codes(self) -> list[str]:
        return [getattr(r, "code", "") for r in self.refusals]


def verification_url(base_url: str, certificate_id: str) -> str:
    """The public verification page of an id: base URL + '/' + id (what the QR code carries)."""
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(
            f"The verification base URL {base_url!r} must start with https:// (or http:// for a local test)."
        )
    return base_url.rstrip("/") + "/" + certificate_id


def accreditation_line(activity: Activity, accreditation: Accreditation) -> AccreditationLine:
    """One accreditation as it is printed, with credits and statement from the credit rules."""
    unit = credit.unit_for(accreditation)
    return AccreditationLine(
        body=accreditation.body.value,
        body_name=accreditation.body_name.strip()
        or BODY_NAMES.get(accreditation.body)
        or credit.body_label(accreditation),
        provider_number=accreditation.provider_number,
        statement=credit.statement(activity, accreditation),
        credits=credit.awarded_credits(activity, accreditation),
        credit_unit=credit.UNIT_NAMES[unit],
        credit_type=accreditation.credit_type.value,
        approval_start=accreditation.approval_start,
        approval_end=accreditation.approval_end,
        state=accreditation.state,
    )


def build_record(
    activity: Activity,
    completion: Any,
    *,
    certificate_id: str,
    issued_at: datetime,
    verification_base_url: str,
    template_version: str = TEMPLATE_VERSION,
    locale: str | None = DEFAULT_LOCALE,
) -> CertificateRecord:
    """The record for a completion, without the credit check or signature (see `issue`).

    `locale` is the learner's language for the printed labels and dates: the closest shipped
    catalogue is kept ("fr-CA" -> "fr"; an unknown language -> "en").
    """
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware (e.g. datetime.now(UTC)).")
    cid = normalize_certificate_id(certificate_id)
    learner = completion.learner
    sponsor = activity.sponsor
    return CertificateRecord(
        certificate_id=cid,
        issued_at=issued_at.astimezone(UTC).replace(microsecond=0),
        template_version=template_version,
        legal_name=_clean(learner.legal_name),
        license_number=_clean(learner.license_number),
        license_state=_clean(learner.license_state),
        profession=_clean(learner.profession),
        activity_id=activity.id,
        activity_title=_clean(activity.title),
        activity_version=str(activity.version),
        delivery_format=activity.format.value,
        level=activity.level.value,
        duration_minutes=int(activity.duration_minutes),
        completion_date=completion.completed_at.date(),
        accreditations=tuple(accreditation_line(activity, a) for a in activity.accreditations),
        sponsor_name=_clean(sponsor.name),
        signatory_name=_clean(sponsor.signatory_name),
        signatory_title=_clean(sponsor.signatory_title),
        verification_url=verification_url(verification_base_url, cid),
        locale=negotiate(locale),
    )


def _clean(text: str) -> str:
    """NFC-normalised, single-spaced: the same name typed two ways prints and signs the same."""
    return " ".join(unicodedata.normalize("NFC", str(text or "")).split())


def issue(
    activity: Activity,
    completion: Any,
    *,
    certificate_id: str,
    issued_at: datetime,
    private_key: KeyLike,
    verification_base_url: str,
    template_version: str = TEMPLATE_VERSION,
    locale: str | None = DEFAULT_LOCALE,
) -> SignedRecord:
    """Run the credit check, then freeze and sign the record. Raises `CertificateRefused` with every refusal.

    `locale` is the language the certificate is printed in (labels, dates, numbers); the
    accreditation statements are printed as the accreditor requires, in every language."""
    refusals = credit.check(activity, completion)
    if refusals:
        raise CertificateRefused(refusals)
    record = build_record(
        activity,
        completion,
        certificate_id=certificate_id,
        issued_at=issued_at,
        verification_base_url=verification_base_url,
        template_version=template_version,
        locale=locale,
    )
    _check_printable(record)
    return sign(record, private_key)


def _check_printable(record: CertificateRecord) -> None:
    """Refuse a record the PDF could not print (a character no font here has), before it is signed."""
    from ce_xblock.core import pdf  # noqa: PLC0415 (pdf imports this module)

    refusals = pdf.unprintable(record)
    if refusals:
        raise CertificateRefused(refusals)


class Status(enum.StrEnum):
    VALID = "valid"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StatusEvent:
    """One entry of the status log: a certificate revoked or superseded, when and why."""

    certificate_id: str
    status: Status  # REVOKED or SUPERSEDED
    reason: str
    at: datetime
    replacement_id: str = ""  # for SUPERSEDED: the id of the correcting record

    def to_dict(self) -> dict[str, Any]:
        return {
            "certificate_id": self.certificate_id,
            "status": self.status.value,
            "reason": self.reason,
            "at": _jsonable(self.at),
            "replacement_id": self.replacement_id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StatusEvent:
        return cls(
            d["certificate_id"], Status(d["status"]), d["reason"], _parse_datetime(d["at"]), d.get("replacement_id", "")
        )


def _need_reason(reason: str, what: str) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValueError(
            f"A {what} needs a reason, which the verification page shows. Say why, e.g. 'Name misspelled'."
        )
    return reason


def revoke(signed: SignedRecord, *, reason: str, at: datetime) -> StatusEvent:
    """The status-log entry that revokes a certificate. The record itself is kept unchanged."""
    if at.tzinfo is None:
        raise ValueError("The revocation time must be timezone-aware.")
    return StatusEvent(signed.certificate_id, Status.REVOKED, _need_reason(reason, "revocation"), at.astimezone(UTC))


def supersede(
    old: SignedRecord,
    *,
    changes: Mapping[str, Any],
    reason: str,
    certificate_id: str,
    issued_at: datetime,
    private_key: KeyLike,
) -> tuple[SignedRecord, StatusEvent]:
    """A correction: a new signed record with `changes` applied that names the old one, and the log entry.

    `changes` maps record field names to new values (e.g. ``{"legal_name": "Zoë Ng"}``); the
    old record stays as it was and is reported as superseded.
    """
    reason = _need_reason(reason, "correction")
    allowed = {f.name for f in dataclasses.fields(CertificateRecord)} - {
        "certificate_id",
        "issued_at",
        "supersedes",
        "supersede_reason",
        "verification_url",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(
            f"A correction cannot change {', '.join(unknown)}. Fields it can change: {', '.join(sorted(allowed))}."
        )
    cid = normalize_certificate_id(certificate_id)
    if cid == old.certificate_id:
        raise ValueError("A correction needs a new certificate id; draw one with new_certificate_id(os.urandom(5)).")
    cleaned = {k: _clean(v) if isinstance(v, str) and k != "template_version" else v for k, v in changes.items()}
    base = old.record.verification_url[: -len(old.certificate_id)]
    record = dataclasses.replace(
        old.record,
        **cleaned,
        certificate_id=cid,
        issued_at=issued_at.astimezone(UTC).replace(microsecond=0),
        verification_url=base + cid,
        supersedes=old.certificate_id,
        supersede_reason=reason,
    )
    emptied = [
        name
        for name in ("legal_name", "license_number", "license_state", "profession")
        if getattr(old.record, name) and not getattr(record, name)
    ]
    if emptied:
        raise ValueError(
            f"A correction cannot remove the {', '.join(n.replace('_', ' ') for n in emptied)}: the original "
            "certificate printed it and its accreditation may require it. Give the corrected value instead."
        )
    from ce_xblock.core import pdf  # noqa: PLC0415 (pdf imports this module)

    unprintable = pdf.unprintable(record)
    if unprintable:
        raise ValueError(" ".join(r.message for r in unprintable))
    new = sign(record, private_key)
    return new, StatusEvent(old.certificate_id, Status.SUPERSEDED, reason, issued_at.astimezone(UTC), cid)


@dataclass(frozen=True)
class CertificateStatus:
    """What a verification page shows: the status, the record when known, and why it is not valid."""

    certificate_id: str
    status: Status
    record: CertificateRecord | None = None
    reason: str = ""
    at: datetime | None = None
    replacement_id: str = ""
    history: tuple[StatusEvent, ...] = field(default=())


def certificate_status(
    certificate_id: str, signed: SignedRecord | None, log: Iterable[StatusEvent] = ()
) -> CertificateStatus:
    """The status of an id from its stored record (None if not found) and the status log.

    Revoked beats superseded beats valid; the latest event of the winning kind gives the reason.
    """
    try:
        cid = normalize_certificate_id(certificate_id)
    except CertificateIdError:
        return CertificateStatus(str(certificate_id), Status.UNKNOWN)
    if signed is None or signed.certificate_id != cid:
        return CertificateStatus(cid, Status.UNKNOWN)
    events = tuple(sorted((e for e in log if e.certificate_id == cid), key=lambda e: e.at))
    for kind in (Status.REVOKED, Status.SUPERSEDED):
        hits = [e for e in events if e.status is kind]
        if hits:
            e = hits[-1]
            return CertificateStatus(cid, kind, signed.record, e.reason, e.at, e.replacement_id, events)
    return CertificateStatus(cid, Status.VALID, signed.record, history=events)
