"""Signing-key rotation, publish first and sign later, on SQLite and PostgreSQL, with a fake clock.

A platform that cached the tool's JWKS (max-age 300 s) must never see a tool token signed with a
kid it does not have: after `rotate()` the new key is published at once but the old key signs
until every cached copy has expired; the old key then stays published while its tokens live.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import delete, insert

from lti_tool import create_app, keys
from lti_tool.app import tool_of
from lti_tool.registry import add_platform
from lti_tool.store import ToolKey

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
AFTER_SWITCH = keys.SIGNING_DELAY + 1


@pytest.fixture
def clock(manual_clock):
    return manual_clock


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tool.db'}"
    return request.getfixturevalue("pg_url")  # skips when no PostgreSQL server answers


def _make_app(db_url, tmp_path, name="instance"):
    return create_app(
        {"INSTANCE_PATH": str(tmp_path / name), "DATABASE_URL": db_url, "OUTBOX_THREAD": False, "REDIS_URL": ""}
    )


@pytest.fixture
def app(db_url, tmp_path, platform, clock):
    app = _make_app(db_url, tmp_path)
    tool = tool_of(app)
    # The PostgreSQL database is shared by the session's tests: start from no LTI keys.
    with tool.sessions.begin() as s:
        s.execute(delete(ToolKey).where(ToolKey.purpose == "lti"))
    tool.keyring.clock = clock
    add_platform(app, **platform.registration())
    yield app
    tool.engine.dispose()


def kids(client) -> set[str]:
    return {k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]}


def verify(token: str, client, audience: str) -> dict[str, Any]:
    """Verify a tool token against the tool's published JWKS, as a platform does."""
    kid = jwt.get_unverified_header(token)["kid"]
    found = [k for k in client.get("/lti/jwks").get_json()["keys"] if k["kid"] == kid]
    assert found, f"kid {kid} is not in the tool's JWKS"
    return jwt.decode(token, jwt.PyJWK(found[0]).key, algorithms=["RS256"], audience=audience)


@pytest.fixture
def deep_link(lti, client, platform, examples):
    """Returns a function that runs a deep-linking launch and returns the tool's signed response JWT."""
    imported = []

    def run() -> str:
        state, nonce, _ = lti.login()
        claims = platform.claims(
            nonce,
            **INSTRUCTOR,
            **{
                "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
                "https://purl.imsglobal.org/spec/lti/claim/resource_link": None,
                DL + "deep_linking_settings": {
                    "deep_link_return_url": platform.url + "/dl-return",
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe", "window"],
                },
            },
        )
        resp = lti.launch(platform.sign(claims), state)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        launch_id = re.search(r"/lti/instructor/([A-Za-z0-9_-]+)/", resp.get_data(as_text=True)).group(1)
        base = "https://tool.test"
        if not imported:
            text = (examples / "telehealth-ethics.xml").read_text()
            assert client.post(f"/lti/instructor/{launch_id}/olx", data={"olx": text}, base_url=base).status_code == 200
            imported.append(True)
        resp = client.post(
            f"/lti/instructor/{launch_id}/deeplink", data={"activity": "telehealth-ethics"}, base_url=base
        )
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        return re.search(r'name="JWT" value="([^"]+)"', html.unescape(resp.get_data(as_text=True))).group(1)

    return run


@pytest.fixture
def client_assertion(app, platform):
    """Returns a function that makes the tool ask the platform for an AGS access token; returns its assertion."""
    tool = tool_of(app)

    def run() -> str:
        conn = tool.adapter.connector(tool._find_platform(platform.issuer, platform.client_id))
        conn.drop_cached_token([SCORE])
        signed: list[str] = []
        encode = conn.encode_jwt
        conn.encode_jwt = lambda message, key, headers: signed.append(encode(message, key, headers)) or signed[-1]
        assert conn.get_access_token([SCORE]).startswith("tok-")
        (assertion,) = signed
        assert platform.last_assertion_kid == jwt.get_unverified_header(assertion)["kid"]
        return assertion

    return run


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


# --- the schedule --------------------------------------------------------------------------------


