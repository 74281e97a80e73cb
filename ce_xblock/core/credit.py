"""The accreditors' credit rules, their approval statements, and the check before a certificate.

Every rule a body sets (credit unit, increment, minimum length, daily cap, statement) lives in
one table, `RULES`, so an administrator can update it when a body changes its rules; the
sources and what could not be confirmed are in docs/credit-rules.md. `check()` lists every
reason a certificate must not be issued, so that an administrator sees all of them at once.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ce_xblock.core.activity import (
    Accreditation,
    Accreditor,
    Activity,
    CreditType,
    DeliveryFormat,
    LearnerDetail,
)
from ce_xblock.core.locale import N_


class CreditUnit(enum.StrEnum):
    """What one credit stands for."""

    HOUR = "hour"  # a 60-minute clock/contact hour
    CPE_HOUR = "cpe-hour"  # a 50-minute hour
    CEU = "ceu"  # a continuing education unit: 10 contact hours


UNIT_MINUTES: Mapping[CreditUnit, int] = {
    CreditUnit.HOUR: 60,
    CreditUnit.CPE_HOUR: 50,
    CreditUnit.CEU: 600,
}

# Units in which partial credit starts only after the first whole credit (NASBA-style CPE:
# half credits are allowed after the first credit has been earned).
FIRST_CREDIT_WHOLE: frozenset[CreditUnit] = frozenset({CreditUnit.CPE_HOUR})

# Printed on certificates (and stored in their records) in English; the PDF translates them.
UNIT_NAMES: Mapping[CreditUnit, str] = {
    CreditUnit.HOUR: N_("60-minute hours"),
    CreditUnit.CPE_HOUR: N_("50-minute CPE hours"),
    CreditUnit.CEU: N_("CEUs (10 contact hours each)"),
}


@dataclass(frozen=True)
class DailyCap:
    """At most `hours` credits in any `window` for activities in `formats`."""

    hours: Decimal
    formats: frozenset[DeliveryFormat]
    window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class RuleSet:
    """One accreditor's rules. `increments` maps each unit the body accepts to its increment;
    the first unit is the body's standard one."""

    body: Accreditor
    name: str
    increments: Mapping[CreditUnit, Decimal]
    min_minutes: int = 0  # shortest program the body gives credit for
    rounding: str = "down"  # a board never accepts more credit than the time supports
    daily_cap: DailyCap | None = None
    # The standard approval statement, a str.format template with {sponsor}, {provider_number},
    # {credits}, {credit_label}, {credit_type}, {approval_start}, {approval_end}.
    # Empty: the body has no standard statement, so each accreditation must bring its own.
    statement: str = ""
    # Whether the statement states the approval period, so it cannot be printed without one.
    statement_needs_period: bool = False

    @property
    def unit(self) -> CreditUnit:
        return next(iter(self.increments))

    @property
    def units(self) -> tuple[CreditUnit, ...]:
        return tuple(self.increments)


_ONLINE = frozenset(DeliveryFormat)  # every format we deliver is online or home study

