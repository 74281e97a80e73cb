"""The LTI tool in French and Arabic: no English UI string left in the learner flow, RTL for Arabic,
and a certificate printed in the learner's language with the accreditor's wording kept verbatim.

The tool is launched from the demo LMS (lti1p3platform, `lti_tool.demo.start_demo`) into its
cross-site iframe, with the launch_presentation `locale` claim set to `fr` or `ar` (the LMS's
`/launch?locale=`), or with no claim and a French browser (Accept-Language). The whole learner
flow is walked with the keyboard (tests/a11y's `keyboard_flow`) in Debian's chromium.

English detector: the English msgids of the catalogue (translations/en/LC_MESSAGES/text.po), split
at their placeholders and tags. Author content (activity title, objectives, questions, statements:
the example OLX is English and is not translated) and what the learner typed are removed from the
page text first. A fragment that the target catalogue itself uses (e.g. "Question" in French) cannot
tell the languages apart and is skipped. The same detector must find English strings on every
screen of an English walk, so the check cannot pass by finding nothing.

Artefacts (PDF text and PNG renderings of the certificates) go to test-artifacts/i18n/.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "xblock"))
sys.path.insert(0, str(ROOT / "tests" / "a11y"))

import test_browser  # noqa: E402 - tests/xblock/test_browser.py, on the path a11yhelpers set
from a11yhelpers import keyboard_flow, need_browser  # noqa: E402 - after the path is set

from ce_xblock.core import olx  # noqa: E402
from ce_xblock.core.locale import translator  # noqa: E402

pytestmark = pytest.mark.browser
browser = test_browser.browser  # the chromium fixture of the XBlock browser tests

ARTIFACTS = ROOT / "test-artifacts" / "i18n"
TRANSLATIONS = ROOT / "translations"
SLUG = "telehealth-ethics"
ACTIVITY = olx.load(ROOT / "examples" / f"{SLUG}.xml")
# What keyboard_flow types into the learner details (learner content, not UI).
TYPED = ("Kim Keyboard", "PSY-77", "Psychologist", "T1", "ON")
# One French string of each kind the learner must see: the start button (JS catalogue) and the
# certificate heading (server catalogue).
START_FR = "Commencer le post-test"

# --- the English detector ----------------------------------------------------------------------

_SPLIT = re.compile(r"%\(\w+\)[sdf]|%[sdf%]|<[^>]*>|\{\{.*?\}\}|\{\w*\}")
_EDGE = " \t\n.,;:!?()[]\"'“”‘’…·-–—/"


def _read_po(lang: str):
    from babel.messages.pofile import read_po

    with (TRANSLATIONS / lang / "LC_MESSAGES" / "text.po").open("rb") as f:
        return read_po(f, locale=lang)


def _forms(value) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def _norm(text: str) -> str:
    return " ".join(text.split())


@cache
def english_fragments(lang: str) -> dict[str, str]:
    """{fragment: msgid} of the English UI strings that cannot be mistaken for `lang` text."""
    target = _read_po(lang)
    translated = "\n".join(s for m in target if m.id for s in _forms(m.string))
    by_id = {(m.id if isinstance(m.id, str) else tuple(m.id), m.context): m for m in target if m.id}
    found: dict[str, str] = {}
    for m in _read_po("en"):
        if not m.id:
            continue
        t = by_id.get((m.id if isinstance(m.id, str) else tuple(m.id), m.context))
        strings = _forms(t.string) if t is not None else []
        for source in _forms(m.id):
            if source in strings:
                continue  # the same in both languages ("OK", "CE Broker")
            for piece in _SPLIT.split(source):
                piece = _norm(piece).strip(_EDGE)
                if sum(ch.isalpha() for ch in piece) < 4:
                    continue
                if re.search(r"(?<!\w)" + re.escape(piece) + r"(?!\w)", translated):
                    continue  # the target language uses these very words
                found.setdefault(piece, _forms(m.id)[0])
    return found


def _author_strings(value, out: set[str]) -> None:
    """Every text the author wrote in the activity, HTML split into its text nodes."""
    if isinstance(value, enum.Enum) or value is None:
        return
    if isinstance(value, str):
        if "<" in value and ">" in value:
            import lxml.html

            try:
                for text in lxml.html.fragment_fromstring(value, create_parent="div").itertext():
                    out.add(_norm(text))
            except Exception:  # noqa: BLE001 - not HTML after all
                out.add(_norm(value))
        out.add(_norm(value))
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _author_strings(getattr(value, f.name), out)
    elif isinstance(value, dict):
        for v in value.values():
            _author_strings(v, out)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _author_strings(v, out)


def statements() -> list[str]:
    """The approval statements as printed: the author's, or the accreditor's standard wording."""
    from ce_xblock.core import credit

    return [credit.statement(ACTIVITY, a) for a in ACTIVITY.accreditations]


@lru_cache(maxsize=1)
def author_content() -> tuple[str, ...]:
    out: set[str] = set()
    _author_strings(ACTIVITY, out)
    out.update(statements())
    out.update(TYPED)
    # Longest first, so a statement goes before a phrase inside it; tiny strings would eat UI words.
    return tuple(sorted((s for s in out if len(s) >= 3), key=len, reverse=True))


def without_author_content(text: str) -> str:
    text = _norm(text)
    for s in author_content():
        text = text.replace(s, " ¶ ")
    return text


def english_left(text: str, lang: str) -> dict[str, str]:
    """{English fragment: its msgid} found in the page text once author content is removed."""
    text = without_author_content(text)
    return {
        piece: msgid
        for piece, msgid in english_fragments(lang).items()
        if re.search(r"(?<!\w)" + re.escape(piece) + r"(?!\w)", text)
    }


# A string the code never marked for translation is in no catalogue, so the msgid check cannot see
# it. The second check: every word left on the page (author content removed) must be a word of the
# target catalogue's translations or of the locale's month and day names (dates come from CLDR).
# Acronyms and codes (ASWB, CE-7F3K-9Q2M, TX) and paths (/verify/...) are not words.
_WORD = re.compile(r"[^\W\d_]{2,}")
_PATH = re.compile(r"\S*/\S*")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text) if not w.isupper()}


@cache
def vocabulary(lang: str) -> frozenset[str]:
    from babel.dates import get_day_names, get_month_names

    words: set[str] = set()
    for m in _read_po(lang):
        for string in _forms(m.string) if m.id else []:
            words |= _words(_SPLIT.sub(" ", string))
    for width in ("wide", "abbreviated"):
        for names in (get_month_names(width, locale=lang), get_day_names(width, locale=lang)):
            words |= _words(" ".join(names.values()))
    return frozenset(words)


def foreign_words(text: str, lang: str, also: str = "") -> set[str]:
    """Words on the page that are neither author content nor words of the `lang` catalogue."""
    text = _PATH.sub(" ", without_author_content(text))
    return _words(text) - vocabulary(lang) - _words(also)


def test_the_detector_finds_english_ui_strings_and_skips_author_content():
    fragments = english_fragments("fr")
    assert len(fragments) > 300, "the catalogue's English strings are the check"
    assert "Start the post-test" in fragments
    assert "Question" not in fragments  # French uses the same word
    title = ACTIVITY.title
    found = english_left(f"{title} Start the post-test Commencer", "fr")
    assert found == {"Start the post-test": "Start the post-test"}
    assert all(english_left(f"{title} {s}", "fr") == {} for s in statements())
    assert foreign_words(f"{title} Étapes 22 novembre 2026 /verify/CE-7F3K-9Q2M ASWB", "fr") == set()
    assert foreign_words("Commencer the post-test", "fr") == {"the"}


# --- the demo: the tool and the LMS, with an activity that has no minimum time -------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`ce-credit demo` on free ports, its library holding the telehealth activity without the
    minimum time, so a keyboard walk reaches the certificate."""
    need_browser()
    start_demo = pytest.importorskip("lti_tool.demo").start_demo
    examples = tmp_path_factory.mktemp("quick-examples")
    (examples / f"{SLUG}.xml").write_text(olx.dumps(ACTIVITY.replace(min_minutes=0)), encoding="utf-8")
    d = start_demo(
        port=0,
        instance=tmp_path_factory.mktemp("lti-i18n"),
        examples_dir=examples,
        tool_config={"OUTBOX_INTERVAL": 0.2},
    )
    yield d
    d.stop()


