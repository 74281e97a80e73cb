"""Screenshots of every learner screen in English, French and Arabic, at desktop and phone widths.

Written to test-artifacts/screenshots/xblock/<lang>/<width>/<step>.png by the keyboard-only flow.
The language comes from the browser (Accept-Language -> the workbench's LocaleMiddleware -> the
block's i18n service), as an LMS learner's language preference does. Arabic must lay out right to left.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from a11yhelpers import DESKTOP, PHONE, SCREENSHOTS, isolate_block, keyboard_flow, lti_window, scenario_url

from ce_xblock.core import olx

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
TELEHEALTH = olx.load(ROOT / "examples" / "telehealth-ethics.xml")
START_EN = "Start the post-test"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_screens_are_captured_in_each_language_and_arabic_mirrors(wb, browser, lang, size):
    if lang != "en" and not (ROOT / "static" / "js" / "translations" / lang / "text.js").exists():
        pytest.skip(f"no {lang} catalogue yet (the i18n work ships static/js/translations/{lang}/text.js)")
    out = SCREENSHOTS / "xblock" / lang / str(size["width"])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    ctx = browser.new_context(viewport=size, locale=lang)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(scenario_url(page, wb, "no minimum time") + f"?student=shots-{lang}-{size['width']}")
    block = page.locator(".cec-xblock").first
    block.wait_for()
    assert block.get_attribute("lang").startswith(lang)
    assert block.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    start = page.locator(".cec-step-info .cec-actions button.cec-primary").inner_text()
    assert (start == START_EN) == (lang == "en"), f"the start button reads {start!r} in {lang}"

    def shoot(step: str) -> None:
        isolate_block(page)
        block.screenshot(path=str(out / f"{step}.png"))
        if lang == "ar":
            # Mirrored: the heading starts at the right edge, and the progress list runs right to left
            geometry = page.evaluate(
                """() => { const b = document.querySelector('.cec-root').getBoundingClientRect();
                const h = document.querySelector('.cec-step-heading').getBoundingClientRect();
                const steps = [...document.querySelectorAll('.cec-progress-step')].map(li => li.getBoundingClientRect().left);
                return {gapRight: b.right - h.right, gapLeft: h.left - b.left, steps}; }"""
            )
            assert geometry["gapRight"] <= geometry["gapLeft"], f"{step}: the heading is not on the right: {geometry}"
            assert geometry["steps"][0] >= geometry["steps"][-1], f"{step}: the steps do not run right to left"

    keyboard_flow(page, TELEHEALTH, shoot)
    verify_url = page.locator(".cec-links a[target=_blank]").get_attribute("href")
    board = ctx.new_page()
    board.goto(verify_url)
    board.screenshot(path=str(out / "11-verify.png"), full_page=True)
    assert len(list(out.glob("*.png"))) == 11
    assert errors == []
    ctx.close()


# --- the LTI tool: the same screens, launched from the demo LMS into its cross-site iframe ---------


@pytest.fixture(scope="module")
def lti_demo(tmp_path_factory):
    """`ce-credit demo` on free ports; its telehealth activity has no minimum time, so the walk
    reaches the certificate (the XBlock's "no minimum time" scenario does the same)."""
    from a11yhelpers import need_browser

    need_browser()
    start_demo = pytest.importorskip("lti_tool.demo").start_demo
    examples = tmp_path_factory.mktemp("lti-shots-examples")
    (examples / "telehealth-ethics.xml").write_text(olx.dumps(TELEHEALTH.replace(min_minutes=0)), encoding="utf-8")
    d = start_demo(port=0, instance=tmp_path_factory.mktemp("lti-shots"), examples_dir=examples)
    yield d
    d.stop()


def _lti_window(page, demo, link_id: str, locale: str) -> None:
    """The tool launched as a learner in the whole window, with the launch's `locale` claim."""
    lti_window(page, demo, "learner-ada", "learner", link_id, locale)
    page.wait_for_selector(".cec-step-info", timeout=30000)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_lti_screens_are_captured_in_each_language_and_arabic_mirrors(lti_demo, browser, lang, size):
    """test-artifacts/screenshots/lti/<lang>/<width>/<step>.png: the tool's whole page, the language
    from the launch's locale claim (the browser stays English)."""
    from lti_tool.demo_lms import lms_of

    out = SCREENSHOTS / "lti" / lang / str(size["width"])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    link = lms_of(lti_demo.lms_app).state.add_link(
        title=f"Screenshots {lang} {size['width']}", custom={"ce_activity": TELEHEALTH.id}
    )
    ctx = browser.new_context(viewport=size, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _lti_window(page, lti_demo, link.id, lang)
    html = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
    assert html == [lang, "rtl" if lang == "ar" else "ltr"]
    start = page.locator(".cec-step-info .cec-actions button.cec-primary").inner_text()
    assert (start == START_EN) == (lang == "en"), f"the start button reads {start!r} in {lang}"
    overflow: dict[str, int] = {}

    def shoot(step: str) -> None:
        page.screenshot(path=str(out / f"{step}.png"), full_page=True)
        wide = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if wide > 0:
            overflow[step] = wide
        if lang == "ar":
            geometry = page.evaluate(
                """() => { const b = document.getElementById('ce-credit-root').getBoundingClientRect();
                const h = document.querySelector('.cec-step-heading').getBoundingClientRect();
                const steps = [...document.querySelectorAll('.cec-progress-step')].map(li => li.getBoundingClientRect().left);
                return {gapRight: b.right - h.right, gapLeft: h.left - b.left, steps}; }"""
            )
            assert geometry["gapRight"] <= geometry["gapLeft"], f"{step}: the heading is not on the right: {geometry}"
            assert geometry["steps"][0] >= geometry["steps"][-1], f"{step}: the steps do not run right to left"

    keyboard_flow(page, TELEHEALTH, shoot)
    verify_url = page.locator(".cec-links a[target=_blank]").get_attribute("href")
    board = ctx.new_page()
    board.goto(verify_url if verify_url.startswith("http") else lti_demo.tool_server.url + verify_url)
    board.screenshot(path=str(out / "11-verify.png"), full_page=True)
    assert len(list(out.glob("*.png"))) == 11
    assert not overflow, f"the tool's page scrolls sideways (px too wide): {overflow}"
    assert errors == []
    ctx.close()
