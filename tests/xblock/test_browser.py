"""The learner flow in a real browser: the xblock-sdk workbench on localhost, Debian's chromium via Playwright.

Starts `django-admin runserver --settings=workbench.settings` in a temporary directory (its
settings write var/workbench.db there), then clicks through from the information panel to the
certificate download: a failed attempt, a retake, the evaluation, the attestation, the learner
details and the certificate. Screenshots go to test-artifacts/xblock/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ce_xblock.core import olx

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "xblock"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def run_workbench(home: Path, settings: str = "workbench.settings", extra_env: dict | None = None):
    """Runs the workbench in `home` with a Django settings module; yields its base URL.

    tests/a11y reuses this with settings that add LocaleMiddleware and a staff user service.
    """
    (home / "var").mkdir(exist_ok=True)
    django_admin = shutil.which("django-admin", path=str(Path(sys.executable).parent)) or "django-admin"
    env = dict(os.environ, EXCLUDE_SAMPLE_XBLOCKS="yes", PYTHONUNBUFFERED="1", **(extra_env or {}))
    subprocess.run(
        [django_admin, "migrate", "--run-syncdb", f"--settings={settings}", "-v", "0"],
        cwd=home,
        env=env,
        check=True,
        timeout=300,
    )
    port = _free_port()
    log = open(home / "runserver.log", "wb")  # noqa: SIM115 - closed in the teardown below
    proc = subprocess.Popen(
        [django_admin, "runserver", f"127.0.0.1:{port}", "--noreload", f"--settings={settings}"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((home / "runserver.log").read_text()) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("The workbench did not start: " + (home / "runserver.log").read_text()[-2000:])
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("workbench")
    pytest.importorskip("playwright")
    with run_workbench(tmp_path_factory.mktemp("workbench")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    """The block only: the workbench page below it dumps the whole scenario XML."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".cec-xblock").first.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def answer_form(page, activity, right: bool) -> int:
    """Tick the right (or a wrong) answer in every question on the page; return how many questions."""
    fieldsets = page.locator("fieldset.cec-question")
    n = fieldsets.count()
    for i in range(n):
        fs = fieldsets.nth(i)
        qid = fs.get_attribute("id").rsplit("-", 1)[-1]
        q = activity.question(qid)
        wanted = sorted(q.correct_ids) if right else [next(c.id for c in q.choices if not c.correct)]
        for cid in wanted:
            fs.locator(f"input[value='{cid}']").check()
    return n


