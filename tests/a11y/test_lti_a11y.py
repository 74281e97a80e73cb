"""Accessibility of the LTI tool launched from the demo LMS: axe-core inside the iframe, keyboard only.

The demo (`lti_tool.demo.start_demo`, what `ce-credit demo` runs) starts the tool and the demo LMS;
the learner and instructor launch the tool into the LMS's cross-site iframe. axe runs on the tool's
own document inside the frame: the LMS page around it is the LMS's business.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urljoin

import pytest
from a11yhelpers import (
    DESKTOP,
    REFLOW_IDS,
    REFLOW_SIZES,
    AxeLog,
    ReflowWalk,
    assert_right_to_left,
    keyboard_flow,
    lti_window,
    need_browser,
)

from ce_xblock.core import olx

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
TELEHEALTH = "telehealth-ethics"  # as shipped: 180 minutes from start to certificate
NO_WAIT = "telehealth-ethics-no-minimum"  # the same activity without the minimum time: walks reach the certificate
ACTIVITY = olx.load(ROOT / "examples" / f"{TELEHEALTH}.xml")
CERTIFIED: list[str] = []  # learners who hold a certificate for NO_WAIT, from earlier tests of this module


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    need_browser()
    start_demo = pytest.importorskip("lti_tool.demo").start_demo
    examples = tmp_path_factory.mktemp("lti-a11y-examples")
    shutil.copy(ROOT / "examples" / f"{TELEHEALTH}.xml", examples)
    no_wait = olx.dumps(ACTIVITY.replace(id=NO_WAIT, min_minutes=0))
    (examples / f"{NO_WAIT}.xml").write_text(no_wait, encoding="utf-8")
    d = start_demo(
        port=0,
        instance=tmp_path_factory.mktemp("lti-demo"),
        examples_dir=examples,
        tool_config={"OUTBOX_INTERVAL": 0.2},
    )
    yield d
    d.stop()


def _link(demo, activity_id: str) -> str:
    """The demo course's resource link of an activity (the demo adds one per example)."""
    from lti_tool.demo_lms import lms_of

    return next(x.id for x in lms_of(demo.lms_app).state.links.values() if x.custom.get("ce_activity") == activity_id)


@pytest.fixture(scope="module")
def certified(demo, browser) -> str:
    """NO_WAIT's link, once a learner holds a certificate there: the instructor's report then has a
    certificate, a grade passback and its resend button, and the records page has charts."""
    link = _link(demo, NO_WAIT)
    if not CERTIFIED:  # run alone: a learner walks the flow first
        ctx = browser.new_context(viewport=DESKTOP)
        page = ctx.new_page()
        lti_window(page, demo, "learner-mei", "learner", link)
        page.wait_for_selector(".cec-step-info", timeout=30000)
        assert keyboard_flow(page, ACTIVITY, lambda step: None) == "10-certificate"
        CERTIFIED.append("learner-mei")
        ctx.close()
    return link


class InFrame:
    """The tool's frame for reading and waiting, the page's keyboard for typing: what keyboard_flow needs."""

    def __init__(self, page, frame):
        self.page, self.frame, self.keyboard = page, frame, page.keyboard

    def __getattr__(self, name):
        return getattr(self.frame, name)


def _launch(page, demo, user: str, button: str, activity_id: str = TELEHEALTH):
    page.goto(demo.lms_server.url + "/")
    page.get_by_label("Who are you?").select_option(user)
    page.get_by_label("Course activity").select_option(_link(demo, activity_id))
    page.get_by_role("button", name=button).click()
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


