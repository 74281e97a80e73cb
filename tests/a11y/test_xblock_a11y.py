"""Accessibility of the XBlock in the workbench: axe-core on every screen, keyboard only, 320px, 200% zoom.

axe runs on the block (`.cec-xblock`, `.cec-studio`), not the workbench's own page around it, at
the WCAG 2.0/2.1 A and AA and 2.2 AA tags; our full pages (verification) are checked whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from a11yhelpers import (
    DESKTOP,
    REFLOW_IDS,
    REFLOW_SIZES,
    SCREENSHOTS,
    AxeLog,
    ReflowWalk,
    assert_no_violations,
    assert_right_to_left,
    focus_is_visible,
    focused,
    isolate_block,
    keyboard_flow,
    reflow_problems,
    scenario_url,
    tab_to,
)

from ce_xblock.core import olx

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
TELEHEALTH = olx.load(ROOT / "examples" / "telehealth-ethics.xml")
TRAUMA = olx.load(ROOT / "examples" / "trauma-informed-care.xml")
DEMO = "no minimum time"
BLOCK = ".cec-xblock"
ISSUED: list[str] = []  # verification URLs of certificates issued by earlier tests in this module


def _no_page_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_every_learner_screen_has_no_axe_violations_and_the_flow_works_by_keyboard_alone(wb, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = _no_page_errors(page)
    url = scenario_url(page, wb, DEMO)
    page.goto(url + "?student=axe-learner")
    log = AxeLog()
    assert keyboard_flow(page, TELEHEALTH, lambda step: log.check(page, step, BLOCK)) == "10-certificate"

    # The public verification page (a whole page of ours) and its look-up form
    verify_url = page.locator(".cec-links a[target=_blank]").get_attribute("href")
    ISSUED.append(verify_url)
    board = ctx.new_page()
    board.goto(verify_url)
    assert "Valid" in board.inner_text("main")
    log.check(board, "11-verify")
    board.goto(verify_url.split("/verify/")[0] + "/verify/")
    board.wait_for_selector("#cec-verify-id")
    log.check(board, "12-verify-lookup")
    log.assert_clean()
    assert errors == []
    ctx.close()


def test_the_studio_editor_and_its_errors_have_no_axe_violations(wb, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(scenario_url(page, wb, "CE Credit: Trauma-Informed Care") + "studio_view/")
    page.wait_for_selector(".cecs-tabs")
    log = AxeLog()
    log.check(page, "studio-activity", ".cec-studio")
    page.get_by_role("tab", name="Post-test").click()
    log.check(page, "studio-posttest", ".cec-studio")
    page.get_by_label("Pass mark (percent)").fill("seventy")
    page.locator(".cec-studio-save").click()
    page.wait_for_selector(".cecs-summary")
    log.check(page, "studio-error", ".cec-studio")
    page.get_by_role("tab", name="OLX").click()
    log.check(page, "studio-olx", ".cec-studio")
    log.assert_clean()
    ctx.close()


def test_staff_give_an_accommodation_and_the_learner_sees_it(wb, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = ctx.new_page()
    errors = _no_page_errors(staff)
    url = scenario_url(staff, wb, "CE Credit: Trauma-Informed Care")
    staff.goto(url + "?student=staff-ana")
    staff.wait_for_selector(".cec-staff")
    assert_no_violations(staff, "staff-summary", BLOCK)
    form = staff.locator(".cec-accommodation-form")
    # An empty learner is refused beside the field, with focus on it
    form.get_by_role("button").press("Enter")
    assert focused(staff, "input[name=learner][aria-invalid='true']")
    assert_no_violations(staff, "staff-accommodation-error", BLOCK)
    form.get_by_label("Username or anonymous user id").fill("acc-learner")
    form.get_by_label("Extra attempts").fill("1")
    form.get_by_label("Extra minutes").fill("30")
    form.get_by_role("button").press("Enter")
    staff.wait_for_selector(".cec-accommodation-table tr[data-key='anon-acc-learner']")
    assert focused(staff, ".cec-accommodation-message")
    assert "acc-learner" in staff.inner_text(".cec-accommodation-message")
    assert_no_violations(staff, "staff-accommodation-saved", BLOCK)
    shots = SCREENSHOTS / "xblock" / "staff"
    shots.mkdir(parents=True, exist_ok=True)
    staff.locator(".cec-staff").screenshot(path=str(shots / "accommodation-saved.png"))

    learner = ctx.new_page()
    learner.goto(url + "?student=acc-learner")
    learner.wait_for_selector(".cec-step-info")
    note = learner.locator(".cec-accommodation").inner_text()
    assert re.search(r"Accommodation:\s*\+1 attempt, \+30 minutes", note), note
    assert "4" in learner.locator(".cec-fact", has_text="Attempts allowed").inner_text()  # 3 + 1
    assert_no_violations(learner, "learner-with-accommodation", BLOCK)
    learner.locator(".cec-header").screenshot(path=str(shots / "learner-accommodation-note.png"))
    assert errors == []
    ctx.close()


def test_the_wait_timer_speaks_at_most_once_a_minute_and_pass_fail_is_not_colour_alone(wb, browser):
    """Trauma-informed care: 60 minutes between attempts and the answers shown once passed."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.clock.install()
    url = scenario_url(page, wb, "CE Credit: Trauma-Informed Care")
    page.goto(url + "?student=timer-learner")
    page.wait_for_selector(".cec-step-info")
    assert page.locator(f"{BLOCK} [aria-live], {BLOCK} [role=status], {BLOCK} [role=alert]").count() == 1
    page.get_by_role("button", name="Start the post-test").click()
    page.wait_for_selector(".cec-step-posttest")
    for fs in page.locator("fieldset.cec-question").all():
        q = TRAUMA.question(fs.get_attribute("id").rsplit("-", 1)[-1])
        fs.locator(f"input[value='{next(c.id for c in q.choices if not c.correct)}']").check()
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".cec-step-result .cec-timer")
    page.evaluate(
        """() => { window.__live = []; window.__timer = [];
        const live = document.querySelector('.cec-live');
        new MutationObserver(() => window.__live.push([Date.now(), live.textContent]))
            .observe(live, {childList: true, characterData: true, subtree: true});
        const t = document.querySelector('.cec-timer');
        new MutationObserver(() => window.__timer.push(t.textContent))
            .observe(t, {childList: true, characterData: true, subtree: true}); }"""
    )
    page.clock.run_for("05:00")
    live = page.evaluate("window.__live.filter(([t, s]) => s !== '')")
    ticks = page.evaluate("window.__timer.length")
    assert ticks >= 250, "the visible countdown should tick every second"
    assert len(live) <= 5, f"the live region changed {len(live)} times in 5 minutes: {live}"
    assert page.locator(f"{BLOCK} [aria-live], {BLOCK} [role=status]").count() == 1
    # Failed: the verdict is a word in a badge, not a colour
    assert "Not passed" in page.inner_text(".cec-score .cec-badge")
    assert_no_violations(page, "result-failed-with-timer", BLOCK)

    # An hour later (in the page's clock) the next attempt may start; the live region says so once
    page.clock.run_for("56:00")
    assert page.get_by_role("button", name="Start attempt 2").is_enabled()
    live = page.evaluate("window.__live.filter(([t, s]) => s !== '').map(([t, s]) => s)")
    # The end of the wait was announced once, and last (the result sentence may come before it)
    assert live[-1] == "You can now start the next attempt." and live.count(live[-1]) == 1, live
    assert set(live[:-1]) <= {"You scored 0% on attempt 1. You did not pass; the pass mark is 75%."}, live
    ctx.close()


