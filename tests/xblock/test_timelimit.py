"""The post-test time limit through the XBlock's handlers on TestRuntime: staff extra minutes, late
submits, the grade a timed-out attempt publishes, and the Studio field.

The block's clock is the test's (xbhelpers.Course.block sets `block.now`); nothing sleeps.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from xbhelpers import EXAMPLES, T0, Course, advance, api, post
from xblock.reference.user_service import XBlockUser

from ce_xblock import editing
from ce_xblock.core import olx

TRAUMA = "trauma-informed-care.xml"  # 25 questions per form, 3 attempts, 60 minutes between attempts


def timed_xml(minutes: int = 30, **policy) -> str:
    activity = olx.load(EXAMPLES / TRAUMA)
    return olx.dumps(activity.replace(policy=replace(activity.policy, time_limit_minutes=minutes, **policy)))


def staff_user() -> XBlockUser:
    user = XBlockUser(full_name="Sam Staff")
    user.opt_attrs["edx-platform.user_is_staff"] = True
    user.opt_attrs["edx-platform.anonymous_user_id"] = "anon-staff"
    return user


def learner_user(anon: str = "anon-lee") -> XBlockUser:
    user = XBlockUser(full_name="Lee Learner")
    user.opt_attrs["edx-platform.anonymous_user_id"] = anon
    return user


def learner(course: Course, minutes_after_t0: float = 0):
    """A new request by Lee (a fresh block over the stored state) at T0 + the minutes given."""
    b = course.block("lee", user=learner_user())
    advance(b, minutes_after_t0)
    return b


def right_answers(block, form):
    activity = block.activity
    return {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in form["questions"]}


def grades(block):
    return [e[1] for e in block.runtime.events if e[0] == "grade"]


@pytest.fixture
def course():
    return Course(timed_xml(30))


def test_staff_extra_minutes_extend_the_learners_deadline(course):
    lee = learner(course)
    status, view = api(lee, "start", {"attempt": 1})
    assert status == 200 and view["step"] == "posttest"
    form = view["form"]
    assert form["deadline"] == (T0 + timedelta(minutes=30)).isoformat()
    assert form["time_limit"] == {"minutes": 30, "extra_minutes": 0, "total_minutes": 30}
    assert form["seconds_left"] == 30 * 60

    staff = course.block("staff-1", user=staff_user())
    resp = post(staff, "accommodation", {"learner": "anon-lee", "extra_attempts": 0, "extra_minutes": 15})
    assert resp.status_code == 200, resp.json

    # Granted during the attempt: the same attempt now ends at 45 minutes.
    lee = learner(course, 40)
    status, view = api(lee, "view")
    assert view["step"] == "posttest"
    assert view["form"]["deadline"] == (T0 + timedelta(minutes=45)).isoformat()
    assert view["form"]["time_limit"] == {"minutes": 30, "extra_minutes": 15, "total_minutes": 45}
    assert view["form"]["seconds_left"] == 5 * 60
    assert view["accommodation"]["extra_minutes"] == 15
    # 40 minutes in: scored, where without the accommodation it would be refused.
    status, view = api(lee, "submit", {"attempt": 1, "responses": right_answers(lee, form)})
    assert status == 200, view
    assert view["result"]["passed"] is True and view["result"]["timed_out"] is False
    assert grades(lee)[-1]["value"] == 25.0


def test_without_the_accommodation_the_same_submit_is_refused(course):
    lee = learner(course)
    form = api(lee, "start", {"attempt": 1})[1]["form"]
    lee = learner(course, 40)
    status, body = api(lee, "submit", {"attempt": 1, "responses": right_answers(lee, form)})
    assert status == 409 and body["error"] == "time-up"


def test_a_late_submit_is_refused_and_the_failed_attempt_is_graded(course):
    lee = learner(course)
    form = api(lee, "start", {"attempt": 1})[1]["form"]
    assert grades(lee) == []

    late = learner(course, 30.6)  # past the deadline and its 30-second grace
    status, body = api(late, "submit", {"attempt": 1, "responses": right_answers(late, form)})
    assert status == 409, body
    assert body["error"] == "time-up" and body["field"] == "attempt"
    assert "30 minutes" in body["message"] and "cannot be scored" in body["message"]
    # The refusal names no answer: no choice ids or correctness in it.
    assert set(body) == {"error", "message", "field"}

    # Stored closed as failed, counted, and graded 0 like any failed attempt.
    (stored,) = late.learner_state["attempts"]
    assert stored["timed_out"] is True and stored["score"]["points"] == 0.0
    assert stored["submitted_at"] == (T0 + timedelta(minutes=30)).isoformat()
    (grade,) = grades(late)
    assert grade["value"] == 0.0 and grade["max_value"] == 25.0
    assert (late.raw_earned, late.raw_possible) == (0.0, 25.0)
    assert late.stats["attempts"] == 1

    # The learner's next look shows the failed attempt; the retry of the late submit changes nothing.
    again = learner(course, 31)
    status, view = api(again, "view")
    assert view["step"] == "result" and view["result"]["timed_out"] is True and view["result"]["passed"] is False
    assert view["attempts"]["used"] == 1 and view["attempts"]["code"] == "wait"
    assert "correct_ids" not in json.dumps(view)
    status, body = api(again, "submit", {"attempt": 1, "responses": right_answers(again, form)})
    assert status == 409 and grades(again) == []
    assert again.stats["attempts"] == 1


def test_the_grade_stays_the_best_attempt_when_a_later_one_times_out():
    course = Course(timed_xml(30, wait_minutes=0))
    lee = learner(course)
    form = api(lee, "start", {"attempt": 1})[1]["form"]
    answers = right_answers(lee, form)
    # Half right: a failed first attempt with some points.
    for qid in list(answers)[:13]:
        q = lee.activity.question(qid)
        answers[qid] = [next(c.id for c in q.choices if not c.correct)]
    status, view = api(lee, "submit", {"attempt": 1, "responses": answers})
    assert status == 200 and view["result"]["passed"] is False
    first = grades(lee)[-1]["value"]
    assert first == 12.0
    lee = learner(course, 1)
    assert api(lee, "start", {"attempt": 2})[0] == 200
    late = learner(course, 40)
    status, _ = api(late, "submit", {"attempt": 2, "responses": {}})
    assert status == 409
    assert [a.get("timed_out", False) for a in late.learner_state["attempts"]] == [False, True]
    (grade,) = grades(late)  # published for the new attempt; the best attempt still counts
    assert grade["value"] == first


def test_an_expired_attempt_is_closed_and_graded_when_the_learner_only_looks(course):
    lee = learner(course)
    api(lee, "start", {"attempt": 1})
    # The page itself (student_view) after the time ran out, with no action at all.
    later = learner(course, 90)
    init = later.student_view().json_init_args["view"]
    assert init["step"] == "result" and init["result"]["timed_out"] is True
    later = learner(course, 90)
    later.runtime.render(later, "student_view")  # as the LMS renders it: the runtime saves the fields
    assert later.learner_state["attempts"][0]["timed_out"] is True
    (grade,) = grades(later)
    assert grade["value"] == 0.0
    # Looking again publishes nothing more.
    again = learner(course, 91)
    assert api(again, "view")[1]["step"] == "result" and grades(again) == []


def test_a_time_up_submit_with_blanks_is_scored(course):
    lee = learner(course)
    form = api(lee, "start", {"attempt": 1})[1]["form"]
    answers = right_answers(lee, form)
    for qid in list(answers)[20:]:
        answers[qid] = []  # five left blank when the time ran out
    lee = learner(course, 30)
    status, body = api(lee, "submit", {"attempt": 1, "responses": answers})
    assert status == 400 and body["error"] == "bad-responses"  # blanks need the front end's time_up
    status, view = api(lee, "submit", {"attempt": 1, "responses": answers, "time_up": True})
    assert status == 200, view
    assert view["result"]["points"] == 20 and view["result"]["percent"] == 80 and view["result"]["passed"] is True
    assert grades(lee)[-1]["value"] == 20.0


def test_an_untimed_block_ignores_extra_minutes():
    course = Course(olx.dumps(olx.load(EXAMPLES / TRAUMA)))
    staff = course.block("staff-1", user=staff_user())
    assert post(staff, "accommodation", {"learner": "anon-lee", "extra_minutes": 30}).status_code == 200
    lee = learner(course)
    view = api(lee, "start", {"attempt": 1})[1]
    assert view["time_limit"] is None and view["form"]["deadline"] is None
    lee = learner(course, 600)
    status, view = api(lee, "submit", {"attempt": 1, "responses": right_answers(lee, view["form"])})
    assert status == 200 and view["result"]["passed"] is True


# --- Studio -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -5, 601, "1.5", "ten", True])
def test_studio_save_of_a_bad_time_limit_is_a_field_error_not_a_500(course, value):
    author = course.block(None)
    before = author.activity_olx
    model = editing.to_model(author.activity)
    model["policy"]["time_limit_minutes"] = value
    resp = post(author, "studio_save", {"model": model})
    assert resp.status_code == 400, resp.body[:500]
    problems = resp.json["problems"]
    assert ["policy", "time_limit_minutes"] in [p["path"] for p in problems], problems
    assert all(p["message"] for p in problems)
    assert author.activity_olx == before


def test_studio_saves_a_time_limit_and_an_open_attempt_keeps_its_own(course):
    lee = learner(course)
    api(lee, "start", {"attempt": 1})
    author = course.block(None)
    model = editing.to_model(author.activity)
    model["policy"]["time_limit_minutes"] = "90"
    resp = post(author, "studio_save", {"model": model})
    assert resp.status_code == 200, resp.json
    assert 'time_limit_minutes="90"' in author.activity_olx and author.activity.policy.time_limit_minutes == 90
    lee = learner(course, 10)
    view = api(lee, "view")[1]
    assert view["form"]["time_limit"]["total_minutes"] == 30  # the attempt's own limit
    assert view["time_limit"]["total_minutes"] == 90  # what the next attempt gets
    # Empty: untimed again.
    model["policy"]["time_limit_minutes"] = ""
    assert post(author, "studio_save", {"model": model}).status_code == 200
    assert "time_limit_minutes" not in author.activity_olx


def test_pasted_olx_with_a_bad_time_limit_is_refused_with_its_line(course):
    author = course.block(None)
    text = author.activity_olx.replace('time_limit_minutes="30"', 'time_limit_minutes="0"', 1)
    assert text != author.activity_olx
    resp = post(author, "studio_save", {"olx": text})
    assert resp.status_code == 400
    (problem,) = resp.json["problems"]
    assert problem["path"] == ["olx"] and "time_limit_minutes" in problem["message"] and problem["line"] >= 1
