"""The translation tooling on a small real checkout: extract, update, compile, and the CI check."""

from __future__ import annotations

import gettext
import io
import shutil
import textwrap
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner

from ce_xblock import i18n
from ce_xblock.cli import main

REPO = Path(i18n.__file__).resolve().parents[1]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def checkout(tmp_path: Path) -> i18n.Project:
    """A checkout with the real babel.cfg and one source of each kind."""
    shutil.copy(REPO / "babel.cfg", tmp_path / "babel.cfg")
    write(
        tmp_path / "ce_xblock" / "block.py",
        """\
        from ce_xblock.core.locale import N_
        def _(s): return s
        TITLE = N_("Continuing education")
        def label(n):
            # Translators: the number of credits on the certificate.
            return ngettext("%(n)s credit", "%(n)s credits", n)
        def tab():
            return pgettext("tab", "Review")
        """,
    )
    write(tmp_path / "ce_xblock" / "core" / "flow.py", 'MSG = _("Post-test")\n')
    write(
        tmp_path / "static" / "js" / "app.js",
        """\
        var a = gettext("Submit answers");
        var b = ngettext("%(n)s attempt", "%(n)s attempts", n);
        """,
    )
    write(tmp_path / "static" / "js" / "translations" / "fr" / "text.js", 'gettext("never extracted");\n')
    write(
        tmp_path / "lti_tool" / "templates" / "page.html",
        """\
        <p>{{ _("Your certificate") }}</p>
        {% trans count=n %}{{ n }} question{% pluralize %}{{ n }} questions{% endtrans %}
        """,
    )
    write(tmp_path / "tests" / "test_x.py", '_("not shipped")\n')
    return i18n.Project(root=tmp_path, languages=("fr", "ar"))


def translate_all(project: i18n.Project, lang: str, prefix: str = "T:") -> None:
    """Stand in for a translator: fill every untranslated or fuzzy entry."""
    path = project.po_path(lang)
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    for m in catalog:
        if not m.id:
            continue
        if m.pluralizable:
            m.string = tuple(f"{prefix}{m.id[1]} #{i}" for i in range(catalog.num_plurals))
        elif m.fuzzy or not m.string:
            m.string = prefix + m.id
        m.flags.discard("fuzzy")
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, sort_by_file=True)
    path.write_bytes(buf.getvalue())


def build(project: i18n.Project) -> None:
    i18n.write_template(project)
    i18n.update(project)
    for lang in project.languages:
        translate_all(project, lang)
    assert i18n.compile_catalogues(project).problems == []


def ids(project: i18n.Project, lang: str = "en") -> set:
    with project.po_path(lang).open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def test_extract_finds_python_template_and_js_strings_but_not_tests_or_generated_js(checkout):
    i18n.write_template(checkout)
    assert ids(checkout) == {
        "Continuing education",
        "%(n)s credit",
        "Review",
        "Post-test",
        "Submit answers",
        "%(n)s attempt",
        "Your certificate",
        "%(n)s question",
    }
    text = checkout.template.read_text(encoding="utf-8")
    assert "#. the number of credits on the certificate." in text
    assert 'msgctxt "tab"' in text


def test_update_creates_each_language_with_its_plural_rule(checkout):
    i18n.write_template(checkout)
    i18n.update(checkout)
    with checkout.po_path("ar").open("rb") as f:
        ar = read_po(f)
    assert ar.num_plurals == 6
    assert ar.plural_forms == i18n.PLURAL_FORMS["ar"]
    with checkout.po_path("fr").open("rb") as f:
        assert read_po(f).plural_forms == "nplurals=2; plural=(n > 1);"


def test_check_passes_on_a_complete_compiled_checkout(checkout):
    build(checkout)
    report = i18n.check(checkout)
    assert report.problems == []


def test_running_the_commands_again_rewrites_nothing(checkout):
    build(checkout)
    assert i18n.write_template(checkout).written == []
    assert i18n.update(checkout).written == []
    assert i18n.compile_catalogues(checkout).written == []


def test_check_fails_when_a_source_string_is_added_and_passes_after_update_and_translation(checkout):
    build(checkout)
    js = checkout.root / "static" / "js" / "app.js"
    js.write_text(js.read_text() + 'var c = gettext("Licence number");\n')

    report = i18n.check(checkout)
    assert not report.ok
    assert any('"Licence number" is in the sources but not in' in p for p in report.problems)
    assert any("fr/LC_MESSAGES/text.po is out of date: 1 new and 0 removed" in p for p in report.problems)

    i18n.write_template(checkout)
    i18n.update(checkout)
    report = i18n.check(checkout)  # in the catalogues now, but not translated yet
    assert any('"Licence number" has no fr translation' in p for p in report.problems)
    # Up to date but incomplete: what a project accepting partial community translations would allow.
    assert i18n.check(checkout, require_complete=False).problems == []

    translate_all(checkout, "fr")
    translate_all(checkout, "ar")
    i18n.compile_catalogues(checkout)
    assert i18n.check(checkout).problems == []


def test_check_fails_when_a_string_is_removed_from_the_sources(checkout):
    build(checkout)
    (checkout.root / "ce_xblock" / "core" / "flow.py").write_text("MSG = 'gone'\n")
    report = i18n.check(checkout)
    assert any('"Post-test" is in' in p and "no longer in the sources" in p for p in report.problems)


def test_a_changed_source_string_comes_back_fuzzy_and_fails_the_check(checkout):
    build(checkout)
    js = checkout.root / "static" / "js" / "app.js"
    js.write_text(js.read_text().replace("Submit answers", "Submit your answers"))
    i18n.write_template(checkout)
    i18n.update(checkout)
    report = i18n.check(checkout)
    assert any('"Submit your answers" is fuzzy' in p for p in report.problems)


