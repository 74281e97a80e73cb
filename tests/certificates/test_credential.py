"""The Open Badges 3.0 credential: the 1EdTech schema, the VC-JWT signature, tampering, the hashed licence."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import jsonschema
import jwt
import pytest
from certhelpers import key_from_seed

from ce_xblock.core import credential as cr

SCHEMA = json.loads(
    (Path(__file__).resolve().parent / "schema" / "ob_v3p0_achievementcredential_schema.json").read_text()
)
VALIDATOR = jsonschema.Draft201909Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def test_the_credential_is_valid_against_the_1edtech_schema(signed):
    credential = cr.build_credential(signed)
    errors = sorted(VALIDATOR.iter_errors(credential), key=str)
    assert not errors, [e.message for e in errors]


def test_the_schema_check_can_fail(signed):
    credential = cr.build_credential(signed)
    credential["credentialSubject"]["identifier"][1]["identityType"] = "licence number"  # not in the enum
    del credential["issuanceDate"]
    assert len(list(VALIDATOR.iter_errors(credential))) >= 2


@pytest.mark.parametrize(
    "field, value",
    [
        ("issuanceDate", "2026-13-45T25:61:00Z"),  # no such date or time
        ("issuanceDate", "5 December 2026"),  # a date, but not RFC 3339
        ("awardedDate", "2026-12-05 10:00"),  # no seconds, no offset
        ("activityEndDate", "2026-12-05"),  # a date alone
    ],
)
def test_the_schema_checks_date_times(signed, field, value):
    """The schema's `format: date-time` is only enforced with jsonschema's format extras
    (rfc3339-validator); without them these would pass silently."""
    credential = cr.build_credential(signed)
    holder = credential["credentialSubject"] if field == "activityEndDate" else credential
    assert field in holder
    holder[field] = value
    assert any(e.validator == "format" for e in VALIDATOR.iter_errors(credential)), value


def test_the_credentials_date_times_carry_an_offset(signed):
    credential = cr.build_credential(signed)
    values = [credential["issuanceDate"], credential["awardedDate"], credential["credentialSubject"]["activityEndDate"]]
    for value in values:
        assert VALIDATOR.format_checker.conforms(value, "date-time"), value
        assert value.endswith("Z") or value[-6] in "+-", value


def test_the_credential_carries_the_achievement_credits_and_result(signed):
    c = cr.build_credential(signed)
    assert c["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = c["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "CertificateOfCompletion"
    assert subject["achievement"]["name"] == signed.record.activity_title
    assert subject["creditsEarned"] == 2
    results = {r["resultDescription"].rsplit("#", 1)[1]: r for r in subject["result"]}
    assert results["completion"]["status"] == "Completed"
    assert {k: r["value"] for k, r in results.items() if k.startswith("credits-")} == {
        "credits-apa": "2",
        "credits-aswb-ace": "2",
        "credits-nbcc": "2",
        "credits-naadac": "2",
        "credits-state-board-TX": "2",
    }
    assert c["evidence"][0]["id"] == signed.record.verification_url


def test_the_licence_is_a_salted_hash_not_a_licence_number(signed):
    c = cr.build_credential(signed)
    text = json.dumps(c)
    assert "licenseNumber" not in text and "LCSW-12345" not in text
    (lic,) = [i for i in c["credentialSubject"]["identifier"] if i["identityType"] == "ext:professionalLicense"]
    assert lic["hashed"] is True and lic["salt"]
    assert lic["identityHash"] == cr.identity_hash("LCSW-12345", lic["salt"])
    assert lic["identityHash"].startswith("sha256$") and len(lic["identityHash"]) == 7 + 64


def test_the_vc_jwt_verifies_offline(signed, key):
    token = cr.issue_credential(signed, key)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"].startswith("ed25519:")
    vc = cr.verify_credential(token, key.public_key())
    assert vc == cr.build_credential(signed)
    assert cr.verify_credential(json.dumps(cr.envelope(token)), [key]) == vc
    assert cr.certificate_id_of(vc) == signed.certificate_id


def _tamper(token: str, path: tuple, value) -> str:
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    node = payload
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    new = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{new}.{sig}"


def _leaves(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, prefix + (i,))
    else:
        yield prefix, obj


def test_changing_any_field_of_the_credential_fails(signed, key):
    token = cr.issue_credential(signed, key)
    payload = jwt.decode(token, key.public_key(), algorithms=["EdDSA"], options={"verify_nbf": False})
    leaves = list(_leaves(payload))
    assert len(leaves) > 60
    for path, value in leaves:
        changed = (
            (not value) if isinstance(value, bool) else (value + 1 if isinstance(value, (int, float)) else f"{value}x")
        )
        with pytest.raises(cr.CredentialError, match="does not match"):
            cr.verify_credential(_tamper(token, path, changed), key.public_key())


def test_a_credential_from_another_key_is_refused(signed):
    token = cr.issue_credential(signed, key_from_seed("impostor"))
    with pytest.raises(cr.CredentialError, match="not a trusted key"):
        cr.verify_credential(token, key_from_seed("provider key").public_key())


def test_a_consistently_signed_but_inconsistent_credential_is_refused(signed, key):
    vc = cr.build_credential(signed)
    bad = copy.deepcopy(vc)
    token = cr.sign_credential(bad, key)
    payload = jwt.decode(token, key.public_key(), algorithms=["EdDSA"], options={"verify_nbf": False})
    payload["jti"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    resigned = jwt.encode(payload, key, algorithm="EdDSA")
    with pytest.raises(cr.CredentialError, match="jti"):
        cr.verify_credential(resigned, key.public_key())


def test_garbage_is_explained():
    with pytest.raises(cr.CredentialError, match="not a compact JWT"):
        cr.verify_credential("hello", key_from_seed("k").public_key())
    with pytest.raises(cr.CredentialError, match="EnvelopedVerifiableCredential"):
        cr.verify_credential({"id": "x"}, key_from_seed("k").public_key())


def test_the_credential_is_the_same_for_the_same_record(signed, key):
    assert cr.issue_credential(signed, key) == cr.issue_credential(signed, key)
