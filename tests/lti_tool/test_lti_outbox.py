"""Grade passback through the outbox: line items, scores, token caching, retries, leases, resend."""

import time

import pytest
from sqlalchemy import select, update

from lti_tool import launches, learning, outbox
from lti_tool.app import tool_of
from lti_tool.lti.adapter import ServiceError
from lti_tool.store import OutboxScore, ResourceLink

INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


def setup_activity(lti, client, examples, launch_id_from, **over):
    resp = lti.full_launch(**INSTRUCTOR, **over)
    lid = launch_id_from(resp.get_data(as_text=True))
    text = (examples / "telehealth-ethics.xml").read_text()
    assert (
        client.post(f"/lti/instructor/{lid}/olx", data={"olx": text}, base_url="https://tool.test").status_code == 200
    )
    from ce_xblock.core import olx

    return lid, olx.loads(text)


def learner_scores(lti, app, activity, sub, launch_id_from, **over):
    """A learner who takes one attempt (all correct): one queued score."""
    resp = lti.full_launch(sub=sub, **over)
    launch_id = launch_id_from(resp.get_data(as_text=True))
    tool = tool_of(app)
    lc = launches.load(tool.cache, launch_id)
    _, view = learning.run_action(tool, lc, "start", {})
    responses = {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in view["form"]["questions"]}
    status, view = learning.run_action(tool, lc, "submit", {"attempt": 1, "responses": responses})
    assert status == 200 and view["result"]["passed"]
    return lc


def drain_until_empty(tool, rounds=30):
    """Drain, pretending time passes: due-date backoff is skipped so the test does not sleep."""
    for _ in range(rounds):
        with tool.sessions.begin() as s:
            s.execute(update(OutboxScore).where(OutboxScore.status == "pending").values(next_attempt_at=0.0))
        outbox.drain(tool)
        with tool.sessions() as s:
            if not s.scalars(select(OutboxScore).where(OutboxScore.status == "pending")).first():
                return
    raise AssertionError("outbox did not drain")


def test_score_creates_line_item_and_posts_score_with_comment(lti, client, app, platform, examples, launch_id_from):
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    learner_scores(lti, app, activity, "u2", launch_id_from)
    counts = outbox.drain(tool_of(app))
    assert counts == {"sent": 2, "confirmed": 0, "retry": 0, "failed": 0}
    (item,) = platform.lineitems.values()
    assert item["resourceId"] == "telehealth-ethics" and item["tag"] == "ce-credit" and item["resourceLinkId"] == "rl-1"
    assert item["label"] == activity.title
    assert [s["userId"] for s in platform.scores] == ["u1", "u2"]
    s = platform.scores[0]
    assert s["scoreGiven"] == s["scoreMaximum"] == activity.form_size
    assert s["activityProgress"] in ("Submitted", "Completed", "InProgress") and s["gradingProgress"] == "FullyGraded"
    assert s["comment"].startswith("Passed 1 attempt") and s["timestamp"].endswith("+00:00")
    # One access token served both scores (cached until expiry), and the line item is remembered.
    assert platform.token_scopes.count("https://purl.imsglobal.org/spec/lti-ags/scope/score") == 1
    with tool_of(app).sessions() as db:
        assert db.scalars(select(ResourceLink)).one().lineitem_url == item["id"]


def test_launch_line_item_is_used_when_given(lti, client, app, platform, examples, launch_id_from):
    platform.lineitems["x"] = {"id": platform.url + "/lineitems/given", "scoreMaximum": 10}
    ags = {
        "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
        "lineitem": platform.url + "/lineitems/given",
    }
    over = {"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": ags}
    _, activity = setup_activity(lti, client, examples, launch_id_from, **over)
    learner_scores(lti, app, activity, "u1", launch_id_from, **over)
    outbox.drain(tool_of(app))
    assert platform.scores[0]["lineitem"].endswith("/lineitems/given")
    assert len(platform.lineitems) == 1