class InFrame:
    """The tool's frame for reading and waiting, the page's keyboard for typing: what keyboard_flow needs."""

    def __init__(self, page, frame):
        self.page, self.frame, self.keyboard = page, frame, page.keyboard

    def __getattr__(self, name):
        return getattr(self.frame, name)


def new_link(demo, title: str):
    """A course activity of its own for one walk, so every walk starts at the information screen."""
    from lti_tool.demo_lms import lms_of

    return lms_of(demo.lms_app).state.add_link(
        title=title,
        custom={"ce_activity": SLUG},
        line_item={"label": title, "scoreMaximum": ACTIVITY.form_size, "resourceId": SLUG},
    )


def launch(page, demo, user: str, kind: str, link_id: str, locale: str = ""):
    """Launch the tool into the LMS page's frame, the locale claim set from `locale` ("" = no claim)."""
    page.goto(demo.lms_server.url + "/")
    query = urlencode({"user": user, "kind": kind, "link": link_id, "locale": locale})
    page.evaluate(
        "url => { document.getElementById('tool-frame').src = url; }", f"{demo.lms_server.url}/launch?{query}"
    )
    for _ in range(300):
        frame = next((f for f in page.frames if f.url.startswith(demo.tool_server.url)), None)
        if frame is not None:
            try:
                frame.wait_for_load_state("load", timeout=30000)
            except Exception:  # noqa: BLE001 - the frame navigated (launch POST -> page); look again
                continue
            if frame.url.startswith(demo.tool_server.url):
                return frame
        page.wait_for_timeout(100)
    raise AssertionError("the tool never loaded in the LMS frame")