def test_check_fails_when_a_translation_was_edited_but_not_compiled(checkout):
    build(checkout)
    po = checkout.po_path("fr")
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace("T:Submit answers", "Envoyer les réponses"), encoding="utf-8")
    problems = i18n.check(checkout).problems
    assert f"{checkout.mo_path('fr')} is out of date with {po}. Run `ce-credit i18n compile`." in problems
    assert f"{checkout.js_path('fr')} is out of date with {po}. Run `ce-credit i18n compile`." in problems
    i18n.compile_catalogues(checkout)
    assert i18n.check(checkout).problems == []
    with checkout.mo_path("fr").open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("Submit answers") == "Envoyer les réponses"
    assert "Envoyer les r\\u00e9ponses" in checkout.js_path("fr").read_text(encoding="utf-8")


def test_a_wrong_placeholder_in_a_translation_fails_the_check(checkout):
    build(checkout)
    po = checkout.po_path("fr")
    po.write_text(po.read_text(encoding="utf-8").replace("T:%(n)s attempts #0", "T:%(count)s essai"), encoding="utf-8")
    i18n.compile_catalogues(checkout)
    problems = i18n.check(checkout).problems
    assert any("unknown named placeholder 'count'" in p for p in problems)


def test_the_js_catalogue_holds_only_js_strings_with_all_plural_forms(checkout):
    build(checkout)
    text = checkout.js_path("ar").read_text(encoding="utf-8")
    assert '"T:Submit answers"' in text
    assert "T:Post-test" not in text  # a Python-only string stays out of the JS file
    assert '"T:%(n)s attempts #5"' in text
    assert 'dir: "rtl"' in text


def test_the_cli_check_exits_nonzero_with_the_problem_then_zero_after_make_translations(checkout):
    build(checkout)
    runner = CliRunner()
    root = str(checkout.root)
    assert runner.invoke(main, ["i18n", "check", "--root", root, "--lang", "fr", "--lang", "ar"]).exit_code == 0

    js = checkout.root / "static" / "js" / "app.js"
    js.write_text(js.read_text() + 'var d = gettext("Your details");\n')
    result = runner.invoke(main, ["i18n", "check", "--root", root, "--lang", "fr", "--lang", "ar"])
    assert result.exit_code == 1
    assert '"Your details" is in the sources' in result.output

    assert runner.invoke(main, ["i18n", "extract", "--root", root]).exit_code == 0
    for command in ("update", "compile"):
        assert runner.invoke(main, ["i18n", command, "--root", root, "--lang", "fr", "--lang", "ar"]).exit_code == 0
    result = runner.invoke(
        main, ["i18n", "check", "--allow-incomplete", "--root", root, "--lang", "fr", "--lang", "ar"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["i18n", "check", "--root", root, "--lang", "fr", "--lang", "ar"])
    assert result.exit_code == 1  # still untranslated


def test_extract_outside_a_checkout_says_where_to_run_it(tmp_path):
    result = CliRunner().invoke(main, ["i18n", "extract", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "babel.cfg does not exist" in result.output
    assert "run them from the repository root" in result.output


# ---- the template extractor ------------------------------------------------------------------


def extract_template(text: str) -> list[tuple]:
    return [
        (lineno, funcname, message)
        for lineno, funcname, message, _ in i18n.extract_templates(io.BytesIO(text.encode()), [], [], {})
    ]


def test_template_extractor_reads_django_tags():
    found = extract_template(
        textwrap.dedent(
            """\
            {% load i18n %}
            <h2>{% translate "Your certificate" %}</h2>
            <p>{% trans 'Month' context "calendar" %}</p>
            {% blocktranslate trimmed count n=questions|length %}
              {{ n }} question
            {% plural %}
              {{ n }} questions
            {% endblocktranslate %}
            {% blocktrans %}Hello {{ user.name }}, 100% done{% endblocktrans %}
            """
        )
    )
    assert found == [
        (2, "gettext", "Your certificate"),
        (3, "pgettext", ("calendar", "Month")),
        (4, "ngettext", ("%(n)s question", "%(n)s questions")),
        (9, "gettext", "Hello %(name)s, 100%% done"),
    ]


def test_template_extractor_reads_jinja_and_mako_calls():
    found = extract_template(
        "<p>{{ _(\"Post-test\") }}</p>\n<p>${_('Evaluation')}</p>\n"
        '<p>{{ ngettext("%(n)s hour", "%(n)s hours", n) }}</p>\n<p>{{ pgettext("verb", "Review") }}</p>\n'
        '<p>{% trans %}Attestation{% endtrans %}</p>\n<p>{{ my_("not a call") }}</p>\n'
    )
    assert found == [
        (1, "_", "Post-test"),
        (2, "_", "Evaluation"),
        (3, "ngettext", ("%(n)s hour", "%(n)s hours")),
        (4, "pgettext", ("verb", "Review")),
        (5, "gettext", "Attestation"),
    ]


def test_a_template_with_a_syntax_error_is_named_with_its_line(checkout):
    write(checkout.root / "lti_tool" / "templates" / "broken.html", "<p>ok</p>\n{{ [x for x in y] }}\n")
    result = CliRunner().invoke(main, ["i18n", "extract", "--root", str(checkout.root)])
    assert result.exit_code == 1
    assert "lti_tool/templates/broken.html:2: the strings of this file cannot be extracted" in result.output
