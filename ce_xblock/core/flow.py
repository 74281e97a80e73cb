"""The learner flow as a plain state machine: what to show next (`view`) and what a learner did (`act`).

Both homes call it: the XBlock keeps `LearnerState.to_dict()` in a user-state field, the LTI tool
in a database row. Time, the learner's seed and the certificate issuer come in as arguments, so a
test can walk the whole flow without a server. The interface is documented in docs/xblock.md.

Steps, in order: info -> posttest -> result -> evaluation -> attestation -> details -> certificate.
The step is derived from the state alone, so a learner who comes back sees where they left off.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ce_xblock.core import attempts as attempts_mod
from ce_xblock.core import credit
from ce_xblock.core.activity import (
    LIKERT_SCALE,
    Activity,
    EvaluationItemType,
    LearnerDetail,
)
from ce_xblock.core.locale import N_, localize, translator

STEPS = ("info", "posttest", "result", "evaluation", "attestation", "details", "certificate")
ACTIONS = ("start", "submit", "continue", "evaluation", "attest", "details", "certificate")

MAX_TEXT_ANSWER = 2000
MAX_NAME = 200
MAX_LICENSE = 64
MAX_PROFESSION = 100
LICENSE_STATE_RE = re.compile(r"^[A-Z]{2}$")

# Learner details as they are named in payloads, state and views (snake_case, like LearnerDetails).
DETAIL_FIELDS = {
    LearnerDetail.LEGAL_NAME: "legal_name",
    LearnerDetail.LICENSE_NUMBER: "license_number",
    LearnerDetail.LICENSE_STATE: "license_state",
    LearnerDetail.PROFESSION: "profession",
}

IssueCertificate = Callable[[Activity, "LearnerState", "credit.Completion"], dict]


class FlowError(ValueError):
    """A learner action that cannot be done: homes answer it with HTTP `status` (400) and `message`.

    `code` is stable for programs (and the front end), `field` names the form field at fault
    (a question id, an evaluation item id, or a learner detail such as `legal_name`). The
    message is an `N_`-marked template filled with `params`; `act` translates it into the
    learner's language (`translate`). Params that are `Label`s are translated too.
    """

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, **params: Any):
        self.code = code
        self.field = field
        self.template = message
        self.params = params
        self.message = _fill(message, params, lambda t: t)
        super().__init__(self.message)

    def translate(self, gettext: Callable[[str], str]) -> FlowError:
        """The message in the learner's language; a broken translation keeps the English one."""
        translated = gettext(self.template)
        if translated != self.template:
            filled = _fill(translated, self.params, gettext)
            if filled != translated or not self.params:
                self.message = filled
        elif self.params:
            self.message = _fill(self.template, self.params, gettext)
        self.args = (self.message,)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "field": self.field}


class Conflict(FlowError):
    """An action that was well formed but comes too late for the state (the post-test's time ran out): 409."""

    status = 409


class Label(str):
    """A translatable word inside an error message, e.g. "licence number"."""


class Refused(FlowError):
    """The credit check refused the certificate: every reason, each translated on its own."""

    def __init__(self, refusals: Sequence[credit.Refusal]):
        self.refusals = list(refusals)
        super().__init__("refused", " ".join(r.message for r in self.refusals))

    def translate(self, gettext: Callable[[str], str]) -> FlowError:
        self.message = " ".join(r.translate(gettext) for r in self.refusals)
        self.args = (self.message,)
        return self


def _fill(template: str, params: Mapping[str, Any], gettext: Callable[[str], str]) -> str:
    if not params:
        return template
    values = {k: gettext(v) if isinstance(v, Label) else localize(v, gettext) for k, v in params.items()}
    try:
        return template % values
    except (KeyError, ValueError, TypeError):  # a broken translation must not hide the error
        return template


