"""The learner flow state machine: every step, the server-side limits, idempotent submits, no leaked keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ce_xblock.core import flow, olx
from ce_xblock.core.flow import FlowError, LearnerState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

OLX = """
<ce_credit id="ethics-telehealth" version="1" display_name="Ethics of Telehealth Practice"
           format="self-paced-online" level="intermediate" duration_minutes="120" min_minutes="{min_minutes}">
  <description><p>Two hours on telehealth ethics.</p></description>
  <audience>Psychologists and social workers</audience>
  <objectives>
    <objective id="lo1">Identify confidentiality risks in video sessions.</objective>
    <objective id="lo2">Apply informed consent rules to telehealth.</objective>
  </objectives>
  <instructors><instructor name="Ana Ruiz" credentials="PhD">Directs a telehealth clinic.</instructor></instructors>
  <disclosures><commercial_support>No commercial support.</commercial_support></disclosures>
  <sponsor name="Example CE Institute" signatory_name="Jo Lee" signatory_title="CE Director"/>
  <accreditations>
    <accreditation body="apa" provider_number="1234" credits="2" credit_type="ethics"
                   approval_start="2025-01-01" approval_end="2027-12-31" requires="{requires}"/>
  </accreditations>
  <posttest form_size="2" pass_mark="75" attempts="{attempts}" wait_minutes="{wait}" review="{review}">
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
    <question id="q3" objective="lo2" type="multiple">
      <prompt>Which belong in a telehealth consent?</prompt>
      <choice id="a" correct="true">Emergency plan</choice>
      <choice id="b" correct="true">Technology risks</choice>
      <choice id="c">Favourite colour</choice>
    </question>
  </posttest>
  <evaluation required="{eval_required}" objective_items="true">
    <likert id="relevance">The content was relevant to my practice.</likert>
    <text id="apply" required="false">What will you apply?</text>
  </evaluation>
  <attestation>I attest that I completed this activity myself.</attestation>
