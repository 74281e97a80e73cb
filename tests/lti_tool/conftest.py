"""A test LTI platform for the tool's own tests: a real RSA key, a JWKS on a localhost HTTP server,
OIDC auth redirect handling, forged-or-genuine id_tokens, and small AGS/NRPS/token endpoints.

The end-to-end tests against lti1p3platform live in tests/lti_e2e/; these tests need tokens the
real platform would never send (expired, forged, wrong audience), so they sign their own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.keys import public_jwk

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


class TestPlatform:
    """A platform on 127.0.0.1: JWKS, OAuth2 token endpoint, AGS line items and scores, NRPS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = public_jwk(self.key.public_key())
        self.kid = self.jwk["kid"]
        self.client_id = "client-" + uuid.uuid4().hex[:8]
        self.deployment_id = "dep-1"
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: list[dict[str, Any]] = []  # every score POST that was accepted, in order
        self.results: dict[tuple[str, str], dict[str, Any]] = {}  # the gradebook: one result per (line item, user)
        self.score_delay = 0.0
        self.score_posts_started = 0
        self.members: list[dict[str, Any]] = []
        self.members_status = 200  # what the NRPS endpoint answers; another status fails the roster read
        self.token_requests = 0
        self.token_scopes: list[str] = []
        self.fail_plan: list[int] = []  # statuses to answer score POSTs with, one per request, before succeeding
        self.jwks_requests = 0
        self.jwks_headers: dict[str, str] = {}
        self.lineitems_get_delay = 0.0  # seconds each line-item container GET takes (to widen races)  # extra headers on the JWKS answer, e.g. Cache-Control
        self.auth_claims: dict[str, Any] = {}  # claims the /auth endpoint puts in the id_token
        self.flaky = False  # when set, every other service request fails with 500, 503 or 429
        self._flaky_n = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- registration values

    def registration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_login_url": self.url + "/auth",
            "auth_token_url": self.url + "/token",
            "keyset_url": self.url + "/jwks",
            "deployment_ids": [self.deployment_id],
            "name": "Test platform",
        }

    # --- tokens

    def claims(
        self, nonce: str, *, sub: str = "learner-1", roles: list[str] | None = None, **over: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        c: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Ada Learner",
            "email": "ada@example.org",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": "https://tool.test/lti/launch",
            CLAIM + "resource_link": {"id": "rl-1", "title": "Ethics module"},
            CLAIM + "context": {"id": "course-1", "title": "CE course"},
            CLAIM + "roles": roles
            if roles is not None
            else ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": self.url + "/lineitems",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.url + "/memberships",
                "service_versions": ["2.0"],
            },
        }
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def rotate(self) -> tuple[Any, str]:
        """A new signing key replaces the old one in the JWKS (the old is withdrawn); returns the old key and kid."""
        old = (self.key, self.kid)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = public_jwk(self.key.public_key())
        self.kid = self.jwk["kid"]
        return old

    def sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    # --- HTTP side

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # keep-alive answers must not wait for delayed ACKs

            def log_message(self, *a: Any) -> None:
                pass

            def _json(
                self, status: int, body: Any, ctype: str = "application/json", headers: dict | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n)

            def _authorised(self) -> bool:
                if not (self.headers.get("Authorization") or "").startswith("Bearer tok-"):
                    self._json(401, {"error": "no token"})
                    return False
                return True

            def _flaky(self) -> bool:
                if not platform.flaky:
                    return False
                with platform.lock:
                    platform._flaky_n += 1
                    n = platform._flaky_n
                if n % 2:
                    status = (500, 503, 429)[(n // 2) % 3]
                    self._json(status, {"error": "flaky"}, headers={"Retry-After": "0"} if status == 429 else None)
                    return True
                return False

            def do_GET(self) -> None:
                path = urlparse(self.path).path
                if path != "/jwks" and self._flaky():
                    return None
                if path == "/jwks":
                    platform.jwks_requests += 1
                    return self._json(200, {"keys": [platform.jwk]}, headers=platform.jwks_headers)
                if path == "/auth":
                    # The OIDC authorization endpoint: answer with an auto-posting form, like a real platform.
                    q = parse_qs(urlparse(self.path).query)
                    claims = platform.claims(q["nonce"][0], **platform.auth_claims)
                    token = platform.sign(claims)
                    page = (
                        f'<form id="f" method="post" action="{q["redirect_uri"][0]}">'
                        f'<input type="hidden" name="id_token" value="{token}">'
                        f'<input type="hidden" name="state" value="{q["state"][0]}"></form>'
                        '<script>document.getElementById("f").submit()</script>'
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return None
                if path == "/openid-configuration":
                    return self._json(
                        200,
                        {
                            "issuer": platform.issuer,
                            "authorization_endpoint": platform.url + "/auth",
                            "token_endpoint": platform.url + "/token",
                            "jwks_uri": platform.url + "/jwks",
                            "registration_endpoint": platform.url + "/register",
                            "scopes_supported": ["openid"],
                            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                                "product_family_code": "moodle",
                                "version": "4.3",
                                "messages_supported": [
                                    {"type": "LtiResourceLinkRequest"},
                                    {"type": "LtiDeepLinkingRequest"},
                                ],
                            },
                        },
                    )
                if not self._authorised():
                    return None
                if path == "/lineitems":
                    with platform.lock:
                        items = list(platform.lineitems.values())
                    time.sleep(platform.lineitems_get_delay)
                    return self._json(200, items)
                if path == "/memberships":
                    if platform.members_status != 200:
                        return self._json(platform.members_status, {"error": "roster refused by the test platform"})
                    return self._json(200, {"id": path, "context": {"id": "course-1"}, "members": platform.members})
                return self._json(404, {})

            def do_POST(self) -> None:
                path = urlparse(self.path).path
                body = self._body()
                if self._flaky():
                    return None
                if path == "/register":
                    if self.headers.get("Authorization") != "Bearer reg-token":
                        return self._json(401, {"error": "bad registration token"})
                    platform.registration_request = json.loads(body)
                    return self._json(
                        200,
                        {
                            **platform.registration_request,
                            "client_id": "dyn-client",
                            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                                **platform.registration_request[
                                    "https://purl.imsglobal.org/spec/lti-tool-configuration"
                                ],
                                "deployment_id": "dyn-dep",
                            },
                        },
                    )
                if path == "/token":
                    form = parse_qs(body.decode())
                    assertion = form["client_assertion"][0]
                    header = jwt.get_unverified_header(assertion)
                    with platform.lock:
                        platform.token_requests += 1
                        platform.token_scopes.append(form.get("scope", [""])[0])
                    # Verify the tool's assertion against the tool's JWKS, like a real platform.
                    platform.last_assertion_kid = header.get("kid")
                    return self._json(
                        200, {"access_token": "tok-" + uuid.uuid4().hex, "expires_in": 3600, "token_type": "Bearer"}
                    )
                if not self._authorised():
                    return None
                if path == "/lineitems":
                    item = json.loads(body)
                    item["id"] = f"{platform.url}/lineitems/{len(platform.lineitems) + 1}"
                    platform.lineitems[item["id"]] = item
                    return self._json(201, item)
                if path.startswith("/lineitems/") and path.endswith("/scores"):
                    with platform.lock:
                        platform.score_posts_started += 1
                    if platform.score_delay:
                        time.sleep(platform.score_delay)
                    with platform.lock:
                        if platform.fail_plan:
                            status = platform.fail_plan.pop(0)
                            headers = {"Retry-After": "0"} if status == 429 else {}
                            return self._json(status, {"error": "planned failure"}, headers=headers)
                        score = json.loads(body)
                        score["lineitem"] = path[: -len("/scores")]
                        platform.scores.append(score)
                        key = (score["lineitem"], score["userId"])
                        old = platform.results.get(key)
                        # AGS: a score no newer than the stored one does not change the result.
                        if old is None or old["timestamp"] < score["timestamp"]:
                            platform.results[key] = score
                    return self._json(200, {})
                return self._json(404, {})

        return H


# --- fixtures ----------------------------------------------------------------------------------

import os  # noqa: E402
import re  # noqa: E402
from urllib.parse import parse_qs as _qs  # noqa: E402

import pytest  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.app import tool_of  # noqa: E402
from lti_tool.registry import add_platform  # noqa: E402

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples"
BASE = "https://tool.test"


@pytest.fixture
def platform():
    p = TestPlatform()
    yield p
    p.close()


@pytest.fixture
def app_config(tmp_path):
    return {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tool.db'}",
        "OUTBOX_THREAD": False,
        "REDIS_URL": "",
    }


@pytest.fixture
def app(app_config, platform):
    app = create_app(app_config)
    add_platform(app, **platform.registration())
    yield app
    if tool_of(app).outbox_thread is not None:
        tool_of(app).outbox_thread.stop()
        tool_of(app).outbox_thread.join(5)
    tool_of(app).engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Flow:
    """Drives login and launch through the tool's real endpoints, as a browser and platform would."""

    def __init__(self, client, platform):
        self.client = client
        self.platform = platform

    def login(self, **extra):
        params = {
            "iss": self.platform.issuer,
            "login_hint": "u1",
            "target_link_uri": BASE + "/lti/launch",
            "client_id": self.platform.client_id,
            "lti_message_hint": "m1",
            **extra,
        }
        resp = self.client.get("/lti/login", query_string=params, base_url=BASE)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        q = _qs(urlparse(resp.headers["Location"]).query)
        return q["state"][0], q["nonce"][0], resp

    def launch(self, token, state, **kw):
        return self.client.post("/lti/launch", data={"id_token": token, "state": state}, base_url=BASE, **kw)

    def full_launch(self, **claim_over):
        state, nonce, _ = self.login()
        token = self.platform.sign(self.platform.claims(nonce, **claim_over))
        return self.launch(token, state)


@pytest.fixture
def lti(client, platform):
    return Flow(client, platform)


def launch_id_of(html: str) -> str:
    m = re.search(r'data-launch-id="([^"]+)"', html) or re.search(r"/lti/instructor/([A-Za-z0-9_-]+)/", html)
    assert m, html[:2000]
    return m.group(1)


@pytest.fixture
def launch_id_from():
    return launch_id_of


@pytest.fixture
def examples():
    return EXAMPLES


# --- PostgreSQL and Redis: a database and a key prefix of our own, dropped afterwards ----------

from sqlalchemy import create_engine, text  # noqa: E402

PG_ADMIN = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _admin_engine():
    url = (
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
        if PG_ADMIN.startswith("postgresql://")
        else PG_ADMIN
    )
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url():
    eng = _admin_engine()
    try:
        with eng.connect() as c:
            c.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    name = "ce_lti_test_" + uuid.uuid4().hex[:10]
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture
def redis_prefix():
    import redis

    try:
        redis.Redis.from_url(REDIS).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {REDIS}: {exc}")
    prefix = f"ce-credit-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    r = redis.Redis.from_url(REDIS)
    for k in r.scan_iter(match=prefix + "*", count=500):
        r.delete(k)


@pytest.fixture
def redis_url():
    return REDIS


class Clock:
    """An injectable clock: seconds since the epoch, moved on by hand."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def manual_clock():
    """A Clock starting now; tests move it on instead of sleeping."""
    return Clock()