def test_platform_failing_every_other_request_loses_and_duplicates_nothing(
    lti, client, app, platform, examples, launch_id_from
):
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    users = [f"u{i}" for i in range(6)]
    for u in users:
        learner_scores(lti, app, activity, u, launch_id_from)
    platform.flaky = True  # token, line item and score requests: every other one fails
    tool = tool_of(app)
    drain_until_empty(tool)
    assert sorted(s["userId"] for s in platform.scores) == sorted(users)
    with tool.sessions() as s:
        rows = s.scalars(select(OutboxScore)).all()
    assert all(r.status == "sent" for r in rows)
    # Half of the platform's answers were failures, and none of them lost or doubled a score.
    assert platform._flaky_n >= 2 * len(users)


def test_client_error_marks_failed_and_instructor_can_resend(lti, client, app, platform, examples, launch_id_from):
    lid, activity = setup_activity(lti, client, examples, launch_id_from)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    platform.fail_plan = [400]
    tool = tool_of(app)
    assert outbox.drain(tool)["failed"] == 1
    page = client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True)
    assert 'data-passback="failed"' in page and "answered 400" in page
    # What happened and what to do, in words; the platform's own answer as the detail.
    assert "The platform rejected the grade." in page and "<summary>Details</summary>" in page
    resp = client.post(f"/lti/instructor/{lid}/resend", data={"user": "u1"}, base_url="https://tool.test")
    assert resp.status_code == 200
    assert outbox.drain(tool)["sent"] == 1
    assert [s["userId"] for s in platform.scores] == ["u1"]
    status = client.get(f"/lti/ags/{lid}/status", base_url="https://tool.test").get_json()
    assert [(r["status"], r["last_problem"]) for r in status] == [("failed", "rejected"), ("sent", "")]
    page = client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True)
    assert 'data-passback="sent"' in page and "The platform rejected the grade." not in page


def test_passback_problems_are_explained_in_the_instructors_language(
    lti, client, app, platform, examples, launch_id_from
):
    """A platform that refuses the tool's scores (403): the French instructor reads, in French,
    that an LMS administrator should check the registration, and can resend afterwards."""
    french = {"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {"locale": "fr"}}
    lid, activity = setup_activity(lti, client, examples, launch_id_from, **french)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    platform.fail_plan = [403]
    counts = outbox.drain(tool_of(app))
    assert counts["failed"] == 1, counts
    page = client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True)
    assert 'data-passback="failed"' in page
    assert "administrateur" in page and "Assignment and Grade Services" in page
    assert "refused the tool access" not in page  # the explanation is translated
    assert "<summary>Détails</summary>" in page and "403" in page


@pytest.mark.parametrize(
    ("err", "problem"),
    [
        (ServiceError("down"), "unreachable"),
        (ServiceError("no", 401), "access"),
        (ServiceError("no", 403), "access"),
        (ServiceError("gone", 404), "gone"),
        (ServiceError("gone", 410), "gone"),
        (ServiceError("slow", 429, 3.0), "busy"),
        (ServiceError("broken", 503), "busy"),
        (ServiceError("later", 409), "busy"),
        (ServiceError("bad", 400), "rejected"),
        (ServiceError("bad", 422), "rejected"),
        (ServiceError("none", 400, problem="no-gradebook"), "no-gradebook"),
        (KeyError("bug"), "unexpected"),
    ],
)
def test_each_failure_has_an_explained_kind(err, problem):
    assert outbox.problem_of(err) == problem and problem in outbox.PROBLEMS


def test_backoff_grows_and_honours_retry_after():
    assert outbox.backoff(1) <= 1.0 < outbox.backoff(6) <= 32
    assert outbox.backoff(1, retry_after=30) >= 30
    assert outbox.backoff(50) <= outbox.BACKOFF_MAX


