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


def test_learner_passes_in_the_cross_site_iframe_and_the_grade_shows_in_the_gradebook(https_stack, browser):
    demo, course = https_stack
    ARTIFACTS.mkdir(exist_ok=True)
    assert demo.lms_server.host == "localhost" and demo.tool_server.host == "127.0.0.1"  # two sites
    link = course.link_for(TELEHEALTH)
    activity = course.activities[TELEHEALTH]
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(course.platform_url + "/")
    page.get_by_label("Who are you?").select_option("learner-ada")
    page.get_by_label("Course activity").select_option(link.id)
    page.get_by_role("button", name="Launch as learner").click()

    frame = page.frame_locator("#tool-frame")
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
