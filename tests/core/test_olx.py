"""The <ce_credit> OLX: round trips, every validation error with its line, sanitising, and the CLI."""

from __future__ import annotations

import html
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ce_xblock.cli import main, starter_activity
from ce_xblock.core import olx
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
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.xml"))


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_and_writes_back_to_the_same_bytes(path: Path) -> None:
    activity = olx.load(path)
    assert validate(activity) == []
    assert olx.dumps(activity) == path.read_text(encoding="utf-8")
    assert olx.loads(olx.dumps(activity)) == activity


def test_examples_include_a_full_eight_credit_module_with_fifty_bank_items() -> None:
    assert len(EXAMPLES) >= 2
    activities = [olx.load(p) for p in EXAMPLES]
    big = [a for a in activities if len(a.questions) >= 50 and all(acc.credits == 8 for acc in a.accreditations)]
    assert big, "no example is an 8-credit module with 50+ bank items"


def test_starter_activity_round_trips_exactly() -> None:
    from datetime import date

    activity = starter_activity("starter", "Starter", today=date(2026, 11, 22))
    text = olx.dumps(activity)
    assert olx.loads(text) == activity
    assert olx.dumps(olx.loads(text)) == text


# Hypothesis: any activity the model can hold survives writing and reading.
ident = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
plain = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(" <>&\"'"), min_size=1, max_size=40
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
rich = plain.map(lambda s: olx.sanitize(html.escape(s, quote=False))).filter(bool) | st.sampled_from(
    ["<p>One <em>two</em></p><p>three</p>", "a<br>b", '<a href="https://example.org" rel="noopener noreferrer">x</a>']
)