@dataclass
class LearnerState:
    """Everything one learner has done in one activity. JSON-safe through to_dict/from_dict."""

    attempts: list[attempts_mod.Attempt] = field(default_factory=list)
    started_at: datetime | None = None
    result_seen: int = 0  # the last attempt whose result the learner moved on from
    evaluation_answers: dict[str, Any] = field(default_factory=dict)
    evaluation_submitted_at: datetime | None = None
    evaluation_skipped: bool = False  # only when the activity does not require the evaluation
    attested_at: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)
    details_confirmed_at: datetime | None = None
    certificate: dict | None = None
    # Accommodations an instructor grants one learner.
    extra_attempts: int = 0
    extra_minutes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": [a.to_dict() for a in self.attempts],
            "started_at": _iso(self.started_at),
            "result_seen": self.result_seen,
            "evaluation_answers": dict(self.evaluation_answers),
            "evaluation_submitted_at": _iso(self.evaluation_submitted_at),
            "evaluation_skipped": self.evaluation_skipped,
            "attested_at": _iso(self.attested_at),
            "details": dict(self.details),
            "details_confirmed_at": _iso(self.details_confirmed_at),
            "certificate": self.certificate,
            "extra_attempts": self.extra_attempts,
            "extra_minutes": self.extra_minutes,
        }

    def copy(self) -> LearnerState:
        """A copy that the actions below may change without touching this one: they assign fields
        and replace or append whole attempts (attempts are frozen), never edit what a field holds."""
        return dataclasses.replace(
            self,
            attempts=list(self.attempts),
            evaluation_answers=dict(self.evaluation_answers),
            details=dict(self.details),
            certificate=copy.deepcopy(self.certificate),
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> LearnerState:
        """Read a stored state; missing keys (an older or empty state) take their defaults."""
        d = d or {}
        return cls(
            attempts=[attempts_mod.Attempt.from_dict(a) for a in d.get("attempts") or ()],
            started_at=_parse_dt(d.get("started_at")),
            result_seen=int(d.get("result_seen") or 0),
            evaluation_answers=dict(d.get("evaluation_answers") or {}),
            evaluation_submitted_at=_parse_dt(d.get("evaluation_submitted_at")),
            evaluation_skipped=bool(d.get("evaluation_skipped")),
            attested_at=_parse_dt(d.get("attested_at")),
            details={k: str(v) for k, v in (d.get("details") or {}).items()},
            details_confirmed_at=_parse_dt(d.get("details_confirmed_at")),
            certificate=d.get("certificate") or None,
            extra_attempts=int(d.get("extra_attempts") or 0),
            extra_minutes=int(d.get("extra_minutes") or 0),
        )

    # Facts derived from the state, used by the homes for grades and completion.

    @property
    def submitted(self) -> list[attempts_mod.Attempt]:
        return [a for a in self.attempts if a.submitted_at is not None and a.score is not None]

    @property
    def in_progress(self) -> attempts_mod.Attempt | None:
        if self.attempts and self.attempts[-1].submitted_at is None:
            return self.attempts[-1]
        return None

    @property
    def passed(self) -> bool:
        return any(a.score.passed for a in self.submitted)


# ---------------------------------------------------------------------------------------------
# Facts for the homes: grade, completion


def raw_score(state: LearnerState, policy: str = "best") -> tuple[float, int] | None:
    """(points, max_points) of the attempt the grade policy counts, or None before any submit.

    `policy` is "best" (the highest percent, earliest on ties) or "last" (the latest submitted);
    with "last" a grade may go down.
    """
    done = state.submitted
    if not done:
        return None
    chosen = attempts_mod.last_attempt(done) if policy == "last" else attempts_mod.best_attempt(done)
    return float(chosen.score.points), int(chosen.score.max_points)


def evaluation_done(activity: Activity, state: LearnerState) -> bool:
    """The evaluation is submitted, or not needed (no items, or skipped where not required)."""
    if not activity.evaluation_items():
        return True
    if state.evaluation_submitted_at is not None:
        return True
    return state.evaluation_skipped and not activity.evaluation.required


def is_complete(activity: Activity, state: LearnerState) -> bool:
    """Passed, and the evaluation submitted where the activity requires it: when homes mark completion."""
    if not state.passed:
        return False
    return state.evaluation_submitted_at is not None or not (
        activity.evaluation.required and activity.evaluation_items()
    )


def completion(
    activity: Activity, state: LearnerState, now: datetime, prior_credits: Sequence = ()
) -> credit.Completion:
    """The learner's completion as the credit rules and the certificate see it."""
    details = credit.LearnerDetails(**{k: state.details.get(k, "") for k in DETAIL_FIELDS.values()})
    return credit.Completion(
        learner=details,
        started_at=state.started_at or now,
        completed_at=now,
        passed=state.passed,
        evaluation_submitted=evaluation_done(activity, state),
        attested=state.attested_at is not None or not _needs_attestation(activity),
        prior_credits=tuple(prior_credits),
    )


# ---------------------------------------------------------------------------------------------
# view


def current_step(activity: Activity, state: LearnerState) -> str:
    if state.certificate:
        return "certificate"
    if not state.attempts:
        return "info"
    if state.in_progress is not None:
        return "posttest"
    last = state.attempts[-1]
    if not state.passed or state.result_seen < last.number:
        return "result"
    if not evaluation_done(activity, state):
        return "evaluation"
    if _needs_attestation(activity) and state.attested_at is None:
        return "attestation"
    if state.details_confirmed_at is None:
        return "details"
    return "certificate"


def view(
    activity: Activity,
    state: LearnerState,
    now: datetime,
    *,
    locale: str = "en",
    profile: Mapping[str, Any] | None = None,
    links: Mapping[str, str] | None = None,
    prior_credits: Sequence = (),
) -> dict[str, Any]:
    """Everything the front end needs to render the learner's current step, JSON-safe.

    `profile` is what the home knows of the learner: `{"full_name": ..., "anonymous": bool}`;
    the full name prefills the legal name. `links` are the home's certificate URLs (pdf,
    credential, verify), shown once a certificate is issued. No answer key is ever included
    except where `attempts.review` allows it.
    """
    profile = profile or {}
    state = _closing_expired(state, now)
    step = current_step(activity, state)
    elig = attempts_mod.eligibility(activity, state.attempts, now, extra_attempts=state.extra_attempts)
    out: dict[str, Any] = {
        "step": step,
        "steps": list(_memo(activity, "steps", _steps)),
        "locale": locale,
        "anonymous": bool(profile.get("anonymous")),
        "info": _memo(activity, "info", _info),
        "attempts": {
            "used": elig.attempts_used,
            "allowed": elig.attempts_allowed,
            "current": state.in_progress.number if state.in_progress else None,
            "can_start": elig.allowed,
            "code": elig.code,
            "message": elig.message,
            "wait_seconds": _seconds_until(elig.next_allowed_at, now),
            "next_allowed_at": _iso(elig.next_allowed_at),
            "history": [
                {
                    "number": a.number,
                    "percent": _num(a.score.percent),
                    "passed": a.score.passed,
                    "submitted_at": _iso(a.submitted_at),
                    "timed_out": a.timed_out,
                }
                for a in state.submitted
            ],
        },
        "pass_mark": activity.policy.pass_mark,
        "accommodation": {"extra_attempts": state.extra_attempts, "extra_minutes": state.extra_minutes},
        "time_limit": _time_limit(activity.policy.time_limit_minutes, state.extra_minutes),
        "passed": state.passed,
        "complete": is_complete(activity, state),
    }
    if step == "posttest":
        attempt = state.in_progress
        due = attempts_mod.deadline(attempt, state.extra_minutes)
        out["form"] = {
            "attempt": attempt.number,
            "questions": attempts_mod.present(activity, attempt.form),
            # A timed attempt: its own limit (with the extra minutes), when it ends, and what is left.
            "time_limit": _time_limit(attempt.time_limit_minutes, state.extra_minutes),
            "deadline": _iso(due),
            "seconds_left": _seconds_until(due, now) if due is not None else None,
        }
    if state.submitted:
        out["result"] = _result(activity, state)
    if step in ("evaluation",) or state.evaluation_submitted_at:
        out["evaluation"] = _evaluation(activity, state, locale)
    if _needs_attestation(activity) and step in ("attestation", "details", "certificate"):
        out["attestation"] = {"text": _rich(activity.attestation), "attested_at": _iso(state.attested_at)}
    if step in ("details", "certificate"):
        out["details"] = _details(activity, state, profile)
    if step == "certificate":
        out["certificate"] = _certificate(activity, state, now, links, prior_credits, locale)
    return out


# View parts that depend on the activity alone, built once per activity object (activities are
# frozen; an edit is a new object). The info part is the same dict in every view of an activity:
# a view is for reading and serialising, never for changing in place.
_MEMO: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def _memo(activity: Activity, part: str, build: Callable[[Activity], Any]) -> Any:
    key = id(activity)
    hit = _MEMO.get(key)
    if hit is None or hit[0]() is not activity:

        def forget(ref: weakref.ref, key: int = key) -> None:
            if _MEMO.get(key, (None, None))[0] is ref:
                _MEMO.pop(key, None)

        try:
            hit = (weakref.ref(activity, forget), {})
        except TypeError:  # not weak-referenceable: build it every time
            return build(activity)
        _MEMO[key] = hit
    parts = hit[1]
    if part not in parts:
        parts[part] = build(activity)
    return parts[part]


def _time_limit(minutes: int | None, extra_minutes: int) -> dict[str, int] | None:
    """A post-test time limit as the learner is told it: the author's minutes plus their extra minutes."""
    if minutes is None:
        return None
    return {"minutes": minutes, "extra_minutes": extra_minutes, "total_minutes": minutes + extra_minutes}


def _closing_expired(state: LearnerState, now: datetime) -> LearnerState:
    """The state with an open attempt whose time ran out closed as failed (a copy; the input is kept)."""
    current = state.in_progress
    if current is None or not attempts_mod.expired(current, now, state.extra_minutes):
        return state
    closed = attempts_mod.close_timed_out(current, state.extra_minutes)
    return dataclasses.replace(state, attempts=[*state.attempts[:-1], closed])


def close_expired(state: LearnerState, now: datetime) -> LearnerState:
    """For homes: the state to store when an attempt's time ran out (the same object when nothing did).

    `view` and `act` apply this by themselves; a home calls it to store the closed attempt (and
    send its grade) when a learner only looks, without acting.
    """
    return _closing_expired(state, now)


def _steps(activity: Activity) -> list[str]:
    steps = ["info", "posttest", "result"]
    if activity.evaluation_items():
        steps.append("evaluation")
    if _needs_attestation(activity):
        steps.append("attestation")
    return steps + ["details", "certificate"]


def _info(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "title": activity.title,
        "version": activity.version,
        "description": _rich(activity.description),
        "format": str(activity.format),
        "level": str(activity.level),
        "audience": activity.audience,
        "duration_minutes": activity.duration_minutes,
        "min_minutes": activity.min_minutes,
        "time_limit_minutes": activity.policy.time_limit_minutes,
        "objectives": [{"id": o.id, "text": o.text} for o in activity.objectives],  # plain text
        "credits": [_accreditation(activity, a) for a in activity.accreditations],
        "instructors": [
            {"name": i.name, "credentials": i.credentials, "bio": _rich(i.bio)} for i in activity.instructors
        ],
        "disclosures": {k: _rich(v) for k, v in dataclasses.asdict(activity.disclosures).items() if str(v).strip()},
        "references": [_rich(r) for r in activity.references],
        "sponsor": dataclasses.asdict(activity.sponsor),
        "questions": activity.form_size,
    }


def _accreditation(activity: Activity, a: Any) -> dict[str, Any]:
    try:
        unit = str(credit.unit_for(a))
        credits = credit.format_credits(credit.awarded_credits(activity, a))
    except credit.CreditUnitError:
        unit, credits = "", credit.format_credits(a.credits)
    try:
        text = credit.statement(activity, a)
    except ValueError:
        text = ""  # validate() reports it to the author; the learner sees no statement rather than a 500
    return {
        "body": str(a.body),
        "body_label": credit.body_label(a),
        "body_name": a.body_name,
        "state": a.state,
        "provider_number": a.provider_number,
        "credits": credits,
        "unit": unit,
        "credit_type": str(a.credit_type),
        "statement": text,
        "approval_start": a.approval_start.isoformat() if a.approval_start else None,
        "approval_end": a.approval_end.isoformat() if a.approval_end else None,
    }


def _result(activity: Activity, state: LearnerState) -> dict[str, Any]:
    last = state.submitted[-1]
    review = attempts_mod.review(activity, state.attempts, last.number, state.extra_attempts)
    return {
        "attempt": last.number,
        "points": _num(last.score.points),
        "max_points": last.score.max_points,
        "percent": _num(last.score.percent),
        "passed": last.score.passed,
        "pass_mark": activity.policy.pass_mark,
        "timed_out": last.timed_out,
        "review": review,  # attempts.review builds plain JSON values, fresh on each call
    }


def _evaluation(activity: Activity, state: LearnerState, locale: str = "en") -> dict[str, Any]:
    gettext = translator(locale).gettext
    return {
        "required": activity.evaluation.required,
        "submitted_at": _iso(state.evaluation_submitted_at),
        "answers": dict(state.evaluation_answers),
        "scale": [{"value": v, "label": label} for v, label in LIKERT_SCALE],
        "items": [
            {
                "id": e.id,
                "type": str(e.type),
                "prompt": localize(e.prompt, gettext),
                "required": e.required,
                "objective": e.objective,
            }
            for e in activity.evaluation_items()
        ],
    }


def _details(activity: Activity, state: LearnerState, profile: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: state.details.get(name, "") for name in DETAIL_FIELDS.values()}
    if not values["legal_name"]:
        values["legal_name"] = str(profile.get("full_name") or "")
    return {
        "required": [DETAIL_FIELDS[d] for d in activity.required_details],
        "values": values,
        "prefilled_from_profile": not state.details.get("legal_name") and bool(profile.get("full_name")),
        "confirmed_at": _iso(state.details_confirmed_at),
    }


def _certificate(
    activity: Activity,
    state: LearnerState,
    now: datetime,
    links: Mapping[str, str] | None,
    prior_credits: Sequence,
    locale: str = "en",
) -> dict[str, Any]:
    if state.certificate:
        rec = state.certificate
        return {
            "issued": True,
            "id": rec.get("id") or rec.get("certificate_id"),
            "issued_at": rec.get("issued_at"),
            "learner_name": rec.get("learner_name") or state.details.get("legal_name", ""),
            "credits": rec.get("credits") or [c for c in _info(activity)["credits"]],
            "links": dict(links or {}),
        }
    refusals = credit.check(activity, completion(activity, state, now, prior_credits))
    return {
        "issued": False,
        "wait_seconds": _min_time_left(activity, state, now),
        "refusals": [{"code": r.code, "message": r.translate(translator(locale).gettext)} for r in refusals],
        "links": {},
    }


# ---------------------------------------------------------------------------------------------
# act


def act(
    activity: Activity,
    state: LearnerState,
    action: str,
    payload: Mapping[str, Any] | None,
    now: datetime,
    *,
    seed: int | str,
    issue_certificate: IssueCertificate | None = None,
    locale: str = "en",
    profile: Mapping[str, Any] | None = None,
    links: Mapping[str, str] | None = None,
    prior_credits: Sequence = (),
) -> tuple[LearnerState, dict[str, Any]]:
    """Apply one learner action; return the new state and the view to render next.

    The input state is never modified. Bad input raises FlowError. Repeating an action that is
    already done (a double click, a retried request) changes nothing and returns the same view.
    """
    if action not in ACTIONS:
        raise FlowError(
            "bad-action",
            N_("Unknown action '%(action)s'. Use one of: %(actions)s."),
            action=action,
            actions=", ".join(ACTIONS),
        ).translate(translator(locale).gettext)
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise FlowError("bad-payload", N_("The request payload must be a JSON object.")).translate(
            translator(locale).gettext
        )
    new = state.copy()
    try:
        if action == "submit":
            _refuse_late_submit(new, payload, now)
        new = _closing_expired(new, now)
        if action == "start":
            _start(activity, new, payload, now, seed)
        elif action == "submit":
            _submit(activity, new, payload, now)
        elif action == "continue":
            _continue(new)
        elif action == "evaluation":
            _evaluate(activity, new, payload, now)
        elif action == "attest":
            _attest(new, payload, now)
        elif action == "details":
            _set_details(activity, new, payload, now)
        else:
            _issue(activity, new, now, issue_certificate, prior_credits)
    except FlowError as e:
        raise e.translate(translator(locale).gettext) from e.__cause__
    return new, view(activity, new, now, locale=locale, profile=profile, links=links, prior_credits=prior_credits)


def _start(activity: Activity, state: LearnerState, payload: Mapping[str, Any], now: datetime, seed: int | str) -> None:
    wanted = payload.get("attempt")
    if wanted is not None and not _is_int(wanted):
        raise FlowError(
            "bad-payload", N_("The attempt number must be a whole number, not '%(value)s'."), "attempt", value=wanted
        )
    current = state.in_progress
    if current is not None:
        # A second click on "Start" while an attempt is open resumes it.
        return
    if wanted is not None and wanted <= len(state.attempts):
        return  # this attempt was already started (and submitted): a retried request
    elig = attempts_mod.eligibility(activity, state.attempts, now, extra_attempts=state.extra_attempts)
    if not elig.allowed:
        raise _not_eligible(activity, elig, now)
    number = len(state.attempts) + 1
    form = attempts_mod.draw_form(activity, seed, number, attempts_mod.seen_questions(state.attempts))
    state.attempts.append(
        attempts_mod.Attempt(
            number=number,
            seed=seed,
            form=form,
            started_at=now,
            time_limit_minutes=activity.policy.time_limit_minutes,
        )
    )
    if state.started_at is None:
        state.started_at = now


def _submit(activity: Activity, state: LearnerState, payload: Mapping[str, Any], now: datetime) -> None:
    number = payload.get("attempt")
    if not _is_int(number):
        raise FlowError(
            "bad-payload",
            N_("A submit must say which attempt it answers (\"attempt\": a whole number), not '%(value)s'."),
            "attempt",
            value=number,
        )
    if 1 <= number <= len(state.attempts) and state.attempts[number - 1].submitted_at is not None:
        return  # a double submit of an attempt already scored counts once
    current = state.in_progress
    if current is None or current.number != number:
        raise FlowError(
            "stale-attempt",
            N_("Attempt %(n)s is not open. Reload the page to see your current attempt."),
            "attempt",
            n=number,
        )
    responses = _responses(payload.get("responses"))
    # The front end's own submit when the time runs out ("time_up": true) may leave questions
    # blank; they score 0. Only a timed attempt submits that way.
    allow_blank = payload.get("time_up") is True and current.time_limit_minutes is not None
    try:
        state.attempts[-1] = attempts_mod.submit(activity, current, responses, now, allow_blank=allow_blank)
    except attempts_mod.ResponseError as e:
        raise FlowError("bad-responses", str(e), e.question_id) from e


def _refuse_late_submit(state: LearnerState, payload: Mapping[str, Any], now: datetime) -> None:
    """A submit after the deadline and its grace is not scored: say so, rather than lose it silently.

    The attempt itself is closed as failed by the next view or action (it is not stored here,
    since a refused action stores nothing).
    """
    number = payload.get("attempt")
    if not _is_int(number) or not 1 <= number <= len(state.attempts):
        return  # _submit names what is wrong with it
    attempt = state.attempts[number - 1]
    late = attempt.submitted_at is None and attempts_mod.expired(attempt, now, state.extra_minutes)
    if late or attempt.timed_out:
        total = (attempt.time_limit_minutes or 0) + state.extra_minutes
        raise Conflict(
            "time-up",
            N_(
                "The time for attempt %(n)s (%(minutes)s minutes) ran out before these answers arrived, so they "
                "cannot be scored. The attempt counts as not passed. Reload the page to see your result and what "
                "you can do next."
            ),
            "attempt",
            n=number,
            minutes=total,
        )


def _responses(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, Mapping):
        raise FlowError(
            "bad-payload", N_("The answers must be an object mapping each question id to the chosen choice ids.")
        )
    out: dict[str, list[str]] = {}
    for qid, chosen in raw.items():
        if isinstance(chosen, str):
            chosen = [chosen]
        if not isinstance(chosen, list | tuple) or not all(isinstance(c, str) for c in chosen):
            raise FlowError(
                "bad-responses",
                N_("The answer to question '%(question)s' must be a list of choice ids."),
                str(qid),
                question=qid,
            )
        out[str(qid)] = list(chosen)
    return out


def _continue(state: LearnerState) -> None:
    if not state.passed:
        raise FlowError("not-passed", N_("Pass the post-test before you continue to the evaluation."))
    state.result_seen = max(state.result_seen, state.submitted[-1].number)


def _evaluate(activity: Activity, state: LearnerState, payload: Mapping[str, Any], now: datetime) -> None:
    _require_open(state)
    if not state.passed:
        raise FlowError("not-passed", N_("The evaluation opens once you pass the post-test."))
    if state.evaluation_submitted_at is not None:
        return  # already submitted: a retried request
    items = activity.evaluation_items()
    if payload.get("skip"):
        if activity.evaluation.required:
            raise FlowError("evaluation-required", N_("This activity requires the evaluation before the certificate."))
        state.evaluation_skipped = True
        state.result_seen = max(state.result_seen, state.submitted[-1].number)
        return
    answers = payload.get("answers")
    if not isinstance(answers, Mapping):
        raise FlowError("bad-payload", N_("The evaluation answers must be an object mapping item ids to answers."))
    known = {e.id: e for e in items}
    for key in answers:
        if key not in known:
            raise FlowError("bad-evaluation", N_("There is no evaluation item '%(item)s'."), str(key), item=key)
    clean: dict[str, Any] = {}
    for e in items:
        value = answers.get(e.id)
        if value in (None, ""):
            if e.required and activity.evaluation.required:
                raise FlowError("missing-answer", N_("Please answer: %(prompt)s"), e.id, prompt=e.prompt)
            continue
        if e.type is EvaluationItemType.LIKERT:
            allowed = [v for v, _ in LIKERT_SCALE]
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if not _is_int(value) or value not in allowed:
                raise FlowError(
                    "bad-evaluation",
                    N_("The rating for '%(prompt)s' must be one of %(low)s-%(high)s, not '%(value)s'."),
                    e.id,
                    prompt=e.prompt,
                    low=allowed[0],
                    high=allowed[-1],
                    value=value,
                )
        else:
            if not isinstance(value, str):
                raise FlowError("bad-evaluation", N_("The answer to '%(prompt)s' must be text."), e.id, prompt=e.prompt)
            value = value.strip()
            if len(value) > MAX_TEXT_ANSWER:
                raise FlowError(
                    "bad-evaluation",
                    N_("The answer to '%(prompt)s' is %(length)s characters long; keep it under %(limit)s."),
                    e.id,
                    prompt=e.prompt,
                    length=len(value),
                    limit=MAX_TEXT_ANSWER,
                )
            if not value:
                continue
        clean[e.id] = value
    state.evaluation_answers = clean
    state.evaluation_submitted_at = now
    state.result_seen = max(state.result_seen, state.submitted[-1].number)


def _attest(state: LearnerState, payload: Mapping[str, Any], now: datetime) -> None:
    _require_open(state)
    if not state.passed:
        raise FlowError("not-passed", N_("The attestation opens once you pass the post-test."))
    if state.attested_at is not None:
        return
    if payload.get("confirm") is not True:
        raise FlowError("attestation-unconfirmed", N_("Tick the box to confirm the attestation."), "confirm")
    state.attested_at = now


def _set_details(activity: Activity, state: LearnerState, payload: Mapping[str, Any], now: datetime) -> None:
    _require_open(state)
    if not state.passed:
        raise FlowError("not-passed", N_("Your details are asked for once you pass the post-test."))
    required = {DETAIL_FIELDS[d] for d in activity.required_details}
    values: dict[str, str] = {}
    for name in DETAIL_FIELDS.values():
        raw = payload.get(name, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise FlowError("bad-details", N_("The %(what)s must be text."), name, what=_LABELS[name])
        values[name] = " ".join(raw.split())
    limits = {"legal_name": MAX_NAME, "license_number": MAX_LICENSE, "profession": MAX_PROFESSION}
    for name in DETAIL_FIELDS.values():
        if name in required and not values[name]:
            raise FlowError(
                "missing-detail", N_("Enter your %(what)s; the certificate needs it."), name, what=_LABELS[name]
            )
        if name in limits and len(values[name]) > limits[name]:
            raise FlowError(
                "bad-details",
                N_("The %(what)s is %(length)s characters long; the limit is %(limit)s."),
                name,
                what=_LABELS[name],
                length=len(values[name]),
                limit=limits[name],
            )
    if values["license_state"]:
        values["license_state"] = values["license_state"].upper()
        if not LICENSE_STATE_RE.match(values["license_state"]):
            raise FlowError(
                "bad-details",
                N_("The licence state '%(value)s' is not a two-letter code. Use e.g. TX or ON."),
                "license_state",
                value=values["license_state"],
            )
    state.details = values
    state.details_confirmed_at = now


_LABELS = {
    "legal_name": Label(N_("legal name")),
    "license_number": Label(N_("licence number")),
    "license_state": Label(N_("licence state or province")),
    "profession": Label(N_("profession")),
}
_STEP_LABELS = {
    "info": Label(N_("information")),
    "posttest": Label(N_("post-test")),
    "result": Label(N_("result")),
    "evaluation": Label(N_("evaluation")),
    "attestation": Label(N_("attestation")),
    "details": Label(N_("learner details")),
    "certificate": Label(N_("certificate")),
}


def _issue(
    activity: Activity,
    state: LearnerState,
    now: datetime,
    issue_certificate: IssueCertificate | None,
    prior_credits: Sequence,
) -> None:
    if state.certificate:
        return  # issued once; the record is frozen
    step = current_step(activity, state)
    if step != "certificate":
        raise FlowError(
            "not-ready", N_("Finish the %(step)s step before you ask for the certificate."), step=_STEP_LABELS[step]
        )
    left = _min_time_left(activity, state, now)
    if left:
        raise FlowError(
            "min-time",
            N_("This activity needs at least %(minimum)s minutes from start to certificate; %(left)s minutes to go."),
            minimum=activity.min_minutes,
            left=(left + 59) // 60,
        )
    comp = completion(activity, state, now, prior_credits)
    refusals = credit.check(activity, comp)
    if refusals:
        raise Refused(refusals)
    if issue_certificate is None:
        raise FlowError("no-issuer", N_("Certificates cannot be issued here yet. Contact the course team."))
    record = issue_certificate(activity, state, comp)
    state.certificate = _jsonable(record)


# ---------------------------------------------------------------------------------------------
# helpers


def _require_open(state: LearnerState) -> None:
    if state.certificate:
        raise FlowError("certificate-issued", N_("Your certificate is already issued; it can no longer change."))


def _needs_attestation(activity: Activity) -> bool:
    return bool(activity.attestation.strip())


def _min_time_left(activity: Activity, state: LearnerState, now: datetime) -> int:
    if not activity.min_minutes or state.started_at is None:
        return 0
    elapsed = (now - state.started_at).total_seconds()
    return max(0, int(activity.min_minutes * 60 - elapsed + 0.999))


def _not_eligible(activity: Activity, elig: Any, now: datetime) -> FlowError:
    """Why a new attempt cannot start, in words that translate (attempts' own message is English)."""
    if elig.code == "passed":
        return FlowError("passed", N_("You have passed the post-test; no more attempts are needed."))
    if elig.code == "no-attempts-left":
        return FlowError(
            "no-attempts-left",
            N_(
                "You have used all %(n)s attempts allowed for this post-test. If you need an accommodation, contact the provider."
            ),
            n=elig.attempts_allowed,
        )
    if elig.code == "wait":
        return FlowError(
            "wait",
            N_(
                "After a failed attempt you wait %(wait)s minutes before the next. You can start again in %(left)s minutes."
            ),
            wait=activity.policy.wait_minutes,
            left=(_seconds_until(elig.next_allowed_at, now) + 59) // 60,
        )
    return FlowError(elig.code, elig.message)


def _seconds_until(when: datetime | None, now: datetime) -> int:
    if when is None:
        return 0
    return max(0, int((when - now).total_seconds() + 0.999))


def _rich(html: str) -> str:
    """Author rich text, sanitised again on the way out: content may come from a Studio edit."""
    if not html:
        return ""
    from ce_xblock.core import olx  # late: olx imports lxml, which the flow itself does not need

    return olx.sanitize(html)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> float | int:
    f = float(v)
    return int(f) if f.is_integer() else round(f, 2)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _parse_dt(v: Any) -> datetime | None:
    if not v:
        return None
    if isinstance(v, datetime):
        return v
    dt = datetime.fromisoformat(str(v))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _jsonable(v: Any) -> Any:
    """Plain JSON values from engine results (dataclasses, tuples, datetimes, Decimals, enums)."""
    # Exact built-in types first: the same results as the general checks below, without their
    # ABC isinstance and hasattr calls (a submit's review has a few hundred values).
    t = type(v)
    if t is str or t is int or t is float or t is bool or v is None:
        return v
    if t is dict:
        return {str(k): _jsonable(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [_jsonable(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _jsonable(dataclasses.asdict(v))
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [_jsonable(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return credit.format_credits(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, str):
        return str(v)
    return v
