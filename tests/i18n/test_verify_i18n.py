"""The public verification page in French and Arabic, through both homes.

A real certificate is issued (the XBlock: the learner flow on XBlock's TestRuntime; the LTI tool:
`certificate.issue` with the tool's own key, stored in its database), then its page is requested
in French and Arabic: the XBlock's `verify` handler with the runtime's language, the tool's
`/verify/<id>` with `?lang=` or Accept-Language. The page must say `<html lang dir>`, show the
status, labels, dates and numbers in that language, and keep no English UI word in any text node
outside the certificate's own values (which are marked `translate="no"` and stay as issued).
The JSON stays language-neutral.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "certificates"))
sys.path.insert(0, str(ROOT / "tests" / "xblock"))

from certhelpers import ISSUED_AT, key_from_seed, make_activity, make_completion  # noqa: E402 - after the path is set
from xbhelpers import T0, Course, api, example_xml, get  # noqa: E402

from ce_xblock.core import certificate as cert  # noqa: E402
from ce_xblock.core import locale as L  # noqa: E402
from ce_xblock.core import verify as ver  # noqa: E402
from ce_xblock.core.activity import Accreditation, Accreditor, CreditType  # noqa: E402

# English UI words of the verification page (status words, labels, headings, the form, dates). A
# word that the target language writes the same way cannot tell the languages apart: SAME skips it.
ENGLISH = (
    "Valid certificate",
    "Superseded",
    "Revoked",
    "Unknown certificate",
    "Not verified",
    "This certificate",
    "Certificate verification",
    "Verify a CE certificate",
    "Certificate ID",
    "Certificate details",
    "Legal name",
    "Licence",
    "Activity",
    "Format",
    "Level",
    "Intermediate",
    "Self-paced online",
    "Completed",
    "Issued",
    "Provider",
    "Signed by",
    "Replaces",
    "Replaced by",
    "Credits",
    "Credits by accreditor",
    "Accreditor",
    "Credit type",
    "Provider number",
    "Approval period",
    "Approval statements",
    "Check another certificate",
    "For example",
    "printed under the QR code",
    "Verify",
    "Check",
    "Reason",
    "version",
    "ethics",
    "general",
    "laws and rules",
    "open",
    "to",
    "from",
    "until",
    "January",
    "March",
    "December",
    "is not a certificate id",
    "too short",
    "signature",
    "contact the provider",
)
SAME = {"fr": {"Format", "version", "signature"}, "ar": set()}


def ui_texts(page: str) -> list[str]:
    """Every text a reader meets outside the certificate's own values: text nodes (title included)
    and accessible names given in attributes. `translate="no"` subtrees and <style> are left out."""
    root = lxml.html.document_fromstring(page)
    out: list[str] = []

    def walk(el, verbatim: bool) -> None:
        verbatim = verbatim or el.get("translate") == "no"
        if isinstance(el.tag, str) and el.tag not in ("style", "script") and el.text and not verbatim:
            out.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                walk(child, verbatim)
            if child.tail and not verbatim:
                out.append(child.tail)

    walk(root, False)
    out += [v for el in root.iter() if isinstance(el.tag, str) for v in (el.get("aria-label"), el.get("title")) if v]
    return [" ".join(t.split()) for t in out if t.strip()]


def english_left(page: str, lang: str) -> list[tuple[str, str]]:
    found = []
    for text in ui_texts(page):
        for word in ENGLISH:
            if word in SAME[lang]:
                continue
            if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
                found.append((word, text))
    return found


def check_page(page: str, lang: str) -> lxml.html.HtmlElement:
    root = lxml.html.document_fromstring(page)
    assert root.get("lang") == lang
    assert root.get("dir") == ("rtl" if lang == "ar" else "ltr")
    assert len(root.findall(".//h1")) == 1
    left = english_left(page, lang)
    assert left == [], f"English UI words on the {lang} page: {left}"
    return root


def text_of(root) -> str:
    return " ".join(root.text_content().split())


def verbatim_values(root) -> list[str]:
    return [" ".join(el.text_content().split()) for el in root.xpath('//*[@translate="no"]')]


def _t(lang: str):
    return L.translator(lang)


def test_the_detector_finds_the_english_page_english():
    """The check cannot pass by finding nothing: the English page trips it, the record's values do not."""
    signed = _issue_core()
    result = ver.verify_stored(signed.certificate_id, signed, KEY, [])
    page = ver.render_html(result, form_action="/verify")
    words = {w for w, _ in english_left(page, "fr")}
    assert {"Valid certificate", "Legal name", "Certificate details", "Approval statements", "Verify"} <= words
    assert not any("Telehealth" in t for t in ui_texts(page))  # the activity title is the record's


