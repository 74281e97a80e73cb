"""Tests for post-test attempts: drawing forms, scoring, eligibility and what a review may show."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_xblock.core.activity import (
    Activity,
    Choice,
    LearningObjective,
    PostTestPolicy,
    Question,
    QuestionType,
    ReviewPolicy,
)
from ce_xblock.core.attempts import (
    Attempt,
    AttemptNotAllowed,
    Form,
    FormError,
    FormItem,
    ResponseError,
    best_attempt,
    draw_form,
    eligibility,
    key_shown,
    last_attempt,
    present,
    review,
    score,
    start_attempt,
    submit,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LETTERS = "abcdefgh"


# --- builders: real Activity objects, built in Python ----------------------------------------


def make_question(
    qid: str,
    objective: str = "lo1",
    n_choices: int = 4,
    correct: tuple[int, ...] = (0,),
    qtype: QuestionType = QuestionType.SINGLE,
) -> Question:
    """A question whose feedback and explanation texts are distinctive, so a leak is easy to find."""
    return Question(
        id=qid,
        prompt=f"<p>Prompt of {qid}</p>",
        choices=tuple(
            Choice(
                id=LETTERS[i],
                text=f"Choice {LETTERS[i]} of {qid}",
                correct=i in correct,
                feedback=f"FEEDBACKSECRET {qid}-{LETTERS[i]}",
            )
            for i in range(n_choices)
        ),
        type=qtype,
        objective=objective,
        explanation=f"EXPLANATIONSECRET {qid}",
    )


def make_activity(questions: list[Question] | int = 10, **policy: object) -> Activity:
    if isinstance(questions, int):
        questions = [make_question(f"q{i}", objective=f"lo{i % 3 + 1}") for i in range(1, questions + 1)]
    objectives = sorted({q.objective for q in questions})
    return Activity(
        id="ethics-telehealth",
        title="Ethics of Telehealth Practice",
        objectives=tuple(LearningObjective(o, f"Objective {o}") for o in objectives),
        questions=tuple(questions),
        policy=PostTestPolicy(**policy),  # type: ignore[arg-type]
    )


def swap_key(activity: Activity) -> Activity:
    """The same activity with a different correct answer and different feedback on every item."""
    swapped = []
    for q in activity.questions:
        n = len(q.choices)
        key = {i for i, c in enumerate(q.choices) if c.correct}
        new_key = {(i + 1) % n for i in key}
        swapped.append(
            Question(
                id=q.id,
                prompt=q.prompt,
                choices=tuple(
                    Choice(c.id, c.text, correct=i in new_key, feedback=f"OTHERFEEDBACK {i}")
                    for i, c in enumerate(q.choices)
                ),
                type=q.type,
                objective=q.objective,
                explanation="OTHEREXPLANATION",
            )
        )
    return activity.replace(questions=tuple(swapped))


def correct_responses(activity: Activity, form: Form) -> dict[str, list[str]]:
    return {i.question_id: sorted(activity.question(i.question_id).correct_ids) for i in form.items}


def wrong_responses(activity: Activity, form: Form) -> dict[str, list[str]]:
    out = {}
    for i in form.items:
        q = activity.question(i.question_id)
        out[i.question_id] = [next(c.id for c in q.choices if not c.correct)]
    return out


def submitted(
    activity: Activity, number: int, passed: bool, at: datetime = T0, seed: int | str = "learner-7"
) -> Attempt:
    form = draw_form(activity, seed, number)
    attempt = Attempt(number=number, seed=seed, form=form, started_at=at)
    answers = correct_responses(activity, form) if passed else wrong_responses(activity, form)
    return submit(activity, attempt, answers, at + timedelta(minutes=10))


def open_attempt(activity: Activity, number: int, at: datetime = T0) -> Attempt:
    return Attempt(number=number, seed="learner-7", form=draw_form(activity, "learner-7", number), started_at=at)


# --- drawing forms ---------------------------------------------------------------------------


def test_same_seed_and_attempt_number_give_the_same_form():
    activity = make_activity(12, form_size=5)
    assert draw_form(activity, "user-42", 2) == draw_form(activity, "user-42", 2)
    assert draw_form(activity, 12345, 1) == draw_form(activity, 12345, 1)


def test_different_attempt_numbers_and_seeds_give_different_forms():
    activity = make_activity(12, form_size=5, alternate_forms=False)
    assert draw_form(activity, "user-42", 1) != draw_form(activity, "user-42", 2)
    assert draw_form(activity, "user-42", 1) != draw_form(activity, "user-43", 1)


def test_draw_does_not_touch_the_global_random_generator():
    import random

    random.seed(99)
    expected = random.random()
    random.seed(99)
    draw_form(make_activity(12, form_size=5), "s", 1)
    assert random.random() == expected


def test_shuffle_off_keeps_bank_order_of_questions_and_choices():
    activity = make_activity(8, shuffle_questions=False, shuffle_choices=False)
    form = draw_form(activity, "seed", 3)
    assert form.question_ids == tuple(q.id for q in activity.questions)
    assert all(i.choice_order == ("a", "b", "c", "d") for i in form.items)


def test_shuffle_off_with_a_smaller_form_keeps_the_drawn_items_in_bank_order():
    activity = make_activity(10, form_size=4, shuffle_questions=False, shuffle_choices=False)
    bank = [q.id for q in activity.questions]
    for seed in range(10):
        ids = draw_form(activity, seed, 1).question_ids
        assert list(ids) == sorted(ids, key=bank.index)


def test_shuffle_on_reorders_questions_and_choices():
    activity = make_activity(8)
    bank = tuple(q.id for q in activity.questions)
    forms = [draw_form(activity, seed, 1) for seed in range(10)]
    assert any(f.question_ids != bank for f in forms)
    assert any(i.choice_order != ("a", "b", "c", "d") for f in forms for i in f.items)
    # The questions are shuffled but choices are not, when only one is switched on.
    only_questions = make_activity(8, shuffle_choices=False)
    assert all(i.choice_order == ("a", "b", "c", "d") for s in range(10) for i in draw_form(only_questions, s, 1).items)


def test_a_retake_draws_unseen_items_first():
    activity = make_activity(10, form_size=4)
    first = draw_form(activity, "u1", 1)
    second = draw_form(activity, "u1", 2, seen=first.question_ids)
    assert not set(first.question_ids) & set(second.question_ids)


def test_a_retake_fills_from_seen_items_when_unseen_run_out():
    activity = make_activity(10, form_size=4)
    seen = [f"q{i}" for i in range(1, 9)]  # only q9 and q10 are unseen
    form = draw_form(activity, "u1", 3, seen=seen)
    assert {"q9", "q10"} <= set(form.question_ids)
    assert len(set(form.question_ids)) == 4


def test_without_alternate_forms_seen_items_are_ignored():
    activity = make_activity(10, form_size=4, alternate_forms=False)
    assert draw_form(activity, "u1", 2, seen=["q1", "q2", "q3"]) == draw_form(activity, "u1", 2)


def test_a_form_covers_objectives_evenly():
    activity = make_activity(12, form_size=6)  # 4 questions for each of 3 objectives
    for seed in range(20):
        form = draw_form(activity, seed, 1)
        counts = Counter(activity.question(q).objective for q in form.question_ids)
        assert counts == {"lo1": 2, "lo2": 2, "lo3": 2}


def test_a_small_objective_is_always_covered():
    questions = [make_question("q1", "lo1")] + [make_question(f"q{i}", "lo2") for i in range(2, 8)]
    activity = make_activity(questions, form_size=3)
    for seed in range(20):
        assert "q1" in draw_form(activity, seed, 1).question_ids


def test_draw_refuses_bad_form_size_and_attempt_number():
    with pytest.raises(FormError, match="form of 11 questions but its bank has 10"):
        draw_form(make_activity(10, form_size=11), "s", 1)
    with pytest.raises(ValueError, match="attempt number"):
        draw_form(make_activity(10), "s", 0)
    with pytest.raises(FormError, match="no post-test questions"):
        draw_form(make_activity([]), "s", 1)


def test_present_shows_the_form_in_order_without_key_feedback_or_explanation():
    activity = make_activity(6, form_size=4)
    form = draw_form(activity, "s", 1)
    shown = present(activity, form)
    assert [q["id"] for q in shown] == list(form.question_ids)
    assert [[c["id"] for c in q["choices"]] for q in shown] == [list(i.choice_order) for i in form.items]
    assert shown[0]["prompt"] == activity.question(shown[0]["id"]).prompt
    assert set(shown[0]) == {"id", "type", "prompt", "choices"}
    assert all(set(c) == {"id", "text"} for q in shown for c in q["choices"])
    assert_no_key(json.dumps(shown))
    assert present(swap_key(activity), form) == shown


def test_present_refuses_a_form_the_activity_no_longer_matches():
    activity = make_activity(6)
    form = draw_form(activity, "s", 1)
    with pytest.raises(FormError, match="no longer in activity"):
        present(activity.replace(questions=activity.questions[1:]), form)


# --- properties ------------------------------------------------------------------------------


@st.composite
def activities(draw: st.DrawFn) -> Activity:
    n_objectives = draw(st.integers(1, 3))
    questions = []
    for i in range(draw(st.integers(1, 8))):
        n = draw(st.integers(2, 5))
        if draw(st.booleans()):
            qtype = QuestionType.MULTIPLE
            key = tuple(draw(st.sets(st.integers(0, n - 1), min_size=1)))
        else:
            qtype = QuestionType.SINGLE
            key = (draw(st.integers(0, n - 1)),)
        objective = f"lo{draw(st.integers(1, n_objectives))}"
        questions.append(make_question(f"q{i}", objective, n, key, qtype))
    return make_activity(
        questions,
        form_size=draw(st.none() | st.integers(1, len(questions))),
        shuffle_questions=draw(st.booleans()),
        shuffle_choices=draw(st.booleans()),
        pass_mark=draw(st.integers(1, 100)),
        alternate_forms=draw(st.booleans()),
        partial_credit=draw(st.booleans()),
        review=draw(st.sampled_from(ReviewPolicy)),
        max_attempts=draw(st.none() | st.integers(1, 3)),
    )


seeds = st.integers(-(10**12), 10**12) | st.text(max_size=12)


def any_responses(data: st.DataObject, activity: Activity, form: Form) -> dict[str, list[str]]:
    out = {}
    for item in form.items:
        q = activity.question(item.question_id)
        ids = [c.id for c in q.choices]
        if q.type is QuestionType.SINGLE:
            out[q.id] = [data.draw(st.sampled_from(ids))]
        else:
            out[q.id] = sorted(data.draw(st.sets(st.sampled_from(ids), min_size=1)))
    return out


@settings(max_examples=150, deadline=None)
@given(activities(), seeds, st.integers(1, 6), st.data())
def test_form_properties(activity, seed, number, data):
    seen = data.draw(st.sets(st.sampled_from([q.id for q in activity.questions])))
    form = draw_form(activity, seed, number, seen)
    ids = form.question_ids
    assert len(ids) == activity.form_size
    assert len(set(ids)) == len(ids)
    assert set(ids) <= {q.id for q in activity.questions}
    for item in form.items:
        assert sorted(item.choice_order) == sorted(c.id for c in activity.question(item.question_id).choices)
    assert draw_form(activity, seed, number, seen) == form
    unseen_in_bank = len([q for q in activity.questions if q.id not in seen])
    if activity.policy.alternate_forms:
        assert len(set(ids) - seen) == min(activity.form_size, unseen_in_bank)


@settings(max_examples=100, deadline=None)
@given(activities(), seeds)
def test_first_forms_are_balanced_unless_an_objective_runs_out(activity, seed):
    form = draw_form(activity, seed, 1)
    bank = Counter(q.objective for q in activity.questions)
    drawn = Counter(activity.question(q).objective for q in form.question_ids)
    for a in bank:
        for b in bank:
            if drawn[a] < drawn[b] - 1:
                assert drawn[a] == bank[a], (drawn, bank)


@settings(max_examples=150, deadline=None)
@given(activities(), seeds, st.data())
def test_score_properties(activity, seed, data):
    form = draw_form(activity, seed, 1)
    responses = any_responses(data, activity, form)
    result = score(activity, form, responses)
    assert 0 <= result.points <= result.max_points == len(form.items)
    assert 0 <= result.percent <= 100
    assert [r.question_id for r in result.items] == list(form.question_ids)
    assert all(0 <= r.points <= 1 for r in result.items)
    assert all(r.correct == (r.points == 1) for r in result.items)
    # Partial credit never scores lower than all-or-nothing.
    other = activity.replace(policy=PostTestPolicy(**{**activity.policy.__dict__, "partial_credit": True}))
    assert (
        score(other, form, responses).points
        >= score(
            activity.replace(policy=PostTestPolicy(**{**activity.policy.__dict__, "partial_credit": False})),
            form,
            responses,
        ).points
    )

    perfect = score(activity, form, correct_responses(activity, form))
    assert perfect.passed and perfect.points == perfect.max_points and perfect.percent == 100


@settings(max_examples=100, deadline=None)
@given(activities(), seeds, st.booleans(), st.data())
def test_attempt_round_trips_through_json(activity, seed, is_submitted, data):
    form = draw_form(activity, seed, 2)
    offset = data.draw(st.integers(-12 * 60, 14 * 60))
    tz = timezone(timedelta(minutes=offset))
    attempt = Attempt(number=2, seed=seed, form=form, started_at=datetime(2026, 5, 4, 3, 2, 1, tzinfo=tz))
    if is_submitted:
        attempt = submit(activity, attempt, any_responses(data, activity, form), attempt.started_at + timedelta(1))
    stored = json.loads(json.dumps(attempt.to_dict()))
    back = Attempt.from_dict(stored)
    assert back == attempt
    assert back.to_dict() == attempt.to_dict()


@settings(max_examples=100, deadline=None)
@given(activities(), seeds, st.data())
def test_present_and_hidden_reviews_never_depend_on_the_key(activity, seed, data):
    form = draw_form(activity, seed, 1)
    other = swap_key(activity)
    assert present(activity, form) == present(other, form)
    attempt = submit(activity, Attempt(1, seed, form, T0), any_responses(data, activity, form), T0)
    if not key_shown(activity, [attempt]):
        shown = review(activity, [attempt], 1)
        assert review(other, [attempt], 1) == shown
        assert_no_key(json.dumps(shown))


# --- scoring ---------------------------------------------------------------------------------


def test_exactly_the_pass_mark_passes():
    activity = make_activity(20, pass_mark=75, shuffle_questions=False)
    form = draw_form(activity, "s", 1)
    answers = correct_responses(activity, form)
    wrong = wrong_responses(activity, form)
    for qid in list(answers)[:5]:
        answers[qid] = wrong[qid]
    result = score(activity, form, answers)
    assert (result.points, result.max_points, result.percent, result.passed) == (15, 20, 75.0, True)
    answers[list(answers)[5]] = wrong[list(answers)[5]]
    assert not score(activity, form, answers).passed


def test_pass_mark_is_compared_exactly_not_in_floating_point():
    # 57/100 * 100 is 56.99999999999999 in floating point; 57 of 100 must still pass a 57% mark.
    activity = make_activity(100, pass_mark=57)
    form = draw_form(activity, "s", 1)
    answers = wrong_responses(activity, form)
    right = correct_responses(activity, form)
    for qid in list(answers)[:57]:
        answers[qid] = right[qid]
    result = score(activity, form, answers)
    assert result.points == 57
    assert result.passed


def multiple_activity(partial: bool) -> Activity:
    q = make_question("m1", n_choices=5, correct=(0, 1, 2), qtype=QuestionType.MULTIPLE)
    return make_activity([q], partial_credit=partial)


@pytest.mark.parametrize(
    ("selected", "all_or_nothing", "partial"),
    [
        (["a", "b", "c"], 1.0, 1.0),
        (["a", "b"], 0.0, 2 / 3),
        (["a", "b", "d"], 0.0, 1 / 3),
        (["a", "d"], 0.0, 0.0),
        (["a", "d", "e"], 0.0, 0.0),  # floored at 0, never negative
        (["a", "b", "c", "d"], 0.0, 2 / 3),
        (["d", "e"], 0.0, 0.0),
    ],
)
def test_multiple_answer_items_are_all_or_nothing_unless_partial_credit(selected, all_or_nothing, partial):
    for is_partial, expected in ((False, all_or_nothing), (True, partial)):
        activity = multiple_activity(is_partial)
        form = draw_form(activity, "s", 1)
        result = score(activity, form, {"m1": selected})
        assert result.points == pytest.approx(expected)
        assert result.items[0].correct is (expected == 1.0)
        assert result.items[0].selected == tuple(sorted(selected))


def test_single_answer_items_are_right_or_wrong_even_with_partial_credit():
    activity = make_activity([make_question("s1", correct=(2,))], partial_credit=True)
    form = draw_form(activity, "s", 1)
    assert score(activity, form, {"s1": ["c"]}).points == 1
    assert score(activity, form, {"s1": ["a"]}).points == 0


@pytest.mark.parametrize(
    ("responses", "message", "question_id", "choice_id"),
    [
        ({"q1": ["z"]}, "Question 'q1' has no choice 'z'", "q1", "z"),
        ({"q1": ["a", "b"]}, "Question 'q1' takes one answer", "q1", "b"),
        ({"q1": ["a", "a"]}, "Choice 'a' of question 'q1' is selected twice", "q1", "a"),
        ({"q1": "a"}, "must be a list of choice ids", "q1", None),
        ({"q1": [3]}, "Question 'q1' has no choice 3", "q1", "3"),
        ({"nope": ["a"]}, "question 'nope', which is not on this attempt's form", "nope", None),
    ],
)
def test_bad_responses_are_refused_naming_the_question_and_choice(responses, message, question_id, choice_id):
    activity = make_activity([make_question("q1"), make_question("q2")])
    form = draw_form(activity, "s", 1)
    full = {"q1": ["a"], "q2": ["a"], **responses}
    with pytest.raises(ResponseError, match=message.replace("(", r"\(")) as err:
        score(activity, form, full)
    assert err.value.question_id == question_id
    assert err.value.choice_id == choice_id


def test_unanswered_questions_are_refused_unless_blanks_are_allowed():
    activity = make_activity([make_question("q1"), make_question("q2"), make_question("q3")])
    form = draw_form(activity, "s", 1)
    with pytest.raises(ResponseError, match="Questions 'q2', 'q3' have no answer"):
        score(activity, form, {"q1": ["a"], "q2": []})
    result = score(activity, form, {"q1": ["a"], "q2": []}, allow_blank=True)
    assert result.points == 1 and result.max_points == 3
    assert [r.selected for r in result.items if r.question_id != "q1"] == [(), ()]


# --- eligibility -----------------------------------------------------------------------------


def test_first_attempt_is_allowed():
    e = eligibility(make_activity(5), [], T0)
    assert (e.allowed, e.code, e.attempts_used, e.attempts_allowed) == (True, "ok", 0, 3)
    assert "attempt 1 of 3" in e.message


def test_attempt_limit_and_extra_attempts():
    activity = make_activity(5, max_attempts=2)
    attempts = [submitted(activity, 1, False), submitted(activity, 2, False)]
    e = eligibility(activity, attempts, T0 + timedelta(days=1))
    assert (e.allowed, e.code, e.attempts_used, e.attempts_allowed) == (False, "no-attempts-left", 2, 2)
    assert "all 2 attempts" in e.message
    e = eligibility(activity, attempts, T0 + timedelta(days=1), extra_attempts=1)
    assert (e.allowed, e.code, e.attempts_allowed) == (True, "ok", 3)
    with pytest.raises(ValueError, match="Extra attempts"):
        eligibility(activity, attempts, T0, extra_attempts=-1)


def test_unlimited_attempts_never_run_out():
    activity = make_activity(5, max_attempts=None)
    attempts = [submitted(activity, n, False) for n in range(1, 21)]
    e = eligibility(activity, attempts, T0 + timedelta(days=1))
    assert (e.allowed, e.code, e.attempts_allowed, e.attempts_used) == (True, "ok", None, 20)


def test_wait_after_a_failed_attempt():
    activity = make_activity(5, wait_minutes=60)
    attempts = [submitted(activity, 1, False)]  # submitted at T0 + 10 min
    e = eligibility(activity, attempts, T0 + timedelta(minutes=30))
    assert (e.allowed, e.code) == (False, "wait")
    assert e.next_allowed_at == T0 + timedelta(minutes=70)
    assert "60 minutes" in e.message
    e = eligibility(activity, attempts, T0 + timedelta(minutes=70))
    assert (e.allowed, e.code, e.next_allowed_at) == (True, "ok", None)


def test_an_open_attempt_blocks_a_new_one():
    activity = make_activity(5)
    e = eligibility(activity, [submitted(activity, 1, False), open_attempt(activity, 2)], T0 + timedelta(hours=1))
    assert (e.allowed, e.code, e.attempts_used) == (False, "in-progress", 2)
    assert "Attempt 2 is still open" in e.message


def test_passing_blocks_more_attempts():
    activity = make_activity(5, max_attempts=None)
    e = eligibility(activity, [submitted(activity, 1, False), submitted(activity, 2, True)], T0 + timedelta(days=1))
    assert (e.allowed, e.code) == (False, "passed")
    assert "attempt 2 with 100%" in e.message


def test_naive_datetimes_are_refused():
    activity = make_activity(5)
    with pytest.raises(ValueError, match="no time zone"):
        eligibility(activity, [], datetime(2026, 1, 1, 12))
    with pytest.raises(ValueError, match="started_at .* has no time zone"):
        Attempt(1, "s", draw_form(activity, "s", 1), datetime(2026, 1, 1, 12))
    with pytest.raises(ValueError, match="no time zone"):
        Attempt.from_dict({**open_attempt(activity, 1).to_dict(), "started_at": "2026-01-01T12:00:00"})


def test_start_and_submit_an_attempt():
    activity = make_activity(10, form_size=4, max_attempts=2)
    first = start_attempt(activity, [], "learner-9", T0)
    assert first.number == 1 and not first.submitted
    with pytest.raises(AttemptNotAllowed) as err:
        start_attempt(activity, [first], "learner-9", T0)
    assert err.value.eligibility.code == "in-progress"
    done = submit(activity, first, wrong_responses(activity, first.form), T0 + timedelta(minutes=5))
    assert done.submitted and done.score is not None and not done.passed
    with pytest.raises(ValueError, match="already submitted"):
        submit(activity, done, correct_responses(activity, done.form), T0 + timedelta(minutes=6))
    second = start_attempt(activity, [done], "learner-9", T0 + timedelta(minutes=7))
    assert second.number == 2
    assert not set(second.form.question_ids) & set(done.form.question_ids)  # alternate form


def test_best_and_last_attempt():
    activity = make_activity(5, max_attempts=None)
    a1, a2, a3 = submitted(activity, 1, False), submitted(activity, 2, True), submitted(activity, 3, False)
    assert best_attempt([a1, a2, a3]) is a2
    assert last_attempt([a1, a2, a3, open_attempt(activity, 4)]) is a3
    assert best_attempt([]) is None and last_attempt([open_attempt(activity, 1)]) is None


# --- review ----------------------------------------------------------------------------------

KEY_FIELDS = {"correct", "correct_ids", "feedback", "explanation", "points"}


def assert_no_key(text: str) -> None:
    """Nothing in the serialised output gives the key away."""
    assert "FEEDBACKSECRET" not in text
    assert "EXPLANATIONSECRET" not in text
    payload = json.loads(text)
    items = payload if isinstance(payload, list) else payload["items"]
    for item in items:
        assert not KEY_FIELDS & set(item), item
        for choice in item["choices"]:
            assert not KEY_FIELDS & set(choice), choice


def assert_hidden_review(activity: Activity, attempts: list[Attempt], number: int, **kw: int) -> dict:
    shown = review(activity, attempts, number, **kw)
    assert shown["key_shown"] is False
    assert_no_key(json.dumps(shown))
    # Swapping the key and the feedback changes nothing the learner sees.
    assert review(swap_key(activity), attempts, number, **kw) == shown
    return shown


def assert_key_review(activity: Activity, attempts: list[Attempt], number: int, **kw: int) -> dict:
    shown = review(activity, attempts, number, **kw)
    assert shown["key_shown"] is True
    text = json.dumps(shown)
    assert "FEEDBACKSECRET" in text and "EXPLANATIONSECRET" in text
    for item in shown["items"]:
        q = activity.question(item["id"])
        assert set(item["correct_ids"]) == q.correct_ids
        assert item["explanation"] == q.explanation
        assert [c["correct"] for c in item["choices"]] == [
            cid in q.correct_ids for cid in [c["id"] for c in item["choices"]]
        ]
    return shown


def test_review_none_shows_only_the_score_even_after_passing():
    activity = make_activity(5, review=ReviewPolicy.NONE)
    attempts = [submitted(activity, 1, False), submitted(activity, 2, True)]
    for n in (1, 2):
        shown = assert_hidden_review(activity, attempts, n)
        assert shown["items"] == []
        assert "Prompt of" not in json.dumps(shown)
    assert review(activity, attempts, 2)["passed"] is True
    assert review(activity, attempts, 1)["percent"] == 0


def test_review_own_answers_shows_selections_but_never_the_key():
    activity = make_activity(5, review=ReviewPolicy.OWN_ANSWERS, max_attempts=1)
    attempts = [submitted(activity, 1, False)]
    shown = assert_hidden_review(activity, attempts, 1)
    mine = attempts[0].responses
    assert {i["id"]: tuple(i["selected"]) for i in shown["items"]} == dict(mine)
    assert all(c["selected"] == (c["id"] in mine[i["id"]]) for i in shown["items"] for c in i["choices"])
    assert [i["id"] for i in shown["items"]] == list(attempts[0].form.question_ids)
    passed = [submitted(make_activity(5, review=ReviewPolicy.OWN_ANSWERS), 1, True)]
    assert_hidden_review(make_activity(5, review=ReviewPolicy.OWN_ANSWERS), passed, 1)


def test_review_correct_after_passing():
    activity = make_activity(5, review=ReviewPolicy.CORRECT_AFTER_PASSING, max_attempts=2)
    failed = submitted(activity, 1, False)
    assert_hidden_review(activity, [failed], 1)
    # Running out of attempts without passing still hides the key.
    assert_hidden_review(activity, [failed, submitted(activity, 2, False)], 1)
    attempts = [failed, submitted(activity, 2, True)]
    assert_key_review(activity, attempts, 2)
    shown = assert_key_review(activity, attempts, 1)  # any passed attempt opens every review
    assert all(i["correct"] is False and i["points"] == 0 for i in shown["items"])


def test_review_correct_after_last_attempt():
    activity = make_activity(5, review=ReviewPolicy.CORRECT_AFTER_LAST_ATTEMPT, max_attempts=2)
    a1, a2 = submitted(activity, 1, False), submitted(activity, 2, False)
    assert_hidden_review(activity, [a1], 1)
    # The last attempt is open: the key would help answer it.
    assert_hidden_review(activity, [a1, open_attempt(activity, 2)], 1)
    assert_key_review(activity, [a1, a2], 1)
    # An accommodation's extra attempt keeps the key hidden until it is used too.
    assert_hidden_review(activity, [a1, a2], 1, extra_attempts=1)
    assert_key_review(activity, [a1, submitted(activity, 2, True)], 1)


def test_review_correct_after_last_attempt_with_unlimited_attempts_waits_for_a_pass():
    activity = make_activity(5, review=ReviewPolicy.CORRECT_AFTER_LAST_ATTEMPT, max_attempts=None)
    fails = [submitted(activity, n, False) for n in range(1, 6)]
    assert_hidden_review(activity, fails, 5)
    assert_key_review(activity, fails + [submitted(activity, 6, True)], 5)


def test_review_refuses_an_open_or_unknown_attempt():
    activity = make_activity(5)
    with pytest.raises(ValueError, match="not been submitted"):
        review(activity, [open_attempt(activity, 1)], 1)
    with pytest.raises(ValueError, match="no attempt 4"):
        review(activity, [open_attempt(activity, 1)], 4)


def test_stored_record_is_json_and_rejects_damage():
    activity = make_activity(5)
    record = submitted(activity, 1, True).to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["started_at"].endswith("+00:00")
    with pytest.raises(ValueError, match="no 'form'"):
        Attempt.from_dict({k: v for k, v in record.items() if k != "form"})
    with pytest.raises(ValueError, match="both submitted_at and a score"):
        Attempt.from_dict({**record, "score": None})


def test_form_round_trips_through_its_dict():
    form = Form((FormItem("q1", ("b", "a")), FormItem("q2", ("a", "b"))))
    assert Form.from_dict(json.loads(json.dumps(form.to_dict()))) == form
