"""The problems an author is shown, and the report charts, in the author's language (issue 6).

The engine's problems (`activity.validate`, the OLX reader, the editor model's `editing.from_model`)
are `Phrase`s: `str()` stays the English the CLI, the logs and the older tests read, and `localize`
with a real compiled catalogue gives French or Arabic. The Studio editor (the XBlock's
`studio_save` handler, its validation panel and author view) shows them in the user's language;
the staff report's charts carry no English words of their own in French.

The LTI tool's authoring and report pages are covered in tests/lti_tool/test_lti_author_i18n.py,
next to the LTI fixtures.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import random
import re
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "xblock"))

import test_reports  # noqa: E402 - tests/xblock/test_reports.py: the learner flow for the staff report
from xbhelpers import Course, example_xml, post  # noqa: E402 - tests/xblock on the path first

from ce_xblock import editing  # noqa: E402
from ce_xblock.core import olx, records  # noqa: E402
from ce_xblock.core.activity import (  # noqa: E402
    Accreditor,
    EvaluationItem,
    Instructor,
    LearningObjective,
    validate,
)
from ce_xblock.core.locale import localize, translator  # noqa: E402

TELEHEALTH = ROOT / "examples" / "telehealth-ethics.xml"
FR, AR, ES = (translator(lang).gettext for lang in ("fr", "ar", "es"))
ARABIC_LETTER = re.compile("[\u0600-\u06ff]")


def telehealth():
    return olx.load(TELEHEALTH)


def broken_activities():
    """Activities that, together, break every rule `validate` has."""
    a = telehealth()
    replace = dataclasses.replace
    q, acc, ev = a.questions[0], a.accreditations[0], a.evaluation.items[0]
    return [
        replace(
            a,
            id="bad id!",
            title=" ",
            version=" ",
            duration_minutes=0,
            min_minutes=-1,
            objectives=(),
            instructors=(Instructor(name=" "),),
            accreditations=(),
        ),
        replace(a, objectives=(*a.objectives, replace(a.objectives[0], text=" "), LearningObjective(id="", text="x"))),
        replace(
            a,
            accreditations=(
                replace(
                    acc,
                    provider_number="",
                    credits=Decimal("-1"),
                    approval_start=date(2026, 1, 2),
                    approval_end=date(2026, 1, 1),
                    credit_unit="lbs",
                    required_details=(),
                ),
                replace(acc, body=Accreditor.STATE_BOARD, body_name="", statement="", state="", credit_unit=""),
                replace(acc, body=Accreditor.CUSTOM, body_name="", statement="", credit_unit="hour"),
                replace(acc, credit_unit="hour"),
            ),
        ),
        replace(a, questions=()),
        replace(
            a,
            questions=(
                replace(
                    q,
                    id="dup",
                    prompt=" ",
                    choices=(replace(q.choices[0], id="c", text=" ", correct=True),),
                    objective="nope",
                ),
                replace(q, id="dup", objective="", choices=tuple(replace(c, correct=True, id="x") for c in q.choices)),
                replace(q, id="q3", choices=tuple(replace(c, correct=False) for c in q.choices)),
            ),
        ),
        replace(a, objectives=(), questions=(replace(q, objective="zz"),)),
        replace(a, policy=replace(a.policy, pass_mark=0, form_size=0, max_attempts=0, wait_minutes=-1)),
        replace(a, policy=replace(a.policy, form_size=99, time_limit_minutes=999)),
        replace(
            a,
            evaluation=replace(
                a.evaluation,
                items=(
                    replace(ev, id="objective-x", prompt=" ", objective="missing"),
                    EvaluationItem(id="objective-x", prompt="Again"),
                ),
            ),
        ),
    ]


# ------------------------------------------------------------------ (a) the engine's problems


def test_a_broken_editor_model_reads_english_and_localizes_to_french_and_arabic():
    model = editing.to_model(telehealth())
    model["policy"]["pass_mark"] = "seventy"
    model["level"] = "expert"
    model["accreditations"][0]["approval_end"] = "31/12/2027"
    _activity, problems = editing.from_model(model)
    by_path = {tuple(p["path"]): p["message"] for p in problems}

    # English, exactly as before: what a log, the CLI and older clients read.
    assert by_path[("policy", "pass_mark")] == "'seventy' is not a whole number. Type digits only, e.g. 60."
    assert by_path[("level",)] == "'expert' is not an allowed value. Use one of: introductory, intermediate, advanced."
    assert json.loads(json.dumps(by_path[("policy", "pass_mark")])) == by_path[("policy", "pass_mark")]

    fr = {k: localize(v, FR) for k, v in by_path.items()}
    assert fr[("policy", "pass_mark")] == (
        "'seventy' n'est pas un nombre entier. Saisissez uniquement des chiffres, par exemple 60."
    )
    assert fr[("level",)] == (
        "'expert' n'est pas une valeur autorisée. Utilisez l'une de ces valeurs\u00a0: introductory, intermediate, advanced."
    )
    assert fr[("accreditations", 0, "approval_end")] == (
        "'31/12/2027' n'est pas une date. Utilisez le format AAAA-MM-JJ, par exemple 2026-12-31."
    )
    ar = localize(by_path[("policy", "pass_mark")], AR)
    assert ar == "القيمة 'seventy' ليست عددًا صحيحًا. اكتب أرقامًا فقط، مثل 60."


def test_every_validation_problem_has_a_french_arabic_and_spanish_wording_that_keeps_its_values():
    problems = [p for a in broken_activities() for p in validate(a)]
    assert len(problems) >= 60
    # Forty different rules of validate() are broken (each has its own message template).
    assert len({p.message.template for p in problems}) >= 40
    for p in problems:
        english = str(p)
        assert english == f"{p.message} {p.fix}".strip()
        assert p.localize(lambda s: s) == english  # identity gettext: the English, unchanged
        for gettext in (FR, AR, ES):
            shown = p.localize(gettext)
            assert shown != english, (english, shown)
            # The ids, numbers and values the author typed come through the translation unchanged.
            for value in re.findall(r"'[^']*'|\b\d+\b", str(p.message)):
                assert value in shown, (value, english, shown)
        assert ARABIC_LETTER.search(p.localize(AR)), p


def test_the_english_of_a_problem_is_what_it_was_before_it_became_translatable():
    a = telehealth()
    a = dataclasses.replace(
        a,
        questions=(dataclasses.replace(a.questions[0], id="q1", choices=a.questions[0].choices[:1]),),
        policy=dataclasses.replace(a.policy, form_size=5),
    )
    got = [str(p) for p in validate(a)]
    assert "Question 'q1' has fewer than two choices. Add <choice> items." in got
    assert "A form draws 5 questions but the bank has only 1. Lower form_size to at most 1 or add questions." in got
    fr = [p.localize(FR) for p in validate(a)]
    assert "La question 'q1' comporte moins de deux choix. Ajoutez des éléments <choice>." in fr
    assert (
        "Un formulaire tire 5 questions, mais la banque n'en contient que 1. "
        "Ramenez form_size à 1 au maximum, ou ajoutez des questions." in fr
    )


def test_olx_reader_problems_are_translated_with_their_element_and_attribute_kept():
    text = TELEHEALTH.read_text(encoding="utf-8")
    text = text.replace("<posttest ", '<posttest levl="x" ', 1)
    text = re.sub(r'shuffle_questions="[^"]*"', 'shuffle_questions="yes"', text, count=1)
    text = re.sub(r'credits="[^"]*"', 'credits="lots"', text, count=1)
    with pytest.raises(olx.OLXError) as err:
        olx.loads(text, filename="t.xml")
    problems = err.value.problems
    english = [str(p) for p in problems]
    assert any(e.endswith("<posttest> has an unknown attribute 'levl'. Allowed here: form_size, "
                          "shuffle_questions, shuffle_choices, pass_mark, attempts, wait_minutes, "
                          "time_limit_minutes, alternate_forms, review, partial_credit.") for e in english)  # fmt: skip
    assert any(e.startswith("t.xml:") for e in english)
    fr = [p.localize(FR) for p in problems]
    assert any(
        f.startswith("L'élément <posttest> a un attribut inconnu\u00a0: 'levl'. Autorisés ici\u00a0:") for f in fr
    )
    assert 'shuffle_questions=\'yes\' sur <posttest> ne vaut ni "true" ni "false". ' in " ".join(fr)
    assert any("credits='lots'" in f and "n'est pas un nombre" in f for f in fr)
    for p in problems:
        assert ARABIC_LETTER.search(p.localize(AR)), str(p)

    with pytest.raises(olx.OLXError) as err:
        olx.loads("<ce_credit id='x'>\n<posttest pass_mark='x'>")
    assert err.value.problems[0].localize(FR).startswith("Ce XML n'est pas bien formé\u00a0: ")


# ------------------------------------------------------------------ (b) the Studio editor


def studio_block(language: str):
    return Course(example_xml("telehealth-ethics.xml")).block(None, language=language)


def test_malformed_olx_is_a_whole_translated_sentence_with_the_parsers_own_words_quoted():
    """lxml's message is English and stays so, but only as the parser's quoted words: the sentence
    around it, with the line and column, is in the author's language. `str()` stays English."""
    text = "<ce_credit id='x'>\n  <title>T</titl>\n</ce_credit>"
    detail = "Opening and ending tag mismatch: title line 2 and titl"  # lxml's, without its ", line 2, column 18"
    with pytest.raises(olx.OLXError) as err:
        olx.loads(text, filename="t.xml")
    (problem,) = err.value.problems
    assert problem.line == 2
    assert str(problem) == (
        f't.xml:2: This is not well-formed XML: the parser stopped at line 2, column 18. The parser says: "{detail}". '
        "Check that every element is closed, attributes are quoted, and '&' and '<' in text are written as "
        "'&amp;' and '&lt;'."
    )
    french = problem.localize(FR)
    assert french.startswith(
        "Ce XML n'est pas bien formé\u00a0: l'analyseur s'est arrêté à la ligne 2, colonne 18. "
        f"L'analyseur indique\u00a0: «\u00a0{detail}\u00a0». Vérifiez que chaque élément est fermé"
    ), french
    spanish, arabic = problem.localize(ES), problem.localize(AR)
    assert f"en la línea 2, columna 18. El analizador dice: «{detail}»." in spanish
    assert "السطر 2، العمود 18" in arabic and f"«\u2066{detail}\u2069»" in arabic  # isolated: keeps its order
    for translated in (french, spanish, arabic):  # outside the quote, no English word is left
        outside = translated.replace(detail, "")
        assert not re.search(r"\b(parser|line|column|says|well-formed|Check)\b", outside), translated