def test_leased_rows_are_not_taken_by_a_second_worker_until_the_lease_expires(
    lti, client, app, platform, examples, launch_id_from
):
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    tool = tool_of(app)
    # Worker A claims the row and dies before sending (killed mid-drain).
    assert len(outbox.claim(tool, "worker-a")) == 1
    assert outbox.claim(tool, "worker-b") == []
    assert outbox.drain(tool, owner="worker-b") == {"sent": 0, "confirmed": 0, "retry": 0, "failed": 0}
    # After the lease runs out, B sends it, exactly once.
    later = time.time() + outbox.LEASE_SECONDS + 1
    rows = outbox.claim(tool, "worker-b", now=later)
    assert len(rows) == 1
    outbox.send(tool, rows[0])
    assert outbox._finish(tool, rows[0].id, "worker-b", status="sent")
    # Worker A coming back to life cannot mark or resend what it no longer holds.
    assert not outbox._finish(tool, rows[0].id, "worker-a", status="failed")
    assert [s["userId"] for s in platform.scores] == ["u1"]


def test_a_row_whose_lease_was_taken_over_mid_batch_is_not_sent_by_the_old_owner(
    lti, client, app, platform, examples, launch_id_from
):
    # A slow platform: worker A leased a batch, but its lease on the last row ran out before A reached
    # it, and worker B took the row over. A must skip it: only B sends, so the score goes once.
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    tool = tool_of(app)
    [row] = outbox.claim(tool, "worker-a")
    later = time.time() + outbox.LEASE_SECONDS + 1
    assert len(outbox.claim(tool, "worker-b", now=later)) == 1
    assert not outbox.renew_lease(tool, row.id, "worker-a")
    assert outbox.renew_lease(tool, row.id, "worker-b", now=later + 1)
    # An expired lease that nobody took over is lost too: renewing it would race a new claimant.
    assert not outbox.renew_lease(tool, row.id, "worker-b", now=later + 2 * outbox.LEASE_SECONDS)


def test_drain_skips_rows_whose_lease_ran_out_before_their_turn(
    lti, client, app, platform, examples, launch_id_from, monkeypatch
):
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    for sub in ("u1", "u2"):
        learner_scores(lti, app, activity, sub, launch_id_from)
    tool = tool_of(app)
    drain_until_empty(tool)  # the first score creates the line item; both are sent
    platform.scores.clear()
    with tool.sessions.begin() as s:
        s.execute(update(OutboxScore).values(status="pending", next_attempt_at=0.0))
    real_send = outbox.send

    def slow_send(tool_, row, memo=None):
        how = real_send(tool_, row, memo)
        # While A sends its first row, the lease on its second row runs out and B takes it over.
        with tool.sessions.begin() as s:
            s.execute(
                update(OutboxScore)
                .where(OutboxScore.id != row.id)
                .values(lease_owner="worker-b", lease_until=time.time() + outbox.LEASE_SECONDS)
            )
        return how

    monkeypatch.setattr(outbox, "send", slow_send)
    counts = outbox.drain(tool, owner="worker-a", max_rounds=1)
    assert counts == {"sent": 1, "confirmed": 0, "retry": 0, "failed": 0}
    assert len(platform.scores) == 1


def test_a_long_outage_never_gives_up_on_a_score(lti, client, app, platform, examples, launch_id_from):
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    learner_scores(lti, app, activity, "u1", launch_id_from)
    tool = tool_of(app)
    platform.fail_plan = [503] * 60  # an outage far longer than the old limit of 12 tries
    retries = 0
    while platform.fail_plan:
        counts = outbox.drain(tool)
        assert counts["failed"] == 0 and counts["sent"] == 0
        retries += counts["retry"]
        with tool.sessions.begin() as s:
            s.execute(update(OutboxScore).values(next_attempt_at=0.0))
    with tool.sessions() as s:
        row = s.scalars(select(OutboxScore)).one()
    assert row.status == "pending" and row.tries == retries > 12
    assert outbox.drain(tool)["sent"] == 1
    assert [s["userId"] for s in platform.scores] == ["u1"]