RULES: Mapping[Accreditor, RuleSet] = {
    Accreditor.APA: RuleSet(
        body=Accreditor.APA,
        name="APA",
        increments={CreditUnit.HOUR: Decimal("0.5")},
        min_minutes=60,
        statement=(
            "{sponsor} is approved by the American Psychological Association to sponsor continuing education "
            "for psychologists. {sponsor} maintains responsibility for this program and its content."
        ),
    ),
    Accreditor.ASWB_ACE: RuleSet(
        body=Accreditor.ASWB_ACE,
        name="ASWB ACE",
        increments={CreditUnit.HOUR: Decimal("0.25")},
        min_minutes=60,
        statement=(
            "{sponsor}, provider #{provider_number}, is approved as an ACE provider to offer social work continuing "
            "education by the Association of Social Work Boards (ASWB) Approved Continuing Education (ACE) program. "
            "Regulatory boards are the final authority on courses accepted for continuing education credit. ACE "
            "provider approval period: {approval_start}-{approval_end}. Social workers completing this course "
            "receive {credits} {credit_type} continuing education {credit_label}."
        ),
        statement_needs_period=True,
    ),
    Accreditor.NBCC: RuleSet(
        body=Accreditor.NBCC,
        name="NBCC",
        increments={CreditUnit.HOUR: Decimal("0.5")},
        min_minutes=60,
        statement=(
            "{sponsor} has been approved by NBCC as an Approved Continuing Education Provider, "
            "ACEP No. {provider_number}. Programs that do not qualify for NBCC credit are clearly identified. "
            "{sponsor} is solely responsible for all aspects of the programs."
        ),
    ),
    Accreditor.NAADAC: RuleSet(
        body=Accreditor.NAADAC,
        name="NAADAC",
        increments={CreditUnit.HOUR: Decimal("0.25")},
        min_minutes=0,
        daily_cap=DailyCap(hours=Decimal(8), formats=_ONLINE),
        statement=(
            "This course has been approved by {sponsor}, as a NAADAC Approved Education Provider, for "
            "{credits} CE. NAADAC Provider #{provider_number}, {sponsor}, is responsible for all aspects of "
            "their programming."
        ),
    ),
    Accreditor.STATE_BOARD: RuleSet(
        body=Accreditor.STATE_BOARD,
        name="state board",
        increments={
            CreditUnit.HOUR: Decimal("0.25"),
            CreditUnit.CPE_HOUR: Decimal("0.5"),
            CreditUnit.CEU: Decimal("0.1"),
        },
    ),
    Accreditor.CUSTOM: RuleSet(
        body=Accreditor.CUSTOM,
        name="custom body",
        increments={
            CreditUnit.HOUR: Decimal("0.25"),
            CreditUnit.CPE_HOUR: Decimal("0.5"),
            CreditUnit.CEU: Decimal("0.1"),
        },
    ),
}


def rules(body: Accreditor | str) -> RuleSet:
    """The rule set of one accreditor."""
    return RULES[Accreditor(body)]


# --- learner and completion -------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerDetails:
    legal_name: str = ""
    license_number: str = ""
    license_state: str = ""
    profession: str = ""

    def get(self, detail: LearnerDetail) -> str:
        return getattr(self, detail.value.replace("-", "_"))


@dataclass(frozen=True)
class PriorCredit:
    """One of the learner's other certificates, for daily caps."""

    completed_at: datetime
    body: Accreditor
    credits: Decimal
    format: DeliveryFormat


@dataclass(frozen=True)
class Completion:
    learner: LearnerDetails
    started_at: datetime
    completed_at: datetime
    passed: bool
    evaluation_submitted: bool
    attested: bool
    prior_credits: tuple[PriorCredit, ...] = field(default=())


class Term(str):
    """A word inside a refusal message that is translated with it, e.g. "licence number"."""


@dataclass(frozen=True)
class Refusal:
    """One reason a certificate must not be issued. `accreditation` is the index into
    activity.accreditations, or None when the reason concerns the whole completion.

    `message` is in English (logs, administrators, tests). `template` is the `N_`-marked source
    string and `params` its values, so that `translate(gettext)` gives it in the learner's language.
    """

    code: str
    message: str
    accreditation: int | None = None
    template: str = ""
    params: tuple[tuple[str, Any], ...] = ()

    def translate(self, gettext: Any) -> str:
        """The message in the language of `gettext` (e.g. `translator("fr").gettext`); English if the
        catalogue lacks it or its translation is broken."""
        if not self.template:
            return self.message
        values = {k: gettext(v) if isinstance(v, Term) else v for k, v in self.params}
        for text in (gettext(self.template), self.template):
            try:
                return text % values if values else text.replace("%%", "%")
            except (KeyError, ValueError, TypeError):
                continue
        return self.message


def refusal(code: str, template: str, accreditation: int | None = None, **params: Any) -> Refusal:
    """A Refusal from an `N_`-marked template ("%(name)s" placeholders; a literal % is written %%)."""
    english = template % params if params else template.replace("%%", "%")
    return Refusal(code, english, accreditation, template, tuple(params.items()))