def test_learner_clicks_through_to_the_certificate_download(workbench, browser, tmp_path):
    activity = olx.load(ROOT / "examples" / "telehealth-ethics.xml")
    index = urllib.request.urlopen(workbench + "/").read().decode()
    assert "no minimum time" in index
    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(workbench + "/")
    page.get_by_role("link", name="no minimum time").first.click()
    url = page.url.split("?")[0]
    page.goto(url + "?student=browser-learner")
    page.wait_for_selector(".cec-step-info")

    # The information panel, then the post-test
    assert page.get_by_role("heading", name="Learning objectives").is_visible()
    assert "ACE provider" in page.inner_text(".cec-credits")
    shot(page, "01-information")
    page.get_by_role("button", name="Start the post-test").click()
    page.wait_for_selector(".cec-step-posttest")
    assert "Attempt 1" in page.inner_text(".cec-step-heading")

    # Submitting with nothing ticked: the errors are tied to each question, focus moves to the first
    page.get_by_role("button", name="Submit answers").click()
    first_invalid = page.locator("[aria-invalid='true']").first
    assert first_invalid.evaluate("el => el === document.activeElement")
    assert page.locator(".cec-error").count() == 10
    shot(page, "02-posttest-errors")

    # A failed attempt, then a retake
    assert answer_form(page, activity, right=False) == 10
    shot(page, "03-posttest-answered")
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".cec-step-result")
    assert "Not passed" in page.inner_text(".cec-score")
    shot(page, "04-result-failed")
    page.get_by_role("button", name="Start attempt 2").click()
    page.wait_for_selector(".cec-step-posttest")
    answer_form(page, activity, right=True)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".cec-step-result .cec-pass")
    assert page.locator(".cec-step-heading").evaluate("el => el === document.activeElement")
    shot(page, "05-result-passed")
    page.get_by_role("button", name="Continue").click()

    # Evaluation
    page.wait_for_selector(".cec-step-evaluation")
    for fs in page.locator("fieldset.cec-question").all():
        if fs.locator("input[type=radio]").count():
            fs.get_by_label("Agree", exact=True).check()
    shot(page, "06-evaluation")
    page.get_by_role("button", name="Submit evaluation").click()

    # Attestation
    page.wait_for_selector(".cec-step-attestation")
    page.get_by_role("button", name="Confirm").click()  # unticked: refused with an error on the box
    assert page.get_by_label("I confirm the statement above.").get_attribute("aria-invalid") == "true"
    page.get_by_label("I confirm the statement above.").check()
    shot(page, "07-attestation")
    page.get_by_role("button", name="Confirm").click()

    # Learner details: the name is prefilled from the user service; the server checks the state code
    page.wait_for_selector(".cec-step-details")
    name = page.get_by_label("Legal name (as it appears on your licence)")
    assert name.input_value().startswith("XBlock User")
    name.fill("Dana Q. Learner")
    page.get_by_label("Licence number").fill("LPC-12345")
    page.get_by_label("Licence state or province (two letters, e.g. TX)").fill("T1")
    page.get_by_label("Profession (e.g. Psychologist, LCSW, LPC)").fill("Licensed Professional Counselor")
    page.get_by_role("button", name="Confirm my details").click()
    state_field = page.get_by_label("Licence state or province (two letters, e.g. TX)")
    page.wait_for_selector("[aria-invalid='true']")
    assert "two-letter" in page.inner_text(".cec-step-details")
    assert state_field.get_attribute("aria-invalid") == "true"
    shot(page, "08-details-error")
    state_field.fill("TX")
    page.get_by_role("button", name="Confirm my details").click()

    # The certificate
    page.wait_for_selector(".cec-step-certificate")
    page.get_by_role("button", name="Get my certificate").click()
    page.wait_for_selector(".cec-links")
    text = page.inner_text(".cec-step-certificate")
    assert "Dana Q. Learner" in text and "CE-" in text
    shot(page, "09-certificate")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download the certificate (PDF)").click()
    pdf = tmp_path / "certificate.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 5000

    # The verification link works without the learner's session
    verify_url = page.get_by_role("link", name="Open the verification page (opens in a new tab)").get_attribute("href")
    board = browser.new_context(viewport={"width": 800, "height": 700}).new_page()
    board.goto(verify_url)
    assert "Valid" in board.inner_text("main") and "Dana Q. Learner" in board.inner_text("main")
    board.screenshot(path=str(ARTIFACTS / "10-verify.png"), full_page=True)

    # Coming back later: the learner lands on the certificate
    page.reload()
    page.wait_for_selector(".cec-step-certificate .cec-links")

    # At phone width nothing overflows sideways
    phone = ctx.new_page()
    phone.set_viewport_size({"width": 320, "height": 640})
    phone.goto(url + "?student=phone-learner")
    phone.wait_for_selector(".cec-step-info")
    overflow = phone.evaluate("document.querySelector('.cec').scrollWidth - document.querySelector('.cec').clientWidth")
    assert overflow <= 1
    phone.get_by_role("button", name="Start the post-test").click()
    phone.wait_for_selector(".cec-step-posttest")
    shot(phone, "11-phone-posttest")
    assert errors == []
    ctx.close()


