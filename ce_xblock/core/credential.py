"""The Open Badges 3.0 credential of a certificate record, signed as a VC-JWT (EdDSA / Ed25519).

`build_credential(signed)` maps the frozen record to an `OpenBadgeCredential` whose achievement
is a `CertificateOfCompletion`, with the credits per accreditor as results. `sign_credential`
wraps it in a compact JWS (PyJWT, EdDSA) as OB 3.0 section 8.2 describes: the payload carries
`vc` plus the registered claims `iss`, `jti`, `nbf`. `verify_credential` checks it offline
against trusted public keys; because the whole credential is inside the signed payload, changing
any field fails. `envelope()` gives the JSON form (a VC 2.0 `EnvelopedVerifiableCredential`).

The licence number is never carried as OB's `licenseNumber`: it is an `IdentityObject`
(`identityType` "ext:professionalLicense") holding `sha256$hex(licence + salt)` with the salt.

PyJWT is pinned behind this module's four functions; nothing else imports it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jwt

from ce_xblock.core.certificate import (
    KeyLike,
    SignedRecord,
    _key_list,
    b64url,
    key_id,
    load_private_key,
)

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
ENVELOPE_PREFIX = "data:application/vc+jwt,"
_NS = uuid.UUID("8f2b1d3e-2c4a-5e6f-9a0b-1c2d3e4f5a6b")  # ce-credit's uuid5 namespace

FORMAT_LABELS = {
    "home-study": "home-study",
    "self-paced-online": "self-paced online",
    "live-webinar": "live webinar",
}


class CredentialError(ValueError):
    """The credential failed verification; the message says what is wrong."""


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def identity_hash(value: str, salt: str) -> str:
    """OB 3.0 IdentityHash: 'sha256$' + hex SHA-256 of the UTF-8 value with the salt appended."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def default_salt(signed: SignedRecord) -> str:
    """A per-certificate salt derived from the record's signature: stable, so re-issuing gives the same credential."""
    return hashlib.sha256(("salt:" + signed.signature).encode()).hexdigest()[:16]


def build_credential(signed: SignedRecord, *, issuer_id: str = "", salt: str | None = None) -> dict[str, Any]:
    """The OpenBadgeCredential (unsigned JSON) for a signed certificate record.

    `issuer_id` is the provider's profile URI (default: the origin of the verification URL).
    """
    rec = signed.record
    parts = urlsplit(rec.verification_url)
    issuer_id = issuer_id or f"{parts.scheme}://{parts.netloc}"
    salt = default_salt(signed) if salt is None else salt
    achievement_id = f"urn:uuid:{uuid.uuid5(_NS, f'{issuer_id}|{rec.activity_id}|{rec.activity_version}')}"
    identifiers: list[dict[str, Any]] = [
        {"type": "IdentityObject", "identityType": "ext:legalName", "hashed": False, "identityHash": rec.legal_name}
    ]
    if rec.license_number:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityType": "ext:professionalLicense",
                "hashed": True,
                "identityHash": identity_hash(rec.license_number, salt),
                "salt": salt,
            }
        )
    status_id = f"{achievement_id}#completion"
    descriptions: list[dict[str, Any]] = [
        {"id": status_id, "type": ["ResultDescription"], "name": "Completion", "resultType": "Status"}
    ]
    results: list[dict[str, Any]] = [{"type": ["Result"], "resultDescription": status_id, "status": "Completed"}]
    for a in rec.accreditations:
        rd_id = f"{achievement_id}#credits-{a.body}" + (f"-{a.state}" if a.state else "")
        descriptions.append(
            {
                "id": rd_id,
                "type": ["ResultDescription"],
                "name": f"{a.body_name} credits ({a.credit_type.replace('-', ' ')}; unit: {a.credit_unit})",
                "resultType": "ext:ContinuingEducationCredits",
                "valueMin": "0",
                "valueMax": str(a.credits),
            }
        )
        results.append({"type": ["Result"], "resultDescription": rd_id, "value": str(a.credits)})
    credits = [a.credits for a in rec.accreditations]
    hours = rec.duration_minutes / 60
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": rec.activity_title,
        "description": (
            f"A {FORMAT_LABELS.get(rec.delivery_format, rec.delivery_format)} continuing education activity at "
            f"{rec.level} level, {hours:g} hour{'s' if hours != 1 else ''} of instruction."
        ),
        "criteria": {
            "narrative": (
                "Complete the activity, pass the post-test, complete the evaluation and attestation that the "
                "activity requires, and meet each accreditor's requirements."
            )
        },
        "humanCode": rec.activity_id,
        "version": rec.activity_version,
        "creator": {"id": issuer_id, "type": ["Profile"], "name": rec.sponsor_name},
        "resultDescription": descriptions,
    }
    if credits:
        achievement["creditsAvailable"] = _number(max(credits))
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": identifiers,
        "achievement": achievement,
        "activityEndDate": f"{rec.completion_date.isoformat()}T00:00:00Z",
        "result": results,
    }
    if credits:
        subject["creditsEarned"] = _number(max(credits))
    issuer: dict[str, Any] = {"id": issuer_id, "type": ["Profile"], "name": rec.sponsor_name}
    if rec.signatory_name:
        issuer["official"] = rec.signatory_name
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid5(_NS, rec.verification_url)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Certificate of completion: {rec.activity_title}",
        "issuer": issuer,
        "issuanceDate": _iso(rec.issued_at),
        "awardedDate": _iso(rec.issued_at),
        "credentialSubject": subject,
        "evidence": [
            {
                "id": rec.verification_url,
                "type": ["Evidence"],
                "name": f"Certificate {rec.certificate_id}",
                "narrative": "The signed certificate record; open this address to see its current status.",
            }
        ],
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    return credential


