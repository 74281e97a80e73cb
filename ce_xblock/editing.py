"""The activity as an editor model (plain JSON) and back, with a problem per bad field.

The Studio editor edits this model; `from_model` turns it back into an Activity and reports every
value it cannot use, and every `activity.validate` problem, with its path into the model, so the
editor can mark the very field. Plain Python: no XBlock imports, usable by any authoring screen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from ce_xblock.core.activity import (
    Accreditation,
    Accreditor,
    Activity,
    Choice,
    CreditType,
    DeliveryFormat,
    Disclosures,
    Evaluation,
    EvaluationItem,
    EvaluationItemType,
    Instructor,
    LearnerDetail,
    LearningObjective,
    Level,
    PostTestPolicy,
    Question,
    QuestionType,
    ReviewPolicy,
    Sponsor,
    use_one_of,
    validate,
)
from ce_xblock.core.locale import N_, Phrase, sentences

E = TypeVar("E", bound=StrEnum)
Path = tuple[str | int, ...]


def problem(path: Path, message: str, fix: str = "") -> dict[str, Any]:
    """One problem for the editor: its field path and "message fix" (Phrases stay translatable).

    The message reads as English; a home shows it with `locale.localize(p["message"], gettext)`.
    """
    return {"path": list(path), "message": sentences(message, fix)}


def choices() -> dict[str, list[str]]:
    """The allowed values of each enumerated field, for the editor's selects."""
    return {
        "format": [e.value for e in DeliveryFormat],
        "level": [e.value for e in Level],
        "body": [e.value for e in Accreditor],
        "credit_type": [e.value for e in CreditType],
        "required_details": [e.value for e in LearnerDetail],
        "question_type": [e.value for e in QuestionType],
        "review": [e.value for e in ReviewPolicy],
        "evaluation_type": [e.value for e in EvaluationItemType],
    }


def to_model(activity: Activity) -> dict[str, Any]:
    """JSON-safe: enums as their values, decimals as text, dates ISO."""

    def plain(v: Any) -> Any:
        if isinstance(v, StrEnum):
            return v.value
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Mapping):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return plain(dataclasses.asdict(activity))