def test_the_jwks_max_age_is_what_the_signing_delay_waits_for(client):
    """If someone raises the JWKS's max-age without raising SIGNING_DELAY, rotations break platforms."""
    header = client.get("/lti/jwks").headers["Cache-Control"]
    max_age = int(re.search(r"max-age=(\d+)", header).group(1))
    assert max_age <= keys.JWKS_MAX_AGE
    assert keys.SIGNING_DELAY >= keys.JWKS_MAX_AGE + keys.ROWS_TTL
    assert keys.RETIRED_KEY_KEPT > 600  # deep-linking responses are valid for 10 minutes


def test_rotate_publishes_at_once_but_the_old_key_signs_until_the_jwks_max_age_has_passed(
    app, client, clock, deep_link, client_assertion, platform
):
    kr = tool_of(app).keyring
    old = kr.current().kid
    assert kids(client) == {old}
    new = kr.rotate().kid
    assert new != old
    assert kids(client) == {old, new}  # published at once
    # A platform that fetched the JWKS a second before the rotation has only the old key: it still signs.
    assert kr.current().kid == old
    assert kid_of(deep_link()) == old
    assert kid_of(client_assertion()) == old
    clock.advance(keys.JWKS_MAX_AGE)  # every cached copy from before the rotation has expired by now...
    assert kid_of(deep_link()) == old  # ...but the margin has not passed yet
    clock.advance(AFTER_SWITCH - keys.JWKS_MAX_AGE)
    assert kr.current().kid == new
    token = deep_link()
    assert kid_of(token) == new
    assert verify(token, client, platform.issuer)[DL + "content_items"]
    assert kid_of(client_assertion()) == new
    assert kids(client) == {old, new}  # the old key stays published for the tokens it signed


