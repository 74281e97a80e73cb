"""Shared pieces of the accessibility tests: axe-core injection, the workbench with languages, a keyboard-only flow.

The workbench, chromium and its arguments come from tests/xblock/test_browser.py; this module adds
what the accessibility tests need on top.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "xblock"))
sys.path.insert(0, str(HERE))

from test_browser import CHROMIUM, CHROMIUM_ARGS, run_workbench  # noqa: E402 - after the path is set

AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "run_workbench"]


def need_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("workbench")
    pytest.importorskip("playwright")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci --prefix tests/a11y` (scripts/setup.sh does it)")


@contextlib.contextmanager
def a11y_workbench(home: Path):
    """The workbench with LocaleMiddleware and LMS-like staff users (tests/a11y/workbench_settings.py)."""
    import os

    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
    with run_workbench(home, settings="workbench_settings", extra_env={"PYTHONPATH": path}) as base:
        yield base


def axe_violations(target, include: str | None = None) -> list[dict]:
    """Inject axe-core into a page or frame and return its violations at the WCAG 2.x A/AA tags."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    context = {"include": [include]} if include else None
    return target.evaluate(
        "async ([context, options]) => (await axe.run(context || document, options)).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,"
        " nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary, html: n.html.slice(0, 200)}))}))",
        [context, options],
    )


def describe(screen: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        for n in v["nodes"]:
            lines.append(
                f"[{screen}] {v['id']} ({v['impact']}): {v['help']}\n    target: {json.dumps(n['target'])}\n"
                f"    html: {n['html']}\n    {n['summary']}".rstrip()
            )
    return "\n".join(lines)


def assert_no_violations(target, screen: str, include: str | None = None) -> None:
    """Zero axe violations, else every violation's id, impact, target and help in the failure."""
    violations = axe_violations(target, include)
    assert not violations, f"axe found {len(violations)} violation(s) on {screen}:\n" + describe(screen, violations)


class AxeLog:
    """Collects violations over a walk through several screens, so one run reports every screen."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.screens: list[str] = []

    def check(self, target, screen: str, include: str | None = None) -> None:
        self.screens.append(screen)
        violations = axe_violations(target, include)
        if violations:
            self.problems.append(describe(screen, violations))

    def assert_clean(self) -> None:
        assert self.screens, "no screen was checked"
        assert not self.problems, "axe violations:\n" + "\n".join(self.problems)


def isolate_block(page) -> None:
    """Hide the workbench's own page around the block (its banner, the scenario XML), keep the block.

    The workbench is not what learners see; the LMS page around a block is the LMS's business.
    """
    page.evaluate(
        """() => { let el = document.querySelector('.cec-xblock');
        while (el && el.parentElement) {
            for (const sib of el.parentElement.children)
                if (sib !== el && sib.tagName !== 'SCRIPT') sib.style.display = 'none';
            el = el.parentElement;
        } }"""
    )


def scenario_url(page, base: str, link_text: str) -> str:
    page.goto(base + "/")
    href = page.get_by_role("link", name=link_text).first.get_attribute("href")
    return base + href.split("?")[0]


# ---- keyboard only ---------------------------------------------------------------------------------


def tab_to(page, selector: str, limit: int = 300, backwards: bool = False) -> None:
    """Tab (or Shift+Tab) until the focused element matches the CSS selector."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached an element matching {selector}")


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def focus_is_visible(page) -> bool:
    """The focused element draws an outline (or box-shadow) of at least 2px: WCAG 2.4.7."""
    return page.evaluate(
        """() => { const el = document.activeElement; if (!el || el === document.body) return false;
        const cs = getComputedStyle(el);
        const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
        return outline || (cs.boxShadow && cs.boxShadow !== 'none'); }"""
    )


def choose_with_keys(page, activity, right: bool) -> None:
    """Answer every question on the post-test with Tab, Space and the arrow keys."""
    for fs in page.locator("fieldset.cec-question").all():
        fid = fs.get_attribute("id")
        q = activity.question(fid.rsplit("-", 1)[-1])
        values = [i.get_attribute("value") for i in fs.locator("input").all()]
        wanted = sorted(q.correct_ids) if right else [next(c.id for c in q.choices if not c.correct)]
        if q.type == "single":
            tab_to(page, f"#{fid} input[type=radio]")
            # Tab lands on the first radio of an empty group; arrows move and select within it.
            page.keyboard.press("Space")
            for _ in range(values.index(wanted[0])):
                page.keyboard.press("ArrowDown")
        else:
            for v in values:
                tab_to(page, f"#{fid} input[type=checkbox][value='{v}']")
                if v in wanted:
                    page.keyboard.press("Space")