def test_the_lti_learner_screens_have_no_axe_violations_and_work_by_keyboard(demo, browser):
    """The whole walk in the LMS frame, to the certificate: details, the download link, the verification page."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    frame = _launch(page, demo, "learner-ada", "Launch as learner", NO_WAIT)
    frame.wait_for_selector(".cec-step-info", timeout=30000)
    log = AxeLog()
    last = keyboard_flow(InFrame(page, frame), ACTIVITY, lambda step: log.check(frame, "lti-" + step))
    assert last == "10-certificate", f"the keyboard walk stopped at {last}, before the certificate"
    assert "lti-09-details-error" in log.screens and "lti-10-certificate" in log.screens
    CERTIFIED.append("learner-ada")
    # The link the keyboard reached downloads the certificate itself
    pdf = frame.locator(".cec-links a[download]").first
    assert frame.evaluate("el => el === document.activeElement", pdf.element_handle())
    response = ctx.request.get(urljoin(frame.url, pdf.get_attribute("href")))
    assert response.ok and response.body().startswith(b"%PDF"), (response.status, response.headers)
    board = ctx.new_page()
    board.goto(urljoin(frame.url, frame.locator(".cec-links a[target=_blank]").get_attribute("href")))
    assert "Kim Keyboard" in board.inner_text("main")
    log.check(board, "lti-verify")
    log.assert_clean()
    assert errors == []
    ctx.close()


def _submit(target, button) -> None:
    """Press a form's submit button and wait for the page it brings (the tool's forms post, no script)."""
    with target.expect_navigation():
        button.click()
    target.wait_for_selector("main h1")


def _instructor_walk(target, check) -> None:
    """The instructor's screens of a link with a certified learner: the report with its grade passback,
    an accommodation refused then saved, a grade sent again, and the records page. `check(step)` on each."""
    target.wait_for_selector("#report tr[data-status=certificate][data-passback] button", timeout=30000)
    check("instructor")
    # The accommodation form: a bad value (errors tied to the fields), then a granted accommodation.
    form = target.locator("#accommodations form[novalidate]")
    target.locator("#acc-learner").select_option(index=1)
    target.locator("#acc-extra_attempts").fill("99")
    _submit(target, form.locator("button[type=submit]"))
    assert target.locator("#acc-extra_attempts[aria-invalid=true]").count() == 1
    check("instructor-accommodation-error")
    target.locator("#acc-extra_attempts").fill("1")
    _submit(target, form.locator("button[type=submit]"))
    assert target.locator("#accommodation-table tr[data-user]").count() >= 1
    check("instructor-accommodation")
    _submit(target, target.locator("#report tr[data-status=certificate] button").first)
    assert target.locator("main .ok[role=status]").count() == 1
    check("instructor-grade-resent")
    _submit(target, target.locator("a[href*='/records']"))
    target.wait_for_selector("svg[role=img]")
    check("instructor-records")


def test_the_lti_instructor_screen_has_no_axe_violations(demo, browser, certified):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    frame = _launch(page, demo, "instructor-iris", "Launch as instructor", NO_WAIT)
    log = AxeLog()
    _instructor_walk(frame, lambda step: log.check(frame, "lti-" + step))
    assert len(log.screens) == 5
    log.assert_clean()
    ctx.close()


@pytest.mark.parametrize("size", REFLOW_SIZES, ids=REFLOW_IDS)
def test_the_lti_instructor_screens_reflow_with_no_axe_violations(demo, browser, certified, size):
    """The tool in the whole window at 320px and 200% zoom: the report, accommodations, passback and
    records never scroll the page sideways; their wide tables and charts scroll in named regions."""
    walk = ReflowWalk(browser, size, "lti/instructor")
    lti_window(walk.page, demo, "instructor-iris", "instructor", certified)
    _instructor_walk(walk.page, walk.check)
    walk.finish(screens=5)


@pytest.mark.parametrize(
    "size", [("desktop", DESKTOP, 1, DESKTOP["width"]), REFLOW_SIZES[0]], ids=["desktop", REFLOW_IDS[0]]
)
def test_an_arabic_records_page_is_right_to_left_in_its_tables_and_charts(demo, browser, certified, size):
    """The records page of an instructor launched with the locale claim "ar": the page is dir="rtl",
    every table cell's text sits against the cell's right edge (text-align: start, not left), and each
    chart is mirrored (its labels right of its axis, bars growing to the left), every text whole
    inside the chart; axe and the reflow checks pass. Screenshots in lti/instructor-ar/<size>/."""
    walk = ReflowWalk(browser, size, "lti/instructor-ar")
    page = walk.page
    lti_window(page, demo, "instructor-iris", "instructor", certified, locale="ar")
    page.wait_for_selector("#report", timeout=30000)
    _submit(page, page.locator("a[href*='/records']"))
    page.wait_for_selector("svg[role=img]")
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ar"
    walk.check("records")
    assert_right_to_left(page, "main", min_cells=21, min_charts=4)
    walk.finish(screens=1)


def _deep_link_walk(target, check, new_id: str) -> None:
    """The Deep Linking picker: the library, a malformed OLX import, an invalid activity, a good import."""
    target.wait_for_selector("input[name=activity]", timeout=30000)
    check("deeplink")
    paste = target.locator("#olx-paste")
    import_button = target.get_by_role("button", name="Validate and import")
    paste.fill("<ce_credit id='broken'><title>Not closed")
    _submit(target, import_button)
    assert target.locator("#problems[role=alert]").count() == 1
    assert paste.get_attribute("aria-invalid") == "true" and paste.get_attribute("aria-describedby") == "problems"
    check("deeplink-malformed-olx")
    paste.fill(olx.dumps(ACTIVITY.replace(id=new_id)).replace('duration_minutes="180"', 'duration_minutes="-5"'))
    _submit(target, import_button)
    assert "duration_minutes" in target.inner_text("#problems")
    check("deeplink-invalid-activity")
    paste.fill(olx.dumps(ACTIVITY.replace(id=new_id, title=f"Imported {new_id}")))
    _submit(target, import_button)
    assert target.locator("main .ok[role=status]").count() == 1 and paste.get_attribute("aria-invalid") is None
    assert target.locator(f"#a-{new_id}").is_checked()
    check("deeplink-imported")


def test_the_lti_deep_linking_picker_and_its_errors_have_no_axe_violations(demo, browser):
    """The screen the demo LMS's Deep link button opens, at desktop width; then the chosen activity
    goes back to the course."""
    from lti_tool.demo_lms import lms_of

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    frame = _launch(page, demo, "instructor-iris", "Deep link")
    log = AxeLog()
    _deep_link_walk(frame, lambda step: log.check(frame, "lti-" + step), "imported-desktop")
    assert len(log.screens) == 4
    log.assert_clean()
    with frame.expect_navigation(url=demo.lms_server.url + "/**"):
        frame.get_by_role("button", name="Add to course").click()
    links = lms_of(demo.lms_app).state.links.values()
    assert any(x.custom.get("ce_activity") == "imported-desktop" for x in links)
    assert errors == []
    ctx.close()


@pytest.mark.parametrize("size", REFLOW_SIZES, ids=REFLOW_IDS)
def test_the_lti_deep_linking_picker_reflows_with_no_axe_violations(demo, browser, size):
    walk = ReflowWalk(browser, size, "lti/deeplink")
    lti_window(walk.page, demo, "instructor-iris", "deeplink")
    _deep_link_walk(walk.page, walk.check, f"imported-{size[0]}")
    walk.finish(screens=4)


def test_the_lti_learner_flow_reflows_in_a_narrow_frame(demo, browser):
    """A phone-sized LMS page: the tool's document never scrolls sideways inside its frame, and each
    screen, to the wait for the activity's minimum time, has no axe violations at that width."""
    ctx = browser.new_context(viewport={"width": 320, "height": 640})
    page = ctx.new_page()
    frame = _launch(page, demo, "learner-ben", "Launch as learner")
    frame.wait_for_selector(".cec-step-info", timeout=30000)
    log = AxeLog()
    last = keyboard_flow(InFrame(page, frame), ACTIVITY, lambda step: log.check_reflow(frame, "lti-narrow-" + step))
    assert last == "10-certificate-wait"
    assert frame.evaluate("window.innerWidth") < 320
    log.assert_clean()
    ctx.close()