def test_a_token_signed_with_the_old_key_still_verifies_after_the_switch(app, client, clock, deep_link, platform):
    kr = tool_of(app).keyring
    old = kr.current().kid
    kr.rotate()
    token = deep_link()  # signed by the old key just before the switch
    assert kid_of(token) == old
    clock.advance(AFTER_SWITCH)
    assert kr.current().kid != old
    assert verify(token, client, platform.issuer)["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )
    # Withdrawn only once its tokens have long expired.
    clock.advance(keys.RETIRED_KEY_KEPT - 2)
    assert old in kids(client)
    clock.advance(keys.ROWS_TTL + 3)
    assert old not in kids(client)


def test_the_first_key_signs_at_once_and_two_quick_rotations_never_withdraw_the_signing_key(app, client, clock):
    kr = tool_of(app).keyring
    a = kr.current().kid  # generated on first use, signing at once: no platform can have cached anything
    b = kr.rotate().kid
    clock.advance(10)
    c = kr.rotate().kid
    assert kids(client) == {a, b, c} and kr.current().kid == a
    clock.advance(keys.SIGNING_DELAY - 10 + 1)
    assert kr.current().kid == b
    clock.advance(10)
    assert kr.current().kid == c
    assert kids(client) == {a, b, c}
    clock.advance(keys.RETIRED_KEY_KEPT + keys.ROWS_TTL)
    assert kids(client) == {c}
    # a rotation marks the keys whose publication has ended as withdrawn
    d = kr.rotate()
    assert set(d.withdrawn) == {a, b}
    assert {k.kid: k.state for k in kr.status()} == {a: "withdrawn", b: "withdrawn", c: "signing", d.kid: "next"}


def test_rotate_immediately_signs_with_the_new_key_at_once_and_withdraws_the_old(
    app, client, deep_link, client_assertion
):
    kr = tool_of(app).keyring
    old = kr.current().kid
    r = kr.rotate(immediately=True)
    assert r.immediately and r.withdrawn == (old,)
    assert kr.current().kid == r.kid
    assert kid_of(deep_link()) == r.kid and kid_of(client_assertion()) == r.kid
    assert kids(client) == {r.kid}


def test_workers_sharing_the_database_switch_together(app, client, db_url, tmp_path, clock, platform):
    """Two apps (two engines, like two gunicorn workers) decide from the rows and the clock alone."""
    other = _make_app(db_url, tmp_path, "other")
    try:
        kr1, kr2 = tool_of(app).keyring, tool_of(other).keyring
        kr2.clock = clock
        old = kr1.current().kid
        assert kr2.current().kid == old  # worker 2 caches the rows before the rotation
        new = kr1.rotate().kid
        assert kr2.current().kid == old
        assert new not in {k["kid"] for k in kr2.jwks()["keys"]}  # worker 2's copy of the rows is still fresh
        clock.advance(keys.ROWS_TTL)
        assert {k["kid"] for k in kr2.jwks()["keys"]} == {old, new}  # published by every worker...
        assert kr1.current().kid == kr2.current().kid == old  # ...long before either signs with it
        clock.advance(keys.SIGNING_DELAY - keys.ROWS_TTL - 1)
        assert kr1.current().kid == kr2.current().kid == old
        clock.advance(2)
        assert kr1.current().kid == kr2.current().kid == new
    finally:
        tool_of(other).engine.dispose()


def test_keys_from_before_signs_from_existed_sign_from_their_creation(app, client, clock):
    tool = tool_of(app)
    made = [keys.new_key(clock() - 7200), keys.new_key(clock() - 60)]
    with tool.sessions.begin() as s:
        for row in made:
            s.execute(
                insert(ToolKey).values(
                    kid=row.kid,
                    purpose="lti",
                    private_pem=row.private_pem,
                    public_jwk=row.public_jwk,
                    current=row is made[1],
                    published=True,
                    created_at=row.created_at,
                    signs_from=None,
                )
            )
    assert tool.keyring.current().kid == made[1].kid
    assert kids(client) == {made[0].kid, made[1].kid}  # replaced a minute ago: still published


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CE_CREDIT_INSTANCE", str(tmp_path / "cli"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return tmp_path / "cli"


def _cli_keyring(instance):
    app = create_app({"INSTANCE_PATH": str(instance), "OUTBOX_THREAD": False})
    return app, tool_of(app).keyring


def test_cli_rotate_says_when_the_new_key_signs(cli_env):
    from ce_xblock.cli import main

    r = CliRunner()
    first = r.invoke(main, ["keys", "list"])
    assert first.exit_code == 0 and first.output.count("signing, published") == 1, first.output
    old = first.output.split()[0]
    out = r.invoke(main, ["keys", "rotate"])
    assert out.exit_code == 0, out.output
    new = re.search(r"New key (\S+), published now; it starts signing at (.+ UTC) \(in (\d+) seconds\)", out.output)
    assert new, out.output
    assert abs(int(new.group(3)) - keys.SIGNING_DELAY) <= 2
    listing = r.invoke(main, ["keys", "list"]).output
    assert f"{old}  " in listing and listing.count("signing, published") == 1
    assert f"published, signs from {new.group(2)}" in listing
    app, kr = _cli_keyring(cli_env)
    try:
        assert kr.current().kid == old
        assert {k["kid"] for k in kr.jwks()["keys"]} == {old, new.group(1)}
    finally:
        tool_of(app).engine.dispose()


def test_cli_rotate_now_switches_at_once_and_warns(cli_env):
    from ce_xblock.cli import main

    r = CliRunner()
    old = r.invoke(main, ["keys", "list"]).output.split()[0]
    out = r.invoke(main, ["keys", "rotate", "--now"])
    assert out.exit_code == 0, out.output
    new = re.search(r"New signing key (\S+), signing now", out.output).group(1)
    assert f"Withdrawn from the JWKS: {old}." in out.output
    assert f"for up to {keys.JWKS_MAX_AGE} seconds" in out.output
    app, kr = _cli_keyring(cli_env)
    try:
        assert kr.current().kid == new
        assert [k["kid"] for k in kr.jwks()["keys"]] == [new]
    finally:
        tool_of(app).engine.dispose()
    listing = r.invoke(main, ["keys", "list"]).output
    assert f"{old}  " in listing and "withdrawn" in listing and f"{new}  " in listing


# --- with the real demo LMS (lti1p3platform) holding a cached JWKS -------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def _forms(text: str) -> list[dict[str, Any]]:
    p = _Forms()
    p.feed(text)
    return p.forms


class CachingToolKeys:
    """The platform's copy of the tool's JWKS, kept for the response's max-age and never fetched early.

    Canvas and Moodle behave so; the demo LMS on its own would fetch again on an unknown kid.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.keyset: dict[str, Any] | None = None
        self.expires = 0.0
        self.fetches = 0

    def get(self, url: str, refresh: bool = False) -> dict[str, Any]:
        if self.keyset is None or self.clock() >= self.expires:
            resp = requests.get(url, timeout=10)
            resp.raise_for_status()
            max_age = int(re.search(r"max-age=(\d+)", resp.headers["Cache-Control"]).group(1))
            self.keyset, self.expires = resp.json(), self.clock() + max_age
            self.fetches += 1
        return self.keyset


def _deep_link_round_trip(session: requests.Session, lms_url: str) -> tuple[str, requests.Response]:
    """Deep link from the demo LMS: returns the tool's response JWT and the LMS's answer to it."""
    from lti_tool.demo_lms import launch_url

    resp = session.get(launch_url(lms_url, "instructor-iris", "deeplink"), timeout=30)
    assert resp.status_code == 200, resp.text[:800]
    (form,) = [f for f in _forms(resp.text) if f["method"] == "post"]
    page = session.post(urljoin(resp.url, form["action"]), data=form["fields"], timeout=30)
    assert page.status_code == 200, page.text[:800]
    (choose,) = [f for f in _forms(page.text) if f["action"].endswith("/deeplink")]
    back = session.post(
        urljoin(page.url, choose["action"]), data={**choose["fields"], "activity": "telehealth-ethics"}, timeout=30
    )
    assert back.status_code == 200, back.text[:800]
    (ret,) = [f for f in _forms(back.text) if f["method"] == "post"]
    done = session.post(urljoin(back.url, ret["action"]), data=ret["fields"], timeout=30)
    return ret["fields"]["JWT"], done


@pytest.mark.slow
def test_demo_lms_with_a_cached_jwks_accepts_deep_links_and_grades_across_a_rotation(tmp_path, clock):
    from lti_tool.demo import start_demo
    from lti_tool.demo_lms import lms_of

    # Plain HTTP on localhost: requests sends no Secure cookies over http.
    demo = start_demo(port=0, instance=tmp_path / "demo", tool_config={"SECURE_COOKIES": False, "OUTBOX_THREAD": False})
    try:
        tool = tool_of(demo.tool_app)
        tool.keyring.clock = clock
        cached = CachingToolKeys(clock)
        lms_of(demo.lms_app).tool_keys = cached
        platform_cfg = tool._find_platform(lms_of(demo.lms_app).issuer, None)

        def grade_token() -> None:
            conn = tool.adapter.connector(platform_cfg)
            conn.drop_cached_token([SCORE])
            assert conn.get_access_token([SCORE])

        with requests.Session() as b:
            old = tool.keyring.current().kid
            token, done = _deep_link_round_trip(b, demo.lms_server.url)  # the platform caches the JWKS
            assert "Deep linking done" in done.text, done.text[:800]
            assert cached.fetches == 1 and kid_of(token) == old

            new = tool.keyring.rotate().kid
            clock.advance(60)  # a minute later, with the platform's copy still fresh
            token, done = _deep_link_round_trip(b, demo.lms_server.url)
            assert "Deep linking done" in done.text, done.text[:800]
            assert kid_of(token) == old and cached.fetches == 1
            grade_token()  # the AGS client assertion is accepted as well

            clock.advance(AFTER_SWITCH - 60)  # the platform's copy has expired: it fetches old and new
            token, done = _deep_link_round_trip(b, demo.lms_server.url)
            assert "Deep linking done" in done.text, done.text[:800]
            assert kid_of(token) == new and cached.fetches == 2
            grade_token()

            # What publish-first avoids: --now signs with a key the platform's copy lacks.
            newest = tool.keyring.rotate(immediately=True).kid
            token, done = _deep_link_round_trip(b, demo.lms_server.url)
            assert kid_of(token) == newest
            assert "Deep linking done" not in done.text and "refused" in done.text, done.text[:800]
            clock.advance(keys.JWKS_MAX_AGE)
            token, done = _deep_link_round_trip(b, demo.lms_server.url)
            assert "Deep linking done" in done.text, done.text[:800]
    finally:
        demo.stop()