def test_author_edits_in_the_studio_view_with_errors_beside_the_field(workbench, browser):
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(workbench + "/")
    href = page.get_by_role("link", name="CE Credit: Trauma-Informed Care").first.get_attribute("href")
    page.goto(workbench + href.rstrip("/") + "/studio_view/")
    page.wait_for_selector(".cecs-tabs")
    page.get_by_role("tab", name="Post-test").click()
    assert page.get_by_role("tab", name="Post-test").get_attribute("aria-selected") == "true"
    pass_mark = page.get_by_label("Pass mark (percent)")
    pass_mark.fill("seventy")
    page.locator(".cec-studio-save").click()
    page.wait_for_selector(".cecs-summary")
    assert page.locator(".cecs-summary").evaluate("el => el === document.activeElement")
    assert "seventy" in page.inner_text(".cecs-summary")
    pass_mark = page.get_by_label("Pass mark (percent)")
    assert pass_mark.get_attribute("aria-invalid") == "true"
    assert "(1 to fix)" in page.get_by_role("tab", name="Post-test").inner_text()
    page.locator(".cec-studio").screenshot(path=str(ARTIFACTS / "20-studio-error.png"))
    pass_mark.fill("80")
    page.get_by_role("tab", name="Activity").click()
    page.get_by_label("Title (display name, printed on the certificate)").fill("Trauma-Informed Care (revised)")
    with page.expect_response(lambda r: "studio_save" in r.url) as resp:
        page.locator(".cec-studio-save").click()
    assert resp.value.status == 200
    page.wait_for_selector(".cecs-summary", state="detached")
    page.get_by_role("tab", name="OLX").click()
    olx_text = page.get_by_role("textbox", name="OLX").input_value()
    assert 'pass_mark="80"' in olx_text and "Trauma-Informed Care (revised)" in olx_text
    page.locator(".cec-studio").screenshot(path=str(ARTIFACTS / "21-studio-olx.png"))
    assert errors == []
    ctx.close()


