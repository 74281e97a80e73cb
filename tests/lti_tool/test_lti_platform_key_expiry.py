"""Platform keys parsed from a JWKS expire: a key the platform withdraws stops being trusted.

The test platform (tests/lti_tool/conftest.py) serves a real RSA key's JWKS over HTTP and can
rotate it, withdrawing the old key. The tool's key cache runs on an injectable clock.
"""

from __future__ import annotations

import html

import pytest

from lti_tool.app import tool_of
from lti_tool.lti.adapter import JWKS_TTL, JWKS_TTL_MAX, JWKS_TTL_MIN, jwks_lifetime

INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


@pytest.fixture
def clock(app, manual_clock):
    tool_of(app).adapter.clock = manual_clock
    return manual_clock


def launch_with(lti, platform, key, kid):
    state, nonce, _ = lti.login()
    return lti.launch(platform.sign(platform.claims(nonce, **INSTRUCTOR), key=key, kid=kid), state)


def assert_refused_as_withdrawn(resp, kid):
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 401, page
    assert "Error code: <code>signature</code>" in page, page
    assert kid in page and "not in the platform's key set" in page, page


def test_a_withdrawn_key_is_refused_once_the_default_lifetime_has_passed(lti, platform, clock):
    old_key, old_kid = platform.key, platform.kid
    assert launch_with(lti, platform, old_key, old_kid).status_code == 200
    assert platform.jwks_requests == 1
    _, withdrawn = platform.rotate()  # the old key leaves the platform's JWKS
    assert withdrawn == old_kid and platform.kid != old_kid
    clock.advance(JWKS_TTL - 1)
    # Within the lifetime the cached key is still used, without asking the platform.
    assert launch_with(lti, platform, old_key, old_kid).status_code == 200
    assert platform.jwks_requests == 1
    clock.advance(2)
    assert_refused_as_withdrawn(launch_with(lti, platform, old_key, old_kid), old_kid)
    # The expired key set was re-read once; the kid is not in the fresh copy, so no second fetch.
    assert platform.jwks_requests == 2
    # The still-published key is accepted, from the key set just fetched.
    assert launch_with(lti, platform, platform.key, platform.kid).status_code == 200
    assert platform.jwks_requests == 2


def test_the_jwks_max_age_sets_the_lifetime(lti, platform, clock):
    platform.jwks_headers = {"Cache-Control": "public, max-age=60"}
    old_key, old_kid = platform.key, platform.kid
    assert launch_with(lti, platform, old_key, old_kid).status_code == 200
    platform.rotate()
    clock.advance(59)
    assert launch_with(lti, platform, old_key, old_kid).status_code == 200
    clock.advance(2)
    assert_refused_as_withdrawn(launch_with(lti, platform, old_key, old_kid), old_kid)
    assert launch_with(lti, platform, platform.key, platform.kid).status_code == 200


def test_a_huge_max_age_is_bounded(lti, platform, clock):
    platform.jwks_headers = {"Cache-Control": "max-age=31536000"}
    old_key, old_kid = platform.key, platform.kid
    assert launch_with(lti, platform, old_key, old_kid).status_code == 200
    platform.rotate()
    clock.advance(JWKS_TTL_MAX + 1)
    assert_refused_as_withdrawn(launch_with(lti, platform, old_key, old_kid), old_kid)


def test_an_unknown_kid_still_forces_one_refetch_of_a_cached_key_set(lti, platform, clock):
    assert launch_with(lti, platform, platform.key, platform.kid).status_code == 200
    platform.rotate()  # new kid, tool's copy of the JWKS is still fresh
    assert launch_with(lti, platform, platform.key, platform.kid).status_code == 200
    assert platform.jwks_requests == 2


@pytest.mark.parametrize(
    ("header", "lifetime"),
    [
        (None, JWKS_TTL),
        ("", JWKS_TTL),
        ("public", JWKS_TTL),
        ("max-age=120", 120),
        ("public, MAX-AGE=600, must-revalidate", 600),
        ('max-age="90"', 90),
        ("max-age=1", JWKS_TTL_MIN),
        ("max-age=0", JWKS_TTL_MIN),
        ("no-store", JWKS_TTL_MIN),
        ("no-cache, max-age=600", JWKS_TTL_MIN),
        ("max-age=99999999", JWKS_TTL_MAX),
        ("max-age=soon", JWKS_TTL),
    ],
)
def test_jwks_lifetime_reads_cache_control(header, lifetime):
    assert jwks_lifetime(header) == lifetime
