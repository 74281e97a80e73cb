"""The shipped catalogues: up to date with the sources, complete, compiled, and usable from JS."""

from __future__ import annotations

import gettext
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ce_xblock import i18n
from ce_xblock.core import locale as L

PROJECT = i18n.Project()
LANGS = ("es", "fr", "ar")
NPLURALS = {"es": 2, "fr": 2, "ar": 6}


def catalogue(lang: str):
    with PROJECT.po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def test_the_repository_catalogues_pass_the_ci_check():
    report = i18n.check(PROJECT)
    assert report.problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_each_catalogue_is_complete_with_no_fuzzy_entry(lang):
    cat = catalogue(lang)
    template_ids = {(m.id if isinstance(m.id, str) else tuple(m.id), m.context) for m in catalogue("en") if m.id}
    ids = {(m.id if isinstance(m.id, str) else tuple(m.id), m.context) for m in cat if m.id}
    assert ids == template_ids
    untranslated = [m.id for m in cat if m.id and not (all(m.string) if m.pluralizable else m.string)]
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("lang", LANGS)
def test_plural_entries_have_every_form_of_the_language(lang):
    cat = catalogue(lang)
    assert cat.num_plurals == NPLURALS[lang]
    plurals = [m for m in cat if m.id and m.pluralizable]
    assert plurals, "the sources use ngettext, so the catalogue has plural entries"
    for m in plurals:
        assert len(m.string) == NPLURALS[lang], m.id
        assert all(m.string), m.id


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_in_translations_are_those_of_the_source(lang):
    cat = catalogue(lang)
    problems = [(m.id, errors) for m, errors in i18n.check_placeholders(cat)]
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_catalogues_compile_to_mo_files_that_python_gettext_loads(lang, tmp_path):
    # The committed .mo is what the XBlock's i18n service and the LTI tool load at runtime.
    mo = PROJECT.mo_path(lang)
    with mo.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    translated = [m for m in catalogue(lang) if m.id and not m.pluralizable]
    assert translated
    for m in translated:
        expected = m.string
        got = translations.pgettext(m.context, m.id) if m.context else translations.gettext(m.id)
        assert got == expected


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("lang", LANGS)
def test_gnu_msgfmt_accepts_the_catalogues(lang, tmp_path):
    # A second, independent compiler: catches syntax Babel tolerates but other gettext tools refuse.
    out = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "text.mo"), str(PROJECT.po_path(lang))],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_the_template_has_the_front_end_and_block_strings():
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue("en") if m.id}
    assert {"Submit answers", "Post-test", "Attempt %(n)s of %(m)s", "%(n)s minute"} <= ids
    assert any(f.startswith("static/js/") for m in catalogue("en") for f, _ in m.locations)


def test_mo_files_are_inside_the_package_path_open_edx_reads():
    # edx-platform's XBlockI18nService looks in <block module dir>/translations/<lang>/LC_MESSAGES/text.mo.
    package_dir = Path(i18n.__file__).parent
    for lang in LANGS:
        t = gettext.translation("text", localedir=str(package_dir / "translations"), languages=[lang])
        assert t.gettext("Submit answers") != "Submit answers"


# ---- the JS catalogue, run in node -----------------------------------------------------------

NODE = shutil.which("node") or shutil.which("nodejs")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: apt-get install nodejs)")


def run_js(script: str, *files: Path) -> object:
    """Evaluate `files` in order as browser scripts sharing one `window`, then `script`; return its JSON."""
    loader = (
        "const vm = require('vm'); const fs = require('fs');"
        "const window = {}; window.window = window; const ctx = vm.createContext(window);"
        "for (const f of JSON.parse(process.argv[1])) { vm.runInContext(fs.readFileSync(f, 'utf8'), ctx, {filename: f}); }"
        "process.stdout.write(JSON.stringify(vm.runInContext(process.argv[2], ctx)));"
    )
    out = subprocess.run(
        [NODE, "-e", loader, json.dumps([str(f) for f in files]), script], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_node
def test_the_french_js_catalogue_gives_the_french_string():
    js = PROJECT.js_path("fr")
    got = run_js(
        "[CECreditI18N.gettext('Submit answers'), CECreditI18N.locale, CECreditI18N.dir,"
        " CECreditI18N.gettext('Not in the catalogue')]",
        js,
    )
    assert got == ["Envoyer les réponses", "fr", "ltr", "Not in the catalogue"]


@needs_node
def test_the_arabic_js_catalogue_is_rtl_and_picks_the_same_plural_forms_as_python():
    counts = [0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111, 1000]
    got = run_js(
        "[CECreditI18N.dir, CECreditI18N.locale].concat(" + json.dumps(counts) + ".map(function (n) {"
        " return CECreditI18N.ngettext('%(n)s minute', '%(n)s minutes', n); }))",
        PROJECT.js_path("ar"),
    )
    assert got[:2] == ["rtl", "ar"]
    # One rule for both languages: the JS file and Python's gettext (.mo) agree on every count.
    t = L.translator("ar")
    assert got[2:] == [t.ngettext("%(n)s minute", "%(n)s minutes", n) for n in counts]
    assert len(set(got[2:])) >= 5  # one, two, few, many and other read differently


@needs_node
def test_the_front_end_resolves_its_strings_through_the_block_catalogue():
    # ce_credit.js reads CECreditI18N when the page loaded it first, as both homes do.
    got = run_js(
        "[CECredit.gettext('Submit answers'), CECredit.ngettext('%(n)s minute', '%(n)s minutes', 2)]",
        PROJECT.js_path("fr"),
        PROJECT.root / "static" / "js" / "ce_credit.js",
    )
    assert got == ["Envoyer les réponses", "%(n)s minutes"]


@needs_node
def test_the_front_end_falls_back_to_english_without_a_catalogue():
    got = run_js("CECredit.gettext('Submit answers')", PROJECT.root / "static" / "js" / "ce_credit.js")
    assert got == "Submit answers"


@needs_node
@pytest.mark.parametrize("lang", LANGS)
def test_every_front_end_string_gets_its_translation_from_the_js_catalogue(lang):
    js_messages = [
        m for m in catalogue(lang) if m.id and not m.context and any(f.endswith(".js") for f, _ in m.locations)
    ]
    singles = [m for m in js_messages if not m.pluralizable]
    plurals = [m for m in js_messages if m.pluralizable]
    script = (
        "var ids = " + json.dumps([m.id for m in singles]) + ";"
        "var pl = " + json.dumps([list(m.id) for m in plurals]) + ";"
        "[ids.map(function (s) { return CECreditI18N.gettext(s); }),"
        " pl.map(function (p) { return CECreditI18N.ngettext(p[0], p[1], 1); })]"
    )
    got_singles, got_plurals = run_js(script, PROJECT.js_path(lang))
    assert got_singles == [m.string for m in singles]
    t = L.translator(lang)
    assert got_plurals == [t.ngettext(m.id[0], m.id[1], 1) for m in plurals]