# Stable refusal codes, for homes and reports to key on.
NO_ACCREDITATION = "no-accreditation"
NAIVE_DATETIME = "naive-datetime"
COMPLETED_BEFORE_STARTED = "completed-before-started"
NOT_PASSED = "not-passed"
EVALUATION_NOT_SUBMITTED = "evaluation-not-submitted"
ATTESTATION_NOT_GIVEN = "attestation-not-given"
MINIMUM_TIME_NOT_MET = "minimum-time-not-met"
LEGAL_NAME_MISSING = "legal-name-missing"
LEARNER_DETAIL_MISSING = "learner-detail-missing"
APPROVAL_NOT_STARTED = "approval-not-started"
OUTSIDE_APPROVAL_PERIOD = "outside-approval-period"
APPROVAL_PERIOD_MISSING = "approval-period-missing"
STATEMENT_MISSING = "statement-missing"
SPONSOR_NAME_MISSING = "sponsor-name-missing"
PROVIDER_NUMBER_MISSING = "provider-number-missing"
UNKNOWN_CREDIT_UNIT = "unknown-credit-unit"
CREDIT_UNIT_NOT_ALLOWED = "credit-unit-not-allowed"
PROGRAM_TOO_SHORT = "program-too-short"
CREDITS_EXCEED_TIME = "credits-exceed-time"
CREDITS_NOT_INCREMENT = "credits-not-increment"
DAILY_CAP_EXCEEDED = "daily-cap-exceeded"

REFUSAL_CODES = (
    NO_ACCREDITATION,
    NAIVE_DATETIME,
    COMPLETED_BEFORE_STARTED,
    NOT_PASSED,
    EVALUATION_NOT_SUBMITTED,
    ATTESTATION_NOT_GIVEN,
    MINIMUM_TIME_NOT_MET,
    LEGAL_NAME_MISSING,
    LEARNER_DETAIL_MISSING,
    APPROVAL_NOT_STARTED,
    OUTSIDE_APPROVAL_PERIOD,
    APPROVAL_PERIOD_MISSING,
    STATEMENT_MISSING,
    SPONSOR_NAME_MISSING,
    PROVIDER_NUMBER_MISSING,
    UNKNOWN_CREDIT_UNIT,
    CREDIT_UNIT_NOT_ALLOWED,
    PROGRAM_TOO_SHORT,
    CREDITS_EXCEED_TIME,
    CREDITS_NOT_INCREMENT,
    DAILY_CAP_EXCEEDED,
)


# --- units and rounding -----------------------------------------------------------------------