</ce_credit>
"""


def make_activity(
    *,
    attempts: str = "3",
    wait: int = 0,
    review: str = "correct-after-passing",
    min_minutes: int = 0,
    requires: str = "legal-name",
    eval_required: str = "true",
):
    return olx.loads(
        OLX.format(
            attempts=attempts,
            wait=wait,
            review=review,
            min_minutes=min_minutes,
            requires=requires,
            eval_required=eval_required,
        )
    )


def right_answers(activity, view):
    return {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in view["form"]["questions"]}


def wrong_answers(activity, view):
    out = {}
    for q in view["form"]["questions"]:
        wrong = [c["id"] for c in q["choices"] if c["id"] not in activity.question(q["id"]).correct_ids]
        out[q["id"]] = wrong[:1]
    return out


def issue(activity, state, completion):
    return {
        "id": f"CE-{activity.id}-{len(state.attempts)}",
        "issued_at": completion.completed_at,
        "learner_name": completion.learner.legal_name,
    }


class Learner:
    """Drives flow.act the way a home does: state in, state out, the clock moving forward."""

    def __init__(self, activity, seed="learner-1", now=T0, issuer=issue):
        self.activity = activity
        self.state = LearnerState()
        self.now = now
        self.seed = seed
        self.issuer = issuer
        self.view = flow.view(activity, self.state, now)

    def act(self, action, payload=None, minutes=1):
        self.now += timedelta(minutes=minutes)
        self.state, self.view = flow.act(
            self.activity,
            self.state,
            action,
            payload,
            self.now,
            seed=self.seed,
            issue_certificate=self.issuer,
            profile={"full_name": "Dana Q. Learner"},
        )
        json.dumps(self.view)  # every view must be JSON-safe
        return self.view

    def submit(self, answers):
        return self.act("submit", {"attempt": self.view["form"]["attempt"], "responses": answers})


def test_whole_flow_from_fail_to_retake_to_certificate():
    a = make_activity()
    learner = Learner(a)
    assert learner.view["step"] == "info"
    assert learner.view["info"]["credits"][0]["credits"] == "2"
    assert "American Psychological Association" in learner.view["info"]["credits"][0]["statement"]

    v = learner.act("start")
    assert v["step"] == "posttest"
    assert (v["attempts"]["used"], v["attempts"]["allowed"]) == (1, 3)
    assert len(v["form"]["questions"]) == 2

    v = learner.submit(wrong_answers(a, v))
    assert v["step"] == "result"
    assert v["result"]["passed"] is False and v["result"]["percent"] == 0
    assert v["attempts"]["can_start"] is True

    v = learner.act("start")
    assert v["form"]["attempt"] == 2
    v = learner.submit(right_answers(a, v))
    assert v["step"] == "result" and v["result"]["passed"] is True
    assert v["result"]["review"]["key_shown"] is True
    assert v["attempts"]["can_start"] is False

    v = learner.act("continue")
    assert v["step"] == "evaluation"
    ids = [i["id"] for i in v["evaluation"]["items"]]
    assert ids == ["objective-lo1", "objective-lo2", "relevance", "apply"]
    v = learner.act("evaluation", {"answers": {i: 4 for i in ids[:3]} | {"apply": "Consent forms."}})
    assert v["step"] == "attestation"
    v = learner.act("attest", {"confirm": True})
    assert v["step"] == "details"
    assert v["details"]["values"]["legal_name"] == "Dana Q. Learner"
    assert v["details"]["prefilled_from_profile"] is True
    v = learner.act("details", {"legal_name": "Dana Quinn Learner"})
    assert v["step"] == "certificate" and v["certificate"]["issued"] is False
    assert v["certificate"]["refusals"] == []
    v = learner.act("certificate")
    assert v["certificate"]["issued"] is True
    assert v["certificate"]["id"] == "CE-ethics-telehealth-2"
    assert v["certificate"]["learner_name"] == "Dana Quinn Learner"
    assert v["complete"] is True


def test_state_round_trips_through_json_at_every_step():
    a = make_activity()
    learner = Learner(a)
    for action, payload in [("start", None), ("submit", "right"), ("continue", None)]:
        if payload == "right":
            payload = {"attempt": 1, "responses": right_answers(a, learner.view)}
        learner.act(action, payload)
        stored = json.loads(json.dumps(learner.state.to_dict()))
        again = LearnerState.from_dict(stored)
        assert again.to_dict() == learner.state.to_dict()
        assert flow.view(a, again, learner.now) == learner.view
    assert LearnerState.from_dict(None) == LearnerState()
    assert LearnerState.from_dict({}) == LearnerState()


def test_a_double_submit_is_counted_once_and_returns_the_same_result():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    answers = wrong_answers(a, v)
    first = learner.act("submit", {"attempt": 1, "responses": answers})
    state_after_first = learner.state.to_dict()
    second = learner.act("submit", {"attempt": 1, "responses": right_answers(a, v)}, minutes=0)
    assert learner.state.to_dict() == state_after_first
    assert second == first
    assert second["attempts"]["used"] == 1 and second["result"]["passed"] is False


def test_a_double_start_opens_one_attempt():
    learner = Learner(make_activity())
    learner.act("start")
    learner.act("start", {"attempt": 1}, minutes=0)
    assert len(learner.state.attempts) == 1


def test_submit_needs_the_attempt_number_and_the_open_attempt():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    with pytest.raises(FlowError) as e:
        learner.act("submit", {"responses": right_answers(a, v)})
    assert e.value.code == "bad-payload" and e.value.field == "attempt"
    with pytest.raises(FlowError) as e:
        learner.act("submit", {"attempt": 2, "responses": right_answers(a, v)})
    assert e.value.code == "stale-attempt"
    with pytest.raises(FlowError) as e:
        learner.act("submit", {"attempt": 1, "responses": "a"})
    assert e.value.code == "bad-payload"


def test_unknown_choices_and_missing_answers_name_the_question():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    qid = v["form"]["questions"][0]["id"]
    bad = right_answers(a, v) | {qid: ["zz"]}
    with pytest.raises(FlowError) as e:
        learner.act("submit", {"attempt": 1, "responses": bad})
    assert e.value.code == "bad-responses" and e.value.field == qid
    with pytest.raises(FlowError) as e:
        learner.act("submit", {"attempt": 1, "responses": {}})
    assert e.value.code == "bad-responses"
    assert learner.state.in_progress is not None  # a refused submit leaves the attempt open


def test_the_attempt_limit_is_enforced_and_an_accommodation_lifts_it():
    a = make_activity(attempts="2")
    learner = Learner(a)
    for _ in range(2):
        v = learner.act("start")
        v = learner.submit(wrong_answers(a, v))
    assert v["attempts"]["code"] == "no-attempts-left" and v["attempts"]["can_start"] is False
    with pytest.raises(FlowError) as e:
        learner.act("start")
    assert e.value.code == "no-attempts-left"
    learner.state.extra_attempts = 1
    v = learner.act("start")
    assert v["form"]["attempt"] == 3 and v["attempts"]["allowed"] == 3


def test_the_wait_after_a_failed_attempt_is_enforced_with_seconds_left():
    a = make_activity(wait=10)
    learner = Learner(a)
    v = learner.act("start")
    v = learner.submit(wrong_answers(a, v))
    assert v["attempts"]["code"] == "wait" and v["attempts"]["wait_seconds"] == 600
    with pytest.raises(FlowError) as e:
        learner.act("start", minutes=4)
    assert e.value.code == "wait"
    assert flow.view(a, learner.state, learner.now)["attempts"]["wait_seconds"] == 360
    v = learner.act("start", minutes=6)
    assert v["step"] == "posttest" and v["form"]["attempt"] == 2


@pytest.mark.parametrize("review", ["none", "own-answers", "correct-after-passing", "correct-after-last-attempt"])
def test_no_answer_key_in_any_view_before_the_policy_allows(review):
    a = make_activity(review=review, attempts="3")
    learner = Learner(a)
    secrets = ["SECRET-FEEDBACK-B", "SECRET-EXPLANATION-1", "SECRET-EXPLANATION-2", '"correct"', "correct_ids"]
    views = [learner.view]
    v = learner.act("start")
    views.append(v)
    views.append(learner.submit(wrong_answers(a, v)))
    views.append(flow.view(a, learner.state, learner.now))
    for v in views:
        text = json.dumps(v)
        for secret in secrets:
            assert secret not in text, (review, secret)


def test_the_key_is_shown_after_the_last_attempt_when_the_policy_says_so():
    a = make_activity(review="correct-after-last-attempt", attempts="1")
    learner = Learner(a)
    v = learner.act("start")
    v = learner.submit(wrong_answers(a, v))
    assert v["result"]["review"]["key_shown"] is True
    assert "correct_ids" in json.dumps(v)


def test_evaluation_answers_are_checked_per_item():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    learner.act("continue")
    cases = [
        ({"objective-lo1": 4, "objective-lo2": 4}, "missing-answer", "relevance"),
        ({"objective-lo1": 4, "objective-lo2": 4, "relevance": 9}, "bad-evaluation", "relevance"),
        ({"objective-lo1": 4, "objective-lo2": 4, "relevance": True}, "bad-evaluation", "relevance"),
        ({"objective-lo1": 4, "objective-lo2": 4, "relevance": 3, "nope": 1}, "bad-evaluation", "nope"),
        ({"objective-lo1": 4, "objective-lo2": 4, "relevance": 3, "apply": 5}, "bad-evaluation", "apply"),
        ({"objective-lo1": 4, "objective-lo2": 4, "relevance": 3, "apply": "x" * 3000}, "bad-evaluation", "apply"),
    ]
    for answers, code, field in cases:
        with pytest.raises(FlowError) as e:
            learner.act("evaluation", {"answers": answers})
        assert (e.value.code, e.value.field) == (code, field), answers
    with pytest.raises(FlowError):
        learner.act("evaluation", {"skip": True})
    v = learner.act("evaluation", {"answers": {"objective-lo1": "5", "objective-lo2": 4, "relevance": 3}})
    assert v["step"] == "attestation"
    assert learner.state.evaluation_answers == {"objective-lo1": 5, "objective-lo2": 4, "relevance": 3}


def test_an_optional_evaluation_can_be_skipped():
    a = make_activity(eval_required="false")
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    v = learner.act("evaluation", {"skip": True})
    assert v["step"] == "attestation"


def test_steps_after_the_post_test_need_a_pass():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(wrong_answers(a, v))
    for action, payload in [
        ("continue", {}),
        ("evaluation", {"answers": {}}),
        ("attest", {"confirm": True}),
        ("details", {"legal_name": "X"}),
    ]:
        with pytest.raises(FlowError) as e:
            learner.act(action, payload)
        assert e.value.code == "not-passed"
    with pytest.raises(FlowError) as e:
        learner.act("certificate")
    assert e.value.code == "not-ready"


def finish_to_details(a, learner):
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    learner.act("continue")
    learner.act("evaluation", {"answers": {"objective-lo1": 4, "objective-lo2": 4, "relevance": 4}})
    return learner.act("attest", {"confirm": True})


def test_licence_details_are_required_where_the_accreditation_needs_them():
    a = make_activity(requires="legal-name license-number license-state profession")
    learner = Learner(a)
    v = finish_to_details(a, learner)
    assert v["details"]["required"] == ["legal_name", "license_number", "license_state", "profession"]
    good = {
        "legal_name": "Dana Learner",
        "license_number": "PSY 1234",
        "license_state": "tx",
        "profession": "Psychologist",
    }
    for field, value, code in [
        ("legal_name", "  ", "missing-detail"),
        ("license_number", "", "missing-detail"),
        ("license_state", "Texas", "bad-details"),
        ("profession", 7, "bad-details"),
        ("legal_name", "N" * 300, "bad-details"),
    ]:
        with pytest.raises(FlowError) as e:
            learner.act("details", good | {field: value})
        assert (e.value.code, e.value.field) == (code, field)
    v = learner.act("details", good)
    assert learner.state.details["license_state"] == "TX"
    assert v["step"] == "certificate"


def test_the_attestation_must_be_confirmed():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    learner.act("evaluation", {"answers": {"objective-lo1": 4, "objective-lo2": 4, "relevance": 4}})
    with pytest.raises(FlowError) as e:
        learner.act("attest", {"confirm": "yes"})
    assert e.value.field == "confirm"


def test_the_minimum_time_holds_the_certificate_back():
    a = make_activity(min_minutes=60)
    learner = Learner(a)
    finish_to_details(a, learner)
    v = learner.act("details", {"legal_name": "Dana Learner"})
    assert 0 < v["certificate"]["wait_seconds"] <= 3600
    assert [r["code"] for r in v["certificate"]["refusals"]] == ["minimum-time-not-met"]
    with pytest.raises(FlowError) as e:
        learner.act("certificate")
    assert e.value.code == "min-time"
    v = learner.act("certificate", minutes=60)
    assert v["certificate"]["issued"] is True


def test_the_certificate_is_issued_once_and_then_frozen():
    calls = []

    def issuer(activity, state, completion):
        calls.append(completion)
        return {"id": f"CE-{len(calls)}", "issued_at": completion.completed_at}

    a = make_activity()
    learner = Learner(a, issuer=issuer)
    finish_to_details(a, learner)
    learner.act("details", {"legal_name": "Dana Learner"})
    first = learner.act("certificate")
    second = learner.act("certificate", minutes=0)
    assert len(calls) == 1 and first == second and first["certificate"]["id"] == "CE-1"
    assert calls[0].learner.legal_name == "Dana Learner" and calls[0].passed and calls[0].attested
    with pytest.raises(FlowError) as e:
        learner.act("details", {"legal_name": "Someone Else"})
    assert e.value.code == "certificate-issued"


def test_without_an_issuer_the_certificate_is_refused_clearly():
    a = make_activity()
    learner = Learner(a, issuer=None)
    finish_to_details(a, learner)
    learner.act("details", {"legal_name": "Dana Learner"})
    with pytest.raises(FlowError) as e:
        learner.act("certificate")
    assert e.value.code == "no-issuer"


def test_act_never_changes_the_state_it_was_given():
    a = make_activity()
    state = LearnerState()
    before = state.to_dict()
    new, _ = flow.act(a, state, "start", {}, T0, seed=1)
    assert state.to_dict() == before and len(new.attempts) == 1


def test_bad_actions_and_payloads_are_flow_errors():
    a = make_activity()
    with pytest.raises(FlowError) as e:
        flow.act(a, LearnerState(), "hack", {}, T0, seed=1)
    assert e.value.code == "bad-action" and "hack" in e.value.message
    with pytest.raises(FlowError) as e:
        flow.act(a, LearnerState(), "start", ["x"], T0, seed=1)
    assert e.value.code == "bad-payload"
    with pytest.raises(FlowError) as e:
        flow.act(a, LearnerState(), "start", {"attempt": "one"}, T0, seed=1)
    assert e.value.field == "attempt"


def test_grade_policies_best_and_last():
    a = make_activity(attempts="unlimited")
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(wrong_answers(a, v))
    assert flow.raw_score(learner.state, "best") == (0.0, 2)
    v = learner.act("start")
    answers = wrong_answers(a, v)
    first_q = v["form"]["questions"][0]["id"]
    answers[first_q] = right_answers(a, v)[first_q]
    learner.submit(answers)
    assert flow.raw_score(learner.state, "best") == (1.0, 2)
    assert flow.raw_score(learner.state, "last") == (1.0, 2)
    assert flow.raw_score(LearnerState(), "best") is None


def test_completion_waits_for_the_required_evaluation():
    a = make_activity()
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    assert flow.is_complete(a, learner.state) is False
    learner.act("evaluation", {"answers": {"objective-lo1": 4, "objective-lo2": 4, "relevance": 4}})
    assert flow.is_complete(a, learner.state) is True


def test_hostile_author_html_is_inert_in_the_view():
    a = make_activity()
    a = a.replace(description='<p onclick="x()">Hi</p><script>alert(1)</script><a href="javascript:alert(2)">l</a>')
    text = json.dumps(flow.view(a, LearnerState(), T0))
    assert "<script" not in text and "onclick" not in text and "javascript:" not in text


ACTION = st.sampled_from(flow.ACTIONS)
JUNK = st.one_of(
    st.none(),
    st.integers(-2, 5),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(-1, 6), st.text(max_size=4)), max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            ACTION,
            st.dictionaries(
                st.sampled_from(["attempt", "responses", "answers", "confirm", "skip", "legal_name"]), JUNK, max_size=3
            ),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_requests_gives_a_flow_error_or_a_safe_view(steps):
    a = make_activity(review="correct-after-last-attempt")
    state, now = LearnerState(), T0
    for action, payload in steps:
        now += timedelta(minutes=1)
        try:
            state, v = flow.act(a, state, action, payload, now, seed=7, issue_certificate=issue)
        except FlowError as e:
            assert e.message and e.code
            continue
        text = json.dumps(v)
        if not flow.attempts_mod.key_shown(a, state.attempts, state.extra_attempts):
            assert "correct_ids" not in text and "SECRET" not in text
        assert v["step"] in flow.STEPS


def test_error_messages_translate_with_their_labels_and_survive_a_broken_translation():
    catalog = {
        "Enter your %(what)s; the certificate needs it.": "Saisissez votre %(what)s ; le certificat en a besoin.",
        "licence number": "numéro de licence",
        "Attempt %(n)s is not open. Reload the page to see your current attempt.": "Tentative %(nombre)s cassée",
    }

    def gettext(s):
        return catalog.get(s, s)

    e = FlowError(
        "missing-detail",
        "Enter your %(what)s; the certificate needs it.",
        "license_number",
        what=flow.Label("licence number"),
    )
    assert e.message == "Enter your licence number; the certificate needs it."
    assert e.translate(gettext).message == "Saisissez votre numéro de licence ; le certificat en a besoin."
    broken = FlowError("stale-attempt", "Attempt %(n)s is not open. Reload the page to see your current attempt.", n=2)
    assert broken.translate(gettext).message.startswith("Attempt 2 is not open")


def test_act_reports_errors_in_the_learners_language_or_english():
    a = make_activity()
    with pytest.raises(FlowError) as e:
        flow.act(a, LearnerState(), "submit", {"attempt": 1, "responses": {}}, T0, seed=1, locale="xx")
    assert e.value.code == "stale-attempt" and "Attempt 1 is not open" in e.value.message


def test_the_generated_objective_items_read_in_the_learners_language_and_stay_english_in_records():
    a = make_activity()
    english = {e.id: e.prompt for e in a.evaluation_items()}
    assert (
        english["objective-lo1"] == "This activity met its objective: Identify confidentiality risks in video sessions."
    )
    learner = Learner(a)
    v = learner.act("start")
    learner.submit(right_answers(a, v))
    learner.act("continue")
    fr = flow.view(a, learner.state, learner.now, locale="fr")
    prompts = {i["id"]: i["prompt"] for i in fr["evaluation"]["items"]}
    assert prompts["objective-lo1"] == (
        "Cette activité a atteint son objectif : Identify confidentiality risks in video sessions."
    )
    assert prompts["relevance"] == english["relevance"]  # the author's own item stays as written
    # An error that quotes a generated item quotes it in the learner's language too.
    with pytest.raises(FlowError) as e:
        flow.act(a, learner.state, "evaluation", {"answers": {"objective-lo1": 9}}, learner.now, seed=1, locale="fr")
    assert "Cette activité a atteint son objectif" in e.value.message, e.value.message
