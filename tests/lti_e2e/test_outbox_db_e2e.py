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
    """Fail, retake and pass, evaluate, attest, give details and get the certificate (on the
    demo's copy without a minimum time), on SQLite and PostgreSQL: each grade reaches the
    gradebook, the last one "Completed" with the certificate id, and the certificate verifies."""
    demo, course = _stack(tmp_path, tls_files, trust_test_ca, database_url)
    slug = TELEHEALTH + "-no-minimum"
    try:
        link = course.link_for(slug)
        key = (link.line_item_id, "learner-ada")
        with course.browser() as b:
            launch_id, view = course.learner_launch(b, "learner-ada", link.id)
            assert view["step"] == "info"
            failed = course.take_posttest(b, launch_id, slug, right=False)
            assert failed["result"]["passed"] is False
            course.wait_for_results({key: failed["result"]["points"]})
            passed = course.take_posttest(b, launch_id, slug, right=True)  # the example has no wait
            assert passed["result"]["passed"] is True and passed["result"]["attempt"] == 2
            course.wait_for_results({key: passed["result"]["points"]})
            status, view = course.api(b, launch_id, "continue")
            assert status == 200 and view["step"] == "evaluation", view
            answers = {
                i["id"]: (5 if i["type"] == "likert" else "Clear and practical.") for i in view["evaluation"]["items"]
            }
            status, view = course.api(b, launch_id, "evaluation", {"answers": answers})
            assert status == 200 and view["step"] == "attestation", view
            status, view = course.api(b, launch_id, "attest", {"confirm": True})
            assert status == 200 and view["step"] == "details", view
            details = {"legal_name": "Ada Okafor", "license_number": "PSY-1815", "license_state": "on"}
            status, view = course.api(b, launch_id, "details", {**details, "profession": "Psychologist"})
            assert status == 200 and view["step"] == "certificate", view
            status, view = course.api(b, launch_id, "certificate")
            assert status == 200, view
            cert_id = view["certificate"]["id"]
            # asking again (a double click, a retried request) returns the same certificate
            assert course.api(b, launch_id, "certificate")[1]["certificate"]["id"] == cert_id
            pdf = b.get(course.tool_url + view["certificate"]["links"]["pdf"], timeout=30)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
            checked = b.get(f"{course.tool_url}/verify/{cert_id}.json", timeout=30).json()
            assert checked["status"] == "valid", checked
            assert view["certificate"]["links"]["verify"] == f"{course.tool_url}/verify/{cert_id}"
            # a relaunch finds the same learner state (stored per platform user and resource link)
            _, again = course.learner_launch(b, "learner-ada", link.id)
            assert again["step"] == "certificate" and again["certificate"]["id"] == cert_id
        course.wait_for_results({key: passed["result"]["points"]})
        deadline = time.time() + 60
        while time.time() < deadline and cert_id not in course.lms.state.results[key].get("comment", ""):
            time.sleep(0.2)
        result = course.lms.state.results[key]
        assert result["activityProgress"] == "Completed" and result["gradingProgress"] == "FullyGraded"
        assert result["comment"] == f"Passed 2 attempts; certificate {cert_id}", result
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
        # The score in flight when the worker died had reached the platform: the next worker read
        # the learner's result (result.readonly) first, found that score, and did not POST it again.
        assert outcomes == ["created"] * 3, outcomes
        assert [r.last_error for r in _outbox_rows(demo)] == ["", "", ""]
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(timeout=10)
        demo.stop()


def test_a_send_that_never_reached_the_platform_is_sent_after_the_check(
    tmp_path, tls_files, trust_test_ca, database_url
):
    """A row whose earlier send began (the worker died before its POST got through) is checked
    against the platform's results; the platform does not hold it, so it is POSTed, once. A later
    score of the same value but another comment is not taken for it either."""
    from sqlalchemy import update

    from lti_tool import outbox

    demo, course = _stack(tmp_path, tls_files, trust_test_ca, database_url, OUTBOX_THREAD=False)
    try:
        link = course.link_for(TELEHEALTH)
        key = (link.line_item_id, "learner-ben")
        tool = demo.tool_app.extensions["ce_credit"]
        with course.browser() as b:
            launch_id, _ = course.learner_launch(b, "learner-ben", link.id)
            first = course.take_posttest(b, launch_id, TELEHEALTH, right=False)
        with tool.sessions.begin() as s:
            s.execute(update(OutboxScore).values(send_started_at=time.time() - 120))
        assert outbox.drain(tool) == {"sent": 1, "confirmed": 0, "retry": 0, "failed": 0}
        assert [e["outcome"] for e in course.lms.state.score_log] == ["created"]
        assert course.lms.state.results[key]["scoreGiven"] == first["result"]["points"]
        # a second wrong attempt: the same points, another comment ("2 attempts"); its send "began" too
        with course.browser() as b:
            launch_id, _ = course.learner_launch(b, "learner-ben", link.id)
            second = course.take_posttest(b, launch_id, TELEHEALTH, right=False)
        assert second["result"]["points"] == first["result"]["points"]
        with tool.sessions.begin() as s:
            s.execute(update(OutboxScore).where(OutboxScore.status == "pending").values(send_started_at=1.0))
        assert outbox.drain(tool)["sent"] == 1
        assert [e["outcome"] for e in course.lms.state.score_log] == ["created", "success"]
        assert course.lms.state.results[key]["comment"].startswith("Not passed; 2 attempts")
    finally:
        demo.stop()
