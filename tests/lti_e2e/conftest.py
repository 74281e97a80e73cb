"""Fixtures for the end-to-end LTI tests: the demo LMS on a real port and a browser-like HTTP client."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from lti_tool.demo_lms import ServerThread, create_platform_app, launch_url, lms_of

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


class _Forms(HTMLParser):
    """Collects every <form> with its inputs (enough to play a browser's auto-POST)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def forms_in(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class LTIBrowser(requests.Session):
    """A requests session that follows an LTI launch the way a browser does, auto-POST forms included."""

    def __init__(self, verify: str | bool = True) -> None:
        super().__init__()
        self.verify = verify

    def submit_auto_form(self, resp: requests.Response) -> requests.Response:
        forms = [f for f in forms_in(resp.text) if f["method"] == "post"]
        assert forms, f"expected an auto-POST form from {resp.url}, got {resp.status_code}: {resp.text[:500]}"
        form = forms[0]
        return self.post(urljoin(resp.url, form["action"]), data=form["fields"], timeout=30)

    def launch(self, platform_url: str, user: str, kind: str, link: str | None = None) -> requests.Response:
        """Start a launch on the platform and return the tool's answer to the id_token POST."""
        resp = self.get(launch_url(platform_url, user, kind, link), timeout=30)
        assert resp.status_code == 200, f"{resp.url} answered {resp.status_code}: {resp.text[:500]}"
        return self.submit_auto_form(resp)


@pytest.fixture
def lti_browser() -> LTIBrowser:
    with LTIBrowser() as session:
        yield session


@pytest.fixture
def platform(tmp_path: Path):
    """The demo LMS on http://localhost:<free port>, issuer = that URL. Yields (server, lms)."""
    app = create_platform_app({"STATE_FILE": str(tmp_path / "lms_state.json")})
    server = ServerThread(app, host="localhost").start()
    lms = lms_of(app)
    lms.set_base_url(server.url)
    yield server, lms
    server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost and 127.0.0.1 signed by it.

    Returns (ca_cert, server_cert, server_key) paths. Point REQUESTS_CA_BUNDLE at ca_cert so the
    platform and the tool trust each other; browsers get --ignore-certificate-errors.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CE Credit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust_test_ca(tls_files, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make every `requests` call in this process (platform and tool) trust the test CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files[0]))
    return tls_files[0]


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, or None when none answers."""
    url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    if not url.startswith("postgresql"):
        return None
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2):
            return url
    except Exception:
        return None


class Course:
    """Drives the real tool from the demo LMS: launches, the learner JSON API, and waiting for grades."""

    def __init__(
        self, tool_url: str, platform_url: str, lms: Any, verify: str | bool = True, examples: Any = None
    ) -> None:
        from ce_xblock.core import olx

        self.tool_url = tool_url
        self.platform_url = platform_url
        self.lms = lms
        self.verify = verify
        self.activities = {a.id: a for a in (olx.load(p) for p in sorted((REPO / "examples").glob("*.xml")))}
        # and what the demo loaded besides (its no-minimum-time copies)
        self.activities.update({ex.slug: olx.loads(ex.olx) for ex in examples or ()})

    def browser(self) -> LTIBrowser:
        return LTIBrowser(verify=self.verify)

    def link_for(self, slug: str) -> Any:
        return next(link for link in self.lms.state.links.values() if link.custom.get("ce_activity") == slug)

    def learner_launch(self, browser: LTIBrowser, user: str, link_id: str) -> tuple[str, dict]:
        """Launch as a learner; returns the launch id and the initial view the page embeds."""
        import json
        import re

        resp = browser.launch(self.platform_url, user, "learner", link_id)
        assert resp.status_code == 200, f"learner launch answered {resp.status_code}: {resp.text[:800]}"
        found = re.search(r'data-launch-id="([^"]+)"', resp.text)
        assert found, f"no learner flow in the launch page: {resp.text[:800]}"
        view = re.search(r'<script type="application/json" id="ce-credit-initial-view">(.*?)</script>', resp.text, re.S)
        return found.group(1), json.loads(view.group(1)) if view else {}

    def api(self, browser: LTIBrowser, launch_id: str, action: str, payload: dict | None = None) -> tuple[int, dict]:
        resp = browser.post(
            f"{self.tool_url}/lti/api/{launch_id}", json={"action": action, "payload": payload or {}}, timeout=30
        )
        return resp.status_code, resp.json()

    def answers(self, slug: str, view: dict, right: bool = True) -> dict[str, list[str]]:
        activity = self.activities[slug]
        out = {}
        for q in view["form"]["questions"]:
            choices = activity.question(q["id"]).choices
            good = [c.id for c in choices if c.correct]
            out[q["id"]] = good if right else [next(c.id for c in choices if not c.correct)]
        return out

    def take_posttest(self, browser: LTIBrowser, launch_id: str, slug: str, right: bool = True) -> dict:
        """Start an attempt and submit it (all right, or all wrong); returns the result view."""
        status, view = self.api(browser, launch_id, "start")
        assert status == 200, view
        assert view["step"] == "posttest", view.get("step")
        attempt = view["form"]["attempt"]
        status, view = self.api(
            browser, launch_id, "submit", {"attempt": attempt, "responses": self.answers(slug, view, right)}
        )
        assert status == 200, view
        assert view["step"] == "result", view.get("step")
        return view

    def wait_for_results(self, expected: dict[tuple[str, str], float], timeout: float = 60) -> None:
        """Wait until the gradebook holds scoreGiven `expected[(line item id, user)]` for every key."""
        import time

        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lms.state.lock:
                got = {k: self.lms.state.results.get(k, {}).get("scoreGiven") for k in expected}
            if got == expected:
                return
            time.sleep(0.2)
        raise AssertionError(f"gradebook after {timeout}s: {got}, expected {expected}; log {self.lms.state.score_log}")

    def applied_once(self) -> None:
        """No score was applied twice: each (line item, user, timestamp) changed the gradebook once."""
        from collections import Counter

        applied = Counter(
            (e["line_item_id"], e["userId"], e["timestamp"])
            for e in self.lms.state.score_log
            if e["outcome"] in ("created", "success")
        )
        twice = {k: n for k, n in applied.items() if n > 1}
        assert not twice, f"scores applied more than once: {twice}"


def start_stack(instance: Path, tool_config: dict | None = None, ssl_context: Any = None, verify: Any = True):
    """The real tool and the demo LMS, wired by the demo command's own start-up code."""
    from lti_tool.demo import start_demo

    demo = start_demo(port=0, instance=instance, tool_config=tool_config, ssl_context=ssl_context)
    course = Course(
        demo.tool_server.url, demo.lms_server.url, lms_of(demo.lms_app), verify=verify, examples=demo.activities
    )
    return demo, course


def server_tls(tls_files: tuple[Path, Path, Path]) -> Any:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls_files[1]), str(tls_files[2]))
    return ctx


@pytest.fixture
def stack(tmp_path: Path, tls_files, trust_test_ca):
    """Tool and LMS over HTTPS (test CA), so the tool's Secure; SameSite=None cookies are sent."""
    demo, course = start_stack(
        tmp_path / "instance", {"OUTBOX_INTERVAL": 0.2}, ssl_context=server_tls(tls_files), verify=str(trust_test_ca)
    )
    yield demo, course
    demo.stop()