def _tab_to(page, js_predicate: str, limit: int = 400) -> None:
    """Press Tab until the focused element satisfies `js_predicate` (a JS function of the element)."""
    for _ in range(limit):
        if page.evaluate(f"({js_predicate})(document.activeElement)"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached an element matching {js_predicate}")


def _button(text: str) -> str:
    return f"el => el && (el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim() === {text!r}"


def test_the_whole_flow_works_with_the_keyboard_alone(workbench, browser, tmp_path):
    activity = olx.load(ROOT / "examples" / "telehealth-ethics.xml")
    ctx = browser.new_context(viewport={"width": 1000, "height": 800}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(workbench + "/")
    href = page.get_by_role("link", name="no minimum time").first.get_attribute("href")
    page.goto(workbench + href + "?student=keyboard-learner")
    page.wait_for_selector(".cec-step-info")
    _tab_to(page, _button("Start the post-test"))
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-posttest")
    assert page.evaluate("document.activeElement.classList.contains('cec-step-heading')")

    for fs in page.locator("fieldset.cec-question").all():
        fid = fs.get_attribute("id")
        q = activity.question(fid.rsplit("-", 1)[-1])
        inputs = fs.locator("input")
        values = [inputs.nth(i).get_attribute("value") for i in range(inputs.count())]
        if q.type == "single":
            _tab_to(page, f"el => el && el.type === 'radio' && el.closest('fieldset').id === {fid!r}")
            page.keyboard.press("Space")
            for _ in range(values.index(next(iter(q.correct_ids)))):
                page.keyboard.press("ArrowDown")
        else:
            for v in values:
                _tab_to(
                    page,
                    f"el => el && el.type === 'checkbox' && el.value === {v!r} && el.closest('fieldset').id === {fid!r}",
                )
                if v in q.correct_ids:
                    page.keyboard.press("Space")
    _tab_to(page, _button("Submit answers"))
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-result .cec-pass")
    _tab_to(page, _button("Continue"))
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-evaluation")
    for fs in page.locator("fieldset.cec-question").all():
        fid = fs.get_attribute("id")
        if fs.locator("input[type=radio]").count():
            _tab_to(page, f"el => el && el.type === 'radio' && el.closest('fieldset').id === {fid!r}")
            page.keyboard.press("Space")
            for _ in range(3):  # Strongly disagree -> Agree
                page.keyboard.press("ArrowDown")
    _tab_to(page, _button("Submit evaluation"))
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-attestation")
    _tab_to(page, "el => el && el.type === 'checkbox'")
    page.keyboard.press("Space")
    _tab_to(page, _button("Confirm"))
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-details")
    for name, value in [
        ("legal_name", "Kim Keyboard"),
        ("license_number", "PSY-77"),
        ("license_state", "ON"),
        ("profession", "Psychologist"),
    ]:
        _tab_to(page, f"el => el && el.name === {name!r}")
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    _tab_to(page, _button("Confirm my details"))
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-certificate")
    _tab_to(page, _button("Get my certificate"))
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-links")
    assert "Kim Keyboard" in page.inner_text(".cec-step-certificate")
    _tab_to(page, _button("Download the certificate (PDF)"))
    with page.expect_download() as dl:
        page.keyboard.press("Enter")
    path = tmp_path / "keyboard.pdf"
    dl.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    shot(page, "30-keyboard-certificate")
    ctx.close()


def test_a_broken_stored_activity_opens_on_its_olx_and_the_author_fixes_it_there(browser, tmp_path):
    """An activity the engine no longer accepts (an old export, a hand edit) is fixed in Studio, not a 500."""
    import json
    import sqlite3

    pytest.importorskip("workbench")
    with run_workbench(tmp_path) as base:
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        href = page.get_by_role("link", name="CE Credit: Trauma-Informed Care").first.get_attribute("href")
        db = sqlite3.connect(tmp_path / "var" / "workbench.db")
        rows = db.execute(
            "SELECT id, state FROM workbench_xblockstate WHERE scenario LIKE 'ce-credit-trauma-informed-care%' "
            "AND tag = 'ce_credit' AND scope = 'definition' AND state LIKE '%activity_olx%'"
        ).fetchall()
        assert len(rows) == 1, rows
        state = json.loads(rows[0][1])
        assert 'pass_mark="75"' in state["activity_olx"]
        state["activity_olx"] = state["activity_olx"].replace('pass_mark="75"', 'pass_mark="0"')
        db.execute("UPDATE workbench_xblockstate SET state = ? WHERE id = ?", (json.dumps(state), rows[0][0]))
        db.commit()

        page.goto(base + href)  # the learner page says it is unavailable, without the details
        page.wait_for_selector(".cec-root[role=alert]")
        assert "not available at the moment" in page.inner_text(".cec-root")
        page.goto(base + href.rstrip("/") + "/studio_view/")
        page.wait_for_selector(".cecs-tabs")
        tabs = page.get_by_role("tab")
        assert tabs.count() == 1 and tabs.first.inner_text().startswith("OLX")
        summary = page.inner_text(".cecs-summary")
        line = next(i for i, t in enumerate(state["activity_olx"].splitlines(), 1) if 'pass_mark="0"' in t)
        assert f"OLX line {line}" in summary and "pass mark" in summary.lower()
        area = page.get_by_role("textbox", name="OLX")
        assert area.input_value() == state["activity_olx"]  # the author's activity, not a starter
        area.fill(area.input_value().replace('pass_mark="0"', 'pass_mark="80"'))
        with page.expect_response(lambda r: "studio_save" in r.url) as resp:
            page.locator(".cec-studio-save").click()
        assert resp.value.status == 200
        page.wait_for_selector(".cecs-summary", state="detached")
        assert page.get_by_role("tab").count() == 7  # every form tab is back
        page.get_by_role("tab", name="Post-test").click()
        assert page.get_by_label("Pass mark (percent)").input_value() == "80"
        page.goto(base + href)
        page.wait_for_selector("text=Start the post-test")
        assert errors == []
        db.close()
