"""The post-test time limit in the LTI tool: the instructor's extra minutes, late submits, queued scores.

Real launches from the test platform (tests/lti_tool/conftest.py), the instructor page's
accommodation form, and the learner API. Time is controlled as in the other LTI tests: through the
`now` argument of `learning.run_action` and `learning.current_view`, or by starting an attempt at
a time in the past and then using the HTTP API, which runs on the real clock. Nothing sleeps.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lti_tool import launches, learning, outbox
from lti_tool.app import tool_of
from lti_tool.store import LearnerRecord, OutboxScore

BASE = "https://tool.test"
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}
TRAUMA = "trauma-informed-care.xml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------------------------


def instructor_launch(lti, launch_id_from):
    resp = lti.full_launch(**INSTRUCTOR, sub="instructor-1", name="Iris Instructor")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return launch_id_from(resp.get_data(as_text=True))


def import_timed(client, lid, examples, *, minutes=30, attempts="2"):
    """The trauma example with a time limit, 2 attempts and no wait, as the link's activity."""
    from ce_xblock.core import olx

    text = (examples / TRAUMA).read_text()
    text = text.replace(
        'attempts="3" wait_minutes="60"', f'attempts="{attempts}" wait_minutes="0" time_limit_minutes="{minutes}"', 1
    )
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": text}, base_url=BASE)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    activity = olx.loads(text)
    assert activity.policy.time_limit_minutes == minutes
    return activity


def learner_launch(lti, sub="learner-1", name="Ada Learner"):
    resp = lti.full_launch(sub=sub, name=name)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    page = resp.get_data(as_text=True)
    launch_id = re.search(r'data-launch-id="([^"]+)"', page).group(1)
    view = json.loads(html.unescape(re.search(r'id="ce-credit-initial-view">(.*?)</script>', page, re.S).group(1)))
    return launch_id, view


def api(client, launch_id, action, payload=None):
    resp = client.post(f"/lti/api/{launch_id}", json={"action": action, "payload": payload or {}}, base_url=BASE)
    return resp.status_code, resp.get_json()


def grant(client, lid, **form):
    resp = client.post(f"/lti/instructor/{lid}/accommodations", data=form, base_url=BASE)
    return resp.status_code, resp.get_data(as_text=True)


def right_answers(activity, form):
    return {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in form["questions"]}


def queued(app):
    with tool_of(app).sessions() as s:
        return list(s.scalars(select(OutboxScore).order_by(OutboxScore.id)))


def stored_attempts(app, sub="learner-1"):
    with tool_of(app).sessions() as s:
        state = s.scalar(select(LearnerRecord.state).where(LearnerRecord.user_sub == sub))
    return state["attempts"]


def context(app, launch_id):
    tool = tool_of(app)
    return tool, launches.load(tool.cache, launch_id)


# --- extra minutes ----------------------------------------------------------------------------------


