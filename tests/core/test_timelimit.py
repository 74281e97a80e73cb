"""The post-test time limit in the engine: deadlines, the submit grace, late submits, time-up submits.

Every clock value is an explicit datetime; nothing sleeps.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ce_xblock import editing
from ce_xblock.core import attempts, flow, olx
from ce_xblock.core.activity import MAX_TIME_LIMIT_MINUTES
from ce_xblock.core.flow import Conflict, FlowError, LearnerState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=attempts.SUBMIT_GRACE_SECONDS)

OLX = """
<ce_credit id="timed" version="1" display_name="Timed activity" format="self-paced-online"
           level="intermediate" duration_minutes="60">
  <objectives>
    <objective id="lo1">Identify confidentiality risks.</objective>
    <objective id="lo2">Apply consent rules.</objective>
  </objectives>
  <accreditations>
    <accreditation body="apa" provider_number="1234" credits="1" requires="legal-name"/>
  </accreditations>
  <posttest form_size="2" pass_mark="75" attempts="{attempts}" wait_minutes="{wait}" review="{review}" {limit}>
    <question id="q1" objective="lo1">
      <prompt>Which is a confidentiality risk?</prompt>
      <choice id="a" correct="true">A family member within earshot</choice>
      <choice id="b">An encrypted platform<feedback>SECRET-FEEDBACK-B</feedback></choice>
      <explanation>SECRET-EXPLANATION-1</explanation>
    </question>
    <question id="q2" objective="lo2">
      <prompt>When is consent obtained?</prompt>
      <choice id="a">After the first session</choice>
      <choice id="b" correct="true">Before services begin</choice>
      <explanation>SECRET-EXPLANATION-2</explanation>
    </question>
  </posttest>