class _Reader:
    def __init__(self) -> None:
        self.problems: list[dict[str, Any]] = []

    def bad(self, path: Path, message: str, fix: str = "") -> None:
        self.problems.append(problem(path, message, fix))

    def text(self, d: Mapping[str, Any], key: str, path: Path, default: str = "") -> str:
        v = d.get(key, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            # Translators: %(type)s is the JSON value's Python type name (list, dict...); keep it as is.
            self.bad(path + (key,), Phrase(N_("This field must be text, not %(type)s."), type=type(v).__name__))
            return default
        return str(v).strip() if not isinstance(v, str) else v.strip()

    def integer(self, d: Mapping[str, Any], key: str, path: Path, default: int | None, optional: bool = False) -> Any:
        v = d.get(key, default)
        if v is None or (optional and v == ""):
            if optional:
                return None
            self.bad(path + (key,), Phrase(N_("This field needs a whole number.")))
            return default
        try:
            if isinstance(v, bool):
                raise ValueError
            f = float(str(v).strip())
            if not f.is_integer():
                raise ValueError
            return int(f)
        except (TypeError, ValueError):
            self.bad(
                path + (key,),
                # Translators: %(value)s is what the author typed, in quotes.
                Phrase(N_("%(value)s is not a whole number."), value=repr(v)),
                Phrase(N_("Type digits only, e.g. 60.")),
            )
            return default

    def boolean(self, d: Mapping[str, Any], key: str, path: Path, default: bool) -> bool:
        v = d.get(key, default)
        if isinstance(v, bool):
            return v
        if v in ("true", "false"):
            return v == "true"
        self.bad(path + (key,), Phrase(N_("%(value)s is not yes or no."), value=repr(v)))
        return default

    def enum(self, d: Mapping[str, Any], key: str, path: Path, cls: type[E], default: E) -> E:
        v = d.get(key, default.value)
        try:
            return cls(v)
        except ValueError:
            self.bad(
                path + (key,),
                Phrase(N_("%(value)s is not an allowed value."), value=repr(v)),
                use_one_of(e.value for e in cls),
            )
            return default

    def decimal(self, d: Mapping[str, Any], key: str, path: Path) -> Decimal:
        v = d.get(key, "")
        try:
            if isinstance(v, bool):
                raise InvalidOperation
            out = Decimal(str(v).strip().replace(",", "."))
            if not out.is_finite():
                raise InvalidOperation
            return out
        except (InvalidOperation, ValueError):
            self.bad(
                path + (key,),
                Phrase(N_("%(value)s is not a number of credits."), value=repr(v)),
                Phrase(N_("Use e.g. 1.5.")),
            )
            return Decimal(0)

    def day(self, d: Mapping[str, Any], key: str, path: Path) -> date | None:
        v = d.get(key)
        if v in (None, ""):
            return None
        try:
            return date.fromisoformat(str(v))
        except ValueError:
            self.bad(
                path + (key,),
                Phrase(N_("%(value)s is not a date."), value=repr(v)),
                Phrase(N_("Use YYYY-MM-DD, e.g. 2026-12-31.")),
            )
            return None

    def items(
        self, d: Mapping[str, Any], key: str, path: Path, build: Callable[[Mapping[str, Any], Path], Any]
    ) -> tuple:
        v = d.get(key) or []
        if not isinstance(v, list):
            self.bad(path + (key,), Phrase(N_("This must be a list.")))
            return ()
        out = []
        for i, item in enumerate(v):
            if not isinstance(item, Mapping):
                self.bad(path + (key, i), Phrase(N_("This entry is not an object.")))
                continue
            out.append(build(item, path + (key, i)))
        return tuple(out)

    def section(self, d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        v = d.get(key) or {}
        if not isinstance(v, Mapping):
            self.bad((key,), Phrase(N_("This section must be an object.")))
            return {}
        return v


def from_model(model: Mapping[str, Any]) -> tuple[Activity | None, list[dict[str, Any]]]:
    """The activity the editor describes, and every problem with it (empty when it can be saved)."""
    r = _Reader()
    m = model

    def objective(d: Mapping[str, Any], p: Path) -> LearningObjective:
        return LearningObjective(id=r.text(d, "id", p), text=r.text(d, "text", p))

    def instructor(d: Mapping[str, Any], p: Path) -> Instructor:
        return Instructor(name=r.text(d, "name", p), credentials=r.text(d, "credentials", p), bio=r.text(d, "bio", p))

    def accreditation(d: Mapping[str, Any], p: Path) -> Accreditation:
        details = d.get("required_details") or ["legal-name"]
        req: list[LearnerDetail] = []
        if not isinstance(details, list):
            r.bad(p + ("required_details",), Phrase(N_("This must be a list of learner details.")))
        else:
            for x in details:
                try:
                    req.append(LearnerDetail(x))
                except ValueError:
                    r.bad(p + ("required_details",), Phrase(N_("%(value)s is not a learner detail."), value=repr(x)))
        return Accreditation(
            body=r.enum(d, "body", p, Accreditor, Accreditor.APA),
            provider_number=r.text(d, "provider_number", p),
            credits=r.decimal(d, "credits", p),
            credit_type=r.enum(d, "credit_type", p, CreditType, CreditType.GENERAL),
            approval_start=r.day(d, "approval_start", p),
            approval_end=r.day(d, "approval_end", p),
            body_name=r.text(d, "body_name", p),
            state=r.text(d, "state", p),
            statement=r.text(d, "statement", p),
            required_details=tuple(x for x in LearnerDetail if x in req),
            **({"credit_unit": r.text(d, "credit_unit", p)} if "credit_unit" in _fields(Accreditation) else {}),
        )

    def choice(d: Mapping[str, Any], p: Path) -> Choice:
        return Choice(
            id=r.text(d, "id", p),
            text=r.text(d, "text", p),
            correct=r.boolean(d, "correct", p, False),
            feedback=r.text(d, "feedback", p),
        )

    def question(d: Mapping[str, Any], p: Path) -> Question:
        return Question(
            id=r.text(d, "id", p),
            prompt=r.text(d, "prompt", p),
            choices=r.items(d, "choices", p, choice),
            type=r.enum(d, "type", p, QuestionType, QuestionType.SINGLE),
            objective=r.text(d, "objective", p),
            explanation=r.text(d, "explanation", p),
        )

    def evaluation_item(d: Mapping[str, Any], p: Path) -> EvaluationItem:
        return EvaluationItem(
            id=r.text(d, "id", p),
            prompt=r.text(d, "prompt", p),
            type=r.enum(d, "type", p, EvaluationItemType, EvaluationItemType.LIKERT),
            objective=r.text(d, "objective", p),
            required=r.boolean(d, "required", p, True),
        )

    pol = r.section(m, "policy")
    ev = r.section(m, "evaluation")
    disc = r.section(m, "disclosures")
    spon = r.section(m, "sponsor")
    refs = m.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(x, str) for x in refs):
        r.bad(("references",), Phrase(N_("References must be a list of texts.")))
        refs = []
    activity = Activity(
        id=r.text(m, "id", ()),
        title=r.text(m, "title", ()),
        version=r.text(m, "version", (), "1"),
        description=r.text(m, "description", ()),
        format=r.enum(m, "format", (), DeliveryFormat, DeliveryFormat.SELF_PACED_ONLINE),
        level=r.enum(m, "level", (), Level, Level.INTRODUCTORY),
        audience=r.text(m, "audience", ()),
        duration_minutes=r.integer(m, "duration_minutes", (), 60),
        objectives=r.items(m, "objectives", (), objective),
        instructors=r.items(m, "instructors", (), instructor),
        disclosures=Disclosures(**{f: r.text(disc, f, ("disclosures",)) for f in _fields(Disclosures)}),
        references=tuple(x.strip() for x in refs if x.strip()),
        sponsor=Sponsor(**{f: r.text(spon, f, ("sponsor",)) for f in _fields(Sponsor)}),
        accreditations=r.items(m, "accreditations", (), accreditation),
        questions=r.items(m, "questions", (), question),
        policy=PostTestPolicy(
            form_size=r.integer(pol, "form_size", ("policy",), None, optional=True),
            shuffle_questions=r.boolean(pol, "shuffle_questions", ("policy",), True),
            shuffle_choices=r.boolean(pol, "shuffle_choices", ("policy",), True),
            pass_mark=r.integer(pol, "pass_mark", ("policy",), 75),
            max_attempts=r.integer(pol, "max_attempts", ("policy",), 3, optional=True),
            wait_minutes=r.integer(pol, "wait_minutes", ("policy",), 0),
            time_limit_minutes=r.integer(pol, "time_limit_minutes", ("policy",), None, optional=True),
            alternate_forms=r.boolean(pol, "alternate_forms", ("policy",), True),
            review=r.enum(pol, "review", ("policy",), ReviewPolicy, ReviewPolicy.CORRECT_AFTER_PASSING),
            partial_credit=r.boolean(pol, "partial_credit", ("policy",), False),
        ),
        evaluation=Evaluation(
            items=r.items(ev, "items", ("evaluation",), evaluation_item),
            required=r.boolean(ev, "required", ("evaluation",), True),
            objective_items=r.boolean(ev, "objective_items", ("evaluation",), True),
        ),
        attestation=r.text(m, "attestation", ()),
        min_minutes=r.integer(m, "min_minutes", (), 0),
    )
    problems = r.problems
    if not problems:
        problems = [problem(p.path, p.message, p.fix) for p in validate(activity)]
    return (None if problems else activity), problems


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
