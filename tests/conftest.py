"""Suite-wide rules: under CI (CI=true) a skipped test is a failure; the tools the tests make
keep their memory file caches in a folder of the run's own.

Locally a test may skip when a server or a Debian package is missing. CI must run everything,
so there a skip means a missing install step or a server that did not answer, and it fails the
run with the skip's reason instead of hiding it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

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


# The LTI tools the tests make keep their file caches in memory (lti_tool.cache.file_cache_dir),
# one folder per instance. They go in a folder of this run's own, which the servers the tests
# start inherit through the environment and which goes when the run ends: two runs on one
# machine (a local run beside CI's) never remove each other's.
if os.path.isdir("/dev/shm") and not os.environ.get("CE_CREDIT_MEMORY_FS"):
    os.environ["CE_CREDIT_MEMORY_FS"] = tempfile.mkdtemp(prefix="ce-credit-tests-", dir="/dev/shm")
    atexit.register(shutil.rmtree, os.environ["CE_CREDIT_MEMORY_FS"], ignore_errors=True)
