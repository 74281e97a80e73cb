"""Suite-wide rules: under CI (CI=true) a skipped test is a failure; the file caches the tests'
tools made in the memory filesystem are removed at the end.

Locally a test may skip when a server or a Debian package is missing. CI must run everything,
so there a skip means a missing install step or a server that did not answer, and it fails the
run with the skip's reason instead of hiding it.
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ci_may_skip(reason): this test may skip even in CI, for the reason given")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not IN_CI or not report.skipped or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("ci_may_skip") is not None:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"Skipped under CI, where every test must run: {reason}"


def _memory_caches() -> set[str]:
    """The LTI tool's file-cache folders of this user in /dev/shm (lti_tool.cache.file_cache_dir)."""
    return set(glob.glob(f"/dev/shm/ce-credit-{os.geteuid()}-*"))


@pytest.fixture(scope="session", autouse=True)
def _remove_memory_caches():
    """Every test tool has an instance folder of its own, so a cache folder of its own in memory:
    those made during the run (in this process or in the servers it starts) go when it ends."""
    before = _memory_caches()
    yield
    for path in _memory_caches() - before:
        shutil.rmtree(path, ignore_errors=True)
