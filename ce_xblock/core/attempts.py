"""Post-test attempts: drawing a form from the bank, scoring it, who may try again, and what they may review.

Everything here is a pure function of its arguments. The seed and the clock come in from the
home (XBlock or LTI tool), so a form can be redrawn exactly and every rule is testable.

Choices made here, so the homes and the docs can rely on them:

- A form is drawn with `random.Random(f"{seed}:{attempt_number}")`, never the global generator.
  String seeding is stable across processes and Python versions (it hashes with SHA-512), so the
  same seed and attempt number give the same form on every worker.
- Which items a form holds: when `alternate_forms` is on, items the learner has not seen come
  first and seen items only fill what is left. Within that order, items are drawn round-robin
  across learning objectives (the objective with the fewest items on the form so far goes next;
  ties in a random order fixed per draw), so a form covers the objectives as evenly as the bank
  allows. Unseen-first wins over balance: a retake never shows a seen item while an unseen one
  is left.
- Scoring: a single-answer item earns 1 point or 0. A multiple-answer item earns 1 point only
  when exactly the correct choices are selected, unless `partial_credit` is on; then it earns
  (correct selected - incorrect selected) / number of correct choices, floored at 0. Pass or fail
  is decided with exact fractions, so 15 of 20 is exactly 75% and passes a 75% mark.
- Review: explanations and per-choice feedback usually give the answer away, so they count as
  the key and are shown only when the key is. Per-item right/wrong and per-item points count as
  the key too. Where the key is hidden the output does not depend on which choices are correct
  (the tests check this by swapping the key).
- Time limit: an attempt started under a `time_limit_minutes` policy keeps that limit (an author's
  later edit does not shorten or lengthen an open attempt). Its deadline is its start plus the
  limit plus the learner's `extra_minutes` accommodation, read when the deadline is checked, so an
  accommodation granted during an attempt extends it. A submit up to `SUBMIT_GRACE_SECONDS` after
  the deadline is scored as usual (network latency; the front end submits at the deadline by
  itself); a later submit is refused, and the attempt is closed as a failed attempt with no answers
  (`close_timed_out`), which counts toward the attempt limit.
- `Attempt.to_dict()` is the stored record (it holds per-item correctness): never send it to a
  learner. Learners get `present()` while answering and `review()` afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from ce_xblock.core.activity import Activity, Question, QuestionType, ReviewPolicy

__all__ = [
    "SUBMIT_GRACE_SECONDS",
    "Attempt",
    "AttemptNotAllowed",
    "Eligibility",
    "Form",
    "FormError",
    "FormItem",
    "ItemResult",
    "ResponseError",
    "Score",
    "best_attempt",
    "close_timed_out",
    "current_attempt",
    "deadline",
    "draw_form",
    "eligibility",
    "expired",
    "key_shown",
    "last_attempt",
    "present",
    "review",
    "score",
    "seen_questions",
    "start_attempt",
    "submit",
]

# How long after its deadline a timed attempt's submit is still scored: the front end submits at
# the deadline, and the request may take a while to arrive.
SUBMIT_GRACE_SECONDS = 30


class ResponseError(ValueError):
    """A learner's responses do not fit the form: unknown ids, too many choices, missing answers."""

    def __init__(self, message: str, question_id: str | None = None, choice_id: str | None = None):
        super().__init__(message)
        self.question_id = question_id
        self.choice_id = choice_id


class FormError(ValueError):
    """A form does not match the activity (the bank changed since it was drawn) or cannot be drawn."""


class AttemptNotAllowed(ValueError):
    """Raised by `start_attempt` when `eligibility` says no; `.eligibility` says why and until when."""

    def __init__(self, result: Eligibility):
        super().__init__(result.message)
        self.eligibility = result


# --- forms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormItem:
    question_id: str
    choice_order: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "choice_order": list(self.choice_order)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FormItem:
        return cls(question_id=_str(d, "question_id"), choice_order=tuple(_str_list(d, "choice_order")))