# --- the engine's page -------------------------------------------------------------------------

KEY = key_from_seed("verify i18n")


def _activity_with_half_credits():
    a = make_activity()
    acc = list(a.accreditations)
    acc[0] = Accreditation(
        Accreditor.APA,
        "1234",
        Decimal("1.5"),
        CreditType.ETHICS,
        approval_start=date(2025, 1, 1),
        approval_end=date(2027, 12, 31),
    )
    return a.replace(accreditations=tuple(acc))


def _issue_core(locale: str = "fr", key=KEY, base: str = "https://ce.example.org/verify"):
    return cert.issue(
        _activity_with_half_credits(),
        make_completion(),
        certificate_id=cert.new_certificate_id(b"verify-i18n"),
        issued_at=ISSUED_AT,
        private_key=key,
        verification_base_url=base,
        locale=locale,
    )


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_engine_page_for_each_status_is_in_the_language(lang):
    t = _t(lang)
    signed = _issue_core()
    new, sup = cert.supersede(
        signed,
        changes={"legal_name": "Zoë Ng"},
        reason="Nom mal orthographié",
        certificate_id=cert.new_certificate_id(b"\x01\x02\x03\x04\x05"),
        issued_at=ISSUED_AT,
        private_key=KEY,
    )
    cases = {
        "valid": ver.verify_stored(signed.certificate_id, signed, KEY, []),
        "superseded": ver.verify_stored(signed.certificate_id, signed, KEY, [sup]),
        "revoked": ver.verify_stored(signed.certificate_id, signed, KEY, [cert.revoke(signed, reason="r", at=T0)]),
        "unknown": ver.verify_stored(cert.new_certificate_id(b"\x09\x09\x09\x09\x09"), None, KEY, []),
        "invalid": ver.verify_stored("CE-XXXX", None, KEY, []),
    }
    headings = {
        "valid": "Valid certificate",
        "superseded": "Superseded",
        "revoked": "Revoked",
        "unknown": "Unknown certificate",
        "invalid": "Not verified",
    }
    for status, result in cases.items():
        page = ver.render_html(result, lang=lang, form_action="/verify")
        root = check_page(page, lang)
        heading = t.pgettext("certificate status", headings[status])
        assert heading != headings[status]
        assert root.xpath('string(//div[@role="status"]//strong)') == heading
        assert root.findtext(".//title").startswith(heading)
    sup_page = ver.render_html(cases["superseded"], lang=lang)
    assert new.certificate_id in sup_page and "Nom mal orthographié" in sup_page  # staff's reason, as typed


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_engine_page_formats_dates_and_numbers_and_keeps_the_record_verbatim(lang):
    t = _t(lang)
    signed = _issue_core()
    rec = signed.record
    page = ver.render_html(ver.verify_stored(signed.certificate_id, signed, KEY, []), lang=lang)
    root = check_page(page, lang)
    text = text_of(root)
    for label in ("Legal name", "Licence", "Activity", "Completed", "Accreditor", "Credit type", "Approval statements"):
        assert t.gettext(label) in text, label
    assert L.format_date(rec.completion_date, lang) in text
    assert L.format_credits(Decimal("1.5"), lang) in [c.text_content() for c in root.iter("td")]
    if lang == "fr":
        assert "1,5" in text and "3 mars 2026" in text and "du 1 janvier 2025 au 31 décembre 2027" in text
    # The certificate's own words: as issued, and marked so that page translation leaves them alone.
    kept = verbatim_values(root)
    assert rec.legal_name in kept and rec.activity_title in kept
    statements = [a.statement for a in rec.accreditations if a.statement]
    assert statements and all(s in kept for s in statements)
    assert "LCSW-12345" not in page  # still masked


# --- the XBlock's handler ----------------------------------------------------------------------


def _answers(block, view):
    return {q["id"]: sorted(block.activity.question(q["id"]).correct_ids) for q in view["form"]["questions"]}


