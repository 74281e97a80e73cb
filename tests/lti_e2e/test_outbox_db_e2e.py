"""The learner flow and the grade outbox end to end, on SQLite and on PostgreSQL, with a worker killed mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from lti_tool.store import OutboxScore

from .conftest import REPO, postgres_url, server_tls, start_stack

TELEHEALTH = "telehealth-ethics"

WORKER = """
import sys
import lti_tool.outbox as outbox
outbox.LEASE_SECONDS = 2.0  # so the test need not wait a minute for the killed worker's lease to lapse
from lti_tool import create_app
app = create_app({"INSTANCE_PATH": sys.argv[1], "OUTBOX_THREAD": False, **({"DATABASE_URL": sys.argv[2]} if len(sys.argv) > 2 else {})})
outbox.run_worker(app.extensions["ce_credit"], interval=0.2)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request):
    """None for the embedded SQLite default, else a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    base = postgres_url()
    if base is None:
        pytest.skip("no PostgreSQL server answers at DATABASE_URL or 127.0.0.1:5432")
    import psycopg

    name = f"ce_e2e_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stack(tmp_path: Path, tls_files, ca, database_url, **extra):
    config = {"OUTBOX_INTERVAL": 0.2, **extra}
    if database_url:
        config["DATABASE_URL"] = database_url
    return start_stack(tmp_path / "instance", config, ssl_context=server_tls(tls_files), verify=str(ca))


def test_learner_flow_and_grade_passback(tmp_path, tls_files, trust_test_ca, database_url):
    demo, course = _stack(tmp_path, tls_files, trust_test_ca, database_url)
    try:
        link = course.link_for(TELEHEALTH)
        with course.browser() as b:
            launch_id, view = course.learner_launch(b, "learner-ada", link.id)
            assert view["step"] == "info"
            failed = course.take_posttest(b, launch_id, TELEHEALTH, right=False)
            assert failed["result"]["passed"] is False
            course.wait_for_results({(link.line_item_id, "learner-ada"): failed["result"]["points"]})
            # the retake may be subject to a waiting period; the flow says so rather than failing
            status, view = course.api(b, launch_id, "start")
            if status == 200 and view["step"] == "posttest":
                status, view = course.api(
                    b,
                    launch_id,
                    "submit",
                    {"attempt": view["form"]["attempt"], "responses": course.answers(TELEHEALTH, view)},
                )
                assert status == 200 and view["result"]["passed"] is True, view
                course.wait_for_results({(link.line_item_id, "learner-ada"): view["result"]["points"]})
                status, view = course.api(b, launch_id, "continue")
                assert status == 200 and view["step"] == "evaluation", view
                answers = {
                    i["id"]: (5 if i["type"] == "likert" else "Clear and practical.")
                    for i in view["evaluation"]["items"]
                }
                status, view = course.api(b, launch_id, "evaluation", {"answers": answers})
                assert status == 200 and view["step"] == "attestation", view
                status, view = course.api(b, launch_id, "attest", {"confirm": True})
                assert status == 200 and view["step"] == "details", view
            else:
                assert view["attempts"]["code"] in ("wait", "no-attempts-left"), view
            # a relaunch finds the same learner state (stored per platform user and resource link)
            _, again = course.learner_launch(b, "learner-ada", link.id)
            assert again["attempts"]["used"] >= 1
        course.applied_once()
    finally:
        demo.stop()


def _outbox_rows(demo) -> list[OutboxScore]:
    tool = demo.tool_app.extensions["ce_credit"]
    with tool.sessions() as s:
        return list(s.scalars(select(OutboxScore).order_by(OutboxScore.id)))


def _worker(instance: Path, database_url: str | None) -> subprocess.Popen:
    args = [sys.executable, "-c", WORKER, str(instance)] + ([database_url] if database_url else [])
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_worker_killed_mid_send_loses_no_score_and_applies_none_twice(tmp_path, tls_files, trust_test_ca, database_url):
    demo, course = _stack(tmp_path, tls_files, trust_test_ca, database_url, OUTBOX_THREAD=False)
    workers: list[subprocess.Popen] = []
    try:
        link = course.link_for(TELEHEALTH)
        expected = {}
        for user, right in (("learner-ada", True), ("learner-ben", False), ("learner-mei", True)):
            with course.browser() as b:
                launch_id, _ = course.learner_launch(b, user, link.id)
                result = course.take_posttest(b, launch_id, TELEHEALTH, right)
                expected[(link.line_item_id, user)] = result["result"]["points"]
        assert [r.status for r in _outbox_rows(demo)] == ["pending"] * 3
        assert course.lms.state.score_log == []

        # the platform applies the first score, then sits on its answer while we kill the worker
        course.lms.score_delay = 5
        workers.append(_worker(tmp_path / "instance", database_url))
        deadline = time.time() + 60
        while not course.lms.state.score_log and time.time() < deadline:
            assert workers[0].poll() is None, workers[0].stderr.read().decode()[-2000:]
            time.sleep(0.05)
        assert course.lms.state.score_log, "the first worker never sent a score"
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert [r.status for r in _outbox_rows(demo)] == ["pending"] * 3  # nothing was marked sent

        course.lms.score_delay = 0
        workers.append(_worker(tmp_path / "instance", database_url))
        course.wait_for_results(expected, timeout=90)
        deadline = time.time() + 30
        while any(r.status != "sent" for r in _outbox_rows(demo)) and time.time() < deadline:
            time.sleep(0.2)
        assert [r.status for r in _outbox_rows(demo)] == ["sent"] * 3
        course.applied_once()
        outcomes = [e["outcome"] for e in course.lms.state.score_log]
        # the score in flight when the worker died was sent again and recognised as the same score
        assert outcomes.count("duplicate") == 1, outcomes
        assert outcomes.count("created") == 3, outcomes
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(timeout=10)
        demo.stop()