VISIBLE_TEXT = """() => {
    const bits = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [alt], input[type=submit], input[type=button]')) {
        if (el.closest('[hidden]')) continue;
        for (const a of ['aria-label', 'placeholder', 'title', 'alt']) if (el.getAttribute(a)) bits.push(el.getAttribute(a));
        if (el.matches('input[type=submit], input[type=button]')) bits.push(el.value);
    }
    return bits.join('\\n');
}"""


def page_attributes(frame) -> dict[str, str]:
    return frame.evaluate(
        "() => ({lang: document.documentElement.getAttribute('lang'), dir: document.documentElement.getAttribute('dir'),"
        " rootLang: (document.querySelector('.cec-root, .ce-credit [lang]') || document.documentElement).getAttribute('lang'),"
        " rootDir: getComputedStyle(document.querySelector('#ce-credit-root') || document.body).direction})"
    )


@dataclasses.dataclass
class Walk:
    screens: dict[str, str]
    attributes: dict[str, dict[str, str]]
    pdf: bytes
    errors: list[str]


_walks: dict[str, Walk] = {}

# name: (launch locale claim, browser locale)
RUNS = {
    "en": ("en", "en-US"),
    "fr": ("fr", "en-US"),
    "ar": ("ar", "en-US"),
    "fr-browser": ("", "fr-FR"),
}
LANG_OF = {"en": "en", "fr": "fr", "ar": "ar", "fr-browser": "fr"}


@pytest.fixture(scope="module")
def walk(demo, browser):
    """walk(run) -> Walk: the keyboard flow from information to certificate, once per run."""

    def run(name: str) -> Walk:
        if name in _walks:
            return _walks[name]
        claim, browser_locale = RUNS[name]
        ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale=browser_locale)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        link = new_link(demo, f"i18n walk {name}")
        frame = launch(page, demo, "learner-mei", "learner", link.id, claim)
        frame.wait_for_selector(".cec-step-info", timeout=30000)
        screens: dict[str, str] = {}
        attributes: dict[str, dict[str, str]] = {}

        def check(step: str) -> None:
            screens[step] = frame.evaluate(VISIBLE_TEXT)
            attributes[step] = page_attributes(frame)

        keyboard_flow(InFrame(page, frame), ACTIVITY, check)
        assert "10-certificate" in screens, "the walk did not reach the certificate"
        href = frame.locator(".cec-links a[href$='certificate.pdf']").first.get_attribute("href")
        resp = page.request.get(demo.tool_server.url + href if href.startswith("/") else href)
        assert resp.status == 200, resp.text()[:500]
        pdf = resp.body()
        ctx.close()
        out = ARTIFACTS / "text" / name  # what was checked, for a person to read
        out.mkdir(parents=True, exist_ok=True)
        for step, text in screens.items():
            (out / f"{step}.txt").write_text(text, encoding="utf-8")
        _walks[name] = Walk(screens, attributes, pdf, errors)
        return _walks[name]

    yield run
    _walks.clear()


