"""The post-test countdown in a real browser: the xblock-sdk workbench on localhost, Debian's chromium.

The author sets a 6-minute limit in the Studio editor; the learner starts the post-test under
Playwright's fake clock (page.clock), so the six minutes pass in a moment: the countdown is shown,
the polite live region speaks at 5 minutes, at 1 minute and at time up (never once a second), and
at zero the answers given are submitted by themselves and scored. The server runs on the real
clock, so that submit arrives well within the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, run_workbench

from ce_xblock.core import olx

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 6  # minutes

# Every change of the live region's text, with the page's (fake) clock.
RECORD_LIVE = """() => {
    window.__live = [];
    const live = document.querySelector(".cec-live");
    new MutationObserver(() => {
        const text = live.textContent.trim();
        if (text) { window.__live.push({text: text, at: Date.now()}); }
    }).observe(live, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("workbench")
    pytest.importorskip("playwright")
    with run_workbench(tmp_path_factory.mktemp("workbench-timed")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def set_time_limit(page, workbench: str, minutes: int) -> str:
    """The author sets the limit in the Studio editor; returns the scenario's learner URL."""
    page.goto(workbench + "/")
    href = page.get_by_role("link", name="no minimum time").first.get_attribute("href")
    page.goto(workbench + href.rstrip("/") + "/studio_view/")
    page.wait_for_selector(".cecs-tabs")
    page.get_by_role("tab", name="Post-test").click()
    page.get_by_label("Time limit per attempt (minutes; empty: untimed)").fill(str(minutes))
    with page.expect_response(lambda r: "studio_save" in r.url) as resp:
        page.locator(".cec-studio-save").click()
    assert resp.value.status == 200, resp.value.text()
    assert f'time_limit_minutes="{minutes}"' in resp.value.json()["olx"]
    return workbench + href


def live_texts(page) -> list[str]:
    return [e["text"] for e in page.evaluate("() => window.__live")]


def test_the_countdown_speaks_politely_and_submits_the_answers_at_zero(workbench, browser):
    activity = olx.load(ROOT / "examples" / "telehealth-ethics.xml")
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = set_time_limit(page, workbench, LIMIT)

    page.clock.install(time=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    page.goto(url + "?student=timed-learner")
    page.wait_for_selector(".cec-step-info")
    note = page.locator(".cec-time-note")
    assert "You will have 6 minutes for each attempt" in note.inner_text()
    start = page.get_by_role("button", name="Start the post-test")
    assert note.get_attribute("id") in start.get_attribute("aria-describedby")
    page.evaluate(RECORD_LIVE)
    # The page's clock stands still from here: the countdown starts at the paused instant, so its
    # once-a-second ticks fall on whole seconds of run_for below.
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000 + 1, UTC))
    start.click()
    page.wait_for_selector(".cec-step-posttest")

    # The visible clock (twice: above and beside the submit button) is hidden from screen readers;
    # they get a sentence in whole minutes, which is not a live region. The live region is polite.
    timers = page.locator(".cec-time-left")
    assert timers.count() == 2
    assert timers.first.inner_text() == "Time left: 6:00"
    assert timers.first.get_attribute("aria-hidden") == "true" and timers.first.is_visible()
    spoken = page.locator(".cec-time-box .cec-sr")
    assert spoken.inner_text() == "Time left: 6 minutes"
    assert spoken.evaluate("el => el.closest('[aria-live]') === null")
    live = page.locator(".cec-live")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    page.locator(".cec-xblock").first.screenshot(path=str(_artifact("30-timed-posttest.png")))

    # Answer all but the last question (right answers), then let the time pass.
    fieldsets = page.locator("fieldset.cec-question")
    n = fieldsets.count()
    assert n == 10
    for i in range(n - 1):
        fs = fieldsets.nth(i)
        q = activity.question(fs.get_attribute("id").rsplit("-", 1)[-1])
        for cid in sorted(q.correct_ids):
            fs.locator(f"input[value='{cid}']").check()

    # Each step ends 100 ms after a tick: announcements are set 50 ms after the live region is cleared.
    page.clock.run_for(60_100)  # 5:00 left
    assert timers.first.inner_text() == "Time left: 5:00"
    assert live_texts(page) == ["5 minutes left. Submit your answers before the time runs out."]
    page.clock.run_for(3 * 60_000 + 50_000)  # 1:10 left: the clock ticked 230 times and said nothing
    assert timers.first.inner_text() == "Time left: 1:10"
    assert spoken.inner_text() == "Time left: 2 minutes"
    assert len(live_texts(page)) == 1
    page.clock.run_for(10_000)  # 1:00 left
    assert live_texts(page)[1:] == ["1 minute left. Submit your answers before the time runs out."]
    assert "cec-time-low" in (timers.first.get_attribute("class") or "")

    with page.expect_request(lambda r: "/api/" in r.url and r.method == "POST") as sent:
        page.clock.run_for(60_000)  # time is up
    payload = sent.value.post_data_json["payload"]
    assert payload["time_up"] is True and payload["attempt"] == 1
    assert len(payload["responses"]) == 10 and sum(1 for v in payload["responses"].values() if not v) == 1
    page.wait_for_selector(".cec-step-result")
    page.clock.run_for(1_000)  # the result sentence is announced after a short delay
    texts = live_texts(page)
    assert texts[2] == "Time is up. Your answers are being submitted."
    assert texts[3:] == ["You scored 90% on attempt 1. You passed."]
    assert len(texts) == 4  # over six minutes: four announcements in all
    score = page.inner_text(".cec-score")
    assert "Passed" in score and "9 of 10 points" in score
    page.locator(".cec-xblock").first.screenshot(path=str(_artifact("31-timed-result.png")))
    assert errors == []
    ctx.close()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
