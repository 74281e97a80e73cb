"""The definition of one CE activity: its CE facts, post-test bank, evaluation and policies.

Plain dataclasses holding plain values. Rich text fields (descriptions, prompts, choices,
explanations, bios...) hold sanitised HTML; `olx` sanitises on read. `validate()` lists every
problem with a path into the model, so that each home (OLX file, Studio editor, LTI authoring)
can show it against its own line or field.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ce_xblock.core.locale import N_, Phrase, localize, sentences

DEFAULT_PASS_MARK = 75
# The longest post-test time limit an author may set, in minutes (ten hours). A longer limit is
# no limit in practice; leave time_limit_minutes unset for an untimed post-test.
MAX_TIME_LIMIT_MINUTES = 600
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class DeliveryFormat(enum.StrEnum):
    HOME_STUDY = "home-study"
    SELF_PACED_ONLINE = "self-paced-online"
    LIVE_WEBINAR = "live-webinar"


class Level(enum.StrEnum):
    INTRODUCTORY = "introductory"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Accreditor(enum.StrEnum):
    APA = "apa"
    ASWB_ACE = "aswb-ace"
    NBCC = "nbcc"
    NAADAC = "naadac"
    STATE_BOARD = "state-board"
    CUSTOM = "custom"


class CreditType(enum.StrEnum):
    GENERAL = "general"
    ETHICS = "ethics"
    CLINICAL = "clinical"
    CULTURAL_DIVERSITY = "cultural-diversity"
    SUPERVISION = "supervision"
    SUICIDE_PREVENTION = "suicide-prevention"
    PAIN_MANAGEMENT = "pain-management"
    LAWS_AND_RULES = "laws-and-rules"


class LearnerDetail(enum.StrEnum):
    LEGAL_NAME = "legal-name"
    LICENSE_NUMBER = "license-number"
    LICENSE_STATE = "license-state"
    PROFESSION = "profession"


class QuestionType(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class ReviewPolicy(enum.StrEnum):
    """What a learner may see of a submitted attempt."""

    NONE = "none"
    OWN_ANSWERS = "own-answers"
    CORRECT_AFTER_PASSING = "correct-after-passing"
    CORRECT_AFTER_LAST_ATTEMPT = "correct-after-last-attempt"


class EvaluationItemType(enum.StrEnum):
    LIKERT = "likert"
    TEXT = "text"


@dataclass(frozen=True)
class LearningObjective:
    id: str
    text: str


@dataclass(frozen=True)
class Instructor:
    name: str
    credentials: str = ""
    bio: str = ""  # rich text


@dataclass(frozen=True)
class Disclosures:
    commercial_support: str = ""  # rich text
    conflicts_of_interest: str = ""  # rich text
    accommodations_contact: str = ""  # rich text
    refund_policy: str = ""  # rich text


@dataclass(frozen=True)
class Sponsor:
    """The CE provider whose name, approval and signatory go on the certificate."""

    name: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    contact: str = ""


@dataclass(frozen=True)
class Accreditation:
    body: Accreditor
    provider_number: str
    credits: Decimal
    credit_type: CreditType = CreditType.GENERAL
    approval_start: date | None = None
    approval_end: date | None = None
    # For state boards and custom bodies: the body's full name, e.g. "Texas BHEC".
    body_name: str = ""
    # A state board's state or province code, e.g. "TX".
    state: str = ""
    # The approval statement. Empty means the accreditor's standard statement (see credit).
    statement: str = ""
    # For state boards and custom bodies: "hour" (60 min), "cpe-hour" (50 min) or "ceu" (10 hours).
    # Empty means the body's standard unit (see credit).
    credit_unit: str = ""
    required_details: tuple[LearnerDetail, ...] = (LearnerDetail.LEGAL_NAME,)


@dataclass(frozen=True)
class Choice:
    id: str
    text: str  # rich text
    correct: bool = False
    feedback: str = ""  # rich text


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str  # rich text
    choices: tuple[Choice, ...]
    type: QuestionType = QuestionType.SINGLE
    objective: str = ""  # a LearningObjective id
    explanation: str = ""  # rich text

    @property
    def correct_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.choices if c.correct)


@dataclass(frozen=True)
class PostTestPolicy:
    form_size: int | None = None  # None: every bank item
    shuffle_questions: bool = True
    shuffle_choices: bool = True
    pass_mark: int = DEFAULT_PASS_MARK  # percent
    max_attempts: int | None = 3  # None: unlimited
    wait_minutes: int = 0  # between a failed attempt and the next
    alternate_forms: bool = True  # prefer unseen items on a retake
    review: ReviewPolicy = ReviewPolicy.CORRECT_AFTER_PASSING
    partial_credit: bool = False  # multiple-answer items: all-or-nothing unless set
    # Minutes a learner has for one attempt, from its start; None: untimed. A learner's
    # extra_minutes accommodation is added to it (see attempts.deadline).
    time_limit_minutes: int | None = None


@dataclass(frozen=True)
class EvaluationItem:
    id: str
    prompt: str  # plain text
    type: EvaluationItemType = EvaluationItemType.LIKERT
    objective: str = ""  # a LearningObjective id, for objective items
    required: bool = True


# The evaluation item generated for each learning objective (translated where it is shown).
OBJECTIVE_ITEM_PROMPT = N_("This activity met its objective: %(objective)s")

LIKERT_SCALE = (
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neutral"),
    (4, "Agree"),
    (5, "Strongly agree"),
)


@dataclass(frozen=True)
class Evaluation:
    items: tuple[EvaluationItem, ...] = ()
    required: bool = True  # before the certificate
    objective_items: bool = True  # generate one Likert item per learning objective


@dataclass(frozen=True)
class Activity:
    id: str
    title: str
    version: str = "1"
    description: str = ""  # rich text
    format: DeliveryFormat = DeliveryFormat.SELF_PACED_ONLINE
    level: Level = Level.INTRODUCTORY
    audience: str = ""
    duration_minutes: int = 60  # instructional time
    objectives: tuple[LearningObjective, ...] = ()
    instructors: tuple[Instructor, ...] = ()
    disclosures: Disclosures = field(default_factory=Disclosures)
    references: tuple[str, ...] = ()  # rich text each
    sponsor: Sponsor = field(default_factory=Sponsor)
    accreditations: tuple[Accreditation, ...] = ()
    questions: tuple[Question, ...] = ()
    policy: PostTestPolicy = field(default_factory=PostTestPolicy)
    evaluation: Evaluation = field(default_factory=Evaluation)
    attestation: str = ""  # rich text
    min_minutes: int = 0  # minimum time between starting and the certificate

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def objective(self, objective_id: str) -> LearningObjective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    @property
    def form_size(self) -> int:
        return self.policy.form_size if self.policy.form_size is not None else len(self.questions)

    @property
    def required_details(self) -> tuple[LearnerDetail, ...]:
        """Every learner detail any accreditation needs, in a stable order."""
        wanted = {d for a in self.accreditations for d in a.required_details}
        wanted.add(LearnerDetail.LEGAL_NAME)
        return tuple(d for d in LearnerDetail if d in wanted)

    def evaluation_items(self) -> tuple[EvaluationItem, ...]:
        """The evaluation as the learner sees it: generated objective items, then the author's."""
        generated: list[EvaluationItem] = []
        if self.evaluation.objective_items:
            for o in self.objectives:
                generated.append(
                    EvaluationItem(
                        id=f"objective-{o.id}",
                        prompt=Phrase(OBJECTIVE_ITEM_PROMPT, objective=_plain(o.text)),
                        type=EvaluationItemType.LIKERT,
                        objective=o.id,
                    )
                )
        return tuple(generated) + self.evaluation.items

    def replace(self, **changes: Any) -> Activity:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an activity.

    `path` points into the model, e.g. ("questions", 3, "choices"), so that each home can place
    it: a line in an OLX file, a field in the Studio editor. `message` and `fix` are `Phrase`s:
    English where they are logged or printed (`str(problem)`), and `localize(gettext)` gives
    them in the author's language where a home shows them.
    """

    path: tuple[str | int, ...]
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.message} {self.fix}".strip()

    def localize(self, gettext: Callable[[str], str]) -> str:
        """The message and its fix in the language of `gettext` (what `str()` says, translated)."""
        return localize(sentences(self.message, self.fix), gettext)


def _plain(html: str) -> str:
    """Rich text reduced to plain text, for generated prompts and summaries."""
    text = re.sub(r"<[^>]*>", "", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return " ".join(text.split())


plain_text = _plain


def use_one_of(values: Iterable[str]) -> Phrase:
    """The fix "Use one of: a, b, c." ("(none defined)" when there is nothing to choose)."""
    listed = ", ".join(values)
    # Translators: %(values)s lists the allowed values, as typed in the OLX or the editor.
    return Phrase(N_("Use one of: %(values)s."), values=listed or Phrase(N_("(none defined)")))


def validate(activity: Activity) -> list[Problem]:
    """Every problem that keeps this activity from being offered, in document order."""
    p: list[Problem] = []
    if not SLUG_RE.match(activity.id or ""):
        p.append(
            Problem(
                ("id",),
                # Translators: %(id)s is the id as the author wrote it, in quotes.
                Phrase(N_("The activity id %(id)s is not a valid id."), id=repr(activity.id)),
                Phrase(N_("Use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.")),
            )
        )
    if not activity.title.strip():
        p.append(Problem(("title",), Phrase(N_("The activity has no title.")), Phrase(N_("Give it a display_name."))))
    if not str(activity.version).strip():
        p.append(Problem(("version",), Phrase(N_("The activity has no version.")), Phrase(N_('Set version="1".'))))
    if activity.duration_minutes <= 0:
        p.append(
            Problem(
                ("duration_minutes",),
                Phrase(
                    N_("The instructional time must be positive, not %(minutes)s."),
                    minutes=activity.duration_minutes,
                ),
                Phrase(N_("Set duration_minutes to the activity's length in minutes.")),
            )
        )
    if activity.min_minutes < 0:
        p.append(
            Problem(
                ("min_minutes",),
                Phrase(N_("The minimum time cannot be negative.")),
                Phrase(N_("Use 0 or more minutes.")),
            )
        )

    objective_ids = _unique_ids(p, "objectives", [o.id for o in activity.objectives], "objective")
    if not activity.objectives:
        p.append(
            Problem(
                ("objectives",),
                Phrase(N_("The activity has no learning objectives.")),
                Phrase(N_("Add at least one <objective>.")),
            )
        )
    for i, o in enumerate(activity.objectives):
        if not o.text.strip():
            p.append(
                Problem(
                    ("objectives", i),
                    Phrase(N_("Learning objective %(id)s has no text."), id=repr(o.id)),
                    Phrase(N_("Write the objective.")),
                )
            )

    for i, ins in enumerate(activity.instructors):
        if not ins.name.strip():
            p.append(
                Problem(
                    ("instructors", i),
                    Phrase(N_("An instructor has no name.")),
                    Phrase(N_("Set the name attribute.")),
                )
            )

    if not activity.accreditations:
        p.append(
            Problem(
                ("accreditations",),
                Phrase(N_("The activity has no accreditation, so no certificate can carry credit.")),
                Phrase(N_("Add an <accreditation body=...> for each body that approved it.")),
            )
        )
    for i, a in enumerate(activity.accreditations):
        p.extend(_validate_accreditation(i, a))

    p.extend(_validate_questions(activity, objective_ids))
    p.extend(_validate_policy(activity))

    _unique_ids(p, ("evaluation", "items"), [e.id for e in activity.evaluation.items], "evaluation-item")
    for i, e in enumerate(activity.evaluation.items):
        where = ("evaluation", "items", i)
        if not e.prompt.strip():
            p.append(
                Problem(
                    where,
                    Phrase(N_("Evaluation item %(id)s has no prompt."), id=repr(e.id)),
                    Phrase(N_("Write it.")),
                )
            )
        if e.objective and e.objective not in objective_ids:
            p.append(
                Problem(
                    where,
                    Phrase(
                        N_("Evaluation item %(id)s names learning objective %(objective)s, which does not exist."),
                        id=repr(e.id),
                        objective=repr(e.objective),
                    ),
                    use_one_of(sorted(objective_ids)),
                )
            )
        if e.id.startswith("objective-"):
            p.append(
                Problem(
                    where,
                    Phrase(N_("Evaluation item id %(id)s is reserved for generated objective items."), id=repr(e.id)),
                    Phrase(N_("Choose an id that does not start with 'objective-'.")),
                )
            )
    return p


# What `_unique_ids` says of a bad or repeated id, per kind of element: whole sentences, so that
# each language can word (and agree) them as it needs.
_ID_PROBLEMS = {
    "objective": (
        N_("The learning objective id %(id)s is not a valid id."),
        N_("The learning objective id %(id)s is used twice."),
    ),
    "evaluation-item": (
        N_("The evaluation item id %(id)s is not a valid id."),
        N_("The evaluation item id %(id)s is used twice."),
    ),
    "question": (
        N_("The question id %(id)s is not a valid id."),
        N_("The question id %(id)s is used twice."),
    ),
    "choice": (
        # Translators: %(question)s is the id of the question the choice belongs to, in quotes.
        N_("The choice (in question %(question)s) id %(id)s is not a valid id."),
        N_("The choice (in question %(question)s) id %(id)s is used twice."),
    ),
}


def _unique_ids(p: list[Problem], where: Any, ids: list[str], kind: str, **params: Any) -> set[str]:
    base = where if isinstance(where, tuple) else (where,)
    invalid, twice = _ID_PROBLEMS[kind]
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if not ident or not SLUG_RE.match(ident):
            p.append(
                Problem(
                    base + (i,),
                    Phrase(invalid, id=repr(ident), **params),
                    Phrase(N_("Use letters, digits, '-', '_' or '.', starting with a letter or digit.")),
                )
            )
        elif ident in seen:
            p.append(
                Problem(base + (i,), Phrase(twice, id=repr(ident), **params), Phrase(N_("Give each a unique id.")))
            )
        seen.add(ident)
    return seen


def _validate_accreditation(i: int, a: Accreditation) -> list[Problem]:
    p: list[Problem] = []
    where = ("accreditations", i)
    body = str(a.body)
    if not a.provider_number.strip() and a.body is not Accreditor.CUSTOM:
        p.append(
            Problem(
                where,
                # Translators: %(body)s is the accreditor's code as written in the OLX (apa, nbcc...).
                Phrase(N_("The %(body)s accreditation has no provider or approval number."), body=body),
                Phrase(N_("Set provider_number to the number the body assigned.")),
            )
        )
    if a.credits <= 0:
        p.append(
            Problem(
                where,
                Phrase(N_("Credits must be positive, not %(credits)s."), credits=a.credits),
                Phrase(N_('Set credits, e.g. credits="1.5".')),
            )
        )
    if a.approval_start and a.approval_end and a.approval_end < a.approval_start:
        p.append(
            Problem(
                where,
                Phrase(
                    # Translators: %(end)s and %(start)s are dates written YYYY-MM-DD.
                    N_("The approval period ends (%(end)s) before it starts (%(start)s)."),
                    end=a.approval_end.isoformat(),
                    start=a.approval_start.isoformat(),
                ),
                Phrase(N_("Check approval_start and approval_end (YYYY-MM-DD).")),
            )
        )
    if a.body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM):
        if not a.body_name.strip():
            p.append(
                Problem(
                    where,
                    # Translators: %(body)s is state-board or custom, as written in the OLX.
                    Phrase(N_("A %(body)s accreditation needs the body's name."), body=body),
                    Phrase(N_('Set body_name="...".')),
                )
            )
        if not a.statement.strip():
            p.append(
                Problem(
                    where,
                    # Translators: %(body)s is state-board or custom, as written in the OLX.
                    Phrase(N_("A %(body)s accreditation has no standard statement, so it needs its own."), body=body),
                    Phrase(N_("Add a <statement> with the exact wording the body requires.")),
                )
            )
    if a.credit_unit:
        units = ("hour", "cpe-hour", "ceu")  # credit.CreditUnit; credit imports this module
        if a.credit_unit not in units:
            p.append(
                Problem(
                    where,
                    Phrase(N_("The credit unit %(unit)s is unknown."), unit=repr(a.credit_unit)),
                    use_one_of(units),
                )
            )
        elif a.body not in (Accreditor.STATE_BOARD, Accreditor.CUSTOM):
            p.append(
                Problem(
                    where,
                    # Translators: %(body)s is the accreditor's code as written in the OLX (apa, nbcc...).
                    Phrase(N_("%(body)s credit has a fixed unit, so credit_unit cannot be set on it."), body=body),
                    Phrase(N_("Remove credit_unit; it is for state-board and custom accreditations.")),
                )
            )
    if a.body is Accreditor.STATE_BOARD and not a.state.strip():
        p.append(
            Problem(
                where,
                Phrase(N_("A state-board accreditation needs its state.")),
                Phrase(N_('Set state="TX" (for example).')),
            )
        )
    if LearnerDetail.LEGAL_NAME not in a.required_details:
        p.append(
            Problem(
                where,
                Phrase(N_("Every accreditation needs the learner's legal name on the certificate.")),
                Phrase(N_('Include legal-name in requires="...".')),
            )
        )
    return p


def _validate_questions(activity: Activity, objective_ids: set[str]) -> list[Problem]:
    p: list[Problem] = []
    _unique_ids(p, "questions", [q.id for q in activity.questions], "question")
    if not activity.questions:
        p.append(
            Problem(
                ("questions",),
                Phrase(N_("The post-test has no questions.")),
                Phrase(N_("Add <question> items to <posttest>.")),
            )
        )
    for i, q in enumerate(activity.questions):
        where = ("questions", i)
        qid = repr(q.id)
        if not q.prompt.strip():
            p.append(
                Problem(where, Phrase(N_("Question %(id)s has no prompt."), id=qid), Phrase(N_("Add a <prompt>.")))
            )
        if len(q.choices) < 2:
            p.append(
                Problem(
                    where,
                    Phrase(N_("Question %(id)s has fewer than two choices."), id=qid),
                    Phrase(N_("Add <choice> items.")),
                )
            )
        _unique_ids(p, where + ("choices",), [c.id for c in q.choices], "choice", question=qid)
        n_correct = sum(c.correct for c in q.choices)
        if n_correct == 0:
            p.append(
                Problem(
                    where,
                    Phrase(N_("Question %(id)s has no correct answer."), id=qid),
                    Phrase(N_('Mark the right choice with correct="true".')),
                )
            )
        elif q.type is QuestionType.SINGLE and n_correct > 1:
            p.append(
                Problem(
                    where,
                    Phrase(
                        # Translators: %(count)s is 2 or more.
                        N_("Question %(id)s is single-answer but marks %(count)s choices correct."),
                        id=qid,
                        count=n_correct,
                    ),
                    Phrase(N_('Mark exactly one choice correct, or set type="multiple".')),
                )
            )
        for j, c in enumerate(q.choices):
            if not c.text.strip():
                p.append(
                    Problem(
                        where + ("choices", j),
                        Phrase(N_("Choice %(choice)s of question %(id)s is empty."), choice=repr(c.id), id=qid),
                        Phrase(N_("Write it.")),
                    )
                )
        if q.objective and q.objective not in objective_ids:
            p.append(
                Problem(
                    where,
                    Phrase(
                        N_("Question %(id)s assesses learning objective %(objective)s, which does not exist."),
                        id=qid,
                        objective=repr(q.objective),
                    ),
                    use_one_of(sorted(objective_ids)),
                )
            )
        if not q.objective:
            p.append(
                Problem(
                    where,
                    Phrase(N_("Question %(id)s does not name the learning objective it assesses."), id=qid),
                    Phrase(N_('Set objective="...".')),
                )
            )
    return p


def _validate_policy(activity: Activity) -> list[Problem]:
    p: list[Problem] = []
    pol = activity.policy
    where = ("policy",)
    if not 0 < pol.pass_mark <= 100:
        p.append(
            Problem(
                where + ("pass_mark",),
                Phrase(N_("The pass mark must be a percentage from 1 to 100, not %(mark)s."), mark=pol.pass_mark),
                Phrase(N_("Most accreditors expect %(mark)s."), mark=DEFAULT_PASS_MARK),
            )
        )
    if pol.form_size is not None:
        bank = len(activity.questions)
        if pol.form_size < 1:
            p.append(
                Problem(
                    where + ("form_size",),
                    Phrase(N_("A form must have at least one question.")),
                    Phrase(N_("Set form_size >= 1.")),
                )
            )
        elif pol.form_size > bank:
            p.append(
                Problem(
                    where + ("form_size",),
                    Phrase(
                        # Translators: %(size)s questions per form (2 or more); %(bank)s questions in the bank.
                        N_("A form draws %(size)s questions but the bank has only %(bank)s."),
                        size=pol.form_size,
                        bank=bank,
                    ),
                    Phrase(N_("Lower form_size to at most %(bank)s or add questions."), bank=bank),
                )
            )
    if pol.max_attempts is not None and pol.max_attempts < 1:
        p.append(
            Problem(
                where + ("max_attempts",),
                Phrase(N_("Attempts allowed must be at least 1, not %(attempts)s."), attempts=pol.max_attempts),
                Phrase(N_('Use a number, or attempts="unlimited".')),
            )
        )
    if pol.wait_minutes < 0:
        p.append(
            Problem(
                where + ("wait_minutes",),
                Phrase(N_("The wait between attempts cannot be negative.")),
                Phrase(N_("Use 0 or more.")),
            )
        )
    limit = pol.time_limit_minutes
    if limit is not None and not 1 <= limit <= MAX_TIME_LIMIT_MINUTES:
        p.append(
            Problem(
                where + ("time_limit_minutes",),
                Phrase(
                    N_("The post-test time limit must be from 1 to %(max)s minutes, not %(limit)s."),
                    max=MAX_TIME_LIMIT_MINUTES,
                    limit=limit,
                ),
                Phrase(
                    N_(
                        "Set time_limit_minutes to the minutes one attempt may take (e.g. 30), or remove it for "
                        "an untimed post-test."
                    )
                ),
            )
        )
    return p
