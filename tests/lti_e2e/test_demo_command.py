"""`ce-credit demo` as a newcomer runs it: one command, two servers, a URL that works, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import requests

from .conftest import REPO, free_port


def _start(port: int, instance) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "lti_tool.demo", "--no-open", "--port", str(port), "--instance", str(instance)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _url(proc: subprocess.Popen) -> str:
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, "the demo exited before printing its URL"
        found = re.search(r"Open (http://\S+) in your browser", line)
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no URL within 60 s")


def test_demo_command_serves_the_lms_and_the_tool_and_stops_on_sigterm(tmp_path):
    port = free_port()
    proc = _start(port, tmp_path / "demo")
    try:
        url = _url(proc)
        assert url == f"http://localhost:{port + 1}/"
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "Launch as learner" in page.text
        # the example activities are already course activities, ready to launch
        assert "Ethical Practice in Telehealth" in page.text and "Trauma-Informed Care" in page.text
        assert requests.get(f"http://127.0.0.1:{port}/lti/jwks", timeout=10).json()["keys"]
        # the tool knows the LMS: its login accepts the LMS's issuer and sends the browser to the LMS
        login = requests.get(
            f"http://127.0.0.1:{port}/lti/login",
            params={
                "iss": f"http://localhost:{port + 1}",
                "login_hint": "learner-ada",
                "target_link_uri": f"http://127.0.0.1:{port}/lti/launch",
                "client_id": "ce-credit-demo",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert login.status_code in (302, 303) and login.headers["Location"].startswith(
            f"http://localhost:{port + 1}/auth"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "Stopping the demo." in out


def test_demo_refuses_a_busy_port_with_a_fix(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(port, tmp_path / "demo")
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"Port {port}" in out and "--port" in out