# --- the learner flow ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_detector_finds_english_on_every_screen_of_an_english_walk(walk, lang):
    english = walk("en")
    assert len(english.screens) == 10
    found = {step: english_left(text, lang) for step, text in english.screens.items()}
    empty = [step for step, hits in found.items() if len(hits) < 2]
    assert not empty, f"the detector finds (almost) nothing on these English screens: {empty}"
    words = {step: foreign_words(text, lang) for step, text in english.screens.items()}
    empty = [step for step, hits in words.items() if len(hits) < 2]
    assert not empty, f"the word check finds (almost) nothing on these English screens: {empty}"
    assert all(a["lang"] == "en" and a["dir"] == "ltr" for a in english.attributes.values())


@pytest.mark.parametrize("run", ["fr", "ar", "fr-browser"])
def test_the_learner_flow_has_no_english_ui_string_left(walk, run):
    lang = LANG_OF[run]
    w = walk(run)
    assert w.errors == []
    assert len(w.screens) == 10
    left = {step: hits for step, text in w.screens.items() if (hits := english_left(text, lang))}
    assert not left, f"English UI strings in the {run} learner flow (fragment: msgid): {left}"
    # Strings never marked for translation: words that are no word of the language's catalogue.
    foreign = {step: sorted(words) for step, text in w.screens.items() if (words := foreign_words(text, lang))}
    assert not foreign, f"words that are not {lang} in the {run} learner flow (unmarked strings?): {foreign}"
    if lang == "fr":
        assert START_FR in w.screens["01-information"]
    else:
        assert translator("ar").gettext("Start the post-test") in w.screens["01-information"]
    # The page declares the language and its direction, on every screen.
    want_dir = "rtl" if lang == "ar" else "ltr"
    for step, a in w.attributes.items():
        assert (a["lang"], a["dir"]) == (lang, want_dir), f"{step}: <html lang={a['lang']} dir={a['dir']}>"
        assert a["rootDir"] == want_dir, f"{step}: the learner front end lays out {a['rootDir']}"


# --- the certificate -----------------------------------------------------------------------------


def pdf_artefacts(pdf: bytes, name: str) -> tuple[str, Path]:
    """The PDF's text (pdftotext -layout) and its first page rendered to PNG, kept as artefacts."""
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"certificate-{name}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    (ARTIFACTS / f"certificate-{name}.txt").write_text(text, encoding="utf-8")
    png = ARTIFACTS / f"certificate-{name}"
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(path), str(png)], check=True)
    return text, png.with_suffix(".png")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_certificate_of_a_french_launch_is_french_and_keeps_the_accreditors_wording(walk):
    text, png = pdf_artefacts(walk("fr").pdf, "fr")
    fr = translator("fr")
    for label in (
        "Certificate of completion",
        "This certifies that",
        "has completed the continuing education activity",
    ):
        assert fr.gettext(label) != label, f"{label!r} has no French translation"
        wanted = fr.gettext(label).upper() if label == "Certificate of completion" else fr.gettext(label)
        assert _norm(wanted) in _norm(text), f"the French {label!r} ({wanted!r}) is not on the certificate"
        assert label.upper() not in text.upper(), f"the English {label!r} is on the French certificate"
    assert "CERTIFICAT" in text
    # Each accreditation statement verbatim, as the author (the accreditor) wrote it. Long lines wrap,
    # so compare without whitespace.
    for s in statements():
        assert _squash(s) in _squash(text), f"the statement {s[:60]!r}... is not verbatim on the certificate"
    assert png.stat().st_size > 10000