def test_pass_and_fail_and_right_and_wrong_answers_are_told_in_words_not_colour(wb, browser):
    """Trauma-informed care shows the answers once passed: pass with one wrong answer."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(scenario_url(page, wb, "CE Credit: Trauma-Informed Care") + "?student=review-learner")
    page.get_by_role("button", name="Start the post-test").click()
    page.wait_for_selector(".cec-step-posttest")
    fieldsets = page.locator("fieldset.cec-question").all()
    for i, fs in enumerate(fieldsets):
        q = TRAUMA.question(fs.get_attribute("id").rsplit("-", 1)[-1])
        picks = sorted(q.correct_ids) if i else [next(c.id for c in q.choices if not c.correct)]
        for pick in picks:
            fs.locator(f"input[value='{pick}']").check()
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".cec-step-result .cec-pass")
    assert "Passed" in page.inner_text(".cec-score .cec-badge")
    verdicts = page.locator(".cec-verdict").all_inner_texts()
    assert verdicts.count("Incorrect") == 1 and verdicts.count("Correct") == len(fieldsets) - 1, verdicts
    marked = page.locator(".cec-review-choices li.cec-correct, .cec-review-choices li.cec-selected").all()
    assert len(marked) >= len(fieldsets) + 1  # the wrong pick and its right answer are both marked
    for li in marked:
        assert re.search(r"\((Your answer|Correct answer)", li.inner_text()), li.inner_text()
    # The live region read the result once, in words
    assert "You passed." in page.inner_text(".cec-live")
    assert_no_violations(page, "result-passed-key-shown", BLOCK)
    ctx.close()


def _overflow(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


@pytest.mark.parametrize(("name", "viewport", "scale", "limit"), REFLOW_SIZES, ids=REFLOW_IDS)
def test_the_keyboard_flow_reflows_without_sideways_scrolling(wb, browser, name, viewport, scale, limit):
    ctx = browser.new_context(viewport=viewport, device_scale_factor=scale)
    page = ctx.new_page()
    errors = _no_page_errors(page)
    url = scenario_url(page, wb, DEMO)
    page.goto(url + f"?student=reflow-{name}")
    widths: dict[str, int] = {}

    def check(step: str) -> None:
        # The workbench's own page dumps the scenario XML below the block; measure with it hidden.
        isolate_block(page)
        widths[step] = _overflow(page)
        block = page.locator(BLOCK).first
        assert block.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), f"{step}: the block scrolls sideways"

    keyboard_flow(page, TELEHEALTH, check)
    too_wide = {k: v for k, v in widths.items() if v > limit}
    assert not too_wide, f"pages wider than {limit}px at {name}: {too_wide}"
    assert errors == []
    ctx.close()


def test_focus_indicators_are_visible_on_every_kind_of_control(wb, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(scenario_url(page, wb, DEMO) + "?student=focus-learner")
    page.wait_for_selector(".cec-step-info")
    tab_to(page, ".cec-info summary, details.cec-info > summary, .cec-step-info .cec-actions button")
    assert focus_is_visible(page)
    tab_to(page, ".cec-step-info .cec-actions button.cec-primary")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-posttest")
    for selector in ("input[type=radio], input[type=checkbox]", "button[type=submit]"):
        tab_to(page, f".cec-step-posttest {selector}")
        assert focus_is_visible(page), selector
    tab_to(page, "details.cec-info > summary", backwards=True)
    assert focus_is_visible(page)
    ctx.close()


def test_the_axe_check_catches_a_broken_page(browser):
    """The helper is not a check that cannot fail: a page with known faults gives their rule ids."""
    from a11yhelpers import axe_violations, need_browser

    need_browser()
    page = browser.new_page()
    page.set_content(
        "<html lang='en'><body><main><input type='text'>"
        "<p style='color:#aaa;background:#fff'>faint text</p><button></button></main></body></html>"
    )
    ids = {v["id"] for v in axe_violations(page)}
    assert {"label", "color-contrast", "button-name"} <= ids, ids
    with pytest.raises(AssertionError, match=r"color-contrast \(serious\)"):
        assert_no_violations(page, "broken")
    page.close()


def test_the_verification_page_reflows_at_320px(browser):
    if not ISSUED:
        pytest.skip("needs the certificate issued by the first test of this module")
    ctx = browser.new_context(viewport={"width": 320, "height": 640})
    page = ctx.new_page()
    page.goto(ISSUED[0])
    width = page.evaluate("document.scrollingElement.scrollWidth")
    ctx.close()
    assert width <= 320, f"the verification page is {width}px wide at 320px"


def _with_a_certificate(page, wb) -> str:
    """The no-minimum-time scenario's URL, once a learner has a certificate there (something to chart)."""
    url = scenario_url(page, wb, DEMO)
    if not ISSUED:  # run alone: a learner takes the post-test first
        page.goto(url + "?student=chart-learner")
        keyboard_flow(page, TELEHEALTH, lambda step: None)
        ISSUED.append(page.locator(".cec-links a[target=_blank]").get_attribute("href"))
    return url