def save(block, body):
    resp = post(block, "studio_save", body)
    return resp.status_code, resp.json


def test_the_studio_editor_returns_french_problems_for_a_french_user():
    b = studio_block("fr")
    model = editing.to_model(b.activity)
    model["policy"]["pass_mark"] = "seventy"
    model["duration_minutes"] = "2.5h"
    status, body = save(b, {"model": model})
    assert status == 400
    messages = {tuple(p["path"]): p["message"] for p in body["problems"]}
    assert messages[("policy", "pass_mark")] == (
        "'seventy' n'est pas un nombre entier. Saisissez uniquement des chiffres, par exemple 60."
    )
    assert messages[("duration_minutes",)].startswith("'2.5h' n'est pas un nombre entier.")

    # Rule problems (the activity model) come in French too, each on its field.
    model = editing.to_model(b.activity)
    model["title"] = " "
    for c in model["questions"][2]["choices"]:
        c["correct"] = False
    status, body = save(b, {"model": model})
    messages = {tuple(p["path"]): p["message"] for p in body["problems"]}
    assert messages[("title",)] == "L'activité n'a pas de titre. Donnez-lui un display_name."
    qid = b.activity.questions[2].id
    assert messages[("questions", 2)].startswith(f"La question '{qid}' n'a pas de bonne réponse.")
    assert "no correct answer" not in json.dumps(body)

    # Pasted OLX: every problem with its line, in French.
    bad = example_xml("telehealth-ethics.xml").replace('pass_mark="75"', 'pass_mark="175"')
    status, body = save(b, {"olx": bad})
    assert status == 400
    (problem,) = body["problems"]
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if 'pass_mark="175"' in t)
    assert problem["line"] == line and problem["message"] == (
        f"Ligne {line}\u00a0: Le seuil de réussite doit être un pourcentage compris entre 1 et 100, "
        "et non 175. La plupart des organismes d'agrément attendent 75."
    )