@pytest.fixture
def xblock_certificate():
    """A French learner's certificate, issued through the block's whole flow."""
    course = Course(example_xml("telehealth-ethics.xml", min_minutes=0))
    b = course.block(language="fr")
    status, v = api(b, "start")
    api(b, "submit", {"attempt": 1, "responses": _answers(b, v)})
    status, v = api(b, "continue")
    if v["step"] == "evaluation":
        answers = {i["id"]: 4 for i in v["evaluation"]["items"] if i["type"] == "likert"}
        status, v = api(b, "evaluation", {"answers": answers})
    if v["step"] == "attestation":
        status, v = api(b, "attest", {"confirm": True})
    details = {
        "legal_name": "Élise Tremblay",
        "license_number": "PSY 998877",
        "license_state": "QC",
        "profession": "Psychologue",
    }
    status, v = api(b, "details", details)
    assert v["step"] == "certificate", v
    status, v = api(b, "certificate")
    assert status == 200 and v["certificate"]["issued"], v
    return course, v["certificate"]["id"]


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_xblock_verify_handler_speaks_the_page_language(xblock_certificate, lang):
    course, cid = xblock_certificate
    t = _t(lang)
    resp = get(course.block(None, language=lang), "verify", cid)
    assert resp.status_code == 200
    root = check_page(resp.text, lang)
    text = text_of(root)
    assert t.pgettext("certificate status", "Valid certificate") in text
    assert t.gettext("Certificate details") in text and t.gettext("Legal name") in text
    assert "Élise Tremblay" in verbatim_values(root)
    signed = cert.SignedRecord.from_dict(course.block(None).issued_certificates[cid])
    assert signed.record.locale == "fr"  # printed in the learner's language
    assert L.format_date(signed.record.completion_date, lang) in text
    # The form below: translated, labelled, and the same handler
    label = root.xpath('//label[@for="ce-certificate-id"]')[0]
    assert label.text == t.gettext("Certificate ID")
    assert root.xpath('//input[@id="ce-certificate-id"]/@aria-describedby') == ["ce-certificate-id-hint"]

    # Revoked: the status word translated, the reason as staff typed it
    board = course.block(None)
    board.certificate_log = [cert.revoke(signed, reason="Attestation fausse", at=T0).to_dict()]
    board.save()
    revoked = get(course.block(None, language=lang), "verify", cid)
    root = check_page(revoked.text, lang)
    assert t.pgettext("certificate status", "Revoked") in text_of(root)
    assert "Attestation fausse" in verbatim_values(root)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_xblock_explains_a_mistyped_id_and_translates_its_lookup_page(xblock_certificate, lang):
    course, cid = xblock_certificate
    t = _t(lang)
    typo = cid[:-1] + ("A" if cid[-1] != "A" else "B")
    resp = get(course.block(None, language=lang), "verify", typo)
    assert resp.status_code == 404
    root = check_page(resp.text, lang)
    field = root.xpath('//input[@id="ce-certificate-id"]')[0]
    assert field.get("aria-invalid") == "true" and field.get("value") == typo
    problem = root.get_element_by_id(field.get("aria-describedby").split()[1])
    assert typo in problem.text_content()
    assert problem.text_content() != ver._id_problem(typo)  # the translated sentence, not the English one
    short = check_page(get(course.block(None, language=lang), "verify", "not-an-id").text, lang)
    assert "not-an-id" in text_of(short)

    lookup = get(course.block(None, language=lang), "verify")
    assert lookup.status_code == 200
    root = check_page(lookup.text, lang)
    assert root.xpath('string(//label[@for="cec-verify-id"])') == t.gettext("Certificate ID")
    assert root.findtext(".//h1") == t.gettext("Verify a CE certificate")


def test_the_xblock_json_stays_language_neutral(xblock_certificate):
    course, cid = xblock_certificate
    bodies = [get(course.block(None, language=lang), "verify", cid, query="format=json").json for lang in ("en", "ar")]
    assert bodies[0] == bodies[1] and bodies[0]["status"] == "valid"
    assert bodies[0]["summary"].startswith("VERIFIED")


# --- the LTI tool's route ----------------------------------------------------------------------


@pytest.fixture
def tool_app(tmp_path):
    from lti_tool import create_app
    from lti_tool.app import tool_of

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'tool.db'}",
            "OUTBOX_THREAD": False,
            "REDIS_URL": "",
        }
    )
    yield app
    tool_of(app).engine.dispose()


@pytest.fixture
def lti_certificate(tool_app):
    """A French certificate issued with the tool's key and stored as the tool stores it."""
    from lti_tool import learning
    from lti_tool.app import tool_of
    from lti_tool.store import IssuedCertificate

    tool = tool_of(tool_app)
    signed = _issue_core(key=learning.certificate_signing_key(tool), base="https://tool.test/verify")
    with tool.sessions() as s:
        s.add(IssuedCertificate(cert_id=signed.certificate_id, learner_pk=None, record=signed.to_dict()))
        s.commit()
    return tool, signed


