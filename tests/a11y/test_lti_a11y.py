"""Accessibility of the LTI tool launched from the demo LMS: axe-core inside the iframe, keyboard only.

The demo (`lti_tool.demo.start_demo`, what `ce-credit demo` runs) starts the tool and the demo LMS;
the learner and instructor launch the tool into the LMS's cross-site iframe. axe runs on the tool's
own document inside the frame: the LMS page around it is the LMS's business.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from a11yhelpers import AxeLog, keyboard_flow, need_browser

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
TELEHEALTH = "telehealth-ethics"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    need_browser()
    start_demo = pytest.importorskip("lti_tool.demo").start_demo
    d = start_demo(port=0, instance=tmp_path_factory.mktemp("lti-demo"), tool_config={"OUTBOX_INTERVAL": 0.2})
    yield d
    d.stop()


class InFrame:
    """The tool's frame for reading and waiting, the page's keyboard for typing: what keyboard_flow needs."""

    def __init__(self, page, frame):
        self.page, self.frame, self.keyboard = page, frame, page.keyboard

    def __getattr__(self, name):
        return getattr(self.frame, name)


def _launch(page, demo, user: str, button: str):
    from lti_tool.demo_lms import lms_of

    lms = lms_of(demo.lms_app)
    link = next(x for x in lms.state.links.values() if x.custom.get("ce_activity") == TELEHEALTH)
    page.goto(demo.lms_server.url + "/")
    page.get_by_label("Who are you?").select_option(user)
    page.get_by_label("Course activity").select_option(link.id)
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
    from ce_xblock.core import olx

    activity = olx.load(ROOT / "examples" / f"{TELEHEALTH}.xml")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    frame = _launch(page, demo, "learner-ada", "Launch as learner")
    frame.wait_for_selector(".cec-step-info", timeout=30000)
    log = AxeLog()
    keyboard_flow(InFrame(page, frame), activity, lambda step: log.check(frame, "lti-" + step))
    verify = frame.locator(".cec-links a[target=_blank]")
    if verify.count():
        board = ctx.new_page()
        board.goto(verify.get_attribute("href"))
        log.check(board, "lti-verify")
    log.assert_clean()
    assert errors == []
    ctx.close()


def test_the_lti_instructor_screen_has_no_axe_violations(demo, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    frame = _launch(page, demo, "instructor-iris", "Launch as instructor")
    frame.wait_for_selector("main, h1", timeout=30000)
    log = AxeLog()
    log.check(frame, "lti-instructor")
    # The accommodation form: a bad value (errors tied to the fields), then a granted accommodation.
    frame.locator("#acc-learner").select_option(index=1)
    frame.locator("#acc-extra_attempts").fill("99")
    frame.locator("#accommodations button[type=submit]").first.click()
    frame.wait_for_selector("#acc-extra_attempts-error", timeout=30000)
    log.check(frame, "lti-instructor-accommodation-error")
    frame.locator("#acc-extra_attempts").fill("1")
    frame.locator("#accommodations button[type=submit]").first.click()
    frame.wait_for_selector("#accommodation-table tr[data-user]", timeout=30000)
    log.check(frame, "lti-instructor-accommodation")
    log.assert_clean()
    ctx.close()


def test_the_lti_learner_flow_reflows_in_a_narrow_frame(demo, browser):
    """A phone-sized LMS page: the tool's document never scrolls sideways inside its frame."""
    from ce_xblock.core import olx

    activity = olx.load(ROOT / "examples" / f"{TELEHEALTH}.xml")
    ctx = browser.new_context(viewport={"width": 320, "height": 640})
    page = ctx.new_page()
    frame = _launch(page, demo, "learner-ben", "Launch as learner")
    frame.wait_for_selector(".cec-step-info", timeout=30000)
    widths: dict[str, tuple[int, int]] = {}

    def check(step: str) -> None:
        widths[step] = tuple(frame.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]"))

    keyboard_flow(InFrame(page, frame), activity, check)
    assert widths and all(w[1] > 0 for w in widths.values())
    too_wide = {k: w for k, w in widths.items() if w[0] > w[1]}
    assert not too_wide, f"the tool scrolls sideways in its frame (scrollWidth, frame width): {too_wide}"
    ctx.close()