def test_the_same_editor_request_in_english_is_unchanged():
    b = studio_block("en")
    model = editing.to_model(b.activity)
    model["policy"]["pass_mark"] = "seventy"
    status, body = save(b, {"model": model})
    assert status == 400
    assert {
        "path": ["policy", "pass_mark"],
        "message": "'seventy' is not a whole number. Type digits only, e.g. 60.",
    } in (body["problems"])


def test_the_validation_panel_and_author_view_of_a_broken_activity_are_in_arabic_and_french():
    course = Course(example_xml("telehealth-ethics.xml"))
    author = course.block(None, language="ar")
    author.activity_olx = author.activity_olx.replace('pass_mark="75"', 'pass_mark="0"')
    author.save()  # the stored activity every user's block reads
    (message,) = author.validate().messages
    assert message.text == "يجب أن تكون درجة النجاح نسبة مئوية من 1 إلى 100، وليس 0. تشترط معظم جهات الاعتماد 75."
    broken = author.studio_view().json_init_args["broken"]
    assert broken and ARABIC_LETTER.search(broken[0]["message"]) and "pass mark" not in broken[0]["message"]

    french = course.block(None, language="fr").author_view().content
    assert "Le seuil de réussite doit être un pourcentage compris entre 1 et 100, et non 0." in french
    assert "The pass mark" not in french
    assert 'lang="en"' not in french  # the list is in the page's language now, not marked English