@dataclass(frozen=True)
class Form:
    items: tuple[FormItem, ...]

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(i.question_id for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Form:
        items = d.get("items") if isinstance(d, Mapping) else None
        if not isinstance(items, list):
            raise ValueError("A stored form needs an 'items' list; the attempt record is damaged.")
        return cls(items=tuple(FormItem.from_dict(i) for i in items))


def draw_form(activity: Activity, seed: int | str, attempt_number: int, seen: Iterable[str] = ()) -> Form:
    """The form for one attempt: `form_size` bank items, ordered and shuffled per the policy.

    The same activity, seed and attempt number always give the same form. `seen` holds the
    question ids of the learner's earlier forms; with `alternate_forms` they are drawn last.
    """
    if isinstance(attempt_number, bool) or not isinstance(attempt_number, int) or attempt_number < 1:
        raise ValueError(f"The attempt number must be a whole number from 1 up, not {attempt_number!r}.")
    bank = activity.questions
    _check_unique_bank(activity)
    size = activity.form_size
    if not bank:
        raise FormError(f"Activity {activity.id!r} has no post-test questions, so no form can be drawn.")
    if not 1 <= size <= len(bank):
        raise FormError(
            f"Activity {activity.id!r} asks for a form of {size} questions but its bank has {len(bank)}. "
            f"Set form_size between 1 and {len(bank)}."
        )
    policy = activity.policy
    rng = random.Random(f"{seed}:{attempt_number}")

    seen_ids = set(seen)
    if policy.alternate_forms:
        tiers = [[q for q in bank if q.id not in seen_ids], [q for q in bank if q.id in seen_ids]]
    else:
        tiers = [list(bank)]
    chosen = _draw_balanced(tiers, size, rng)

    if policy.shuffle_questions:
        rng.shuffle(chosen)
    else:
        position = {q.id: i for i, q in enumerate(bank)}
        chosen.sort(key=lambda q: position[q.id])

    items = []
    for q in chosen:
        ids = [c.id for c in q.choices]
        if policy.shuffle_choices:
            rng.shuffle(ids)
        items.append(FormItem(q.id, tuple(ids)))
    return Form(tuple(items))


def _draw_balanced(tiers: list[list[Question]], size: int, rng: random.Random) -> list[Question]:
    """Take `size` questions, exhausting each tier before the next, round-robin over objectives."""
    objectives: list[str] = []
    for tier in tiers:
        for q in tier:
            if q.objective not in objectives:
                objectives.append(q.objective)
    # A random tie-break order per draw, so no objective is always the one left short.
    rng.shuffle(objectives)
    rank = {o: i for i, o in enumerate(objectives)}
    counts = dict.fromkeys(objectives, 0)
    chosen: list[Question] = []
    for tier in tiers:
        queues: dict[str, list[Question]] = {o: [] for o in objectives}
        for q in tier:
            queues[q.objective].append(q)
        for queue in queues.values():
            rng.shuffle(queue)
        while len(chosen) < size:
            open_objectives = [o for o in objectives if queues[o]]
            if not open_objectives:
                break
            o = min(open_objectives, key=lambda o: (counts[o], rank[o]))
            chosen.append(queues[o].pop())
            counts[o] += 1
    return chosen


def _check_unique_bank(activity: Activity) -> None:
    ids: set[str] = set()
    for q in activity.questions:
        if q.id in ids:
            raise FormError(f"Question id {q.id!r} is used twice in activity {activity.id!r}. Give each a unique id.")
        ids.add(q.id)


def _form_questions(activity: Activity, form: Form) -> list[tuple[FormItem, Question]]:
    """Pair each form item with its bank question, refusing a form the activity no longer matches."""
    if not form.items:
        raise FormError("The form has no questions.")
    pairs = []
    ids: set[str] = set()
    for item in form.items:
        if item.question_id in ids:
            raise FormError(f"Question {item.question_id!r} appears twice on the form.")
        ids.add(item.question_id)
        try:
            q = activity.question(item.question_id)
        except KeyError:
            raise FormError(
                f"Question {item.question_id!r} on this form is no longer in activity {activity.id!r}. "
                "The post-test changed after the attempt started; start a new attempt."
            ) from None
        if sorted(item.choice_order) != sorted(c.id for c in q.choices):
            raise FormError(
                f"The choices of question {item.question_id!r} changed after this form was drawn "
                f"(form has {list(item.choice_order)}, the activity has {[c.id for c in q.choices]}). "
                "Start a new attempt."
            )
        pairs.append((item, q))
    return pairs


def present(activity: Activity, form: Form) -> list[dict[str, Any]]:
    """The questions as the learner sees them while answering: no key, feedback or explanation."""
    out = []
    for item, q in _form_questions(activity, form):
        by_id = {c.id: c for c in q.choices}
        out.append(
            {
                "id": q.id,
                "type": str(q.type),
                "prompt": q.prompt,
                "choices": [{"id": cid, "text": by_id[cid].text} for cid in item.choice_order],
            }
        )
    return out


# --- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResult:
    question_id: str
    selected: tuple[str, ...]
    correct: bool  # full credit
    points: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "selected": list(self.selected),
            "correct": self.correct,
            "points": self.points,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ItemResult:
        return cls(
            question_id=_str(d, "question_id"),
            selected=tuple(_str_list(d, "selected")),
            correct=_bool(d, "correct"),
            points=_number(d, "points"),
        )


@dataclass(frozen=True)
class Score:
    items: tuple[ItemResult, ...]
    points: float
    max_points: int
    percent: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [i.to_dict() for i in self.items],
            "points": self.points,
            "max_points": self.max_points,
            "percent": self.percent,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Score:
        items = d.get("items")
        if not isinstance(items, list):
            raise ValueError("A stored score needs an 'items' list; the attempt record is damaged.")
        return cls(
            items=tuple(ItemResult.from_dict(i) for i in items),
            points=_number(d, "points"),
            max_points=int(_number(d, "max_points")),
            percent=_number(d, "percent"),
            passed=_bool(d, "passed"),
        )


def _item_points(q: Question, selected: frozenset[str], partial_credit: bool) -> Fraction:
    key = q.correct_ids
    if selected == key:
        return Fraction(1)
    if q.type is QuestionType.MULTIPLE and partial_credit and key:
        right = len(selected & key)
        wrong = len(selected - key)
        return max(Fraction(0), Fraction(right - wrong, len(key)))
    return Fraction(0)


def _normalise_responses(
    pairs: list[tuple[FormItem, Question]], responses: Mapping[str, Sequence[str]], allow_blank: bool
) -> dict[str, tuple[str, ...]]:
    """Check responses strictly; return each form question's selection in the bank's choice order."""
    if not isinstance(responses, Mapping):
        raise ResponseError(f"Responses must map question ids to lists of choice ids, not {type(responses).__name__}.")
    on_form = {q.id: q for _, q in pairs}
    for qid in responses:
        if qid not in on_form:
            raise ResponseError(
                f"The response names question {qid!r}, which is not on this attempt's form. "
                f"Answer only these questions: {', '.join(on_form)}.",
                question_id=str(qid),
            )
    out: dict[str, tuple[str, ...]] = {}
    blank: list[str] = []
    for _, q in pairs:
        raw = responses.get(q.id, ())
        if raw is None:
            raw = ()
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            raise ResponseError(
                f"The answer to question {q.id!r} must be a list of choice ids, not {raw!r}. "
                f'Send e.g. ["{q.choices[0].id}"].',
                question_id=q.id,
            )
        known = [c.id for c in q.choices]
        picked: list[str] = []
        for cid in raw:
            if not isinstance(cid, str) or cid not in known:
                raise ResponseError(
                    f"Question {q.id!r} has no choice {cid!r}. Its choices are: {', '.join(known)}.",
                    question_id=q.id,
                    choice_id=str(cid),
                )
            if cid in picked:
                raise ResponseError(
                    f"Choice {cid!r} of question {q.id!r} is selected twice. Select each choice once.",
                    question_id=q.id,
                    choice_id=cid,
                )
            picked.append(cid)
        if q.type is QuestionType.SINGLE and len(picked) > 1:
            raise ResponseError(
                f"Question {q.id!r} takes one answer but choices {', '.join(map(repr, picked))} were selected. "
                "Select exactly one.",
                question_id=q.id,
                choice_id=picked[1],
            )
        if not picked:
            blank.append(q.id)
        out[q.id] = tuple(c for c in known if c in picked)
    if blank and not allow_blank:
        raise ResponseError(
            f"{'Question' if len(blank) == 1 else 'Questions'} {', '.join(map(repr, blank))} "
            f"{'has' if len(blank) == 1 else 'have'} no answer. Answer every question before submitting.",
            question_id=blank[0],
        )
    return out


def score(
    activity: Activity, form: Form, responses: Mapping[str, Sequence[str]], *, allow_blank: bool = False
) -> Score:
    """Score responses to a form. Every form item must be answered unless `allow_blank` (blank = wrong)."""
    pairs = _form_questions(activity, form)
    selected = _normalise_responses(pairs, responses, allow_blank)
    partial = activity.policy.partial_credit
    total = Fraction(0)
    results = []
    for _, q in pairs:
        pts = _item_points(q, frozenset(selected[q.id]), partial)
        total += pts
        results.append(ItemResult(q.id, selected[q.id], pts == 1, float(pts)))
    max_points = len(pairs)
    exact_percent = total * 100 / max_points
    return Score(
        items=tuple(results),
        points=float(total),
        max_points=max_points,
        percent=float(exact_percent),
        passed=exact_percent >= activity.policy.pass_mark,
    )


# --- attempts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    number: int
    seed: int | str
    form: Form
    started_at: datetime
    submitted_at: datetime | None = None
    responses: Mapping[str, tuple[str, ...]] | None = None
    score: Score | None = None
    # The policy's time limit when the attempt started (None: untimed), and whether the attempt
    # was closed because its time ran out (then it holds no answers and scores 0).
    time_limit_minutes: int | None = None
    timed_out: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise ValueError(f"An attempt number must be a whole number from 1 up, not {self.number!r}.")
        _aware(self.started_at, "started_at")
        if self.submitted_at is not None:
            _aware(self.submitted_at, "submitted_at")
            if self.submitted_at < self.started_at:
                raise ValueError(
                    f"Attempt {self.number} was submitted ({self.submitted_at.isoformat()}) before it started "
                    f"({self.started_at.isoformat()})."
                )
        if (self.submitted_at is None) != (self.score is None):
            raise ValueError(
                f"Attempt {self.number}: a submitted attempt has both submitted_at and a score, an open one neither."
            )

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def passed(self) -> bool:
        return self.score is not None and self.score.passed

    def to_dict(self) -> dict[str, Any]:
        """The stored record, JSON-safe. It holds per-item correctness: never send it to a learner."""
        return {
            "number": self.number,
            "seed": self.seed,
            "form": self.form.to_dict(),
            "started_at": self.started_at.isoformat(),
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "responses": None if self.responses is None else {k: list(v) for k, v in self.responses.items()},
            "score": None if self.score is None else self.score.to_dict(),
            # Written only when set, so an untimed attempt's record is what it always was.
            **({"time_limit_minutes": self.time_limit_minutes} if self.time_limit_minutes is not None else {}),
            **({"timed_out": True} if self.timed_out else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attempt:
        if not isinstance(d, Mapping):
            raise ValueError(f"An attempt record must be a JSON object, not {type(d).__name__}.")
        for k in ("number", "seed", "form", "started_at"):
            if k not in d:
                raise ValueError(f"The attempt record has no {k!r}; it is damaged.")
        seed = d["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int | str):
            raise ValueError(f"An attempt seed must be a whole number or text, not {seed!r}.")
        responses = d.get("responses")
        if responses is not None:
            if not isinstance(responses, Mapping):
                raise ValueError("The attempt's 'responses' must be an object of question id to choice ids.")
            responses = {str(k): tuple(_str_list(responses, k)) for k in responses}
        limit = d.get("time_limit_minutes")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"An attempt's time limit must be a whole number of minutes, not {limit!r}.")
        return cls(
            number=int(d["number"]),
            seed=seed,
            form=Form.from_dict(d["form"]),
            started_at=_parse_time(d["started_at"], "started_at"),
            submitted_at=None if d.get("submitted_at") is None else _parse_time(d["submitted_at"], "submitted_at"),
            responses=responses,
            score=None if d.get("score") is None else Score.from_dict(d["score"]),
            time_limit_minutes=limit,
            timed_out=d.get("timed_out") is True,
        )


def seen_questions(attempts: Sequence[Attempt]) -> frozenset[str]:
    """Question ids on any earlier form: what a retake should avoid when forms alternate."""
    return frozenset(qid for a in attempts for qid in a.form.question_ids)


def current_attempt(attempts: Sequence[Attempt]) -> Attempt | None:
    """The attempt started and not yet submitted, if any."""
    return next((a for a in sorted(attempts, key=lambda a: a.number) if not a.submitted), None)


def last_attempt(attempts: Sequence[Attempt]) -> Attempt | None:
    """The latest submitted attempt, or None."""
    done = [a for a in attempts if a.submitted]
    return max(done, key=lambda a: a.number) if done else None


def best_attempt(attempts: Sequence[Attempt]) -> Attempt | None:
    """The submitted attempt with the highest percent (a pass beats a fail); the earliest on a tie."""
    done = [a for a in attempts if a.score is not None]
    if not done:
        return None
    return min(done, key=lambda a: (not a.score.passed, -a.score.percent, a.number))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    code: str  # "ok" | "passed" | "no-attempts-left" | "wait" | "in-progress"
    message: str
    next_allowed_at: datetime | None
    attempts_used: int
    attempts_allowed: int | None  # None: unlimited


def _attempts_allowed(activity: Activity, extra_attempts: int) -> int | None:
    if isinstance(extra_attempts, bool) or not isinstance(extra_attempts, int) or extra_attempts < 0:
        raise ValueError(f"Extra attempts must be a whole number, 0 or more, not {extra_attempts!r}.")
    limit = activity.policy.max_attempts
    return None if limit is None else limit + extra_attempts


def eligibility(activity: Activity, attempts: Sequence[Attempt], now: datetime, extra_attempts: int = 0) -> Eligibility:
    """Whether the learner may start a new attempt now, and if not, why and until when.

    An open attempt counts as used. `extra_attempts` (an accommodation) adds to the limit.
    The wait applies only after a failed attempt, counted from its submission.
    """
    _aware(now, "now")
    allowed = _attempts_allowed(activity, extra_attempts)
    used = len(attempts)

    def result(ok: bool, code: str, message: str, at: datetime | None = None) -> Eligibility:
        return Eligibility(ok, code, message, at, used, allowed)

    passed = [a for a in attempts if a.passed]
    if passed:
        first = min(passed, key=lambda a: a.number)
        return result(
            False,
            "passed",
            f"You passed the post-test on attempt {first.number} with {_pct(first.score.percent)}%. "  # type: ignore[union-attr]
            "No more attempts are needed.",
        )
    open_attempt = current_attempt(attempts)
    if open_attempt is not None:
        return result(
            False,
            "in-progress",
            f"Attempt {open_attempt.number} is still open. Submit it before starting another.",
        )
    if allowed is not None and used >= allowed:
        return result(
            False,
            "no-attempts-left",
            f"You have used all {allowed} attempts allowed for this post-test. "
            "If you need an accommodation, contact the provider.",
        )
    last = last_attempt(attempts)
    wait = activity.policy.wait_minutes
    if last is not None and wait > 0:
        at = last.submitted_at + timedelta(minutes=wait)  # type: ignore[operator]
        if now < at:
            return result(
                False,
                "wait",
                f"After a failed attempt you wait {wait} minutes before the next. "
                f"You can start attempt {used + 1} at {at.isoformat(timespec='minutes')}.",
                at,
            )
    of = f" of {allowed}" if allowed is not None else ""
    return result(True, "ok", f"You may start attempt {used + 1}{of}.")


def start_attempt(
    activity: Activity,
    attempts: Sequence[Attempt],
    seed: int | str,
    now: datetime,
    extra_attempts: int = 0,
) -> Attempt:
    """A new open attempt with its form drawn, or `AttemptNotAllowed` saying why not."""
    verdict = eligibility(activity, attempts, now, extra_attempts)
    if not verdict.allowed:
        raise AttemptNotAllowed(verdict)
    number = max((a.number for a in attempts), default=0) + 1
    form = draw_form(activity, seed, number, seen_questions(attempts))
    return Attempt(
        number=number, seed=seed, form=form, started_at=now, time_limit_minutes=activity.policy.time_limit_minutes
    )


# --- time limits -----------------------------------------------------------------------------


def deadline(attempt: Attempt, extra_minutes: int = 0) -> datetime | None:
    """When a timed attempt's time runs out: start + limit + the learner's extra minutes; None if untimed.

    Extra minutes lengthen a timed attempt only; they never make an untimed one timed.
    """
    if isinstance(extra_minutes, bool) or not isinstance(extra_minutes, int) or extra_minutes < 0:
        raise ValueError(f"Extra minutes must be a whole number, 0 or more, not {extra_minutes!r}.")
    if attempt.time_limit_minutes is None:
        return None
    return attempt.started_at + timedelta(minutes=attempt.time_limit_minutes + extra_minutes)


def expired(attempt: Attempt, now: datetime, extra_minutes: int = 0) -> bool:
    """An open timed attempt whose deadline and the submit grace have passed: no submit is scored now."""
    _aware(now, "now")
    due = deadline(attempt, extra_minutes)
    if attempt.submitted or due is None:
        return False
    return now > due + timedelta(seconds=SUBMIT_GRACE_SECONDS)


def close_timed_out(attempt: Attempt, extra_minutes: int = 0) -> Attempt:
    """An expired attempt closed as failed: submitted at its deadline, no answers, 0 points.

    It counts toward the attempt limit like any failed attempt, and the wait before the next
    attempt runs from its deadline.
    """
    due = deadline(attempt, extra_minutes)
    if due is None or attempt.submitted:
        raise ValueError(f"Attempt {attempt.number} is not an open timed attempt, so it cannot time out.")
    items = tuple(ItemResult(qid, (), False, 0.0) for qid in attempt.form.question_ids)
    zero = Score(items=items, points=0.0, max_points=len(items), percent=0.0, passed=False)
    return replace(
        attempt, submitted_at=due, responses={qid: () for qid in attempt.form.question_ids}, score=zero, timed_out=True
    )


def submit(
    activity: Activity,
    attempt: Attempt,
    responses: Mapping[str, Sequence[str]],
    now: datetime,
    *,
    allow_blank: bool = False,
) -> Attempt:
    """The attempt scored and closed. Refuses an attempt already submitted."""
    _aware(now, "now")
    if attempt.submitted:
        raise ValueError(f"Attempt {attempt.number} was already submitted; start a new attempt to answer again.")
    result = score(activity, attempt.form, responses, allow_blank=allow_blank)
    return replace(
        attempt,
        submitted_at=now,
        responses={i.question_id: i.selected for i in result.items},
        score=result,
    )


# --- review ----------------------------------------------------------------------------------


def key_shown(activity: Activity, attempts: Sequence[Attempt], extra_attempts: int = 0) -> bool:
    """Whether the review policy now lets the learner see correct answers, feedback and explanations."""
    policy = activity.policy.review
    if policy in (ReviewPolicy.NONE, ReviewPolicy.OWN_ANSWERS):
        return False
    if any(a.passed for a in attempts):
        return True
    if policy is ReviewPolicy.CORRECT_AFTER_LAST_ATTEMPT:
        allowed = _attempts_allowed(activity, extra_attempts)
        # Every allowed attempt must be used AND submitted: an open last attempt must not see the key.
        return allowed is not None and len(attempts) >= allowed and current_attempt(attempts) is None
    return False


def review(
    activity: Activity, attempts: Sequence[Attempt], attempt_number: int, extra_attempts: int = 0
) -> dict[str, Any]:
    """What the review policy lets the learner see of one submitted attempt, JSON-safe.

    Always: attempt number, policy, points, max_points, percent, passed, key_shown, items.
    `none`: items is empty. Otherwise each item has its prompt, its choices in the order the
    learner saw them with `selected`, and `selected` ids. Only when `key_shown`: each choice's
    `correct` and `feedback`, the item's `correct_ids`, `correct`, `points` and `explanation`.
    Before the key may be shown, correct-after-passing and correct-after-last-attempt show what
    own-answers shows. `extra_attempts` must be what `eligibility` is given.
    """
    attempt = next((a for a in attempts if a.number == attempt_number), None)
    if attempt is None:
        raise ValueError(f"There is no attempt {attempt_number}.")
    if attempt.score is None:
        raise ValueError(f"Attempt {attempt_number} has not been submitted yet, so there is nothing to review.")
    policy = activity.policy.review
    show_key = key_shown(activity, attempts, extra_attempts)
    sc = attempt.score
    out: dict[str, Any] = {
        "attempt": attempt.number,
        "review": str(policy),
        "points": sc.points,
        "max_points": sc.max_points,
        "percent": sc.percent,
        "passed": sc.passed,
        "key_shown": show_key,
        "items": [],
    }
    if policy is ReviewPolicy.NONE:
        return out
    results = {r.question_id: r for r in sc.items}
    for form_item, q in _form_questions(activity, attempt.form):
        result = results.get(q.id)
        mine = result.selected if result else ()
        by_id = {c.id: c for c in q.choices}
        choices = []
        for cid in form_item.choice_order:
            c = by_id[cid]
            shown: dict[str, Any] = {"id": cid, "text": c.text, "selected": cid in mine}
            if show_key:
                shown["correct"] = c.correct
                shown["feedback"] = c.feedback
            choices.append(shown)
        item: dict[str, Any] = {
            "id": q.id,
            "type": str(q.type),
            "prompt": q.prompt,
            "choices": choices,
            "selected": list(mine),
        }
        if show_key:
            item["correct_ids"] = [cid for cid in form_item.choice_order if by_id[cid].correct]
            item["correct"] = bool(result and result.correct)
            item["points"] = result.points if result else 0.0
            item["explanation"] = q.explanation
        out["items"].append(item)
    return out


# --- helpers ---------------------------------------------------------------------------------


def _aware(value: Any, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {value!r}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} ({value.isoformat()}) has no time zone. Pass an aware datetime, e.g. datetime.now(timezone.utc)."
        )


def _parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"The attempt's {name} must be an ISO 8601 text, not {value!r}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"The attempt's {name} {value!r} is not an ISO 8601 date and time.") from None
    _aware(parsed, name)
    return parsed


def _str(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key) if isinstance(d, Mapping) else None
    if not isinstance(v, str):
        raise ValueError(f"The stored attempt needs text for {key!r}, not {v!r}.")
    return v


def _str_list(d: Mapping[str, Any], key: str) -> list[str]:
    v = d.get(key) if isinstance(d, Mapping) else None
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"The stored attempt needs a list of ids for {key!r}, not {v!r}.")
    return list(v)


def _bool(d: Mapping[str, Any], key: str) -> bool:
    v = d.get(key)
    if not isinstance(v, bool):
        raise ValueError(f"The stored attempt needs true or false for {key!r}, not {v!r}.")
    return v


def _number(d: Mapping[str, Any], key: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"The stored attempt needs a number for {key!r}, not {v!r}.")
    return float(v)


def _pct(percent: float) -> str:
    return f"{percent:.1f}".rstrip("0").rstrip(".")