def replace_text(page, value: str) -> None:
    """Clear the focused text field with End and Backspace, then type: keys only."""
    page.keyboard.press("End")
    length = page.evaluate("document.activeElement.value.length")
    for _ in range(length):
        page.keyboard.press("Backspace")
    page.keyboard.type(value)


def keyboard_flow(page, activity, check: Callable[[str], None]) -> None:
    """The whole learner flow with the keyboard alone: fail, retake, pass, evaluate, attest, details, certificate.

    `check(step)` runs on every screen (axe, overflow, screenshots). No mouse, no element.click().
    Language-neutral: controls are found by role and position, never by their English text.
    """
    page.wait_for_selector(".cec-step-info")
    check("01-information")
    tab_to(page, ".cec-step-info .cec-actions button.cec-primary")
    assert focus_is_visible(page), "no visible focus on the start button"
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-posttest")
    assert focused(page, ".cec-step-heading"), "focus did not move to the post-test heading"

    # Submitting with nothing chosen: focus goes to the first error, tied to its question
    tab_to(page, ".cec-step-posttest button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[aria-invalid='true']")
    assert focused(page, "[aria-invalid='true']"), "focus did not move to the first invalid field"
    first = page.locator("fieldset.cec-question").first
    assert page.evaluate("el => el.contains(document.activeElement)", first.element_handle())
    check("02-posttest-errors")

    choose_with_keys(page, activity, right=False)
    # Shift+Tab back to the first question and forward again: the order is the reading order
    tab_to(page, "fieldset.cec-question:first-of-type input", backwards=True)
    tab_to(page, ".cec-step-posttest button[type=submit]")
    check("03-posttest")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-result")
    assert focused(page, ".cec-step-heading"), "focus did not move to the result heading"
    check("04-result-failed")

    tab_to(page, ".cec-step-result .cec-actions button.cec-primary")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-posttest")
    choose_with_keys(page, activity, right=True)
    tab_to(page, ".cec-step-posttest button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-result .cec-pass")
    assert focused(page, ".cec-step-heading")
    check("05-result-passed")
    tab_to(page, ".cec-step-result .cec-actions button.cec-primary")
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-evaluation")
    tab_to(page, ".cec-step-evaluation button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-evaluation [aria-invalid='true']")
    assert focused(page, "[aria-invalid='true']"), "focus did not move to the first unanswered item"
    check("06-evaluation-errors")
    for fs in page.locator(".cec-step-evaluation fieldset.cec-question").all():
        fid = fs.get_attribute("id")
        if fs.locator("input[type=radio]").count():
            tab_to(page, f"#{fid} input[type=radio]")
            page.keyboard.press("Space")
            for _ in range(3):  # Strongly disagree -> Agree
                page.keyboard.press("ArrowDown")
    check("07-evaluation")
    tab_to(page, ".cec-step-evaluation button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-attestation")
    check("08-attestation")
    tab_to(page, ".cec-step-attestation input[type=checkbox]")
    page.keyboard.press("Space")
    tab_to(page, ".cec-step-attestation button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-details")
    for name, value in [
        ("legal_name", "Kim Keyboard"),
        ("license_number", "PSY-77"),
        ("license_state", "T1"),
        ("profession", "Psychologist"),
    ]:
        tab_to(page, f".cec-step-details input[name={name}]")
        replace_text(page, value)
    tab_to(page, ".cec-step-details button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-step-details [aria-invalid='true']")
    assert focused(page, "input[name=license_state][aria-invalid='true']"), "focus did not move to the bad field"
    check("09-details-error")
    replace_text(page, "ON")
    tab_to(page, ".cec-step-details button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector(".cec-step-certificate")
    if page.locator(".cec-step-certificate button.cec-primary:disabled").count():
        # The activity's minimum time has not passed (the LTI demo keeps it): the wait is the last screen.
        assert page.locator(".cec-step-certificate .cec-timer").count() == 1
        check("10-certificate-wait")
        return
    tab_to(page, ".cec-step-certificate button.cec-primary")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cec-links")
    assert "Kim Keyboard" in page.inner_text(".cec-step-certificate")
    check("10-certificate")
    tab_to(page, ".cec-links a")
    assert focus_is_visible(page), "no visible focus on the certificate link"