def test_the_staff_report_charts_have_no_axe_violations(wb, browser):
    """The staff summary's SVG charts (item statistics, distractors, evaluation means) under axe."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = _no_page_errors(page)
    url = _with_a_certificate(page, wb)
    page.goto(url + "?student=staff-charts")
    page.wait_for_selector(".cec-staff")
    charts = page.locator(".cec-staff svg[role=img]")
    assert charts.count() >= 3, page.inner_text(".cec-staff")[:500]
    for i in range(charts.count()):  # every chart is named for screen readers
        assert charts.nth(i).locator(":scope > title").text_content().strip()
    assert_no_violations(page, "staff-charts", BLOCK)
    shots = SCREENSHOTS / "xblock" / "staff"
    shots.mkdir(parents=True, exist_ok=True)
    page.locator(".cec-staff").screenshot(path=str(shots / "charts.png"))
    assert errors == []
    ctx.close()


@pytest.mark.parametrize("size", REFLOW_SIZES, ids=REFLOW_IDS)
def test_the_studio_editor_and_its_errors_reflow_with_no_axe_violations(wb, browser, size):
    walk = ReflowWalk(browser, size, "xblock/studio", ".cec-studio")
    page = walk.page
    page.goto(scenario_url(page, wb, "CE Credit: Trauma-Informed Care") + "studio_view/")
    page.wait_for_selector(".cecs-tabs")
    walk.check("studio-activity")
    page.get_by_role("tab", name="Post-test").click()
    page.get_by_label("Pass mark (percent)").fill("seventy")
    page.locator(".cec-studio-save").click()
    page.wait_for_selector(".cecs-summary")
    assert page.get_by_label("Pass mark (percent)").get_attribute("aria-invalid") == "true"
    walk.check("studio-error")
    page.get_by_role("tab", name="OLX").click()
    walk.check("studio-olx")
    walk.finish(screens=3)


@pytest.mark.parametrize("size", REFLOW_SIZES, ids=REFLOW_IDS)
def test_the_staff_report_reflows_with_no_axe_violations(wb, browser, size):
    """The staff summary with its charts, data tables, exports and forms, at 320px and 200% zoom:
    the page never scrolls sideways; wide charts and tables scroll in their own named region."""
    walk = ReflowWalk(browser, size, "xblock/staff", BLOCK, shot=".cec-staff")
    page, name = walk.page, size[0]
    url = _with_a_certificate(page, wb)
    page.goto(url + f"?student=staff-reflow-{name}")
    page.wait_for_selector(".cec-staff svg[role=img]")
    walk.check("staff-report")
    form = page.locator(".cec-accommodation-form")
    form.get_by_role("button").press("Enter")  # no learner: the error beside the field
    assert focused(page, "input[name=learner][aria-invalid='true']")
    walk.check("staff-accommodation-error")
    form.get_by_label("Username or anonymous user id").fill(f"reflow-{name}")
    form.get_by_role("button").press("Enter")
    page.wait_for_selector(f".cec-accommodation-table tr[data-key='anon-reflow-{name}']")
    walk.check("staff-accommodation-saved")
    # Every chart and wide table is in a region that scrolls on its own, reached by Tab
    assert page.locator(".cec-staff [role=region][tabindex='0']").count() >= 4
    assert page.locator(".cec-staff .ce-chart").count() == page.locator(".cec-staff [role=region] .ce-chart").count()
    walk.finish(screens=3)


@pytest.mark.parametrize(
    "size", [("desktop", DESKTOP, 1, DESKTOP["width"]), REFLOW_SIZES[0]], ids=["desktop", REFLOW_IDS[0]]
)
def test_an_arabic_staff_report_is_right_to_left_in_its_tables_and_charts(wb, browser, size):
    """The staff summary for a member of staff whose browser asks for Arabic: the block is
    dir="rtl" and in Arabic, every table cell's text sits against the cell's right edge, each chart
    is mirrored, and axe and the reflow checks pass. Screenshots in xblock/staff-ar/<size>/."""
    walk = ReflowWalk(browser, size, "xblock/staff-ar", BLOCK, shot=".cec-staff", locale="ar")
    page, name = walk.page, size[0]
    url = _with_a_certificate(page, wb)
    page.goto(url + f"?student=staff-ar-{name}")
    page.wait_for_selector(".cec-staff svg[role=img]")
    block = page.locator(BLOCK).first
    assert block.get_attribute("dir") == "rtl" and block.get_attribute("lang").startswith("ar")
    assert re.search("[\u0600-\u06ff]", page.inner_text(".cec-staff"))  # in Arabic, not English
    walk.check("staff-report")
    assert_right_to_left(page, ".cec-staff", min_cells=10, min_charts=3)
    walk.finish(screens=1)


def test_the_reflow_check_catches_a_page_that_does_not_reflow(browser):
    """reflow_problems is not a check that cannot fail: each fault it knows is reported, a fixed page is clean."""
    from a11yhelpers import need_browser

    need_browser()
    page = browser.new_page(viewport={"width": 320, "height": 640})
    chart = (
        "<svg viewBox='0 0 640 100' width='640' height='100' style='max-width:100%;height:auto'>"
        "<title>Scores</title><text x='0' y='20' font-size='12'>q01</text></svg>"
    )
    clipped = (
        "<svg viewBox='0 0 200 60' width='200' height='60'><title>Clipped</title>"
        "<line class='ce-chart-axis' x1='100' y1='0' x2='100' y2='60' stroke='#000'/>"
        "<text x='-30' y='20' font-size='12'>cut at the left</text>"
        "<text class='ce-chart-label' x='80' y='45' font-size='12'>over the axis</text></svg>"
    )
    head = "<th>Certificate</th><th>Replacement</th><th>Reason</th><th>Status</th><th>Granted</th>"
    page.set_content(
        "<html lang='en'><body style='margin:0'><main>"
        f"<div id='squeezed' style='overflow-wrap:anywhere'><table><tr>{head}</tr></table></div>"
        f"<div id='unnamed' style='overflow-x:auto'><table style='white-space:nowrap'><tr>{head}</tr></table></div>"
        f"{chart}{clipped}<p style='width:400px'>wide</p></main></body></html>"
    )
    problems = "\n".join(reflow_problems(page))
    assert 'the chart "Clipped" draws "cut at the left" outside its box (x -30 to' in problems, problems
    assert 'the chart "Clipped" draws the label "over the axis" across its axis' in problems
    assert "the page scrolls sideways: 400px wide" in problems
    assert "div#unnamed scrolls sideways but is not a focusable region" in problems
    assert re.search(r'the word "\w+" is split over \d lines', problems), problems
    assert 'the chart "Scores" draws its text' in problems
    page.set_content(
        "<html lang='en'><body style='margin:0'><main><h1 id='h'>Scores</h1>"
        f"<div role='region' tabindex='0' aria-labelledby='h' style='overflow-x:auto'><table><tr>{head}</tr></table>"
        f"{chart.replace('max-width:100%', 'max-width:none')}</div></main></body></html>"
    )
    assert reflow_problems(page) == []
    page.close()
