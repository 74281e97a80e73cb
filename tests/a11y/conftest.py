"""Fixtures of the accessibility tests: the workbench with languages and staff users, and chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import a11yhelpers  # noqa: E402 - puts tests/xblock on the path too
from test_browser import browser  # noqa: E402, F401 - the chromium fixture of the XBlock browser tests


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    """Base URL of a workbench whose language follows the browser's locale."""
    a11yhelpers.need_browser()
    with a11yhelpers.a11y_workbench(tmp_path_factory.mktemp("a11y-workbench")) as base:
        yield base
