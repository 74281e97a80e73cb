"""The learner page in Debian's chromium: login, launch and the shared front end through lti_adapter.js."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.app import tool_of
from lti_tool.registry import add_platform

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def served_tool(tmp_path, platform, examples):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "i"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "OUTBOX_THREAD": False,
            "REDIS_URL": "",
        }
    )
    add_platform(app, **platform.registration())
    from lti_tool.views.instructor import save_olx

    with app.test_request_context():
        assert save_olx((examples / "telehealth-ethics.xml").read_text())[0] is not None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    tool_of(app).engine.dispose()


def test_learner_page_mounts_front_end_and_calls_the_api(served_tool, platform):
    playwright = pytest.importorskip("playwright.sync_api")
    platform.auth_claims = {"https://purl.imsglobal.org/spec/lti/claim/custom": {"ce_activity": "telehealth-ethics"}}
    with playwright.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"chromium cannot start here: {exc}")
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # 127.0.0.1 is a secure context for Chromium, so the Secure; Partitioned state cookie works on http.
        page.goto(f"{served_tool}/lti/login?iss={platform.issuer}&login_hint=u1&client_id={platform.client_id}")
        page.get_by_role("button", name="Start the post-test").click()
        page.wait_for_selector("input[type=radio], input[type=checkbox]", timeout=10000)
        assert errors == []
        browser.close()