</ce_credit>
"""
SECRETS = ["SECRET-FEEDBACK-B", "SECRET-EXPLANATION-1", "SECRET-EXPLANATION-2", '"correct"', "correct_ids"]


def make_activity(limit: int | str | None = 30, *, attempts_: str = "3", wait: int = 0, review: str = "none"):
    attr = "" if limit is None else f'time_limit_minutes="{limit}"'
    return olx.loads(OLX.format(limit=attr, attempts=attempts_, wait=wait, review=review))


def right(activity, form):
    return {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in form["questions"]}


def act(activity, state, action, payload=None, *, at):
    new, view = flow.act(activity, state, action, payload, at, seed="learner-1")
    json.dumps(view)  # every view is JSON-safe
    return new, view


def started(activity, *, at=T0, extra_minutes=0):
    """A learner with attempt 1 opened at `at`: (state, view)."""
    state = LearnerState(extra_minutes=extra_minutes)
    return act(activity, state, "start", at=at)


def submit(activity, state, view, *, at, time_up=False, responses=None):
    payload = {
        "attempt": view["form"]["attempt"],
        "responses": right(activity, view["form"]) if responses is None else responses,
    }
    if time_up:
        payload["time_up"] = True
    return act(activity, state, "submit", payload, at=at)


# --- deadline arithmetic -------------------------------------------------------------------------


def test_the_deadline_is_start_plus_limit_plus_extra_minutes():
    opened = attempts.Attempt(1, "s", attempts.Form(()), T0, time_limit_minutes=30)
    assert attempts.deadline(opened) == T0 + timedelta(minutes=30)
    assert attempts.deadline(opened, extra_minutes=15) == T0 + timedelta(minutes=45)
    untimed = attempts.Attempt(1, "s", attempts.Form(()), T0)
    # Extra minutes never make an untimed attempt timed.
    assert attempts.deadline(untimed) is None and attempts.deadline(untimed, extra_minutes=60) is None
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="Extra minutes"):
            attempts.deadline(opened, extra_minutes=bad)


def test_expired_only_after_the_deadline_and_the_grace():
    opened = attempts.Attempt(1, "s", attempts.Form(()), T0, time_limit_minutes=30)
    due = T0 + timedelta(minutes=30)
    assert not attempts.expired(opened, due)
    assert not attempts.expired(opened, due + GRACE)
    assert attempts.expired(opened, due + GRACE + timedelta(seconds=1))
    # The learner's extra minutes move the whole window.
    assert not attempts.expired(opened, due + GRACE + timedelta(seconds=1), extra_minutes=5)
    assert attempts.expired(opened, due + timedelta(minutes=5) + GRACE + timedelta(seconds=1), extra_minutes=5)
    with pytest.raises(ValueError, match="time zone"):
        attempts.expired(opened, datetime(2026, 3, 2, 10, 0))


def test_the_attempt_record_keeps_its_limit_and_timed_out_mark_through_json():
    a = make_activity(30)
    state, _ = started(a)
    closed = flow.close_expired(state, T0 + timedelta(hours=1))
    record = json.loads(json.dumps(closed.to_dict()))
    again = LearnerState.from_dict(record)
    assert again.attempts[0].time_limit_minutes == 30 and again.attempts[0].timed_out is True
    assert again == closed
    # An untimed attempt's record has neither key, as before the time limit existed.
    untimed, _ = started(make_activity(None))
    assert {"time_limit_minutes", "timed_out"}.isdisjoint(untimed.to_dict()["attempts"][0])
    with pytest.raises(ValueError, match="whole number of minutes"):
        attempts.Attempt.from_dict({**record["attempts"][0], "time_limit_minutes": 0})


# --- submitting in time, in the grace, and too late ------------------------------------------------


def test_a_submit_within_the_limit_is_scored():
    a = make_activity(30)
    state, view = started(a)
    state, view = submit(a, state, view, at=T0 + timedelta(minutes=29, seconds=59))
    assert view["step"] == "result" and view["result"]["passed"] is True
    assert state.attempts[0].timed_out is False
    assert state.attempts[0].submitted_at == T0 + timedelta(minutes=29, seconds=59)


def test_a_submit_within_the_grace_after_the_deadline_is_scored():
    a = make_activity(30)
    state, view = started(a)
    state, view = submit(a, state, view, at=T0 + timedelta(minutes=30) + GRACE)
    assert view["result"]["passed"] is True and view["result"]["percent"] == 100
    assert state.attempts[0].timed_out is False


def test_a_submit_after_the_grace_is_refused_and_the_attempt_closes_as_failed():
    a = make_activity(30, attempts_="1", review="correct-after-last-attempt")
    state, view = started(a)
    late = T0 + timedelta(minutes=30) + GRACE + timedelta(seconds=1)
    before = state.to_dict()
    with pytest.raises(Conflict) as info:
        submit(a, state, view, at=late)
    err = info.value
    assert err.status == 409 and err.code == "time-up" and err.field == "attempt"
    assert "ran out" in err.message and "30 minutes" in err.message and "attempt 1" in err.message
    assert state.to_dict() == before  # a refused action changes nothing by itself

    # What the home stores: the attempt closed at its deadline as a failed attempt with no answers.
    closed = flow.close_expired(state, late)
    (attempt,) = closed.attempts
    assert attempt.timed_out and attempt.submitted_at == T0 + timedelta(minutes=30)
    assert attempt.score.points == 0 and attempt.score.passed is False
    assert all(r.selected == () for r in attempt.score.items)
    assert flow.raw_score(closed) == (0.0, 2)
    # It counts toward the attempt limit like any failed attempt.
    v = flow.view(a, closed, late)
    assert v["step"] == "result" and v["result"]["timed_out"] is True and v["result"]["passed"] is False
    assert v["attempts"]["used"] == 1 and v["attempts"]["code"] == "no-attempts-left"
    assert v["attempts"]["history"][0]["timed_out"] is True
    # The same late answers sent again (a retry) are refused the same way, nothing more is stored.
    with pytest.raises(Conflict):
        submit(a, closed, view, at=late + timedelta(minutes=1))
    # The refusal carries no answer key; this policy shows the key once every attempt is used.
    assert not any(s in json.dumps(err.to_dict()) for s in SECRETS)
    assert v["result"]["review"]["key_shown"] is True


def test_a_refused_late_submit_names_the_total_with_the_extra_minutes():
    a = make_activity(30)
    state, view = started(a, extra_minutes=10)
    with pytest.raises(Conflict, match="40 minutes"):
        submit(a, state, view, at=T0 + timedelta(minutes=41))


def test_the_wait_after_a_timed_out_attempt_runs_from_its_deadline():
    a = make_activity(30, wait=60)
    state, _ = started(a)
    closed = flow.close_expired(state, T0 + timedelta(hours=5))
    v = flow.view(a, closed, T0 + timedelta(minutes=60))
    assert v["attempts"]["code"] == "wait"
    assert v["attempts"]["next_allowed_at"] == (T0 + timedelta(minutes=90)).isoformat()


def test_any_action_or_view_after_the_grace_closes_the_attempt_itself():
    a = make_activity(30)
    state, _ = started(a)
    late = T0 + timedelta(minutes=31)
    v = flow.view(a, state, late)
    assert v["step"] == "result" and v["result"]["timed_out"] is True and "form" not in v
    assert state.in_progress is not None  # view closes a copy; the state given is kept
    new, v = act(a, state, "start", {"attempt": 1}, at=late)  # the front end's reload after a 409
    assert new.attempts[0].timed_out and v["step"] == "result"
    new, v = act(a, new, "start", {"attempt": 2}, at=late)
    assert v["step"] == "posttest" and v["form"]["attempt"] == 2


def test_close_expired_changes_nothing_in_time_or_without_an_open_attempt():
    a = make_activity(30)
    state, view = started(a)
    assert flow.close_expired(state, T0 + timedelta(minutes=30) + GRACE) is state
    done, _ = submit(a, state, view, at=T0 + timedelta(minutes=5))
    assert flow.close_expired(done, T0 + timedelta(days=1)) is done
    empty = LearnerState()
    assert flow.close_expired(empty, T0) is empty


# --- the time-up submit ---------------------------------------------------------------------------------


def test_a_time_up_submit_may_leave_questions_blank_and_they_score_zero():
    a = make_activity(30)
    state, view = started(a)
    first = view["form"]["questions"][0]["id"]
    answers = {first: sorted(a.question(first).correct_ids)}  # the other question left blank
    state, view = submit(a, state, view, at=T0 + timedelta(minutes=30), time_up=True, responses=answers)
    assert view["step"] == "result" and view["result"]["points"] == 1 and view["result"]["percent"] == 50
    assert state.attempts[0].timed_out is False  # submitted in time, by the front end


def test_without_time_up_blanks_are_refused_naming_the_question():
    a = make_activity(30)
    state, view = started(a)
    first, second = (q["id"] for q in view["form"]["questions"])
    with pytest.raises(FlowError) as info:
        submit(a, state, view, at=T0 + timedelta(minutes=10), responses={first: ["a"]})
    assert info.value.status == 400 and info.value.code == "bad-responses" and info.value.field == second


def test_time_up_does_not_allow_blanks_on_an_untimed_post_test():
    a = make_activity(None)
    state, view = started(a)
    with pytest.raises(FlowError) as info:
        submit(a, state, view, at=T0 + timedelta(minutes=10), time_up=True, responses={})
    assert info.value.code == "bad-responses"


# --- extra minutes ---------------------------------------------------------------------------------------


def test_extra_minutes_extend_the_deadline_and_a_grant_during_the_attempt_counts():
    a = make_activity(30)
    at = T0 + timedelta(minutes=40)
    state, view = started(a)
    assert view["form"]["deadline"] == (T0 + timedelta(minutes=30)).isoformat()
    with pytest.raises(Conflict):
        submit(a, state, view, at=at)
    # Granted while the attempt is open: the same attempt now ends at 45 minutes.
    granted = replace(state, extra_minutes=15)
    v = flow.view(a, granted, at)
    assert v["form"]["deadline"] == (T0 + timedelta(minutes=45)).isoformat()
    assert v["form"]["time_limit"] == {"minutes": 30, "extra_minutes": 15, "total_minutes": 45}
    assert v["form"]["seconds_left"] == 5 * 60
    new, v = submit(a, granted, view, at=at)
    assert v["result"]["passed"] is True


# --- the author edits the policy while an attempt is open ------------------------------------------------


@pytest.mark.parametrize("new_limit", [10, 120, None])
def test_an_open_attempt_keeps_the_limit_it_started_with(new_limit):
    a = make_activity(30)
    state, _ = started(a)
    edited = a.replace(policy=replace(a.policy, time_limit_minutes=new_limit))
    at = T0 + timedelta(minutes=20)
    v = flow.view(edited, state, at)
    assert v["step"] == "posttest"
    assert v["form"]["time_limit"]["total_minutes"] == 30
    assert v["form"]["deadline"] == (T0 + timedelta(minutes=30)).isoformat()
    # The next attempt is told the new policy.
    assert (v["time_limit"] or {}).get("total_minutes") == new_limit
    with pytest.raises(Conflict):
        submit(edited, state, v, at=T0 + timedelta(minutes=31))
    # And an attempt started untimed stays untimed when the author adds a limit.
    untimed = make_activity(None)
    state, _ = started(untimed)
    v = flow.view(a, state, T0 + timedelta(hours=3))
    assert v["step"] == "posttest" and v["form"]["deadline"] is None


# --- untimed activities, and what the view tells the learner --------------------------------------------


def test_an_untimed_activity_is_unaffected():
    a = make_activity(None)
    state, view = started(a, extra_minutes=30)
    assert view["time_limit"] is None and view["info"]["time_limit_minutes"] is None
    assert view["form"]["time_limit"] is None and view["form"]["deadline"] is None
    assert view["form"]["seconds_left"] is None
    days_later = T0 + timedelta(days=3)
    assert flow.close_expired(state, days_later) is state
    state, view = submit(a, state, view, at=days_later)
    assert view["result"]["passed"] is True and state.attempts[0].timed_out is False


def test_the_view_gives_the_deadline_and_total_minutes_but_no_answer_key():
    a = make_activity(45, review="correct-after-passing")
    info = flow.view(a, LearnerState(extra_minutes=15), T0)
    assert info["step"] == "info"
    assert info["time_limit"] == {"minutes": 45, "extra_minutes": 15, "total_minutes": 60}
    assert info["info"]["time_limit_minutes"] == 45
    state, v = started(a, extra_minutes=15)
    v = flow.view(a, state, T0 + timedelta(minutes=10))
    form = v["form"]
    assert form["deadline"] == (T0 + timedelta(minutes=60)).isoformat()
    assert form["time_limit"]["total_minutes"] == 60 and form["seconds_left"] == 50 * 60
    text = json.dumps(v)
    for secret in SECRETS:
        assert secret not in text, secret
    # The closed attempt's result keeps the key hidden too (not passed, correct-after-passing).
    closed = flow.view(a, state, T0 + timedelta(hours=2))
    assert closed["result"]["review"]["key_shown"] is False
    assert not any(s in json.dumps(closed) for s in SECRETS)


# --- OLX and the Studio model ------------------------------------------------------------------------------


def test_time_limit_minutes_round_trips_through_olx():
    a = make_activity(45)
    assert a.policy.time_limit_minutes == 45
    text = olx.dumps(a)
    assert 'time_limit_minutes="45"' in text
    assert olx.loads(text) == a
    untimed = make_activity(None)
    assert untimed.policy.time_limit_minutes is None
    assert "time_limit_minutes" not in olx.dumps(untimed)
    assert olx.loads(olx.dumps(untimed)) == untimed
    top = make_activity(MAX_TIME_LIMIT_MINUTES)
    assert olx.loads(olx.dumps(top)).policy.time_limit_minutes == 600


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "from 1 to 600 minutes, not 0"),
        ("-5", "from 1 to 600 minutes, not -5"),
        ("601", "from 1 to 600 minutes, not 601"),
        ("1.5", "'1.5' on <posttest> is not a whole number"),
        ("ten", "'ten' on <posttest> is not a whole number"),
    ],
)
def test_a_bad_time_limit_in_olx_is_a_problem_naming_the_field(value, words):
    with pytest.raises(olx.OLXError) as info:
        make_activity(value)
    messages = [str(p) for p in info.value.problems]
    assert any("time_limit_minutes" in m and words in m for m in messages), messages
    (problem,) = [p for p in info.value.problems if "time_limit_minutes" in str(p)]
    posttest_line = next(i for i, line in enumerate(OLX.splitlines(), 1) if "<posttest " in line)
    assert problem.line == posttest_line


@pytest.mark.parametrize(
    ("value", "problem_words"),
    [(0, "from 1 to 600"), (-5, "from 1 to 600"), (601, "from 1 to 600"), ("1.5", "not a whole number")],
)
def test_a_bad_time_limit_in_the_studio_model_names_its_field(value, problem_words):
    model = editing.to_model(make_activity(30))
    assert model["policy"]["time_limit_minutes"] == 30
    model["policy"]["time_limit_minutes"] = value
    activity, problems = editing.from_model(model)
    assert activity is None
    hits = [p for p in problems if p["path"] == ["policy", "time_limit_minutes"]]
    assert hits and problem_words in hits[0]["message"], problems
    model["policy"]["time_limit_minutes"] = ""  # empty: untimed
    activity, problems = editing.from_model(model)
    assert problems == [] and activity.policy.time_limit_minutes is None
