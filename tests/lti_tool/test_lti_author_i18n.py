"""The LTI tool's authoring and report pages in the instructor's language (issue 6).

An instructor launched with the launch_presentation `locale` claim set to French pastes OLX that
breaks a rule: the page lists the engine's problems in French (the CLI import still prints them
in English). The report's charts have French titles and no English words of their own.
"""

import html
import re

from click.testing import CliRunner

from ce_xblock.cli import main as cli_main

from .test_lti_learner import import_example, instructor_launch
from .test_lti_reports import LEARNERS, complete

BASE = "https://tool.test"
FRENCH = {"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {"locale": "fr"}}


def broken(examples) -> str:
    return (examples / "telehealth-ethics.xml").read_text(encoding="utf-8").replace('pass_mark="75"', 'pass_mark="0"')


def test_pasted_olx_problems_are_shown_in_french_under_a_french_locale_claim(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from, **FRENCH)
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": broken(examples)}, base_url=BASE)
    assert resp.status_code == 422
    page = html.unescape(resp.get_data(as_text=True))
    problems = re.findall(r"<li>(.*?)</li>", page.split('role="alert"', 1)[1].split("</ul>", 1)[0], re.S)
    assert len(problems) == 1
    assert re.fullmatch(
        r"ligne \d+\u00a0: Le seuil de réussite doit être un pourcentage compris entre 1 et 100, et non 0\. "
        r"La plupart des organismes d'agrément attendent 75\.",
        problems[0],
    ), problems
    assert "pass mark" not in page and "Most accreditors" not in page


def test_pasted_malformed_olx_is_a_french_sentence_quoting_the_parser(lti, client, launch_id_from):
    """lxml's English message is quoted as the parser's words inside a French sentence that gives
    the line and column; nothing else on the problem is English."""
    lid = instructor_launch(lti, launch_id_from, **FRENCH)
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": "<ce_credit id='x'>\n<title>T</titl>"}, base_url=BASE)
    assert resp.status_code == 422
    page = html.unescape(resp.get_data(as_text=True))
    (problem,) = re.findall(r"<li>(.*?)</li>", page.split('role="alert"', 1)[1].split("</ul>", 1)[0], re.S)
    assert re.fullmatch(
        "ligne 2\u00a0: Ce XML n'est pas bien formé\u00a0: l'analyseur s'est arrêté à la ligne 2, colonne 16\\. "
        "L'analyseur indique\u00a0: «\u00a0Opening and ending tag mismatch: title line 2 and titl\u00a0»\\. "
        "Vérifiez que chaque élément est fermé.*",
        problem,
    ), problem


def test_the_same_paste_in_english_reads_as_before(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": broken(examples)}, base_url=BASE)
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert re.search(
        r"line \d+: The pass mark must be a percentage from 1 to 100, not 0\. Most accreditors expect 75\.", page
    )


def test_the_cli_import_prints_the_problems_in_english(app_config, tmp_path, examples, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("CE_CREDIT_INSTANCE", app_config["INSTANCE_PATH"])
    bad = tmp_path / "bad.xml"
    bad.write_text(broken(examples), encoding="utf-8")
    out = CliRunner().invoke(cli_main, ["library", "import", str(bad)])
    assert out.exit_code == 1, out.output
    assert re.search(r"bad\.xml: line \d+: The pass mark must be a percentage from 1 to 100, not 0\.", out.output)
    assert "seuil" not in out.output


def test_the_report_charts_are_in_french_for_a_french_instructor(lti, client, launch_id_from, examples, app):
    from lti_tool.app import tool_of

    lid = instructor_launch(lti, launch_id_from, **FRENCH)
    activity = import_example(client, lid, examples)
    for sub, name, right, rating in LEARNERS[:2]:
        complete(tool_of(app), lti, activity, sub, name, right, rating)
    page = client.get(f"/lti/instructor/{lid}/records", base_url=BASE).get_data(as_text=True)
    titles = [
        html.unescape(t) for t in re.findall(r'<svg[^>]*role="img"[^>]*>\s*<title id="[^"]+">([^<]+)</title>', page)
    ]
    assert "Difficulté des questions du post-test (part de bonnes réponses)" in titles
    assert "Évaluation\u00a0: note moyenne par objectif d'apprentissage (1-5)" in titles
    charts = "".join(re.findall(r'<figure class="ce-chart">.*?</figure>', page, re.S))
    assert charts.count("<svg") == len(titles) >= 4
    for english in ("Post-test item", "mean rating", ">Item<", ">Value<", "no data", "point-biserial r ("):
        assert english not in charts, english
    assert ">Élément<" in charts and "note moyenne" in charts


def test_the_records_page_shows_the_generated_objective_prompts_in_french(lti, client, launch_id_from, examples, app):
    """The evaluation items the engine generates from the learning objectives ("This activity met its
    objective: ...") are English Phrases; the records page of a French instructor shows them in
    French, in the chart, its description and its data table (the objective itself is author text)."""
    from ce_xblock.core.locale import translator
    from lti_tool.app import tool_of

    lid = instructor_launch(lti, launch_id_from, **FRENCH)
    activity = import_example(client, lid, examples)
    sub, name, right, rating = LEARNERS[0]
    complete(tool_of(app), lti, activity, sub, name, right, rating)  # one evaluation response
    page = html.unescape(client.get(f"/lti/instructor/{lid}/records", base_url=BASE).get_data(as_text=True))
    generated = [i for i in activity.evaluation_items() if i.id.startswith("objective-")]
    assert generated and "This activity met its objective" not in page
    french = translator("fr").gettext("This activity met its objective: %(objective)s")
    assert french.startswith("Cette activité a atteint son objectif")
    chart = page[page.index('id="evaluation-title"') : page.index('id="evaluation-data"')]
    table = page[page.index('id="evaluation-data"') : page.index("</table>", page.index('id="evaluation-data"'))]
    for item, objective in zip(generated, activity.objectives, strict=True):
        prompt = french % {"objective": objective.text}
        assert item.prompt.localize(translator("fr").gettext) == prompt
        assert f'<th scope="row">{prompt}</th>' in table, prompt
        assert prompt in chart  # the description (and the label's full text)
