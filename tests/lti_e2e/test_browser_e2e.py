"""A real browser (Debian's chromium through Playwright) on the demo LMS: launch in the iframe, pass, see the grade."""

from __future__ import annotations

import re

import pytest

from .conftest import ARTIFACTS, server_tls, start_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TELEHEALTH = "telehealth-ethics"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--ignore-certificate-errors",
]


@pytest.fixture(params=["https", "http"])
def https_stack(request, tmp_path, tls_files, trust_test_ca):
    """Over HTTPS as in production, and over plain HTTP as `ce-credit demo` runs."""
    tls = request.param == "https"
    demo, course = start_stack(
        tmp_path / "instance",
        {"OUTBOX_INTERVAL": 0.2},
        ssl_context=server_tls(tls_files) if tls else None,
        verify=str(trust_test_ca),
    )
    demo.scheme = request.param
    yield demo, course
    demo.stop()


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def _learner_page(browser, course, link_id: str, errors: list[str], **context_args):
    """A browser page on the demo LMS that has launched `link_id` as learner Ada, and its tool frame."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1100}, **context_args)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(course.platform_url + "/")
    page.get_by_label("Who are you?").select_option("learner-ada")
    page.get_by_label("Course activity").select_option(link_id)
    page.get_by_role("button", name="Launch as learner").click()
    return context, page, page.frame_locator("#tool-frame")


def test_learner_passes_in_the_cross_site_iframe_and_the_grade_shows_in_the_gradebook(https_stack, browser):
    demo, course = https_stack
    ARTIFACTS.mkdir(exist_ok=True)
    assert demo.lms_server.host == "localhost" and demo.tool_server.host == "127.0.0.1"  # two sites
    link = course.link_for(TELEHEALTH)
    activity = course.activities[TELEHEALTH]
    errors: list[str] = []
    context, page, frame = _learner_page(browser, course, link.id, errors)
    start = frame.get_by_role("button", name=re.compile(r"Start (the post-test|attempt)"))
    start.wait_for(timeout=30000)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-1-launched.png"), full_page=True)
    start.click()

    frame.get_by_role("button", name="Submit answers").wait_for(timeout=15000)
    answered = 0
    for q in activity.questions:
        inputs = frame.locator(f"input[name$='-{q.id}']")
        if inputs.count() == 0:
            continue  # not on this learner's form
        for choice in q.choices:
            if choice.correct:
                frame.locator(f"input[name$='-{q.id}'][value='{choice.id}']").check()
        answered += 1
    assert answered > 0
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-2-answered.png"), full_page=True)
    frame.get_by_role("button", name="Submit answers").click()
    frame.get_by_text("You passed.").wait_for(timeout=15000)

    # the grade travels tool -> outbox -> AGS -> gradebook; the page refreshes itself every 3 s
    cell = page.locator(f'td[data-user="learner-ada"][data-line-item="{link.line_item_id}"] .score')
    cell.wait_for(timeout=30000)
    text = cell.inner_text()
    points = course.lms.state.results[(link.line_item_id, "learner-ada")]["scoreGiven"]
    assert text.startswith(f"{points:g} / ")
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-3-gradebook.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_instructor_deep_links_an_activity_from_the_browser(https_stack, browser):
    demo, course = https_stack
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    before = set(course.lms.state.links)
    page.goto(course.platform_url + "/")
    page.get_by_label("Who are you?").select_option("instructor-iris")
    page.get_by_role("button", name="Deep link").click()
    frame = page.frame_locator("#tool-frame")
    frame.locator("form[action$='/deeplink']").first.wait_for(timeout=30000)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-4-deeplink-picker.png"), full_page=True)
    form = frame.locator("form[action$='/deeplink']").first
    radios = form.locator("input[type=radio][name=activity]")
    if radios.count():
        form.locator(f"input[type=radio][value='{TELEHEALTH}']").check()
    else:
        select = form.locator("select[name=activity]")
        if select.count():
            select.select_option(TELEHEALTH)
    form.locator("button[type=submit], input[type=submit]").first.click()
    frame.get_by_text("Deep linking done").wait_for(timeout=30000)
    (new_id,) = set(course.lms.state.links) - before
    # the page's activity list picks up the new link without a reload
    page.locator(f"#link option[value='{new_id}']").wait_for(state="attached", timeout=10000)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-5-deeplinked.png"), full_page=True)
    context.close()


def test_learner_completes_the_whole_flow_to_the_certificate_and_the_gradebook_says_so(https_stack, browser):
    """The demo's no-minimum-time copy, with the mouse as a learner would: pass, evaluate, attest,
    give licence details, get the certificate, download its PDF and open its verification page;
    the gradebook then shows "Completed" with the certificate id."""
    demo, course = https_stack
    ARTIFACTS.mkdir(exist_ok=True)
    slug = TELEHEALTH + "-no-minimum"
    link = course.link_for(slug)
    activity = course.activities[slug]
    assert activity.min_minutes == 0
    errors: list[str] = []
    context, page, frame = _learner_page(browser, course, link.id, errors, accept_downloads=True)
    frame.get_by_role("button", name=re.compile(r"Start (the post-test|attempt)")).click(timeout=30000)
    frame.get_by_role("button", name="Submit answers").wait_for(timeout=15000)
    for q in activity.questions:
        for choice in q.choices:
            box = frame.locator(f"input[name$='-{q.id}'][value='{choice.id}']")
            if choice.correct and box.count():
                box.check()
    frame.get_by_role("button", name="Submit answers").click()
    frame.get_by_text("You passed.").wait_for(timeout=15000)
    frame.locator(".cec-step-result .cec-actions button.cec-primary").click()

    frame.locator(".cec-step-evaluation").wait_for(timeout=15000)
    for fs in frame.locator(".cec-step-evaluation fieldset.cec-question").all():
        radios = fs.locator("input[type=radio]")
        if radios.count():
            radios.nth(radios.count() - 1).check()  # Strongly agree
    frame.locator(".cec-step-evaluation button[type=submit]").click()

    frame.locator(".cec-step-attestation input[type=checkbox]").check(timeout=15000)
    frame.locator(".cec-step-attestation button[type=submit]").click()

    details = frame.locator(".cec-step-details")
    details.wait_for(timeout=15000)
    for name, value in [
        ("legal_name", "Ada Lovelace-Byron"),
        ("license_number", "PSY-1815"),
        ("license_state", "ON"),
        ("profession", "Psychologist"),
    ]:
        details.locator(f"input[name={name}]").fill(value)
    details.locator("button[type=submit]").click()

    frame.locator(".cec-step-certificate button.cec-primary").click(timeout=15000)
    links = frame.locator(".cec-step-certificate .cec-links")
    links.wait_for(timeout=30000)
    assert "Ada Lovelace-Byron" in frame.locator(".cec-step-certificate").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-4-certificate.png"), full_page=True)
    with page.expect_download() as dl:
        links.locator("a[href$='certificate.pdf']").click()
    pdf = dl.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
    verify_href = links.locator("a[href*='/verify/']").get_attribute("href")
    # the full address, as printed on the certificate, is what the page gives for a licensing board
    assert verify_href.startswith(demo.tool_server.url + "/verify/"), verify_href
    assert frame.locator(".cec-step-certificate code.cec-url").inner_text() == verify_href
    cert_id = verify_href.rstrip("/").rsplit("/", 1)[-1]
    assert re.fullmatch(r"CE-[0-9A-Z]{4}-[0-9A-Z]{4}", cert_id), cert_id

    # the grade travels tool -> outbox -> AGS -> gradebook; the page refreshes itself every 3 s
    cell = page.locator(f'td[data-user="learner-ada"][data-line-item="{link.line_item_id}"]')
    cell.locator(".comment", has_text=cert_id).wait_for(timeout=30000)
    assert "Completed" in cell.inner_text()
    result = course.lms.state.results[(link.line_item_id, "learner-ada")]
    assert result["activityProgress"] == "Completed" and cert_id in result["comment"]
    page.screenshot(path=str(ARTIFACTS / f"e2e-{demo.scheme}-5-gradebook-certificate.png"), full_page=True)

    verify = context.new_page()
    verify.goto(verify_href)
    assert cert_id in verify.content() and "Ada Lovelace-Byron" in verify.inner_text("body")
    assert not errors, errors
    context.close()
