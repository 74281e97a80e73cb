"""Tests for the accreditors' credit rules, approval statements and the certificate check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ce_xblock.core import credit
from ce_xblock.core.activity import (
    Accreditation,
    Accreditor,
    Activity,
    CreditType,
    DeliveryFormat,
    LearnerDetail,
    Sponsor,
)
from ce_xblock.core.credit import (
    Completion,
    CreditUnit,
    LearnerDetails,
    PriorCredit,
    Refusal,
    awarded_credits,
    check,
    period_covers,
    rules,
    statement,
    supported_credits,
)

START = date(2025, 1, 1)
END = date(2027, 12, 31)
STARTED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
COMPLETED = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)

APA = Accreditation(Accreditor.APA, "1234", Decimal(2), approval_start=START, approval_end=END)
ACE = Accreditation(
    Accreditor.ASWB_ACE,
    "1234",
    Decimal(2),
    credit_type=CreditType.ETHICS,
    approval_start=START,
    approval_end=END,
    required_details=(LearnerDetail.LEGAL_NAME, LearnerDetail.LICENSE_NUMBER, LearnerDetail.LICENSE_STATE),
)
NBCC = Accreditation(Accreditor.NBCC, "7000", Decimal(2), approval_start=START)
NAADAC = Accreditation(Accreditor.NAADAC, "99999", Decimal(2), approval_end=END)
TX = Accreditation(
    Accreditor.STATE_BOARD,
    "TX-55",
    Decimal(2),
    body_name="Texas BHEC",
    state="TX",
    statement="Approved by the Texas BHEC, provider TX-55.",
    required_details=(LearnerDetail.LEGAL_NAME, LearnerDetail.PROFESSION),
)
ACME = Accreditation(
    Accreditor.CUSTOM,
    "",
    Decimal("0.2"),
    body_name="Acme Board",
    credit_unit="ceu",
    statement="Acme Board accepts this activity for 0.2 CEU.",
)
INDEX = {"apa": 0, "ace": 1, "nbcc": 2, "naadac": 3, "tx": 4, "acme": 5}


def make_activity(**changes) -> Activity:
    base = Activity(
        id="telehealth-ethics",
        title="Telehealth Ethics",
        duration_minutes=120,
        format=DeliveryFormat.SELF_PACED_ONLINE,
        sponsor=Sponsor(name="Example CE Institute"),
        accreditations=(APA, ACE, NBCC, NAADAC, TX, ACME),
        attestation="I attest that I completed this activity myself.",
        min_minutes=60,
    )
    return base.replace(**changes)


def with_accreditation(activity: Activity, key: str, **changes) -> Activity:
    accs = list(activity.accreditations)
    i = INDEX[key]
    accs[i] = accs[i].__class__(**{**accs[i].__dict__, **changes})
    return activity.replace(accreditations=tuple(accs))


LEARNER = LearnerDetails(
    legal_name="Dana Q. Rivera", license_number="LCSW-12345", license_state="TX", profession="Social worker"
)


def make_completion(**changes) -> Completion:
    values = dict(
        learner=LEARNER,
        started_at=STARTED,
        completed_at=COMPLETED,
        passed=True,
        evaluation_submitted=True,
        attested=True,
    )
    values.update(changes)
    return Completion(**values)


def codes(refusals: list[Refusal]) -> list[str]:
    return [r.code for r in refusals]


# --- units and rounding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "unit", "increment", "min_minutes"),
    [
        (Accreditor.APA, CreditUnit.HOUR, "0.5", 60),
        (Accreditor.ASWB_ACE, CreditUnit.HOUR, "0.25", 60),
        (Accreditor.NBCC, CreditUnit.HOUR, "0.5", 60),
        (Accreditor.NAADAC, CreditUnit.HOUR, "0.25", 0),
        (Accreditor.STATE_BOARD, CreditUnit.HOUR, "0.25", 0),
        (Accreditor.CUSTOM, CreditUnit.HOUR, "0.25", 0),
    ],
)
def test_each_accreditor_has_its_unit_increment_and_minimum(body, unit, increment, min_minutes):
    rs = rules(body)
    assert rs.unit is unit
    assert credit.UNIT_MINUTES[rs.unit] == 60
    assert rs.increments[unit] == Decimal(increment)
    assert rs.min_minutes == min_minutes
    assert rs.rounding == "down"


def test_only_naadac_has_a_daily_cap_of_eight_hours_per_24_hours_for_online_and_home_study():
    cap = rules(Accreditor.NAADAC).daily_cap
    assert cap is not None
    assert cap.hours == 8
    assert cap.window == timedelta(hours=24)
    assert DeliveryFormat.HOME_STUDY in cap.formats
    assert DeliveryFormat.SELF_PACED_ONLINE in cap.formats
    for body in Accreditor:
        if body is not Accreditor.NAADAC:
            assert rules(body).daily_cap is None


def test_state_boards_and_custom_bodies_may_count_in_cpe_hours_and_ceus():
    for body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM):
        assert set(rules(body).units) == {CreditUnit.HOUR, CreditUnit.CPE_HOUR, CreditUnit.CEU}
    for body in (Accreditor.APA, Accreditor.ASWB_ACE, Accreditor.NBCC, Accreditor.NAADAC):
        assert rules(body).units == (CreditUnit.HOUR,)


@pytest.mark.parametrize(
    ("body", "minutes", "expected"),
    [
        (Accreditor.APA, 60, "1"),
        (Accreditor.APA, 89, "1"),
        (Accreditor.APA, 90, "1.5"),
        (Accreditor.APA, 100, "1.5"),
        (Accreditor.APA, 59, "0"),  # below APA's one-hour minimum
        (Accreditor.ASWB_ACE, 100, "1.5"),
        (Accreditor.ASWB_ACE, 110, "1.75"),
        (Accreditor.ASWB_ACE, 74, "1"),
        (Accreditor.ASWB_ACE, 75, "1.25"),
        (Accreditor.NBCC, 150, "2.5"),
        (Accreditor.NBCC, 179, "2.5"),
        (Accreditor.NAADAC, 95, "1.5"),
        (Accreditor.NAADAC, 14, "0"),
        (Accreditor.NAADAC, 15, "0.25"),
    ],
)
def test_supported_credits_round_down_to_the_body_increment(body, minutes, expected):
    acc = Accreditation(body, "1", Decimal(10), body_name="B", state="TX", statement="s")
    assert supported_credits(make_activity(duration_minutes=minutes), acc) == Decimal(expected)


@pytest.mark.parametrize(
    ("unit", "minutes", "expected"),
    [
        ("hour", 110, "1.75"),
        ("cpe-hour", 125, "2.5"),  # 50-minute hours
        ("cpe-hour", 120, "2"),  # 2.4 rounds down to 2
        ("cpe-hour", 49, "0"),
        ("ceu", 120, "0.2"),  # 10 contact hours per CEU
        ("ceu", 179, "0.2"),
        ("ceu", 600, "1"),
    ],
)
def test_state_board_units_convert_minutes_and_round_down(unit, minutes, expected):
    acc = Accreditation(
        Accreditor.STATE_BOARD, "1", Decimal(10), body_name="B", state="TX", statement="s", credit_unit=unit
    )
    assert supported_credits(make_activity(duration_minutes=minutes), acc) == Decimal(expected)


def test_awarded_credits_never_exceed_the_time_and_round_down_to_the_increment():
    activity = make_activity(duration_minutes=120)
    assert awarded_credits(activity, APA) == 2
    assert awarded_credits(activity, APA.__class__(**{**APA.__dict__, "credits": Decimal(3)})) == 2
    assert awarded_credits(activity, APA.__class__(**{**APA.__dict__, "credits": Decimal("1.7")})) == Decimal("1.5")
    assert awarded_credits(activity, ACE.__class__(**{**ACE.__dict__, "credits": Decimal("1.8")})) == Decimal("1.75")
    assert awarded_credits(activity, ACME) == Decimal("0.2")


def test_unit_for_rejects_units_a_body_does_not_use():
    with pytest.raises(
        credit.CreditUnitError, match=r"APA credit is counted in 60-minute hours, not CEUs \(10 contact hours each\)"
    ):
        credit.unit_for(APA.__class__(**{**APA.__dict__, "credit_unit": "ceu"}))
    with pytest.raises(credit.CreditUnitError, match="'furlong' .* is not a known unit"):
        credit.unit_for(ACME.__class__(**{**ACME.__dict__, "credit_unit": "furlong"}))


@given(
    minutes=st.integers(min_value=1, max_value=6000),
    declared=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    body=st.sampled_from([Accreditor.APA, Accreditor.ASWB_ACE, Accreditor.NBCC, Accreditor.NAADAC]),
)
def test_awarded_credits_are_whole_increments_within_time_and_declared(minutes, declared, body):
    acc = Accreditation(body, "1", declared)
    got = awarded_credits(make_activity(duration_minutes=minutes), acc)
    rs = rules(body)
    assert got >= 0
    assert got <= declared
    assert got * 60 <= minutes
    assert got % rs.increments[rs.unit] == 0
    # Rounding down loses less than one increment of what both time and declaration allow.
    if minutes >= rs.min_minutes:
        ceiling = min(declared, Decimal(minutes) / 60)
        assert ceiling - got < rs.increments[rs.unit]


# --- statements -------------------------------------------------------------------------------


def test_apa_statement_is_the_exact_sponsor_approval_statement():
    assert statement(make_activity(), APA) == (
        "Example CE Institute is approved by the American Psychological Association to sponsor continuing "
        "education for psychologists. Example CE Institute maintains responsibility for this program and its "
        "content."
    )


def test_aswb_ace_statement_names_number_period_board_authority_and_credits():
    assert statement(make_activity(), ACE) == (
        "Example CE Institute, provider #1234, is approved as an ACE provider to offer social work continuing "
        "education by the Association of Social Work Boards (ASWB) Approved Continuing Education (ACE) program. "
        "Regulatory boards are the final authority on courses accepted for continuing education credit. ACE "
        "provider approval period: 1/1/2025-12/31/2027. Social workers completing this course receive 2 ethics "
        "continuing education credits."
    )


def test_aswb_ace_statement_prints_dates_month_day_year_without_padding():
    acc = ACE.__class__(**{**ACE.__dict__, "approval_start": date(2025, 3, 9), "approval_end": date(2028, 3, 9)})
    assert "ACE provider approval period: 3/9/2025-3/9/2028." in statement(make_activity(), acc)


def test_aswb_ace_statement_uses_the_awarded_credits_and_singular_for_one():
    activity = make_activity(duration_minutes=75)
    one = ACE.__class__(**{**ACE.__dict__, "credits": Decimal(1), "credit_type": CreditType.CULTURAL_DIVERSITY})
    assert statement(activity, one).endswith("receive 1 cultural diversity continuing education credit.")
    more = ACE.__class__(**{**ACE.__dict__, "credits": Decimal("1.5")})
    assert statement(activity, more).endswith("receive 1.25 ethics continuing education credits.")


def test_nbcc_statement_names_the_acep_number():
    assert statement(make_activity(), NBCC) == (
        "Example CE Institute has been approved by NBCC as an Approved Continuing Education Provider, ACEP No. "
        "7000. Programs that do not qualify for NBCC credit are clearly identified. Example CE Institute is "
        "solely responsible for all aspects of the programs."
    )


def test_naadac_statement_names_credits_and_provider_number():
    assert statement(make_activity(duration_minutes=90), NAADAC.__class__(**{**NAADAC.__dict__, "credits": 2})) == (
        "This course has been approved by Example CE Institute, as a NAADAC Approved Education Provider, for "
        "1.5 CE. NAADAC Provider #99999, Example CE Institute, is responsible for all aspects of their "
        "programming."
    )


def test_own_statement_is_printed_exactly_as_written():
    own = "  Approved by the Texas BHEC, provider TX-55.  "
    acc = TX.__class__(**{**TX.__dict__, "statement": own})
    assert statement(make_activity(), acc) == own
    apa_own = APA.__class__(**{**APA.__dict__, "statement": "Custom APA wording {sponsor}."})
    assert statement(make_activity(), apa_own) == "Custom APA wording {sponsor}."


def test_state_board_without_statement_has_no_standard_one():
    acc = TX.__class__(**{**TX.__dict__, "statement": ""})
    with pytest.raises(ValueError, match=r"Texas BHEC \(state board, TX\) accreditation has no approval statement"):
        statement(make_activity(), acc)


# --- approval period --------------------------------------------------------------------------


def test_period_covers_both_ends_inclusive():
    assert period_covers(APA, START)
    assert period_covers(APA, END)
    assert period_covers(APA, date(2026, 6, 1))
    assert not period_covers(APA, START - timedelta(days=1))
    assert not period_covers(APA, END + timedelta(days=1))


def test_period_with_open_ends_has_no_limit_on_that_side():
    assert period_covers(NBCC, date(2999, 1, 1))  # no end
    assert not period_covers(NBCC, START - timedelta(days=1))
    assert period_covers(NAADAC, date(1900, 1, 1))  # no start
    assert not period_covers(NAADAC, END + timedelta(days=1))
    assert period_covers(TX, date(1900, 1, 1)) and period_covers(TX, date(2999, 1, 1))


# --- check ------------------------------------------------------------------------------------


def test_fully_compliant_completion_has_no_refusals():
    assert check(make_activity(), make_completion()) == []


def test_completion_exactly_at_minimum_time_and_on_last_approval_day_is_accepted():
    end = datetime(2027, 12, 31, 23, 0, tzinfo=UTC)
    assert check(make_activity(), make_completion(started_at=end - timedelta(minutes=60), completed_at=end)) == []


def test_every_refusal_code_is_listed_once():
    assert len(set(credit.REFUSAL_CODES)) == len(credit.REFUSAL_CODES)


def test_not_passed():
    (r,) = check(make_activity(), make_completion(passed=False))
    assert r.code == "not-passed" and r.accreditation is None
    assert "not passed the post-test (pass mark 75%)" in r.message


def test_evaluation_not_submitted():
    (r,) = check(make_activity(), make_completion(evaluation_submitted=False))
    assert r.code == "evaluation-not-submitted"
    assert "evaluation" in r.message


def test_evaluation_not_required_needs_no_submission():
    activity = make_activity()
    activity = activity.replace(evaluation=activity.evaluation.__class__(required=False))
    assert check(activity, make_completion(evaluation_submitted=False)) == []


def test_attestation_not_given():
    (r,) = check(make_activity(), make_completion(attested=False))
    assert r.code == "attestation-not-given"


def test_no_attestation_text_needs_no_attestation():
    assert check(make_activity(attestation="  "), make_completion(attested=False)) == []


def test_minimum_time_not_met():
    (r,) = check(make_activity(), make_completion(completed_at=STARTED + timedelta(minutes=59, seconds=30)))
    assert r.code == "minimum-time-not-met"
    assert "59.5 minutes" in r.message and "at least 60 minutes" in r.message


def test_completed_before_started():
    (r,) = check(make_activity(), make_completion(completed_at=STARTED - timedelta(minutes=1)))
    assert r.code == "completed-before-started"
    assert STARTED.isoformat() in r.message


def test_naive_datetimes():
    (r,) = check(
        make_activity(),
        make_completion(started_at=STARTED.replace(tzinfo=None), completed_at=COMPLETED.replace(tzinfo=None)),
    )
    assert r.code == "naive-datetime"
    assert "started_at, completed_at" in r.message


def test_naive_prior_credit_time():
    prior = PriorCredit(datetime(2026, 3, 1, 9, 0), Accreditor.NAADAC, Decimal(1), DeliveryFormat.HOME_STUDY)
    (r,) = check(make_activity(), make_completion(prior_credits=(prior,)))
    assert r.code == "naive-datetime"
    assert "prior_credits[0].completed_at" in r.message


def test_legal_name_missing():
    (r,) = check(make_activity(), make_completion(learner=LearnerDetails(**{**LEARNER.__dict__, "legal_name": " "})))
    assert r.code == "legal-name-missing" and r.accreditation is None


def test_learner_detail_missing_names_the_detail_and_the_body():
    learner = LearnerDetails(**{**LEARNER.__dict__, "license_number": ""})
    (r,) = check(make_activity(), make_completion(learner=learner))
    assert r.code == "learner-detail-missing"
    assert r.accreditation == INDEX["ace"]
    assert "license number" in r.message and "ASWB ACE" in r.message


def test_profession_missing_is_named_for_the_state_board():
    learner = LearnerDetails(**{**LEARNER.__dict__, "profession": ""})
    (r,) = check(make_activity(), make_completion(learner=learner))
    assert r.code == "learner-detail-missing" and r.accreditation == INDEX["tx"]
    assert "profession" in r.message and "Texas BHEC (state board, TX)" in r.message


def test_approval_not_yet_started():
    activity = with_accreditation(make_activity(), "apa", approval_start=date(2026, 3, 2))
    (r,) = check(activity, make_completion())
    assert r.code == "approval-not-started" and r.accreditation == INDEX["apa"]
    assert "2026-03-01" in r.message and "APA" in r.message and "2026-03-02" in r.message


def test_approval_starting_on_the_completion_day_is_accepted():
    activity = with_accreditation(make_activity(), "apa", approval_start=date(2026, 3, 1))
    assert check(activity, make_completion()) == []


def test_completion_after_approval_ended():
    activity = with_accreditation(make_activity(), "nbcc", approval_end=date(2026, 2, 28))
    (r,) = check(activity, make_completion())
    assert r.code == "outside-approval-period" and r.accreditation == INDEX["nbcc"]
    assert "NBCC" in r.message and "2025-01-01 to 2026-02-28" in r.message


def test_approval_period_date_is_the_completion_date_in_its_own_time_zone():
    # 23:30 on 28 Feb in New York is already 1 March in UTC.
    est = timezone(timedelta(hours=-5))
    activity = with_accreditation(make_activity(), "nbcc", approval_end=date(2026, 2, 28))
    done = datetime(2026, 2, 28, 23, 30, tzinfo=est)
    assert check(activity, make_completion(started_at=done - timedelta(hours=2), completed_at=done)) == []


def test_aswb_ace_needs_an_approval_period_for_its_statement():
    activity = with_accreditation(make_activity(), "ace", approval_end=None)
    (r,) = check(activity, make_completion())
    assert r.code == "approval-period-missing" and r.accreditation == INDEX["ace"]


def test_state_board_without_statement():
    activity = with_accreditation(make_activity(), "tx", statement="")
    (r,) = check(activity, make_completion())
    assert r.code == "statement-missing" and r.accreditation == INDEX["tx"]
    assert "Texas BHEC" in r.message


def test_sponsor_name_missing_for_standard_statements():
    refusals = check(make_activity(sponsor=Sponsor(name="")), make_completion())
    assert set(codes(refusals)) == {"sponsor-name-missing"}
    assert [r.accreditation for r in refusals] == [INDEX["apa"], INDEX["ace"], INDEX["nbcc"], INDEX["naadac"]]


def test_provider_number_missing():
    activity = with_accreditation(make_activity(), "nbcc", provider_number=" ")
    (r,) = check(activity, make_completion())
    assert r.code == "provider-number-missing" and r.accreditation == INDEX["nbcc"]


def test_unknown_credit_unit():
    activity = with_accreditation(make_activity(), "acme", credit_unit="furlong")
    (r,) = check(activity, make_completion())
    assert r.code == "unknown-credit-unit" and "'furlong'" in r.message


def test_credit_unit_not_allowed_for_a_national_body():
    activity = with_accreditation(make_activity(), "apa", credit_unit="cpe-hour")
    (r,) = check(activity, make_completion())
    assert r.code == "credit-unit-not-allowed" and r.accreditation == INDEX["apa"]


def test_program_shorter_than_the_body_minimum():
    activity = make_activity(
        duration_minutes=45,
        min_minutes=30,
        accreditations=(APA.__class__(**{**APA.__dict__, "credits": Decimal("0.5")}),),
    )
    (r,) = check(activity, make_completion())
    assert r.code == "program-too-short"
    assert "45 minutes" in r.message and "at least 60 minutes" in r.message


def test_credits_exceeding_the_instructional_time():
    activity = with_accreditation(make_activity(), "apa", credits=Decimal("2.5"))
    (r,) = check(activity, make_completion())
    assert r.code == "credits-exceed-time" and r.accreditation == INDEX["apa"]
    assert "2.5 credits" in r.message and "120 minutes" in r.message and "at most 2" in r.message


def test_ceu_credits_exceeding_the_instructional_time():
    activity = with_accreditation(make_activity(), "acme", credits=Decimal("0.3"))
    (r,) = check(activity, make_completion())
    assert r.code == "credits-exceed-time" and "CEUs (10 contact hours each)" in r.message


def test_credits_not_a_valid_increment():
    activity = with_accreditation(make_activity(), "apa", credits=Decimal("1.25"))
    (r,) = check(activity, make_completion())
    assert r.code == "credits-not-increment"
    assert "1.25" in r.message and "multiple of 0.5" in r.message and "e.g. 1" in r.message


def _prior(hours_before: float, credits: str, body=Accreditor.NAADAC, fmt=DeliveryFormat.HOME_STUDY) -> PriorCredit:
    return PriorCredit(COMPLETED - timedelta(hours=hours_before), body, Decimal(credits), fmt)


def test_daily_cap_exceeded_says_the_hours_in_the_window():
    (r,) = check(make_activity(), make_completion(prior_credits=(_prior(3, "4"), _prior(20, "2.5"))))
    assert r.code == "daily-cap-exceeded" and r.accreditation == INDEX["naadac"]
    assert "8.5 hours" in r.message and "6.5 from other certificates" in r.message and "at most 8" in r.message


def test_daily_cap_allows_exactly_eight_hours():
    assert check(make_activity(), make_completion(prior_credits=(_prior(3, "6"),))) == []


def test_daily_cap_ignores_credit_older_than_24_hours_and_other_bodies():
    priors = (
        _prior(24, "6"),  # exactly 24 hours earlier: outside the window
        _prior(2, "6", body=Accreditor.APA),  # APA credit is not NAADAC credit
    )
    assert check(make_activity(), make_completion(prior_credits=priors)) == []


def test_daily_cap_allows_the_cap_once_per_day_an_activity_spans():
    activity = make_activity(
        duration_minutes=600, accreditations=(NAADAC.__class__(**{**NAADAC.__dict__, "credits": 10}),)
    )
    same_day = make_completion(started_at=COMPLETED - timedelta(hours=11), completed_at=COMPLETED)
    assert codes(check(activity, same_day)) == ["daily-cap-exceeded"]
    two_days = make_completion(started_at=COMPLETED - timedelta(hours=30), completed_at=COMPLETED)
    assert check(activity, two_days) == []


def test_no_accreditation():
    (r,) = check(make_activity(accreditations=()), make_completion())
    assert r.code == "no-accreditation"


def test_check_lists_every_reason_at_once():
    activity = with_accreditation(make_activity(), "apa", credits=Decimal("2.5"), approval_end=date(2026, 1, 1))
    completion = make_completion(
        passed=False,
        evaluation_submitted=False,
        attested=False,
        learner=LearnerDetails(),
        completed_at=STARTED + timedelta(minutes=10),
    )
    got = set(codes(check(activity, completion)))
    assert {
        "not-passed",
        "evaluation-not-submitted",
        "attestation-not-given",
        "minimum-time-not-met",
        "legal-name-missing",
        "learner-detail-missing",
        "outside-approval-period",
        "credits-exceed-time",
    } <= got


def test_every_refusal_code_has_a_test_here():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    for code in credit.REFUSAL_CODES:
        assert f'"{code}"' in text.split("def test_every_refusal_code_has_a_test_here")[0], code


def test_daily_cap_counts_prior_credit_recorded_with_plain_strings():
    prior = PriorCredit(COMPLETED - timedelta(hours=1), "naadac", Decimal(7), "home-study")
    assert codes(check(make_activity(), make_completion(prior_credits=(prior,)))) == ["daily-cap-exceeded"]