@pytest.mark.parametrize(
    ("lang", "query", "headers"),
    [
        ("fr", {"lang": "fr"}, {}),
        ("fr", {}, {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}),
        ("ar", {"lang": "ar"}, {"Accept-Language": "fr"}),  # ?lang= comes first
        ("ar", {"lang": "de"}, {"Accept-Language": "ar-EG"}),  # no German catalogue: the browser's
    ],
)
def test_the_lti_verify_route_negotiates_the_language(tool_app, lti_certificate, lang, query, headers):
    _tool, signed = lti_certificate
    t = _t(lang)
    resp = tool_app.test_client().get(f"/verify/{signed.certificate_id}", query_string=query, headers=headers)
    assert resp.status_code == 200
    assert "Accept-Language" in resp.headers["Vary"]
    page = resp.get_data(as_text=True)
    root = check_page(page, lang)
    text = text_of(root)
    assert t.pgettext("certificate status", "Valid certificate") in text
    assert t.gettext("Approval period") in text and t.gettext("Provider number") in text
    assert L.format_credits(Decimal("1.5"), lang) in [c.text_content() for c in root.iter("td")]
    kept = root.xpath('//form//input[@type="hidden"][@name="lang"]/@value')
    assert kept == ([lang] if query.get("lang") == lang else [])  # an explicit choice survives the next lookup


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_lti_route_translates_revoked_unknown_mistyped_and_the_lookup_form(tool_app, lti_certificate, lang):
    from lti_tool import records_store

    tool, signed = lti_certificate
    t = _t(lang)
    client = tool_app.test_client()
    records_store.revoke(tool, signed.certificate_id, "Attestation fausse", now=datetime.now(UTC), actor="test")
    root = check_page(client.get(f"/verify/{signed.certificate_id}?lang={lang}").get_data(as_text=True), lang)
    assert t.pgettext("certificate status", "Revoked") in text_of(root)
    assert "Attestation fausse" in verbatim_values(root)

    never_issued = cert.new_certificate_id(b"never")
    unknown = client.get(f"/verify/{never_issued}?lang={lang}")
    assert unknown.status_code == 404
    root = check_page(unknown.get_data(as_text=True), lang)
    assert t.pgettext("certificate status", "Unknown certificate") in text_of(root)

    typo = client.get("/verify", query_string={"id": "CE-7F3K", "lang": lang})
    assert typo.status_code == 400
    root = check_page(typo.get_data(as_text=True), lang)
    field = root.xpath('//input[@id="ce-certificate-id"]')[0]
    assert field.get("aria-invalid") == "true" and field.get("value") == "CE-7F3K"
    assert "CE-7F3K" in root.get_element_by_id("ce-verify-problem-0").text_content()

    lookup = client.get("/verify", headers={"Accept-Language": lang})
    assert lookup.status_code == 200
    root = check_page(lookup.get_data(as_text=True), lang)
    assert root.xpath('string(//label[@for="ce-certificate-id"])') == t.gettext("Certificate ID")
    assert root.xpath('//input[@id="ce-certificate-id"]/@aria-describedby') == ["ce-certificate-id-hint"]


def test_the_lti_json_stays_language_neutral(tool_app, lti_certificate):
    _tool, signed = lti_certificate
    client = tool_app.test_client()
    english = client.get(f"/verify/{signed.certificate_id}.json").get_json()
    for query, headers in (({"lang": "ar"}, {}), ({}, {"Accept-Language": "fr"})):
        other = client.get(f"/verify/{signed.certificate_id}.json", query_string=query, headers=headers)
        assert other.get_json() == english and other.headers["Vary"] == "Accept"
    assert english["status"] == "valid" and english["summary"].startswith("VERIFIED")


# --- in a browser: 320 CSS px without sideways scrolling (WCAG 1.4.10), and axe-core ------------


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_page_reflows_at_320_px_and_has_no_axe_violations(lang):
    sys.path.insert(0, str(ROOT / "tests" / "a11y"))
    import a11yhelpers  # noqa: PLC0415 - tests/a11y: axe-core and Debian's chromium

    a11yhelpers.need_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    signed = _issue_core()
    pages = {
        "valid": ver.render_html(
            ver.verify_stored(signed.certificate_id, signed, KEY, []), lang=lang, form_action="/v"
        ),
        "mistyped": ver.render_html(ver.verify_stored("CE-7F3K", None, KEY, []), lang=lang, form_action="/v"),
        "lookup": ver.render_lookup_page("/v", lang=lang),
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a11yhelpers.CHROMIUM, args=a11yhelpers.CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 320, "height": 640}).new_page()
            for name, page_html in pages.items():
                page.set_content(page_html)
                width = page.evaluate("document.scrollingElement.scrollWidth")
                assert width <= 320, f"the {lang} {name} page scrolls sideways at 320 px ({width} px wide)"
                a11yhelpers.assert_no_violations(page, f"verify-{name}-{lang}")
            # The wide table scrolls inside its own focusable region instead.
            page.set_content(pages["valid"])
            assert page.evaluate("getComputedStyle(document.querySelector('.table-wrap')).overflowX") == "auto"
        finally:
            browser.close()