class CreditUnitError(ValueError):
    """An accreditation names a credit unit its body does not use. `template` and `params` make the
    message translatable (see `Refusal`)."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template, self.params = template, params
        super().__init__(template % params)


def body_label(accreditation: Accreditation) -> str:
    """The body as an administrator knows it: "APA", or "Texas BHEC (state board, TX)"."""
    rs = rules(accreditation.body)
    if accreditation.body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM):
        name = accreditation.body_name.strip() or "unnamed body"
        where = f", {accreditation.state.strip()}" if accreditation.state.strip() else ""
        return f"{name} ({rs.name}{where})"
    return rs.name


def unit_for(accreditation: Accreditation) -> CreditUnit:
    """The credit unit of one accreditation: its own credit_unit if set, else the body's standard unit.

    Raises CreditUnitError if the unit is unknown or the body does not use it.
    """
    rs = rules(accreditation.body)
    raw = accreditation.credit_unit.strip()
    if not raw:
        return rs.unit
    try:
        unit = CreditUnit(raw)
    except ValueError:
        raise CreditUnitError(
            N_("The credit unit %(unit)s of the %(body)s accreditation is not a known unit. Use one of: %(units)s."),
            unit=repr(raw),
            body=body_label(accreditation),
            units=", ".join(u.value for u in CreditUnit),
        ) from None
    if unit not in rs.increments:
        raise CreditUnitError(
            N_(
                "%(body)s credit is counted in %(standard)s, not %(unit)s. "
                "Remove credit_unit, or use it only on state-board and custom accreditations."
            ),
            body=body_label(accreditation),
            standard=Term(UNIT_NAMES[rs.unit]),
            unit=Term(UNIT_NAMES[unit]),
        )
    return unit


def increment_for(accreditation: Accreditation) -> Decimal:
    return rules(accreditation.body).increments[unit_for(accreditation)]


def round_down(value: Decimal, increment: Decimal) -> Decimal:
    """`value` rounded down to a whole number of `increment`s."""
    steps = (Decimal(value) / increment).to_integral_value(rounding=ROUND_FLOOR)
    return _tidy(steps * increment)


def supported_credits(activity: Activity, accreditation: Accreditation) -> Decimal:
    """The most credit the instructional time supports in the body's unit, rounded down to the
    body's increment; 0 if the activity is shorter than the body's minimum program length."""
    rs = rules(accreditation.body)
    if activity.duration_minutes < rs.min_minutes or activity.duration_minutes <= 0:
        return Decimal(0)
    unit = unit_for(accreditation)
    units = Decimal(activity.duration_minutes) / UNIT_MINUTES[unit]
    if unit in FIRST_CREDIT_WHOLE and units < 1:
        return Decimal(0)
    return round_down(units, rs.increments[unit])


def awarded_credits(activity: Activity, accreditation: Accreditation) -> Decimal:
    """The credits a certificate carries: the accreditation's credits rounded down to the body's
    increment, and never more than the instructional time supports."""
    declared = round_down(Decimal(accreditation.credits), increment_for(accreditation))
    return min(declared, supported_credits(activity, accreditation))


# --- approval period and statement ------------------------------------------------------------


def period_covers(accreditation: Accreditation, when: date) -> bool:
    """Whether `when` falls in the approval period; both ends inclusive, an open end has no limit."""
    if isinstance(when, datetime):
        when = when.date()
    if accreditation.approval_start is not None and when < accreditation.approval_start:
        return False
    return not (accreditation.approval_end is not None and when > accreditation.approval_end)


def _tidy(d: Decimal) -> Decimal:
    """2.00 -> 2, 1.50 -> 1.5, without exponent notation."""
    d = Decimal(d).normalize()
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d


def format_credits(d: Decimal) -> str:
    return format(_tidy(d), "f")


def credit_type_label(credit_type: CreditType) -> str:
    return CreditType(credit_type).value.replace("-", " ")


def _us_date(d: date | None) -> str:
    """3/9/2027: the month/day/year form ACE providers print."""
    return f"{d.month}/{d.day}/{d.year}" if d else ""


def statement(activity: Activity, accreditation: Accreditation) -> str:
    """The exact approval statement printed for this accreditation.

    An accreditation's own statement is printed exactly as written; otherwise the body's standard
    statement is filled in. Raises ValueError when there is neither (state boards, custom bodies),
    and CreditUnitError (a ValueError) when the accreditation's credit unit is not the body's.
    """
    if accreditation.statement.strip():
        return accreditation.statement
    rs = rules(accreditation.body)
    if not rs.statement:
        raise ValueError(
            f"The {body_label(accreditation)} accreditation has no approval statement and the body has no "
            "standard one. Add a <statement> with the exact wording the body requires."
        )
    credits = awarded_credits(activity, accreditation)
    return rs.statement.format(
        sponsor=activity.sponsor.name.strip(),
        provider_number=accreditation.provider_number.strip(),
        credits=format_credits(credits),
        credit_label="credit" if credits == 1 else "credits",
        credit_type=credit_type_label(accreditation.credit_type),
        approval_start=_us_date(accreditation.approval_start),
        approval_end=_us_date(accreditation.approval_end),
    )


# --- the check --------------------------------------------------------------------------------


def _naive(dt: datetime) -> bool:
    return dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None


def _minutes(td: timedelta) -> str:
    m = td.total_seconds() / 60
    return str(int(m)) if m == int(m) else f"{m:.1f}"


def check(activity: Activity, completion: Completion) -> list[Refusal]:
    """Every reason a certificate must not be issued for this completion. Empty means issue it."""
    out: list[Refusal] = []
    times_ok = _check_times(activity, completion, out)
    _check_completion(activity, completion, out)
    if not activity.accreditations:
        out.append(
            refusal(
                NO_ACCREDITATION,
                N_(
                    "The activity has no accreditation, so a certificate would carry no credit. "
                    "Add an accreditation for each body that approved the activity."
                ),
            )
        )
    for i, acc in enumerate(activity.accreditations):
        out.extend(_check_accreditation(activity, completion, i, acc, times_ok))
    return out


def _check_times(activity: Activity, c: Completion, out: list[Refusal]) -> bool:
    """Time checks; returns False when the times cannot be compared, so later checks skip them."""
    naive = [name for name, dt in (("started_at", c.started_at), ("completed_at", c.completed_at)) if _naive(dt)]
    naive += [f"prior_credits[{j}].completed_at" for j, p in enumerate(c.prior_credits) if _naive(p.completed_at)]
    if naive:
        out.append(
            refusal(
                NAIVE_DATETIME,
                N_(
                    "The time(s) %(fields)s have no time zone, so the minimum time, the approval period "
                    "and daily caps cannot be checked. Record times with a time zone (e.g. UTC)."
                ),
                fields=", ".join(naive),
            )
        )
        return False
    if c.completed_at < c.started_at:
        out.append(
            refusal(
                COMPLETED_BEFORE_STARTED,
                N_("The completion time %(completed)s is before the start time %(started)s. Check the recorded times."),
                completed=c.completed_at.isoformat(),
                started=c.started_at.isoformat(),
            )
        )
        return False
    spent = c.completed_at - c.started_at
    if activity.min_minutes and spent < timedelta(minutes=activity.min_minutes):
        out.append(
            refusal(
                MINIMUM_TIME_NOT_MET,
                N_(
                    "The learner spent %(spent)s minutes from start to completion; this activity requires "
                    "at least %(minimum)s minutes (min_minutes) before a certificate."
                ),
                spent=_minutes(spent),
                minimum=activity.min_minutes,
            )
        )
    return True


def _check_completion(activity: Activity, c: Completion, out: list[Refusal]) -> None:
    if not c.passed:
        out.append(
            refusal(
                NOT_PASSED,
                N_(
                    "The learner has not passed the post-test (pass mark %(mark)s%%). "
                    "A certificate needs a passing attempt."
                ),
                mark=activity.policy.pass_mark,
            )
        )
    if activity.evaluation.required and not c.evaluation_submitted:
        out.append(
            refusal(
                EVALUATION_NOT_SUBMITTED,
                N_(
                    "The learner has not submitted the evaluation, which this activity requires before a "
                    "certificate (evaluation required=true)."
                ),
            )
        )
    if activity.attestation.strip() and not c.attested:
        out.append(
            refusal(
                ATTESTATION_NOT_GIVEN,
                N_("The learner has not confirmed the attestation, which this activity requires before a certificate."),
            )
        )
    if not c.learner.legal_name.strip():
        out.append(
            refusal(
                LEGAL_NAME_MISSING,
                N_(
                    "The learner's legal name is missing; every accreditor needs it on the certificate. "
                    "Ask the learner to confirm their legal name."
                ),
            )
        )


def _check_accreditation(
    activity: Activity, c: Completion, i: int, acc: Accreditation, times_ok: bool
) -> list[Refusal]:
    out: list[Refusal] = []
    rs = rules(acc.body)
    who = body_label(acc)

    def refuse(code: str, template: str, **params: Any) -> None:
        out.append(refusal(code, template, i, **params))

    for detail in acc.required_details:
        if detail is LearnerDetail.LEGAL_NAME:
            continue  # checked once for the whole completion
        if not c.learner.get(detail).strip():
            refuse(
                LEARNER_DETAIL_MISSING,
                N_(
                    "The learner's %(detail)s is missing; %(body)s requires it on the certificate. Ask the learner to enter it."
                ),
                detail=Term(DETAIL_NAMES.get(detail, detail.value.replace("-", " "))),
                body=who,
            )

    if times_ok:
        day = c.completed_at.date()
        period = {"start": _iso(acc.approval_start) or "open", "end": _iso(acc.approval_end) or "open"}
        if acc.approval_start is not None and day < acc.approval_start:
            refuse(
                APPROVAL_NOT_STARTED,
                N_(
                    "Completed on %(day)s, before the %(body)s approval starts on %(approval)s (approval period "
                    "%(start)s to %(end)s). No %(body)s credit can be issued before the approval starts."
                ),
                day=day.isoformat(),
                body=who,
                approval=acc.approval_start.isoformat(),
                **period,
            )
        elif acc.approval_end is not None and day > acc.approval_end:
            refuse(
                OUTSIDE_APPROVAL_PERIOD,
                N_(
                    "Completed on %(day)s, after the %(body)s approval ended on %(approval)s (approval period "
                    "%(start)s to %(end)s). Renew the approval and update approval_end, or do not issue this credit."
                ),
                day=day.isoformat(),
                body=who,
                approval=acc.approval_end.isoformat(),
                **period,
            )

    if acc.statement.strip():
        pass  # printed exactly as written; nothing to fill in
    elif not rs.statement:
        refuse(
            STATEMENT_MISSING,
            N_(
                "The %(body)s accreditation has no approval statement, and a %(kind)s has no standard one. "
                "Add a <statement> with the exact wording the body requires."
            ),
            body=who,
            kind=rs.name,
        )
    else:
        if not activity.sponsor.name.strip():
            refuse(
                SPONSOR_NAME_MISSING,
                N_(
                    "The sponsor's name is empty, so the %(body)s approval statement cannot be printed. Set the sponsor name."
                ),
                body=who,
            )
        if rs.statement_needs_period and (acc.approval_start is None or acc.approval_end is None):
            refuse(
                APPROVAL_PERIOD_MISSING,
                N_(
                    "The %(body)s approval statement must state the approval period, but approval_start or "
                    "approval_end is not set. Set both (YYYY-MM-DD)."
                ),
                body=who,
            )
    if acc.body is not Accreditor.CUSTOM and not acc.provider_number.strip():
        refuse(
            PROVIDER_NUMBER_MISSING,
            N_("The %(body)s accreditation has no provider or approval number. Set provider_number."),
            body=who,
        )

    try:
        unit = unit_for(acc)
    except CreditUnitError as err:
        raw = acc.credit_unit.strip()
        known = raw in {u.value for u in CreditUnit}
        refuse(CREDIT_UNIT_NOT_ALLOWED if known else UNKNOWN_CREDIT_UNIT, err.template, **err.params)
        return out  # credits cannot be checked without a unit

    increment = rs.increments[unit]
    unit_name = UNIT_NAMES[unit]
    credits = Decimal(acc.credits)
    if activity.duration_minutes < rs.min_minutes:
        refuse(
            PROGRAM_TOO_SHORT,
            N_(
                "The activity lasts %(minutes)s minutes; %(body)s gives credit only for programs of at "
                "least %(minimum)s minutes."
            ),
            minutes=activity.duration_minutes,
            body=who,
            minimum=rs.min_minutes,
        )
    else:
        supported = supported_credits(activity, acc)
        if credits > supported:
            refuse(
                CREDITS_EXCEED_TIME,
                N_(
                    "The %(body)s accreditation awards %(credits)s credits, but %(minutes)s minutes of instruction "
                    "support at most %(supported)s (in %(unit)s, in steps of %(step)s, rounded down). Lower the "
                    "credits or correct duration_minutes."
                ),
                body=who,
                credits=format_credits(credits),
                minutes=activity.duration_minutes,
                supported=format_credits(supported),
                unit=Term(unit_name),
                step=format_credits(increment),
            )
    if credits != round_down(credits, increment):
        refuse(
            CREDITS_NOT_INCREMENT,
            N_(
                "The %(body)s accreditation awards %(credits)s credits, which is not a multiple of %(step)s "
                "(in %(unit)s). Use e.g. %(suggestion)s."
            ),
            body=who,
            credits=format_credits(credits),
            step=format_credits(increment),
            unit=Term(unit_name),
            suggestion=format_credits(round_down(credits, increment)),
        )

    cap = rs.daily_cap
    if times_ok and cap is not None and activity.format in cap.formats:
        since = c.completed_at - cap.window
        earlier = sum(
            (
                Decimal(p.credits)
                for p in c.prior_credits
                if p.body == acc.body and p.format in cap.formats and since < p.completed_at <= c.completed_at
            ),
            Decimal(0),
        )
        this = awarded_credits(activity, acc)
        # A learner who spread this activity over several days may earn the cap once per window.
        windows = max(1, math.ceil((c.completed_at - c.started_at) / cap.window))
        allowed = cap.hours * windows
        total = earlier + this
        if total > allowed:
            hours = f"{cap.window.total_seconds() / 3600:g}"
            refuse(
                DAILY_CAP_EXCEEDED,
                N_(
                    "With this certificate the learner would hold %(total)s hours of %(body)s online or home-study "
                    "credit in the %(window)s hours up to %(completed)s (%(earlier)s from other certificates plus "
                    "%(this)s from this one); %(body)s allows at most %(cap)s hours in any %(window)s hours. Issue "
                    "the certificate once enough earlier credit has left the window."
                ),
                total=format_credits(total),
                body=who,
                window=hours,
                completed=c.completed_at.isoformat(),
                earlier=format_credits(earlier),
                this=format_credits(this),
                cap=format_credits(cap.hours),
            )
    return out


# The learner details a refusal can name, as translatable words.
DETAIL_NAMES: Mapping[LearnerDetail, str] = {
    LearnerDetail.LEGAL_NAME: N_("legal name"),
    LearnerDetail.LICENSE_NUMBER: N_("license number"),
    LearnerDetail.LICENSE_STATE: N_("license state"),
    LearnerDetail.PROFESSION: N_("profession"),
}


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""