# ------------------------------------------------------------------ (d) the report charts


def test_a_french_bar_chart_has_no_english_words_of_its_own():
    chart = records.svg_bar_chart("Titre", ["a", "b"], [0.5, None], gettext=FR, chart_id="c")
    for english in (">no data<", ">Item<", ">Value<", "no data"):
        assert english not in chart
    assert ">aucune donnée<" in chart and ">Élément<" in chart and ">Valeur<" in chart
    assert '<desc id="c-desc">Titre\u00a0: a 0.50; b aucune donnée</desc>' in chart
    # Without a gettext (or with English) it is what it always was.
    english = records.svg_bar_chart("Title", ["a", "b"], [0.5, None], chart_id="c")
    assert '<desc id="c-desc">Title: a 0.50; b no data</desc>' in english
    assert '<th scope="col">Item</th><th scope="col">Value</th>' in english


def test_the_chart_builders_give_french_and_arabic_titles_and_units():
    activity = telehealth()
    stats = [
        records.ItemStatistics(
            question_id=q.id,
            n=4,
            p_value=0.75,
            point_biserial=0.4 if i % 2 else None,
            point_biserial_rest=0.2,
            choices={},
            correct_choices=(),
            omitted=0,
        )
        for i, q in enumerate(activity.questions[:3])
    ]
    sums = {
        "respondents": 2,
        "items": {i.id: {"4": 2} for i in activity.evaluation_items()},
        "objectives": {o.id: {"n": 2, "sum": 8} for o in activity.objectives},
    }
    summary = records.evaluation_summary_from_sums(activity, sums)
    fr = (
        records.item_statistics_charts(stats, gettext=FR)
        + records.evaluation_chart(summary, gettext=FR)
        + records.objectives_chart(activity, summary, gettext=FR)
    )
    titles = [html.unescape(t) for t in re.findall(r"<title id=\"[^\"]+\">([^<]+)</title>", fr)]
    assert titles == [
        "Difficulté des questions du post-test (part de bonnes réponses)",
        "Discrimination des questions du post-test (point-bisériale)",
        "Évaluation\u00a0: note moyenne par élément (1 = pas du tout d'accord, 5 = tout à fait d'accord)",
        "Évaluation\u00a0: note moyenne par objectif d'apprentissage (1-5)",
    ]
    for english in ("Post-test item", "mean rating", "no data", ">Item<", "point-biserial r", "This activity met"):
        assert english not in fr, english
    assert "note moyenne" in fr and "Valeur p" in fr and "aucune donnée" in fr
    # The generated objective items are named in French as well.
    assert "Cette activité a atteint son objectif : " in fr

    ar = records.item_statistics_charts(stats, gettext=AR)
    assert "صعوبة أسئلة الاختبار البعدي" in ar and "Post-test" not in ar


def test_the_xblock_staff_report_is_in_the_staff_members_language():
    course = Course(example_xml("telehealth-ethics.xml", min_minutes=0))
    rng = random.Random(5)
    for user in ("a", "b"):
        test_reports.finish(test_reports.take(course, user, rng, 0.5), f"Learner {user}", rng)
    page = course.block("staff", user=test_reports.staff_user(), language="fr").student_view().content
    titles = re.findall(r"<title id=\"[^\"]+\">([^<]+)</title>", page)
    assert len(titles) == 5
    assert "Difficulté des questions du post-test (part de bonnes réponses)" in titles
    for english in ("Post-test item difficulty", "no data", ">Item<", ">Value<", "mean rating"):
        assert english not in page, english
    english_page = course.block("staff", user=test_reports.staff_user()).student_view().content
    assert "Post-test item difficulty (share correct)" in english_page and ">Item<" in english_page


def test_a_model_copy_of_the_problems_keeps_its_translation():
    # The editor's problem dicts are copied (e.g. by the handler adding fields); the Phrase survives.
    _activity, problems = editing.from_model({**editing.to_model(telehealth()), "title": " "})
    copied = copy.deepcopy(problems)
    assert localize(copied[0]["message"], FR) == "L'activité n'a pas de titre. Donnez-lui un display_name."
