"""Fixtures for the certificate tests; the builders live in certhelpers.py (on sys.path for the test modules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from certhelpers import BASE_URL, ISSUED_AT, id_from_seed, key_from_seed, make_activity, make_completion  # noqa: E402

from ce_xblock.core import certificate as cert  # noqa: E402


@pytest.fixture
def key():
    return key_from_seed("provider key")


@pytest.fixture
def activity():
    return make_activity()


@pytest.fixture
def signed(activity, key):
    return cert.issue(
        activity,
        make_completion(),
        certificate_id=id_from_seed("one"),
        issued_at=ISSUED_AT,
        private_key=key,
        verification_base_url=BASE_URL,
    )