@st.composite
def activities(draw: st.DrawFn) -> Activity:
    objectives = tuple(LearningObjective(f"lo{i}", draw(plain)) for i in range(1, draw(st.integers(1, 3)) + 1))
    questions = []
    for qi in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(QuestionType))
        n = draw(st.integers(2, 4))
        correct = {0} if kind is QuestionType.SINGLE else set(draw(st.sets(st.integers(0, n - 1), min_size=1)))
        choices = tuple(
            Choice(
                id=chr(ord("a") + ci),
                text=draw(rich),
                correct=ci in correct,
                feedback=draw(st.one_of(st.just(""), rich)),
            )
            for ci in range(n)
        )
        questions.append(
            Question(
                id=f"q{qi}",
                prompt=draw(rich),
                choices=choices,
                type=kind,
                objective=draw(st.sampled_from(objectives)).id,
                explanation=draw(st.one_of(st.just(""), rich)),
            )
        )
    accreditations = tuple(
        Accreditation(
            body=body,
            provider_number=draw(ident),
            credits=Decimal(draw(st.sampled_from(["0.5", "1", "1.25", "8"]))),
            credit_type=draw(st.sampled_from(CreditType)),
            body_name=draw(plain) if body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM) else "",
            state="TX" if body is Accreditor.STATE_BOARD else "",
            credit_unit=draw(st.sampled_from(["", "hour", "cpe-hour", "ceu"]))
            if body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM)
            else "",
            statement=draw(plain)
            if body in (Accreditor.STATE_BOARD, Accreditor.CUSTOM)
            else draw(st.one_of(st.just(""), plain)),
            required_details=(LearnerDetail.LEGAL_NAME,)
            + tuple(draw(st.sets(st.sampled_from(list(LearnerDetail)[1:])))),
        )
        for body in draw(st.lists(st.sampled_from(Accreditor), min_size=1, max_size=3))
    )
    return Activity(
        id=draw(ident),
        title=draw(plain),
        version=draw(st.sampled_from(["1", "2.1"])),
        description=draw(st.one_of(st.just(""), rich)),
        format=draw(st.sampled_from(DeliveryFormat)),
        level=draw(st.sampled_from(Level)),
        audience=draw(st.one_of(st.just(""), plain)),
        duration_minutes=draw(st.integers(1, 900)),
        min_minutes=draw(st.integers(0, 900)),
        objectives=objectives,
        instructors=tuple(
            Instructor(draw(plain), draw(st.one_of(st.just(""), plain)), draw(st.one_of(st.just(""), rich)))
            for _ in range(draw(st.integers(0, 2)))
        ),
        disclosures=Disclosures(*(draw(st.one_of(st.just(""), rich)) for _ in range(4))),
        references=tuple(draw(st.lists(rich, max_size=2))),
        sponsor=Sponsor(*(draw(st.one_of(st.just(""), plain)) for _ in range(4))),
        accreditations=accreditations,
        questions=tuple(questions),
        policy=PostTestPolicy(
            form_size=draw(st.one_of(st.none(), st.integers(1, len(questions)))),
            shuffle_questions=draw(st.booleans()),
            shuffle_choices=draw(st.booleans()),
            pass_mark=draw(st.integers(1, 100)),
            max_attempts=draw(st.one_of(st.none(), st.integers(1, 9))),
            wait_minutes=draw(st.integers(0, 1440)),
            alternate_forms=draw(st.booleans()),
            review=draw(st.sampled_from(ReviewPolicy)),
            partial_credit=draw(st.booleans()),
        ),
        evaluation=Evaluation(
            items=tuple(
                EvaluationItem(f"e{i}", draw(plain), draw(st.sampled_from(EvaluationItemType)), "", draw(st.booleans()))
                for i in range(draw(st.integers(0, 3)))
            ),
            required=draw(st.booleans()),
            objective_items=draw(st.booleans()),
        ),
        attestation=draw(st.one_of(st.just(""), rich)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activities())
def test_any_activity_reads_back_equal_and_its_text_is_a_fixed_point(activity: Activity) -> None:
    text = olx.dumps(activity)
    again = olx.loads(text)
    assert again == activity
    assert olx.dumps(again) == text


# ---------------------------------------------------------------- validation errors with lines


def valid_document(**overrides: str) -> str:
    """A valid activity as text; keyword arguments replace named fragments to break one thing."""
    parts = {
        "root": 'id="t" display_name="Test activity" duration_minutes="60"',
        "objectives": '<objective id="lo1">Name one thing.</objective>',
        "accreditation": '<accreditation body="apa" provider_number="123" credits="1"/>',
        "posttest": 'form_size="1" pass_mark="75"',
        "question": textwrap.dedent(
            """\
            <question id="q1" objective="lo1">
                  <prompt>Which?</prompt>
                  <choice id="a" correct="true">Right</choice>
                  <choice id="b">Wrong</choice>
                </question>"""
        ),
        "extra": "",
    }
    parts.update(overrides)
    return textwrap.dedent(
        f"""\
        <ce_credit {parts["root"]}>
          <objectives>
            {parts["objectives"]}
          </objectives>
          <accreditations>
            {parts["accreditation"]}
          </accreditations>
          <posttest {parts["posttest"]}>
            {parts["question"]}
          </posttest>{parts["extra"]}
        </ce_credit>
        """
    )


def problems_of(text: str) -> list[olx.OLXProblem]:
    with pytest.raises(olx.OLXError) as info:
        olx.loads(text, filename="course/act.xml")
    return info.value.problems


def test_the_valid_document_is_valid() -> None:
    assert olx.loads(valid_document()).title == "Test activity"


@pytest.mark.parametrize(
    ("overrides", "line", "words"),
    [
        (
            {
                "question": '<question id="q1" objective="lo1"><prompt>P</prompt><choice id="a">A</choice><choice id="b">B</choice></question>'
            },
            9,
            ["no correct answer", 'correct="true"'],
        ),
        ({"posttest": 'form_size="1" pass_mark="120"'}, 8, ["pass mark", "120", "1 to 100"]),
        ({"posttest": 'form_size="5"'}, 8, ["draws 5 questions", "only 1", "Lower form_size"]),
        (
            {"accreditation": '<accreditation body="apx" provider_number="1" credits="1"/>'},
            6,
            ["accreditor 'apx' is unknown", "apa, aswb-ace"],
        ),
        (
            {
                "accreditation": '<accreditation body="apa" provider_number="1" credits="1" approval_start="2026-05-01" approval_end="2026-04-30"/>'
            },
            6,
            ["ends (2026-04-30) before it starts (2026-05-01)"],
        ),
        (
            {"accreditation": '<accreditation body="apa" provider_number="1" credits="1" approval_end="31/12/2026"/>'},
            6,
            ["'31/12/2026' on <accreditation> is not a date", "YYYY-MM-DD"],
        ),
        ({"accreditation": '<accreditation body="apa" provider_number="1" credits="lots"/>'}, 6, ["not a number"]),
        (
            {"accreditation": '<accreditation body="apa" provider_number="1" credits="0"/>'},
            6,
            ["Credits must be positive"],
        ),
        ({"accreditation": '<accreditation body="apa" credits="1"/>'}, 6, ["no provider or approval number"]),
        (
            {
                "accreditation": '<accreditation body="state-board" provider_number="1" credits="1" body_name="TX BHEC" state="TX"/>'
            },
            6,
            ["needs its own", "<statement>"],
        ),
        (
            {
                "accreditation": '<accreditation body="apa" provider_number="1" credits="1" requires="legal-name licence"/>'
            },
            6,
            ["'licence' on <accreditation> is not a learner detail", "license-number"],
        ),
        (
            {"accreditation": '<accreditation body="apa" provider_number="1" credits="1" credit_unit="ceu"/>'},
            6,
            ["fixed unit, so credit_unit cannot be set"],
        ),
        (
            {
                "accreditation": '<accreditation body="custom" body_name="X" credits="1" credit_unit="day"><statement>S</statement></accreditation>'
            },
            6,
            ["credit unit 'day' is unknown", "cpe-hour"],
        ),
        (
            {"posttest": 'form_size="1" shufle_questions="true"'},
            8,
            ["unknown attribute 'shufle_questions'", "Did you mean 'shuffle_questions'?"],
        ),
        ({"posttest": 'form_size="1" shuffle_choices="yes"'}, 8, ['not "true" or "false"']),
        ({"posttest": 'attempts="many"'}, 8, ["'many' on <posttest> is not a whole number", "unlimited"]),
        ({"posttest": 'review="always"'}, 8, ["review='always'", "correct-after-passing"]),
        ({"posttest": 'attempts="0"'}, 8, ["at least 1"]),
        (
            {
                "question": '<question id="q1" objective="lo1"><prompt>P</prompt><choice id="a" correct="true">A</choice><choice id="b" correct="true">B</choice></question>'
            },
            9,
            ["single-answer but marks 2 choices correct", 'type="multiple"'],
        ),
        (
            {
                "question": '<question id="q1" objective="lo7"><prompt>P</prompt><choice id="a" correct="true">A</choice><choice id="b">B</choice></question>'
            },
            9,
            ["learning objective 'lo7', which does not exist", "lo1"],
        ),
        (
            {
                "question": '<question id="q1" objective="lo1"><prompt>P</prompt><choice id="a" correct="true">A</choice></question>'
            },
            9,
            ["fewer than two choices"],
        ),
        (
            {
                "question": '<question id="q1" objective="lo1"><choice id="a" correct="true">A</choice><choice id="b">B</choice></question>'
            },
            9,
            ["has no prompt"],
        ),
        (
            {
                "question": '<question id="q1" objective="lo1"><prompt>P</prompt><choice id="a" correct="true">A</choice><choice id="a">B</choice></question>'
            },
            9,
            ["'a' is used twice"],
        ),
        (
            {"objectives": '<objective id="lo1">One</objective><objective id="lo1">Two</objective>'},
            3,
            ["'lo1' is used twice"],
        ),
        ({"objectives": "<objective>No id</objective>"}, 3, ["<objective> is missing its id attribute"]),
        ({"root": 'id="t"'}, 1, ["missing its display_name"]),
        ({"root": 'id="bad id!" display_name="T"'}, 1, ["'bad id!' is not a valid id"]),
        ({"root": 'id="t" display_name="T" duration_minutes="0"'}, 1, ["instructional time must be positive"]),
        ({"root": 'id="t" display_name="T" level="expert"'}, 1, ["level='expert'", "intermediate"]),
        ({"extra": "\n  <objectivs/>"}, 15, ["cannot contain <objectivs>", "Did you mean <objectives>?"]),
        (
            {"extra": '\n  <evaluation><likert id="e1" objective="lo5">Good</likert></evaluation>'},
            15,
            ["names learning objective 'lo5'"],
        ),
        ({"extra": "\n  <audience>For <b>all</b></audience>"}, 15, ["holds plain text"]),
    ],
)
def test_each_invalid_file_names_the_line_the_problem_and_the_fix(overrides: dict, line: int, words: list[str]) -> None:
    problems = problems_of(valid_document(**overrides))
    rendered = [str(p) for p in problems]
    matching = [p for p in problems if all(w in str(p) for w in words)]
    assert matching, f"no problem mentions {words}: {rendered}"
    assert matching[0].line == line, rendered
    assert str(matching[0]).startswith(f"course/act.xml:{line}: ")


def test_broken_xml_names_the_file_and_line() -> None:
    text = valid_document().replace("<prompt>Which?</prompt>", "<prompt>Which?</prmpt>")
    [problem] = problems_of(text)
    assert problem.line == 10
    assert "not well-formed XML" in problem.message
    assert "closed" in problem.fix


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    text = valid_document(posttest='form_size="3" pass_mark="101"', extra="\n  <objectivs/>")
    messages = " | ".join(str(p) for p in problems_of(text))
    assert "pass mark" in messages and "draws 3 questions" in messages and "<objectivs>" in messages


def test_an_unknown_accreditor_is_reported_once_not_again_as_a_custom_body() -> None:
    problems = problems_of(valid_document(accreditation='<accreditation body="apx" provider_number="1" credits="1"/>'))
    assert len([p for p in problems if p.line == 6]) == 1, [str(p) for p in problems]


def test_wrong_root_element() -> None:
    [problem] = problems_of("<problem/>")
    assert "<problem>, not <ce_credit>" in problem.message


# ---------------------------------------------------------------- hostile content


def test_hostile_html_in_author_content_is_made_inert() -> None:
    hostile = (
        '<p onclick="steal()">Hi<script>alert(1)</script><img src="x" onerror="alert(2)"/>'
        '<a href="javascript:alert(3)">link</a><a href="https://example.org/ok">ok</a>'
        '<style>body{display:none}</style><iframe src="https://evil.example"/></p>'
    )
    text = valid_document(extra=f"\n  <description>{hostile}</description>")
    description = olx.loads(text).description
    for bad in ("script", "onclick", "onerror", "javascript:", "<img", "<style", "<iframe", "alert"):
        assert bad not in description, description
    assert 'href="https://example.org/ok"' in description
    assert "Hi" in description


def test_external_entities_are_not_resolved() -> None:
    secret = Path(__file__)
    text = (
        valid_document()
        .replace("<ce_credit", f'<!DOCTYPE ce_credit [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<ce_credit', 1)
        .replace("Name one thing.", "&xxe;")
    )
    try:
        activity = olx.loads(text)
    except olx.OLXError:
        return  # refusing the file is as safe as ignoring the entity
    assert "test_external_entities_are_not_resolved" not in activity.objectives[0].text


def test_choice_feedback_may_sit_before_or_after_the_text() -> None:
    question = (
        '<question id="q1" objective="lo1"><prompt>P</prompt>'
        '<choice id="a" correct="true"><feedback>Yes.</feedback>Right <em>one</em></choice>'
        '<choice id="b">Wrong</choice></question>'
    )
    choice = olx.loads(valid_document(question=question)).questions[0].choices[0]
    assert choice.text == "Right <em>one</em>"
    assert choice.feedback == "Yes."


# ---------------------------------------------------------------- the CLI


def test_validate_prints_a_summary_per_valid_file_and_exits_0(tmp_path: Path) -> None:
    runner = CliRunner()
    files = [str(p) for p in EXAMPLES]
    result = runner.invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(files)
    assert all(": OK " in line for line in lines)


def test_validate_prints_file_line_message_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(valid_document(posttest='form_size="1" pass_mark="150"'))
    good = tmp_path / "good.xml"
    good.write_text(valid_document())
    result = CliRunner().invoke(main, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: OK" in result.output
    assert f"{bad}:8: The pass mark must be a percentage from 1 to 100, not 150." in result.output


def test_validate_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.xml")])
    assert result.exit_code == 1
    assert "No such file" in result.output


def test_new_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "starter.xml"
    runner = CliRunner()
    result = runner.invoke(main, ["new", str(target), "--id", "grief-101", "--title", "Grief Counselling"])
    assert result.exit_code == 0, result.output
    activity = olx.load(target)
    assert (activity.id, activity.title) == ("grief-101", "Grief Counselling")
    again = runner.invoke(main, ["new", str(target)])
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert olx.load(target).id == "grief-101"


def test_the_installed_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("ce-credit")
    result = subprocess.run([str(exe), "validate", *map(str, EXAMPLES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
