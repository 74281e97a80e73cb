"""The frozen record: ids with a check symbol, the Ed25519 signature, tampering, supersede, revoke, refusals."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from certhelpers import BASE_URL, ISSUED_AT, id_from_seed, key_from_seed, make_activity, make_completion
from hypothesis import given
from hypothesis import strategies as st

from ce_xblock.core import certificate as cert
from ce_xblock.core import credit
from ce_xblock.core.activity import Accreditation, Accreditor, CreditType, DeliveryFormat, LearnerDetail
from ce_xblock.core.credit import LearnerDetails, PriorCredit

# --- ids ----------------------------------------------------------------------------------------


@given(st.binary(min_size=5, max_size=5))
def test_new_ids_are_well_formed_and_normalise_to_themselves(entropy):
    cid = cert.new_certificate_id(entropy)
    assert len(cid) == 12 and cid.startswith("CE-") and cid[7] == "-"
    assert all(c in cert.ID_ALPHABET for c in cid[3:].replace("-", ""))  # never a *~$=U check symbol
    assert cert.normalize_certificate_id(cid) == cid
    assert cert.normalize_certificate_id(cid.lower().replace("-", " ")) == cid


@given(st.binary(min_size=5, max_size=5), st.integers(0, 7), st.integers(1, 31))
def test_any_single_mistyped_symbol_is_caught(entropy, pos, shift):
    body = cert.new_certificate_id(entropy)[3:].replace("-", "")
    wrong = body[:pos] + cert.ID_ALPHABET[(cert.ID_ALPHABET.index(body[pos]) + shift) % 32] + body[pos + 1 :]
    with pytest.raises(cert.CertificateIdError):
        cert.normalize_certificate_id(wrong)


@given(st.binary(min_size=5, max_size=5), st.integers(0, 5))
def test_swapping_two_neighbouring_data_symbols_is_caught(entropy, pos):
    body = cert.new_certificate_id(entropy)[3:].replace("-", "")
    if body[pos] == body[pos + 1]:
        return
    swapped = body[:pos] + body[pos + 1] + body[pos] + body[pos + 2 :]
    with pytest.raises(cert.CertificateIdError):
        cert.normalize_certificate_id(swapped)


def test_look_alike_letters_are_read_as_digits():
    data = "0011001"
    cid = cert.normalize_certificate_id(data + cert.CHECK_ALPHABET[cert._decode(data) % 37])
    typed = cid.lower().replace("0", "o").replace("1", "l")
    assert cert.normalize_certificate_id(typed) == cid
    assert cert.normalize_certificate_id(typed.replace("l", "I")) == cid


@pytest.mark.parametrize(
    "text, words",
    [("CE-7F3K", "symbols"), ("CE-7F3K-9Q2!", "cannot appear"), ("", "symbols")],
)
def test_a_bad_id_says_what_is_wrong(text, words):
    with pytest.raises(cert.CertificateIdError, match=words):
        cert.normalize_certificate_id(text)


def test_an_id_needs_enough_entropy():
    with pytest.raises(ValueError, match="os.urandom"):
        cert.new_certificate_id(b"abc")


# --- record and signature ---------------------------------------------------------------------


def test_the_record_stores_every_printed_field(signed, activity):
    r = signed.record
    assert r.legal_name == "Zoë Łukasiewicz-Nguyễn"
    assert (r.license_number, r.license_state, r.profession) == ("LCSW-12345", "TX", "Social Worker")
    assert (r.activity_title, r.activity_version, r.delivery_format, r.level) == (
        "Ethics of Telehealth Practice",
        "3",
        "self-paced-online",
        "intermediate",
    )
    assert r.completion_date == date(2026, 3, 3)
    assert r.template_version == cert.TEMPLATE_VERSION
    assert (r.sponsor_name, r.signatory_name, r.signatory_title) == ("Example CE Institute", "Jo Lee", "CE Director")
    assert r.verification_url == f"{BASE_URL}/{r.certificate_id}"
    assert [a.body for a in r.accreditations] == [a.body.value for a in activity.accreditations]
    for line, acc in zip(r.accreditations, activity.accreditations, strict=True):
        assert line.statement == credit.statement(activity, acc)
        assert line.credits == credit.awarded_credits(activity, acc)
        assert line.provider_number == acc.provider_number
        assert (line.approval_start, line.approval_end) == (acc.approval_start, acc.approval_end)
        assert line.credit_type == acc.credit_type.value


def test_the_signature_verifies_and_round_trips_through_json(signed, key):
    again = cert.SignedRecord.from_json(signed.to_json())
    assert again == signed
    assert cert.verify_signature(json.loads(signed.to_json()), key.public_key()) == signed
    assert cert.verify_signature(signed, cert.public_key_pem(key)) == signed


def test_canonical_json_is_sorted_compact_utf8():
    assert (
        cert.canonical_json({"b": "é", "a": [1, {"d": None, "c": True}]})
        == '{"a":[1,{"c":true,"d":null}],"b":"é"}'.encode()
    )


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))
    else:
        yield prefix


def _changed(value):
    if value is None:
        return "2020-01-01"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return (value + "x") if value else "x"


def test_changing_any_field_of_the_record_fails_verification(signed, key):
    data = json.loads(signed.to_json())
    paths = list(_paths(data["record"]))
    assert len(paths) > 40  # every field, including each accreditation's
    for path in paths:
        tampered = copy.deepcopy(data)
        node = tampered["record"]
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = _changed(node[path[-1]])
        with pytest.raises(cert.SignatureError, match="changed after issue"):
            cert.verify_signature(tampered, key.public_key())


def test_adding_or_removing_a_field_fails_verification(signed, key):
    data = json.loads(signed.to_json())
    added = copy.deepcopy(data)
    added["record"]["extra"] = "x"
    removed = copy.deepcopy(data)
    del removed["record"]["profession"]
    for bad in (added, removed):
        with pytest.raises(cert.SignatureError):
            cert.verify_signature(bad, key.public_key())


def test_another_providers_key_is_named_in_the_error(signed):
    other = key_from_seed("someone else")
    with pytest.raises(cert.SignatureError, match="not one of the trusted keys"):
        cert.verify_signature(signed, other.public_key())


def test_a_key_list_with_the_right_key_verifies(signed, key):
    assert cert.verify_signature(signed, [key_from_seed("old").public_key(), key.public_key()]) == signed


def test_names_are_stored_nfc_and_single_spaced(activity, key):
    s = cert.issue(
        activity,
        make_completion(name="  Zoe\u0308   Ng "),
        certificate_id=id_from_seed("nfc"),
        issued_at=ISSUED_AT,
        private_key=key,
        verification_base_url=BASE_URL,
    )
    assert s.record.legal_name == "Zoë Ng"


def test_a_non_ed25519_key_is_refused_with_a_fix():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="not Ed25519"):
        cert.load_private_key(pem)


# --- supersede and revoke ---------------------------------------------------------------------


def test_a_correction_supersedes_and_keeps_the_old_record(signed, key):
    new, event = cert.supersede(
        signed,
        changes={"legal_name": "Zoë Łukasiewicz-Nguyen"},
        reason="Name misspelled",
        certificate_id=id_from_seed("two"),
        issued_at=ISSUED_AT + timedelta(days=2),
        private_key=key,
    )
    assert new.record.supersedes == signed.certificate_id
    assert new.record.supersede_reason == "Name misspelled"
    assert new.record.legal_name == "Zoë Łukasiewicz-Nguyen"
    assert new.record.verification_url.endswith(new.certificate_id)
    assert cert.verify_signature(new, key) == new
    assert cert.verify_signature(signed, key) == signed  # the old one is untouched
    old_status = cert.certificate_status(signed.certificate_id, signed, [event])
    assert (old_status.status, old_status.replacement_id, old_status.reason) == (
        cert.Status.SUPERSEDED,
        new.certificate_id,
        "Name misspelled",
    )
    assert old_status.record == signed.record
    assert cert.certificate_status(new.certificate_id, new, [event]).status is cert.Status.VALID


def test_a_correction_needs_a_reason_a_new_id_and_known_fields(signed, key):
    kw = dict(certificate_id=id_from_seed("two"), issued_at=ISSUED_AT, private_key=key)
    with pytest.raises(ValueError, match="needs a reason"):
        cert.supersede(signed, changes={"legal_name": "A"}, reason=" ", **kw)
    with pytest.raises(ValueError, match="cannot change signature_colour"):
        cert.supersede(signed, changes={"signature_colour": "red"}, reason="r", **kw)
    with pytest.raises(ValueError, match="new certificate id"):
        cert.supersede(
            signed, changes={}, reason="r", certificate_id=signed.certificate_id, issued_at=ISSUED_AT, private_key=key
        )


def test_a_correction_cannot_remove_a_printed_detail_or_add_an_unprintable_character(signed, key):
    """The pre-issue check for corrections: what a board would reject is never signed."""
    kw = dict(certificate_id=id_from_seed("three"), reason="Typo", issued_at=ISSUED_AT, private_key=key)
    assert signed.record.license_number
    with pytest.raises(ValueError, match="cannot remove the license number"):
        cert.supersede(signed, changes={"license_number": "  "}, **kw)
    with pytest.raises(ValueError, match="cannot remove the legal name"):
        cert.supersede(signed, changes={"legal_name": ""}, **kw)
    with pytest.raises(ValueError, match=r"cannot print the legal name.*U\+E000"):
        cert.supersede(signed, changes={"legal_name": "Zoë \ue000"}, **kw)
    new, _ = cert.supersede(signed, changes={"legal_name": "Zoë Ng"}, **kw)
    assert new.record.legal_name == "Zoë Ng" and new.record.license_number == signed.record.license_number


def test_revocation_keeps_the_record_and_marks_it(signed, key):
    at = datetime(2026, 5, 1, tzinfo=UTC)
    event = cert.revoke(signed, reason="Attestation was false", at=at)
    st_ = cert.certificate_status(signed.certificate_id, signed, [event])
    assert (st_.status, st_.reason, st_.at) == (cert.Status.REVOKED, "Attestation was false", at)
    assert st_.record == signed.record
    assert cert.verify_signature(signed, key) == signed  # the signature covers the record, not its status
    assert cert.StatusEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_revoked_beats_superseded_and_unknown_ids_are_unknown(signed, key):
    _, sup = cert.supersede(
        signed, changes={}, reason="r", certificate_id=id_from_seed("two"), issued_at=ISSUED_AT, private_key=key
    )
    rev = cert.revoke(signed, reason="fraud", at=ISSUED_AT + timedelta(days=1))
    assert cert.certificate_status(signed.certificate_id, signed, [rev, sup]).status is cert.Status.REVOKED
    assert cert.certificate_status(id_from_seed("nobody"), None, []).status is cert.Status.UNKNOWN
    assert cert.certificate_status("not an id", signed, []).status is cert.Status.UNKNOWN
    assert cert.certificate_status(signed.certificate_id, signed, []).status is cert.Status.VALID


# --- refusals -----------------------------------------------------------------------------------

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
ONE = (Accreditation(Accreditor.APA, "1234", Decimal("2"), CreditType.ETHICS),)


def _acc(**kw):
    base = dict(body=Accreditor.APA, provider_number="1234", credits=Decimal("2"), credit_type=CreditType.ETHICS)
    base.update(kw)
    return (Accreditation(**base),)


# One scenario per refusal code: (activity changes, completion changes).
SCENARIOS = {
    credit.NO_ACCREDITATION: ({"accreditations": ()}, {}),
    credit.NAIVE_DATETIME: ({}, {"started_at": datetime(2026, 3, 3, 9, 0)}),
    credit.COMPLETED_BEFORE_STARTED: ({}, {"completed_at": T0 - timedelta(hours=1)}),
    credit.NOT_PASSED: ({}, {"passed": False}),
    credit.EVALUATION_NOT_SUBMITTED: ({}, {"evaluation_submitted": False}),
    credit.ATTESTATION_NOT_GIVEN: ({}, {"attested": False}),
    credit.MINIMUM_TIME_NOT_MET: ({}, {"completed_at": T0 + timedelta(minutes=10)}),
    credit.LEGAL_NAME_MISSING: ({}, {"learner": LearnerDetails(legal_name=" ")}),
    credit.LEARNER_DETAIL_MISSING: (
        {"accreditations": _acc(required_details=(LearnerDetail.LEGAL_NAME, LearnerDetail.LICENSE_NUMBER))},
        {"learner": LearnerDetails(legal_name="Ana Ruiz")},
    ),
    credit.APPROVAL_NOT_STARTED: ({"accreditations": _acc(approval_start=date(2026, 6, 1))}, {}),
    credit.OUTSIDE_APPROVAL_PERIOD: ({"accreditations": _acc(approval_end=date(2025, 12, 31))}, {}),
    credit.APPROVAL_PERIOD_MISSING: ({"accreditations": _acc(body=Accreditor.ASWB_ACE)}, {}),
    credit.STATEMENT_MISSING: (
        {"accreditations": _acc(body=Accreditor.STATE_BOARD, body_name="Texas BHEC", state="TX")},
        {},
    ),
    credit.SPONSOR_NAME_MISSING: ({"sponsor": make_activity().sponsor.__class__(name="")}, {}),
    credit.PROVIDER_NUMBER_MISSING: ({"accreditations": _acc(provider_number="")}, {}),
    credit.UNKNOWN_CREDIT_UNIT: ({"accreditations": _acc(credit_unit="fortnight")}, {}),
    credit.CREDIT_UNIT_NOT_ALLOWED: ({"accreditations": _acc(credit_unit="ceu")}, {}),
    credit.PROGRAM_TOO_SHORT: (
        {"duration_minutes": 30, "min_minutes": 0, "accreditations": _acc(credits=Decimal("0.5"))},
        {},
    ),
    credit.CREDITS_EXCEED_TIME: ({"accreditations": _acc(credits=Decimal("3"))}, {}),
    credit.CREDITS_NOT_INCREMENT: ({"accreditations": _acc(credits=Decimal("1.3"))}, {}),
    credit.DAILY_CAP_EXCEEDED: (
        {"accreditations": _acc(body=Accreditor.NAADAC)},
        {"prior_credits": (PriorCredit(T0, Accreditor.NAADAC, Decimal("7"), DeliveryFormat.SELF_PACED_ONLINE),)},
    ),
}


def test_every_refusal_code_has_a_scenario():
    assert set(SCENARIOS) == set(credit.REFUSAL_CODES)


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_issue_refuses_what_a_board_would_reject(code, key):
    activity_changes, completion_changes = SCENARIOS[code]
    activity = make_activity(**{"accreditations": ONE, **activity_changes})
    completion = make_completion(**completion_changes)
    with pytest.raises(cert.CertificateRefused) as err:
        cert.issue(
            activity,
            completion,
            certificate_id=id_from_seed(code),
            issued_at=ISSUED_AT,
            private_key=key,
            verification_base_url=BASE_URL,
        )
    assert code in err.value.codes
    refusal = next(r for r in err.value.refusals if r.code == code)
    assert refusal.message and refusal.message in str(err.value)


def test_a_good_completion_for_the_same_activity_is_issued(key):
    s = cert.issue(
        make_activity(accreditations=ONE),
        make_completion(),
        certificate_id=id_from_seed("ok"),
        issued_at=ISSUED_AT,
        private_key=key,
        verification_base_url=BASE_URL,
    )
    assert s.record.accreditations[0].credits == Decimal("2")


def test_a_verification_base_url_must_be_http(activity, key):
    with pytest.raises(ValueError, match="https://"):
        cert.issue(
            activity,
            make_completion(),
            certificate_id=id_from_seed("u"),
            issued_at=ISSUED_AT,
            private_key=key,
            verification_base_url="ce.example.org/verify",
        )