def test_an_instructors_extra_minutes_extend_the_learners_deadline(lti, client, app, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_timed(client, lid, examples)
    launch_id, view = learner_launch(lti)
    assert view["time_limit"] == {"minutes": 30, "extra_minutes": 0, "total_minutes": 30}
    tool, lc = context(app, launch_id)

    status, view = learning.run_action(tool, lc, "start", {}, now=T0)
    assert status == 200 and view["step"] == "posttest"
    form = view["form"]
    assert form["deadline"] == (T0 + timedelta(minutes=30)).isoformat()

    status, page = grant(client, lid, learner="learner-1", extra_minutes="15", reason="Documented need")
    assert status == 200 and "extra minutes 15" in page

    # The open attempt now ends at 45 minutes; 40 minutes in, it is still open and its submit scores.
    at = T0 + timedelta(minutes=40)
    view = learning.current_view(tool, lc, activity, now=at)
    assert view["step"] == "posttest" and view["accommodation"]["extra_minutes"] == 15
    assert view["form"]["deadline"] == (T0 + timedelta(minutes=45)).isoformat()
    assert view["form"]["time_limit"] == {"minutes": 30, "extra_minutes": 15, "total_minutes": 45}
    assert view["form"]["seconds_left"] == 5 * 60
    status, view = learning.run_action(
        tool, lc, "submit", {"attempt": 1, "responses": right_answers(activity, form)}, now=at
    )
    assert status == 200, view
    assert view["result"]["passed"] is True and view["result"]["timed_out"] is False
    (row,) = queued(app)
    assert row.score_given == row.score_maximum == activity.form_size

    # The next launch tells the learner the limit with the accommodation.
    _, view = learner_launch(lti)
    assert view["time_limit"] == {"minutes": 30, "extra_minutes": 15, "total_minutes": 45}


def test_without_extra_minutes_the_same_submit_is_refused(lti, client, app, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_timed(client, lid, examples)
    launch_id, _ = learner_launch(lti)
    tool, lc = context(app, launch_id)
    _, view = learning.run_action(tool, lc, "start", {}, now=T0)
    status, body = learning.run_action(
        tool,
        lc,
        "submit",
        {"attempt": 1, "responses": right_answers(activity, view["form"])},
        now=T0 + timedelta(minutes=40),
    )
    assert status == 409 and body["error"] == "time-up"


# --- late submits -------------------------------------------------------------------------------------


def test_a_late_submit_is_refused_and_a_failed_score_is_queued(lti, client, app, platform, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_timed(client, lid, examples)
    launch_id, _ = learner_launch(lti)
    tool, lc = context(app, launch_id)
    # The attempt started 40 minutes ago; the API below runs on the real clock.
    started = datetime.now(UTC) - timedelta(minutes=40)
    _, view = learning.run_action(tool, lc, "start", {}, now=started)
    form = view["form"]
    assert queued(app) == []

    status, body = api(client, launch_id, "submit", {"attempt": 1, "responses": right_answers(activity, form)})
    assert status == 409, body
    assert body["error"] == "time-up" and body["field"] == "attempt"
    assert "30 minutes" in body["message"] and "cannot be scored" in body["message"]
    assert "correct" not in json.dumps(body)

    # The expired attempt is stored closed as failed and its score queued, like any failed attempt.
    (attempt,) = stored_attempts(app)
    assert attempt["timed_out"] is True and attempt["score"]["points"] == 0.0
    assert attempt["submitted_at"] == (started + timedelta(minutes=30)).isoformat()
    (row,) = queued(app)
    assert row.status == "pending" and row.score_given == 0.0 and row.score_maximum == activity.form_size
    assert row.comment == "Not passed; 1 of 2 attempts used" and row.activity_progress == "InProgress"

    # A retried late submit changes nothing and queues nothing more.
    status, _ = api(client, launch_id, "submit", {"attempt": 1, "responses": right_answers(activity, form)})
    assert status == 409 and len(queued(app)) == 1

    # The learner sees the failed attempt and may start the second.
    _, view = learner_launch(lti)
    assert view["step"] == "result" and view["result"]["timed_out"] is True
    assert view["attempts"]["used"] == 1 and view["attempts"]["can_start"] is True

    # The queued score reaches the platform's gradebook.
    assert outbox.drain(tool)["sent"] == 1
    (score,) = platform.scores
    assert score["userId"] == "learner-1" and score["scoreGiven"] == 0.0
    assert score["scoreMaximum"] == activity.form_size and score["gradingProgress"] == "FullyGraded"


def test_an_expired_attempt_is_closed_and_queued_when_the_learner_launches_again(
    lti, client, app, launch_id_from, examples
):
    lid = instructor_launch(lti, launch_id_from)
    import_timed(client, lid, examples, attempts="1")
    launch_id, _ = learner_launch(lti)
    tool, lc = context(app, launch_id)
    learning.run_action(tool, lc, "start", {}, now=datetime.now(UTC) - timedelta(hours=2))
    assert queued(app) == []

    _, view = learner_launch(lti)  # no action: the launch page alone
    assert view["step"] == "result" and view["result"]["timed_out"] is True
    assert view["attempts"]["code"] == "no-attempts-left"
    assert stored_attempts(app)[0]["timed_out"] is True
    (row,) = queued(app)
    assert row.score_given == 0.0 and row.comment.startswith("Not passed; 1 of 1 attempt")
    # Launching again writes and queues nothing more.
    learner_launch(lti)
    assert len(queued(app)) == 1


def test_a_time_up_submit_with_blanks_is_scored(lti, client, app, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_timed(client, lid, examples)
    launch_id, _ = learner_launch(lti)
    tool, lc = context(app, launch_id)
    _, view = learning.run_action(tool, lc, "start", {}, now=T0)
    answers = right_answers(activity, view["form"])
    for qid in list(answers)[20:]:
        answers[qid] = []
    at = T0 + timedelta(minutes=30, seconds=10)  # the front end's submit, arriving in the grace
    status, body = learning.run_action(tool, lc, "submit", {"attempt": 1, "responses": answers}, now=at)
    assert status == 400 and body["error"] == "bad-responses"
    status, view = learning.run_action(
        tool, lc, "submit", {"attempt": 1, "responses": answers, "time_up": True}, now=at
    )
    assert status == 200, view
    assert view["result"]["points"] == 20 and view["result"]["passed"] is True
    (row,) = queued(app)
    assert row.score_given == 20.0