def test_the_certificate_of_an_arabic_launch_is_arabic_and_keeps_the_accreditors_wording(walk):
    text, png = pdf_artefacts(walk("ar").pdf, "ar")
    ar = translator("ar")
    heading = ar.gettext("This certifies that")
    assert heading != "This certifies that"
    assert re.search(r"[\u0600-\u06ff]", text), "no Arabic letter on the Arabic certificate"
    assert "This certifies that" not in text and "continuing education activity" not in text
    for s in statements():
        assert _squash(s) in _squash(text), f"the statement {s[:60]!r}... is not verbatim on the certificate"
    assert png.stat().st_size > 10000


# --- the instructor page and the error pages -----------------------------------------------------


def _html_text(html: str) -> str:
    """The text a person reads; <code> (error codes, ids) is for support staff, not prose."""
    import lxml.html

    doc = lxml.html.document_fromstring(html)
    for bad in doc.xpath("//script | //style | //code"):
        bad.drop_tree()
    return doc.text_content()


def _fetch(url: str, accept_language: str, data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers={"Accept-Language": accept_language})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def config_title(demo) -> str:
    return demo.tool_app.config["TOOL_TITLE"]


def test_the_instructor_page_of_a_french_launch_is_french(demo, browser):
    from lti_tool.demo_lms.state import DEFAULT_USERS

    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page = ctx.new_page()
    link = new_link(demo, "i18n instructor")
    frame = launch(page, demo, "instructor-iris", "instructor", link.id, "fr")
    frame.wait_for_selector("#accommodations", timeout=30000)
    a = page_attributes(frame)
    assert (a["lang"], a["dir"]) == ("fr", "ltr")
    text = frame.evaluate(VISIBLE_TEXT)
    # The LMS's names for its course and link, and the people in it, are not the tool's words.
    text = text.replace("i18n instructor", " ").replace("CE Credit demo course", " ")
    left = english_left(text, "fr")
    assert not left, f"English UI strings on the French instructor page: {left}"
    people = " ".join(f"{u.given_name} {u.family_name} {u.email}" for u in DEFAULT_USERS)
    foreign = foreign_words(text, "fr", also=people + " " + SLUG)
    assert not foreign, f"words that are not French on the instructor page (unmarked strings?): {sorted(foreign)}"
    assert translator("fr").gettext("Accommodations") in text
    ctx.close()


def test_the_error_pages_follow_the_browser_language(demo):
    tool = demo.tool_server.url
    # A launch with no id_token: the tool's own launch error.
    status, html = _fetch(tool + "/lti/launch", "fr-FR,fr;q=0.9", data=b"state=nope")
    assert 400 <= status < 500, html[:500]
    # A launch link opened directly (GET), and a page that does not exist: Flask's own errors.
    pages = {"bad launch": (status, html)}
    pages["GET launch"] = _fetch(tool + "/lti/launch", "fr")
    pages["not found"] = _fetch(tool + "/lti/nothing-here", "fr")
    # The learner API answers JSON, its message in the browser's language too.
    status, body = _fetch(tool + "/lti/api/nope/certificate.pdf", "fr")
    message = json.loads(body)["message"]
    assert status == 401 and message == translator("fr").gettext(
        "This page's session has expired. Open the activity again from your course."
    )
    assert not english_left(message, "fr") and not foreign_words(message, "fr"), message
    problems = []
    for what, (status, html) in pages.items():
        assert 400 <= status < 500, f"{what}: {status}"
        assert '<html lang="fr" dir="ltr">' in html, f"{what}: {html[:200]}"
        text = _html_text(html)
        assert translator("fr").gettext("The activity could not open") in text, f"{what}: {text}"
        left = english_left(text, "fr")
        foreign = foreign_words(text, "fr", also=config_title(demo))
        if left or foreign:
            problems.append(f"{what}: English {sorted(left)}, not French {sorted(foreign)}: {_norm(text)}")
    assert not problems, "English on the French error pages:\n" + "\n".join(problems)
    status, html = _fetch(tool + "/lti/launch", "ar", data=b"state=nope")
    assert '<html lang="ar" dir="rtl">' in html and 400 <= status < 500