def sign_credential(credential: Mapping[str, Any], private_key: KeyLike) -> str:
    """The credential as a compact VC-JWT signed with EdDSA (Ed25519)."""
    key = load_private_key(private_key)
    issued = datetime.fromisoformat(credential["issuanceDate"].replace("Z", "+00:00"))
    payload = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": int(issued.timestamp()),
        "vc": dict(credential),
    }
    raw = key.public_key().public_bytes_raw()
    headers = {"kid": key_id(key), "typ": "JWT", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


def issue_credential(
    signed: SignedRecord, private_key: KeyLike, *, issuer_id: str = "", salt: str | None = None
) -> str:
    """`build_credential` then `sign_credential`: the VC-JWT for a certificate record."""
    return sign_credential(build_credential(signed, issuer_id=issuer_id, salt=salt), private_key)


def envelope(token: str) -> dict[str, Any]:
    """The JSON download of a VC-JWT: a VC 2.0 EnvelopedVerifiableCredential."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": ENVELOPE_PREFIX + token,
        "type": "EnvelopedVerifiableCredential",
    }


def token_from(data: str | bytes | Mapping[str, Any]) -> str:
    """The compact JWT from a raw token, an envelope (dict or JSON text) or a JSON string holding one."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        text = data.strip()
        if text.startswith(("{", '"')):
            try:
                data = json.loads(text)
            except ValueError as e:
                raise CredentialError(f"The credential file is not valid JSON ({e}).") from e
            if isinstance(data, str):
                return data.strip()
        else:
            return text
    if isinstance(data, Mapping):
        ident = str(data.get("id", ""))
        if ident.startswith(ENVELOPE_PREFIX):
            return ident[len(ENVELOPE_PREFIX) :]
        raise CredentialError(
            "This JSON holds no signed credential: expected an EnvelopedVerifiableCredential whose id starts with "
            f"{ENVELOPE_PREFIX!r}, or a compact JWT."
        )
    raise CredentialError("The credential must be a compact JWT or an EnvelopedVerifiableCredential.")


def verify_credential(
    data: str | bytes | Mapping[str, Any], public_keys: Iterable[Any] | Any, *, now: datetime | None = None
) -> dict[str, Any]:
    """Check a VC-JWT offline; return the credential, or raise `CredentialError` saying what is wrong."""
    token = token_from(data)
    keys = _key_list(public_keys)
    if not keys:
        raise CredentialError("No verification key was given. Pass the provider's public key.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise CredentialError(f"This is not a compact JWT ({e}).") from e
    if header.get("alg") != "EdDSA":
        raise CredentialError(f"The credential is signed with {header.get('alg')!r}; only EdDSA (Ed25519) is accepted.")
    payload = None
    for k in keys:
        try:
            payload = jwt.decode(
                token,
                k,
                algorithms=["EdDSA"],
                options={
                    "verify_aud": False,
                    "verify_nbf": False,
                    "verify_exp": False,
                    "require": ["iss", "jti", "nbf"],
                },
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as e:
            raise CredentialError(f"The credential's signature is fine but its claims are not: {e}.") from e
    if payload is None:
        kid = header.get("kid", "")
        trusted = {key_id(k) for k in keys}
        if kid and kid not in trusted:
            raise CredentialError(
                f"The credential names signing key {kid}, which is not a trusted key ({', '.join(sorted(trusted))})."
            )
        raise CredentialError(
            "The credential's signature does not match its content: a field was changed after issue, or another key "
            "signed it. Do not accept it."
        )
    vc = payload.get("vc")
    if not isinstance(vc, dict):
        raise CredentialError("The signed token carries no 'vc' claim, so it is not a VC-JWT credential.")
    problems = []
    if payload["iss"] != (vc.get("issuer") or {}).get("id"):
        problems.append("the 'iss' claim differs from issuer.id")
    if payload["jti"] != vc.get("id"):
        problems.append("the 'jti' claim differs from the credential id")
    try:
        issued = datetime.fromisoformat(str(vc.get("issuanceDate", "")).replace("Z", "+00:00"))
        if int(issued.timestamp()) != payload["nbf"]:
            problems.append("the 'nbf' claim differs from issuanceDate")
    except ValueError:
        problems.append("issuanceDate is not a date-time")
    if "OpenBadgeCredential" not in vc.get("type", []):
        problems.append("the type does not include OpenBadgeCredential")
    if now is not None and payload["nbf"] > now.timestamp() + 300:
        problems.append("it is dated in the future")
    if problems:
        raise CredentialError("The credential is signed but inconsistent: " + "; ".join(problems) + ".")
    return vc


def certificate_id_of(credential: Mapping[str, Any]) -> str:
    """The certificate id a credential was issued for (from its evidence, the verification URL)."""
    for ev in credential.get("evidence", []):
        url = str(ev.get("id", ""))
        if url:
            return url.rstrip("/").rsplit("/", 1)[-1]
    return ""
