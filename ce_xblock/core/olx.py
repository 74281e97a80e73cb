"""Read and write the `<ce_credit>` OLX: one CE activity as human-readable XML (see docs/olx.md).

Reading collects every problem with its file and line, and sanitises author rich text with nh3.
Writing produces a canonical layout, so that a file CE Credit wrote reads and writes back to the
same bytes, and any activity reads back equal after it is written.
"""

from __future__ import annotations

import difflib
import functools
import html as _html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import lxml.html
import nh3
from lxml import etree

from .activity import (
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
from .locale import N_, Phrase, localize, sentences

ROOT_TAG = "ce_credit"

# The safe subset of HTML an author may use in rich text.
RICH_TAGS = {
    "p", "br", "em", "strong", "b", "i", "u", "ul", "ol", "li", "a", "sub", "sup", "code",
    "blockquote", "span", "abbr", "cite", "q", "small", "h3", "h4",
}  # fmt: skip
RICH_ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "abbr": {"title"}, "span": {"lang", "dir"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

# Attributes Open edX puts on a block's node; the reader accepts them on the root and ignores them.
OPENEDX_ROOT_ATTRIBUTES = frozenset({"url_name", "xblock-family", "filename"})

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class OLXProblem:
    filename: str
    line: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.message} {self.fix}".strip()
        return f"{self.filename}:{self.line}: {text}"

    def localize(self, gettext: Callable[[str], str]) -> str:
        """The message and its fix (no file or line) in the language of `gettext`; English in `str()`."""
        return localize(sentences(self.message, self.fix), gettext)


class OLXError(ValueError):
    """A `<ce_credit>` file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[OLXProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# One configured cleaner: building nh3's configuration per call costs about twice the cleaning.
_CLEANER = nh3.Cleaner(
    tags=RICH_TAGS, attributes=RICH_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer"
)


@functools.lru_cache(maxsize=4096)
def sanitize(html: str) -> str:
    """Author rich text reduced to the safe subset: no scripts, handlers, styles or unsafe URLs.

    Memoised: every learner view sanitises the same activity texts again (flow._rich), and the
    result depends on nothing but the input string.
    """
    return _CLEANER.clean(html).strip()


# --------------------------------------------------------------------------- reading


_PARSER_PLACE_RE = re.compile(r",\s*line \d+,\s*column \d+\s*$")


def load(path: str | Path) -> Activity:
    path = Path(path)
    return loads(path.read_bytes(), filename=str(path))


def loads(text: str | bytes, filename: str = "<string>") -> Activity:
    if isinstance(text, str):
        text = text.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno or 1, 0)
        line = line or exc.lineno or 1
        # lxml's message stays as lxml wrote it (English), quoted after our own sentence; the place
        # it appends (", line 3, column 8") is said in that sentence instead.
        detail = _PARSER_PLACE_RE.sub("", exc.msg or str(exc)).strip()
        raise OLXError(
            [
                OLXProblem(
                    filename,
                    line,
                    Phrase(
                        # Translators: %(line)s and %(column)s are numbers; %(error)s is the XML parser's
                        # own message, in English, left as it is: keep it quoted, as the parser's words.
                        N_(
                            "This is not well-formed XML: the parser stopped at line %(line)s, column %(column)s. "
                            'The parser says: "%(error)s".'
                        ),
                        line=line,
                        column=column,
                        error=detail,
                    ),
                    Phrase(
                        N_(
                            "Check that every element is closed, attributes are quoted, and '&' and '<' in text "
                            "are written as '&amp;' and '&lt;'."
                        )
                    ),
                )
            ]
        ) from None
    return from_element(root, filename)


@functools.lru_cache(maxsize=128)
def _cached(text: bytes, filename: str) -> Activity:
    return loads(text, filename)


def cached_loads(text: str | bytes, filename: str = "<string>") -> Activity:
    """`loads` for homes that read the same stored OLX on every request.

    Activities are immutable, so one parsed copy per distinct text is shared safely; an invalid
    text raises every time, as `loads` does.
    """
    return _cached(text.encode("utf-8") if isinstance(text, str) else text, filename)


def from_element(
    root: etree._Element, filename: str = "<string>", extra_root_attributes: Iterable[str] = ()
) -> Activity:
    """Build an Activity from a parsed `<ce_credit>` element; raise OLXError listing every problem."""
    reader = _Reader(filename)
    activity = reader.activity(root, frozenset(extra_root_attributes) | OPENEDX_ROOT_ATTRIBUTES)
    problems = list(reader.problems)
    if activity is not None:
        for problem in validate(activity):
            if reader.poisoned(problem.path):
                continue  # the reader already reported what is wrong with this element
            problems.append(OLXProblem(filename, reader.line_for(problem.path), problem.message, problem.fix))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise OLXError(problems)
    assert activity is not None
    return activity


def _did_you_mean(name: str) -> Phrase:
    # Translators: %(name)s is the closest known name: an attribute in quotes, or an element such as <prompt>.
    return Phrase(N_("Did you mean %(name)s?"), name=name)


def _keep_single(tag: str) -> Phrase:
    # Translators: %(element)s is an element such as <prompt>.
    return Phrase(N_("Keep a single %(element)s."), element=f"<{tag}>")


def _missing_attribute(tag: str, name: str) -> Phrase:
    # Translators: %(element)s is an element such as <question>; %(name)s the attribute's name, such as id.
    return Phrase(N_("%(element)s is missing its %(name)s attribute."), element=f"<{tag}>", name=name)


def _written(el: etree._Element, name: str, raw: str) -> dict[str, str]:
    """The params of an "attribute on element" problem: name='value' as written, and <tag>."""
    return {"attribute": f"{name}={raw!r}", "element": f"<{el.tag}>"}


class _Reader:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[OLXProblem] = []
        self.lines: dict[tuple[Any, ...], int] = {}
        # Model paths whose values the reader had to replace; validating them again would only
        # repeat the reader's report in other words.
        self._poisoned: set[tuple[Any, ...]] = set()

    # -- bookkeeping
    def problem(self, el: etree._Element, message: str, fix: str = "", poison: tuple[Any, ...] | None = None) -> None:
        self.problems.append(OLXProblem(self.filename, el.sourceline or 1, message, fix))
        if poison is not None:
            self._poisoned.add(poison)

    def poisoned(self, path: tuple[Any, ...]) -> bool:
        return any(path[: len(p)] == p for p in self._poisoned)

    def mark(self, path: tuple[Any, ...], el: etree._Element) -> None:
        self.lines[path] = el.sourceline or 1

    def line_for(self, path: tuple[Any, ...]) -> int:
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return 1

    # -- structure helpers
    def check_attributes(self, el: etree._Element, allowed: Iterable[str], ignored: Iterable[str] = ()) -> None:
        allowed = list(allowed)
        for name in el.attrib:
            if name in allowed or name in ignored:
                continue
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = (
                _did_you_mean(repr(close[0]))
                if close
                else Phrase(N_("Allowed here: %(names)s."), names=", ".join(allowed) or Phrase(N_("none")))
            )
            self.problem(
                el,
                # Translators: %(element)s is an element such as <question>; %(name)s an attribute name, in quotes.
                Phrase(N_("%(element)s has an unknown attribute %(name)s."), element=f"<{el.tag}>", name=repr(name)),
                hint,
            )

    def children(self, el: etree._Element, allowed: Iterable[str]) -> list[etree._Element]:
        allowed = list(allowed)
        out = []
        for child in el:
            if not isinstance(child.tag, str):  # processing instructions
                continue
            if child.tag not in allowed:
                close = difflib.get_close_matches(child.tag, allowed, n=1)
                hint = (
                    _did_you_mean(f"<{close[0]}>")
                    if close
                    else Phrase(
                        N_("Allowed in %(element)s: %(names)s"),
                        element=f"<{el.tag}>",
                        names=", ".join(f"<{a}>" for a in allowed),
                    )
                )
                self.problem(
                    child,
                    Phrase(N_("%(element)s cannot contain %(child)s."), element=f"<{el.tag}>", child=f"<{child.tag}>"),
                    hint,
                )
                continue
            out.append(child)
        if el.text and el.text.strip():
            self.problem(
                el,
                Phrase(
                    # Translators: %(text)s is the start of the stray text, in quotes.
                    N_("%(element)s holds elements, not text: %(text)s."),
                    element=f"<{el.tag}>",
                    text=repr(el.text.strip()[:40]),
                ),
                Phrase(N_("Move the text into an element.")),
            )
        return out

    def single(self, children: list[etree._Element], tag: str) -> etree._Element | None:
        found = [c for c in children if c.tag == tag]
        for extra in found[1:]:
            self.problem(
                extra,
                Phrase(N_("%(element)s appears more than once."), element=f"<{tag}>"),
                _keep_single(tag),
            )
        return found[0] if found else None

    # -- values
    def attr(self, el: etree._Element, name: str, default: str = "") -> str:
        return " ".join(el.get(name, default).split())

    def required_attr(self, el: etree._Element, name: str, example: str, poison: tuple[Any, ...] | None = None) -> str:
        value = self.attr(el, name)
        if not value:
            self.problem(
                el,
                _missing_attribute(el.tag, name),
                # Translators: %(example)s is an attribute with an example value, such as id="q1".
                Phrase(N_("Add %(example)s."), example=f'{name}="{example}"'),
                poison,
            )
        return value

    def enum(self, el: etree._Element, name: str, cls: type[E], default: E) -> E:
        raw = el.get(name)
        if raw is None:
            return default
        try:
            return cls(raw.strip())
        except ValueError:
            choices = [m.value for m in cls]
            close = difflib.get_close_matches(raw.strip(), choices, n=1)
            self.problem(
                el,
                # Translators: %(attribute)s is the attribute as written, such as level='expert';
                # %(element)s the element it is on, such as <ce_credit>.
                Phrase(N_("%(attribute)s on %(element)s is not allowed."), **_written(el, name, raw)),
                sentences(_did_you_mean(repr(close[0])) if close else "", use_one_of(choices)),
            )
            return default

    def integer(self, el: etree._Element, name: str, default: int | None, unlimited_ok: bool = False) -> int | None:
        raw = el.get(name)
        if raw is None:
            return default
        raw = raw.strip()
        if unlimited_ok and raw == "unlimited":
            return None
        try:
            return int(raw)
        except ValueError:
            self.problem(
                el,
                Phrase(N_("%(attribute)s on %(element)s is not a whole number."), **_written(el, name, raw)),
                Phrase(N_('Write a number such as "3" or "unlimited".'))
                if unlimited_ok
                else Phrase(N_('Write a number such as "3".')),
            )
            return default

    def boolean(self, el: etree._Element, name: str, default: bool) -> bool:
        raw = el.get(name)
        if raw is None:
            return default
        if raw.strip() in ("true", "false"):
            return raw.strip() == "true"
        self.problem(
            el,
            Phrase(N_('%(attribute)s on %(element)s is not "true" or "false".'), **_written(el, name, raw)),
            # Translators: %(yes)s and %(no)s are the attribute written with "true" and with "false".
            Phrase(N_("Write %(yes)s or %(no)s."), yes=f'{name}="true"', no=f'{name}="false"'),
        )
        return default

    def iso_date(self, el: etree._Element, name: str) -> date | None:
        raw = el.get(name)
        if raw is None or not raw.strip():
            return None
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            self.problem(
                el,
                Phrase(N_("%(attribute)s on %(element)s is not a date."), **_written(el, name, raw)),
                Phrase(N_("Write it as YYYY-MM-DD, e.g. %(example)s."), example=f'{name}="2026-01-31"'),
            )
            return None

    def decimal(self, el: etree._Element, name: str, poison: tuple[Any, ...]) -> Decimal:
        raw = el.get(name)
        if raw is None:
            self.problem(
                el,
                _missing_attribute(el.tag, name),
                Phrase(N_("Add %(example)s (for example)."), example=f'{name}="1.5"'),
                poison,
            )
            return Decimal(0)
        try:
            value = Decimal(raw.strip())
            if not value.is_finite():
                raise InvalidOperation
            return value
        except InvalidOperation:
            self.problem(
                el,
                Phrase(N_("%(attribute)s on %(element)s is not a number."), **_written(el, name, raw)),
                Phrase(N_("Write a number such as %(example)s."), example=f'{name}="1.5"'),
                poison,
            )
            return Decimal(0)

    def plain(self, el: etree._Element) -> str:
        for child in el:
            if isinstance(child.tag, str):
                self.problem(
                    child,
                    Phrase(
                        N_("%(element)s holds plain text, so %(child)s is not allowed in it."),
                        element=f"<{el.tag}>",
                        child=f"<{child.tag}>",
                    ),
                    Phrase(N_("Remove the markup.")),
                )
                break
        return " ".join("".join(el.itertext()).split())

    def rich(self, el: etree._Element, *, allow: Iterable[str] = ()) -> str:
        """The inner content of `el` as sanitised HTML (children named in `allow` are skipped)."""
        allow = set(allow)
        parts = [_escape_text(el.text or "")]
        for child in el:
            if isinstance(child.tag, str) and child.tag in allow:
                parts.append(_escape_text(child.tail or ""))
                continue
            parts.append(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
        return sanitize("".join(parts))

    # -- the document
    def activity(self, root: etree._Element, ignored_root_attrs: frozenset[str]) -> Activity | None:
        if root.tag != ROOT_TAG:
            self.problem(
                root,
                Phrase(
                    N_("The root element is %(element)s, not %(root)s."), element=f"<{root.tag}>", root=f"<{ROOT_TAG}>"
                ),
                Phrase(N_("Wrap the activity in %(root)s."), root=f"<{ROOT_TAG}>"),
            )
            return None
        self.check_attributes(
            root,
            ["id", "display_name", "version", "format", "level", "duration_minutes", "min_minutes"],
            ignored_root_attrs,
        )
        self.mark((), root)
        for name in ("id", "title", "version", "format", "level", "duration_minutes", "min_minutes"):
            self.mark((name,), root)
        kids = self.children(
            root,
            [
                "description", "audience", "objectives", "instructors", "disclosures", "references",
                "sponsor", "accreditations", "posttest", "evaluation", "attestation",
            ],
        )  # fmt: skip
        get = lambda tag: self.single(kids, tag)  # noqa: E731

        values: dict[str, Any] = {
            "id": self.required_attr(root, "id", "my-activity", ("id",)),
            "title": self.required_attr(root, "display_name", "My activity", ("title",)),
            "version": self.attr(root, "version", "1"),
            "format": self.enum(root, "format", DeliveryFormat, DeliveryFormat.SELF_PACED_ONLINE),
            "level": self.enum(root, "level", Level, Level.INTRODUCTORY),
            "duration_minutes": self.integer(root, "duration_minutes", 60),
            "min_minutes": self.integer(root, "min_minutes", 0),
        }
        if (el := get("description")) is not None:
            self.mark(("description",), el)
            values["description"] = self.rich(el)
        if (el := get("audience")) is not None:
            values["audience"] = self.plain(el)
        if (el := get("objectives")) is not None:
            self.mark(("objectives",), el)
            values["objectives"] = self.each(el, "objective", ("objectives",), self.objective)
        if (el := get("instructors")) is not None:
            self.mark(("instructors",), el)
            values["instructors"] = self.each(el, "instructor", ("instructors",), self.instructor)
        if (el := get("disclosures")) is not None:
            values["disclosures"] = self.disclosures(el)
        if (el := get("references")) is not None:
            values["references"] = self.each(el, "reference", ("references",), lambda e, _p: self.rich(e))
        if (el := get("sponsor")) is not None:
            self.check_attributes(el, ["name", "signatory_name", "signatory_title", "contact"])
            self.plain(el)
            values["sponsor"] = Sponsor(
                name=self.attr(el, "name"),
                signatory_name=self.attr(el, "signatory_name"),
                signatory_title=self.attr(el, "signatory_title"),
                contact=self.attr(el, "contact"),
            )
        if (el := get("accreditations")) is not None:
            self.mark(("accreditations",), el)
            values["accreditations"] = self.each(el, "accreditation", ("accreditations",), self.accreditation)
        if (el := get("posttest")) is not None:
            self.mark(("questions",), el)
            self.mark(("policy",), el)
            values["policy"] = self.policy(el)
            values["questions"] = self.each(el, "question", ("questions",), self.question)
        if (el := get("evaluation")) is not None:
            values["evaluation"] = self.evaluation(el)
        if (el := get("attestation")) is not None:
            self.mark(("attestation",), el)
            values["attestation"] = self.rich(el)
        for key in ("duration_minutes", "min_minutes"):
            if values[key] is None:
                values.pop(key)
        return Activity(**values)

    def each(
        self, el: etree._Element, tag: str, path: tuple[Any, ...], build: Callable[[etree._Element, tuple[Any, ...]], T]
    ) -> tuple[T, ...]:
        out = []
        for i, child in enumerate(self.children(el, [tag])):
            self.mark(path + (i,), child)
            out.append(build(child, path + (i,)))
        return tuple(out)

    def objective(self, el: etree._Element, path: tuple[Any, ...]) -> LearningObjective:
        self.check_attributes(el, ["id"])
        return LearningObjective(id=self.required_attr(el, "id", "lo1", path), text=self.plain(el))

    def instructor(self, el: etree._Element, _path: tuple[Any, ...]) -> Instructor:
        self.check_attributes(el, ["name", "credentials"])
        return Instructor(
            name=self.required_attr(el, "name", "Ana Ruiz"), credentials=self.attr(el, "credentials"), bio=self.rich(el)
        )

    def disclosures(self, el: etree._Element) -> Disclosures:
        self.check_attributes(el, [])
        fields = ["commercial_support", "conflicts_of_interest", "accommodations_contact", "refund_policy"]
        kids = self.children(el, fields)
        values = {}
        for name in fields:
            if (child := self.single(kids, name)) is not None:
                self.check_attributes(child, [])
                values[name] = self.rich(child)
        return Disclosures(**values)

    def accreditation(self, el: etree._Element, path: tuple[Any, ...]) -> Accreditation:
        self.check_attributes(
            el,
            [
                "body", "provider_number", "credits", "credit_type", "approval_start", "approval_end",
                "body_name", "state", "credit_unit", "requires",
            ],
        )  # fmt: skip
        body_raw = el.get("body")
        if body_raw is None:
            self.problem(
                el,
                _missing_attribute("accreditation", "body"),
                Phrase(N_('Add body="apa" (or aswb-ace, nbcc, ...).')),
                path,
            )
        else:
            try:
                Accreditor(body_raw.strip())
            except ValueError:
                self.problem(
                    el,
                    Phrase(N_("The accreditor %(body)s is unknown."), body=repr(body_raw)),
                    sentences(
                        use_one_of(a.value for a in Accreditor),
                        Phrase(N_('For another body use body="state-board" or body="custom" with body_name.')),
                    ),
                    path,
                )
                body_raw = None
        requires: list[LearnerDetail] = []
        for token in self.attr(el, "requires", LearnerDetail.LEGAL_NAME.value).split():
            try:
                requires.append(LearnerDetail(token))
            except ValueError:
                self.problem(
                    el,
                    Phrase(
                        N_("%(attribute)s on %(element)s is not a learner detail."),
                        attribute=f"requires={token!r}",
                        element="<accreditation>",
                    ),
                    # Translators: %(values)s lists the learner details an accreditation may require.
                    Phrase(N_("Use any of: %(values)s."), values=", ".join(d.value for d in LearnerDetail)),
                )
        kids = self.children(el, ["statement"])
        statement = self.single(kids, "statement")
        return Accreditation(
            body=Accreditor(body_raw.strip()) if body_raw else Accreditor.CUSTOM,
            provider_number=self.attr(el, "provider_number"),
            credits=self.decimal(el, "credits", path),
            credit_type=self.enum(el, "credit_type", CreditType, CreditType.GENERAL),
            approval_start=self.iso_date(el, "approval_start"),
            approval_end=self.iso_date(el, "approval_end"),
            body_name=self.attr(el, "body_name"),
            state=self.attr(el, "state"),
            credit_unit=self.attr(el, "credit_unit"),
            statement=self.plain(statement) if statement is not None else "",
            required_details=tuple(dict.fromkeys(requires)),
        )

    def policy(self, el: etree._Element) -> PostTestPolicy:
        self.check_attributes(
            el,
            [
                "form_size", "shuffle_questions", "shuffle_choices", "pass_mark", "attempts", "wait_minutes",
                "time_limit_minutes", "alternate_forms", "review", "partial_credit",
            ],
        )  # fmt: skip
        for name in ("form_size", "pass_mark", "max_attempts", "wait_minutes", "time_limit_minutes"):
            self.mark(("policy", name), el)
        d = PostTestPolicy()
        form_size = el.get("form_size")
        return PostTestPolicy(
            form_size=None if form_size in (None, "all") else self.integer(el, "form_size", None),
            shuffle_questions=self.boolean(el, "shuffle_questions", d.shuffle_questions),
            shuffle_choices=self.boolean(el, "shuffle_choices", d.shuffle_choices),
            pass_mark=self.integer(el, "pass_mark", d.pass_mark) or 0,
            max_attempts=self.integer(el, "attempts", d.max_attempts, unlimited_ok=True),
            wait_minutes=self.integer(el, "wait_minutes", d.wait_minutes) or 0,
            time_limit_minutes=self.integer(el, "time_limit_minutes", d.time_limit_minutes),
            alternate_forms=self.boolean(el, "alternate_forms", d.alternate_forms),
            review=self.enum(el, "review", ReviewPolicy, d.review),
            partial_credit=self.boolean(el, "partial_credit", d.partial_credit),
        )

    def question(self, el: etree._Element, path: tuple[Any, ...]) -> Question:
        self.check_attributes(el, ["id", "objective", "type"])
        kids = self.children(el, ["prompt", "choice", "explanation"])
        prompt = self.single(kids, "prompt")  # a missing prompt is reported by validate()
        explanation = self.single(kids, "explanation")
        choices = []
        for j, child in enumerate(c for c in kids if c.tag == "choice"):
            self.mark(path + ("choices", j), child)
            choices.append(self.choice(child, path + ("choices", j)))
        return Question(
            id=self.required_attr(el, "id", "q1", path),
            prompt=self.rich(prompt) if prompt is not None else "",
            choices=tuple(choices),
            type=self.enum(el, "type", QuestionType, QuestionType.SINGLE),
            objective=self.attr(el, "objective"),
            explanation=self.rich(explanation) if explanation is not None else "",
        )

    def choice(self, el: etree._Element, path: tuple[Any, ...]) -> Choice:
        self.check_attributes(el, ["id", "correct"])
        feedback = [c for c in el if c.tag == "feedback"]
        for extra in feedback[1:]:
            self.problem(
                extra,
                Phrase(
                    N_("%(element)s appears more than once in a %(parent)s."), element="<feedback>", parent="<choice>"
                ),
                _keep_single("feedback"),
            )
        return Choice(
            id=self.required_attr(el, "id", "a", path),
            text=self.rich(el, allow={"feedback"}),
            correct=self.boolean(el, "correct", False),
            feedback=self.rich(feedback[0]) if feedback else "",
        )

    def evaluation(self, el: etree._Element) -> Evaluation:
        self.check_attributes(el, ["required", "objective_items"])
        items = []
        for i, child in enumerate(self.children(el, ["likert", "text"])):
            self.mark(("evaluation", "items", i), child)
            self.check_attributes(child, ["id", "required", "objective"])
            items.append(
                EvaluationItem(
                    id=self.required_attr(child, "id", "e1", ("evaluation", "items", i)),
                    prompt=self.plain(child),
                    type=EvaluationItemType(child.tag),
                    objective=self.attr(child, "objective"),
                    required=self.boolean(child, "required", True),
                )
            )
        return Evaluation(
            items=tuple(items),
            required=self.boolean(el, "required", True),
            objective_items=self.boolean(el, "objective_items", True),
        )


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- writing

INDENT = "  "
# Elements whose children are laid out one per line; everything else is written inline.
_STRUCTURAL = {"ce_credit", "objectives", "instructors", "disclosures", "references", "accreditations",
               "accreditation", "posttest", "question", "evaluation"}  # fmt: skip


def dumps(activity: Activity) -> str:
    """The activity as canonical `<ce_credit>` OLX text, ending with a newline."""
    return etree.tostring(to_element(activity), encoding="unicode") + "\n"


def dump(activity: Activity, path: str | Path) -> None:
    Path(path).write_text(dumps(activity), encoding="utf-8")


def to_element(activity: Activity) -> etree._Element:
    a = activity
    root = etree.Element(ROOT_TAG)
    _set(root, id=a.id, version=a.version, display_name=a.title, format=a.format, level=a.level,
         duration_minutes=a.duration_minutes, min_minutes=a.min_minutes)  # fmt: skip
    if a.description:
        _rich(root, "description", a.description)
    if a.audience:
        etree.SubElement(root, "audience").text = a.audience
    if a.objectives:
        objs = etree.SubElement(root, "objectives")
        for o in a.objectives:
            etree.SubElement(objs, "objective", id=o.id).text = o.text
    if a.instructors:
        inst = etree.SubElement(root, "instructors")
        for i in a.instructors:
            el = _rich(inst, "instructor", i.bio)
            _set(el, name=i.name, credentials=i.credentials or None)
    d = a.disclosures
    if any((d.commercial_support, d.conflicts_of_interest, d.accommodations_contact, d.refund_policy)):
        disc = etree.SubElement(root, "disclosures")
        for name in ("commercial_support", "conflicts_of_interest", "accommodations_contact", "refund_policy"):
            if getattr(d, name):
                _rich(disc, name, getattr(d, name))
    if a.references:
        refs = etree.SubElement(root, "references")
        for r in a.references:
            _rich(refs, "reference", r)
    s = a.sponsor
    if any((s.name, s.signatory_name, s.signatory_title, s.contact)):
        el = etree.SubElement(root, "sponsor")
        _set(el, name=s.name or None, signatory_name=s.signatory_name or None,
             signatory_title=s.signatory_title or None, contact=s.contact or None)  # fmt: skip
    if a.accreditations:
        accs = etree.SubElement(root, "accreditations")
        for acc in a.accreditations:
            el = etree.SubElement(accs, "accreditation")
            _set(
                el,
                body=acc.body,
                provider_number=acc.provider_number or None,
                credits=str(acc.credits),
                credit_type=acc.credit_type,
                approval_start=acc.approval_start.isoformat() if acc.approval_start else None,
                approval_end=acc.approval_end.isoformat() if acc.approval_end else None,
                body_name=acc.body_name or None,
                state=acc.state or None,
                credit_unit=acc.credit_unit or None,
                requires=" ".join(acc.required_details),
            )
            if acc.statement:
                etree.SubElement(el, "statement").text = acc.statement
    p = a.policy
    post = etree.SubElement(root, "posttest")
    _set(
        post,
        form_size="all" if p.form_size is None else p.form_size,
        pass_mark=p.pass_mark,
        attempts="unlimited" if p.max_attempts is None else p.max_attempts,
        wait_minutes=p.wait_minutes,
        time_limit_minutes=p.time_limit_minutes,  # None (untimed): no attribute
        review=p.review,
        shuffle_questions=p.shuffle_questions,
        shuffle_choices=p.shuffle_choices,
        alternate_forms=p.alternate_forms,
        partial_credit=p.partial_credit,
    )
    for q in a.questions:
        qel = etree.SubElement(post, "question", id=q.id)
        _set(qel, objective=q.objective or None, type=q.type if q.type is not QuestionType.SINGLE else None)
        _rich(qel, "prompt", q.prompt)
        for c in q.choices:
            cel = _rich(qel, "choice", c.text)
            _set(cel, id=c.id, correct=True if c.correct else None)
            # attributes first in document order: id before correct
            if c.feedback:
                _rich(cel, "feedback", c.feedback)
        if q.explanation:
            _rich(qel, "explanation", q.explanation)
    ev = etree.SubElement(root, "evaluation")
    _set(ev, required=a.evaluation.required, objective_items=a.evaluation.objective_items)
    for item in a.evaluation.items:
        el = etree.SubElement(ev, item.type.value, id=item.id)
        _set(el, objective=item.objective or None, required=None if item.required else False)
        el.text = item.prompt
    if a.attestation:
        _rich(root, "attestation", a.attestation)
    _indent(root, 0)
    return root


def _set(el: etree._Element, **attrs: Any) -> None:
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        el.set(key, str(value))


def _rich(parent: etree._Element, tag: str, html: str) -> etree._Element:
    """Append <tag> holding the rich text `html` (already sanitised) as XML children."""
    el = etree.SubElement(parent, tag)
    if not html:
        return el
    if "<" not in html:  # text only (most choices and prompts): no need for the HTML parser
        el.text = _html.unescape(html)
        return el
    holder = lxml.html.fragment_fromstring(html, create_parent="div")
    el.text = holder.text
    for child in list(holder):
        el.append(_to_xml(child))
    return el


def _to_xml(el: etree._Element) -> etree._Element:
    """An lxml.html element copied into a plain XML element (so it serialises as XML)."""
    out = etree.Element(el.tag, dict(el.attrib))
    out.text = el.text
    out.tail = el.tail
    for child in el:
        if isinstance(child.tag, str):
            out.append(_to_xml(child))
    return out


def _indent(el: etree._Element, level: int) -> None:
    if el.tag not in _STRUCTURAL or len(el) == 0:
        return
    el.text = "\n" + INDENT * (level + 1)
    for child in el:
        child.tail = "\n" + INDENT * (level + 1)
        _indent(child, level + 1)
    el[-1].tail = "\n" + INDENT * level
