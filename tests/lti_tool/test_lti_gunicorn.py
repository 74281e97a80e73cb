"""The tool under gunicorn with several workers, and `ce-credit worker` killed mid-drain.

Several workers on one database must behave exactly like one: a login served by one worker and
the launch by another must work (no "Invalid Nonce", no "Launch data not found").
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select, update

from lti_tool import create_app
from lti_tool.app import tool_of
from lti_tool.registry import add_platform
from lti_tool.store import OutboxScore

pytestmark = pytest.mark.slow
CE_CREDIT = str(Path(sys.executable).with_name("ce-credit"))
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env, platform, examples):
    """Register the platform and load an activity, as an administrator would before starting."""
    old = dict(os.environ)
    os.environ.update(env)
    try:
        app = create_app({"OUTBOX_THREAD": False})
        add_platform(app, **platform.registration())
        from lti_tool.views.instructor import save_olx

        with app.test_request_context():
            row, problems = save_olx((examples / "telehealth-ethics.xml").read_text())
            assert row is not None, problems
        tool_of(app).engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(old)


def start_server(env, workers=4):
    port = free_port()
    proc = subprocess.Popen(
        [CE_CREDIT, "serve", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--no-outbox"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/lti/jwks", timeout=2).ok:
                return proc, f"http://127.0.0.1:{port}"
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(proc.stdout.read().decode()[-3000:])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def one_launch(base, platform, sub, extra=None):
    http = requests.Session()
    r = http.get(
        base + "/lti/login",
        params={
            "iss": platform.issuer,
            "login_hint": sub,
            "client_id": platform.client_id,
            "target_link_uri": base + "/lti/launch",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302, r.text
    q = parse_qs(urlparse(r.headers["Location"]).query)
    claims = platform.claims(q["nonce"][0], sub=sub, **(extra or {}))
    claims["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"] = base + "/lti/launch"
    return http, http.post(
        base + "/lti/launch", data={"id_token": platform.sign(claims), "state": q["state"][0]}, timeout=10
    )


@pytest.fixture(params=["sqlite", "postgres"])
def server_env(request, tmp_path):
    env = {
        "CE_CREDIT_INSTANCE": str(tmp_path / "inst"),
        "CE_CREDIT_SECURE_COOKIES": "0",
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tool.db'}",
    }
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_url")
        prefix = request.getfixturevalue("redis_prefix")
        env.update({"DATABASE_URL": pg, "REDIS_URL": "redis://127.0.0.1:6379/0", "CE_CREDIT_REDIS_PREFIX": prefix})
    return env


def test_multi_worker_launches_never_lose_nonce_or_launch_data(server_env, platform, examples):
    prepare(server_env, platform, examples)
    proc, base = start_server(server_env, workers=4)
    try:
        # The instructor chooses the activity for the link, then learners launch through every worker.
        http, r = one_launch(base, platform, "teacher", INSTRUCTOR)
        assert r.status_code == 200, r.text[:500]
        lid = re.search(r"/lti/instructor/([A-Za-z0-9_-]+)/", r.text).group(1)
        assert http.post(f"{base}/lti/instructor/{lid}/choose", data={"activity": "telehealth-ethics"}, timeout=10).ok
        failures = []
        for i in range(12):
            http, r = one_launch(base, platform, f"learner-{i}")
            launch_id = re.search(r'data-launch-id="([^"]+)"', r.text)
            if r.status_code != 200 or not launch_id:
                failures.append((i, r.status_code, r.text[:300]))
                continue
            # The API call may land on any worker: the launch context is shared.
            for _ in range(3):
                a = requests.post(f"{base}/lti/api/{launch_id.group(1)}", json={"action": "start"}, timeout=10)
                if a.status_code != 200:
                    failures.append((i, "api", a.status_code, a.text[:200]))
        assert failures == []
    finally:
        stop(proc)


def test_worker_killed_mid_send_loses_and_duplicates_nothing(
    tmp_path, platform, examples, lti, client, app, launch_id_from
):
    """`ce-credit worker` is SIGKILLed while the platform is answering; another worker finishes the job."""
    from ce_xblock.core import olx
    from lti_tool import launches, learning

    tool = tool_of(app)
    resp = lti.full_launch(**INSTRUCTOR)
    lid = launch_id_from(resp.get_data(as_text=True))
    text_ = (examples / "telehealth-ethics.xml").read_text()
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": text_}, base_url="https://tool.test")
    activity = olx.loads(text_)
    users = [f"k{i}" for i in range(5)]
    for u in users:
        lc = launches.load(tool.cache, launch_id_from(lti.full_launch(sub=u).get_data(as_text=True)))
        _, view = learning.run_action(tool, lc, "start", {})
        responses = {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in view["form"]["questions"]}
        learning.run_action(tool, lc, "submit", {"attempt": 1, "responses": responses})
    platform.score_delay = 1.0
    env = {
        **os.environ,
        "CE_CREDIT_INSTANCE": app.config["INSTANCE_PATH"],
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": "",
    }
    proc = subprocess.Popen(
        [CE_CREDIT, "worker", "--interval", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 30
        while platform.score_posts_started < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert platform.score_posts_started >= 2
        proc.send_signal(signal.SIGKILL)  # mid-send: the second score is in flight
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(platform.score_delay + 0.5)  # let the platform finish answering the dead worker
    platform.score_delay = 0.0
    # The dead worker's leases run out (as after LEASE_SECONDS); any worker then sends what is left.
    with tool.sessions.begin() as s:
        s.execute(update(OutboxScore).where(OutboxScore.status == "pending").values(lease_until=0.0))
    from lti_tool import outbox

    outbox.drain(tool)
    with tool.sessions() as s:
        rows = s.scalars(select(OutboxScore)).all()
    assert all(r.status == "sent" for r in rows), [(r.user_sub, r.status) for r in rows]
    # Nothing lost: every learner has exactly one result, with the score they earned.
    results = {user: r for (_li, user), r in platform.results.items()}
    assert sorted(results) == sorted(users)
    assert all(r["scoreGiven"] == activity.form_size for r in results.values())
    # Nothing doubled: a resent score is the same score (same timestamp), so the gradebook kept one.
    per_user = {}
    for sc in platform.scores:
        per_user.setdefault(sc["userId"], set()).add(sc["timestamp"])
    assert all(len(ts) == 1 for ts in per_user.values())
