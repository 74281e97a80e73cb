"""The Studio editor's server side: every field editable, problems tied to their field, never a 500."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xbhelpers import Course, example_xml, post

from ce_xblock import editing
from ce_xblock.core import olx


def course():
    return Course(example_xml("telehealth-ethics.xml"))


def save(block, body):
    resp = post(block, "studio_save", body)
    return resp.status_code, resp.json


def paths(body):
    return [tuple(p["path"]) for p in body["problems"]]


def test_the_studio_view_carries_the_whole_activity_and_its_olx():
    b = course().block(None)
    frag = b.studio_view()
    args = frag.json_init_args
    assert frag.js_init_fn == "CECreditStudio"
    assert args["model"]["questions"][0]["choices"][0]["id"]
    assert args["olx"].startswith("<ce_credit ")
    assert args["settings"] == {"weight": 1.0, "grade_policy": "best"}
    assert "apa" in args["choices"]["body"]
    urls = [r.data for r in frag.resources if r.kind == "url"]
    assert "/resource/ce_credit/static/js/ce_credit_studio.js" in urls


def test_the_model_round_trips_to_the_same_activity():
    b = course().block(None)
    activity, problems = editing.from_model(json.loads(json.dumps(editing.to_model(b.activity))))
    assert problems == [] and activity == b.activity


def test_an_edit_saves_and_reaches_the_olx_and_the_display_name():
    b = course().block(None)
    model = editing.to_model(b.activity)
    model["title"] = "Telehealth Ethics, revised"
    q = copy.deepcopy(model["questions"][0])
    q["id"] = "q-new"
    q["prompt"] = "<p>A new question?</p>"
    model["questions"].append(q)
    status, body = save(b, {"model": model, "settings": {"weight": "2", "grade_policy": "last"}})
    assert status == 200, body
    assert b.display_name == "Telehealth Ethics, revised"
    assert (b.weight, b.grade_policy) == (2.0, "last")
    assert 'id="q-new"' in b.activity_olx and b.activity.question("q-new").prompt == "<p>A new question?</p>"
    assert body["olx"] == b.activity_olx


def test_bad_values_are_reported_against_their_field_and_nothing_is_saved():
    b = course().block(None)
    before = b.activity_olx
    model = editing.to_model(b.activity)
    model["policy"]["pass_mark"] = "seventy"
    model["accreditations"][0]["credits"] = "lots"
    model["accreditations"][0]["approval_end"] = "31/12/2027"
    model["duration_minutes"] = "2.5h"
    model["level"] = "expert"
    status, body = save(b, {"model": model, "settings": {"weight": "-1", "grade_policy": "worst"}})
    assert status == 400
    got = paths(body)
    for expected in [
        ("policy", "pass_mark"),
        ("accreditations", 0, "credits"),
        ("accreditations", 0, "approval_end"),
        ("duration_minutes",),
        ("level",),
        ("settings", "weight"),
        ("settings", "grade_policy"),
    ]:
        assert expected in got, (expected, got)
    assert all(p["message"] for p in body["problems"])
    assert "seventy" in json.dumps(body)
    assert b.activity_olx == before and b.weight == 1.0


def test_rule_problems_come_from_the_activity_model_with_their_path():
    b = course().block(None)
    model = editing.to_model(b.activity)
    for c in model["questions"][2]["choices"]:
        c["correct"] = False
    model["policy"]["form_size"] = 999
    model["title"] = " "
    status, body = save(b, {"model": model})
    assert status == 400
    got = paths(body)
    assert ("questions", 2) in got and ("policy", "form_size") in got and ("title",) in got
    text = json.dumps(body)
    assert "no correct answer" in text and "999" in text


def test_pasted_olx_is_checked_with_line_numbers_then_saved():
    b = course().block(None)
    status, body = save(b, {"olx": "<ce_credit id='x'>\n<posttest pass_mark='x'>"})
    assert status == 400 and body["problems"][0]["line"] >= 1 and body["problems"][0]["path"] == ["olx"]
    bad = example_xml("trauma-informed-care.xml").replace('pass_mark="75"', 'pass_mark="175"')
    status, body = save(b, {"olx": bad})
    assert status == 400 and "175" in json.dumps(body) and all(p.get("line") for p in body["problems"])
    status, body = save(b, {"olx": example_xml("trauma-informed-care.xml")})
    assert status == 200 and b.activity.id == "trauma-informed-care"
    assert b.display_name == b.activity.title


def test_requests_that_are_not_an_edit_are_refused():
    b = course().block(None)
    for raw in (b"[]", b'{"model": 5}', b"{}"):
        resp = post(b, "studio_save", None, raw=raw)
        assert resp.status_code == 400 and resp.json["message"]


def test_validation_panel_lists_problems_of_a_broken_stored_activity():
    b = course().block(None)
    assert not b.validate().messages
    b.activity_olx = b.activity_olx.replace('pass_mark="75"', 'pass_mark="0"')
    msgs = b.validate().messages
    assert msgs and "pass mark" in msgs[0].text.lower()


def test_a_broken_stored_activity_opens_the_editor_on_its_olx_with_every_problem_and_line():
    b = course().block(None)
    broken = b.activity_olx.replace('pass_mark="75"', 'pass_mark="0"')
    b.activity_olx = broken
    init = b.studio_view().json_init_args
    assert init["olx"] == broken  # what the author wrote is shown, not a starter
    assert init["broken"] and all(p["path"] == ["olx"] and p["line"] for p in init["broken"])
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if 'pass_mark="0"' in text)
    assert init["broken"][0]["line"] == line and "pass mark" in init["broken"][0]["message"].lower()
    assert course().block(None).studio_view().json_init_args["broken"] == []
    # The fix goes through the OLX, as the editor sends it; the form tabs never replace it.
    status, body = save(b, {"olx": broken.replace('pass_mark="0"', 'pass_mark="80"')})
    assert status == 200 and b.activity.policy.pass_mark == 80 and b.studio_view().json_init_args["broken"] == []


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_bad_value_anywhere_never_causes_a_500(data):
    b = Course(TELEHEALTH).block(None)
    model = copy.deepcopy(BASE_MODEL)
    # Replace one value somewhere in the model with junk of any JSON type.
    spots = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                spots.append(path + (k,))
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node[:2]):
                spots.append(path + (i,))
                walk(v, path + (i,))

    walk(model, ())
    target = data.draw(st.sampled_from(spots))
    junk = data.draw(JSONISH)
    node = model
    for k in target[:-1]:
        node = node[k]
    node[target[-1]] = junk
    resp = post(b, "studio_save", {"model": model})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 400:
        assert resp.json["problems"]
    else:
        olx.loads(b.activity_olx)


TELEHEALTH = example_xml("telehealth-ethics.xml")
BASE_MODEL = editing.to_model(olx.loads(TELEHEALTH))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(settings_value=JSONISH | st.dictionaries(st.sampled_from(["weight", "grade_policy", "other"]), JSONISH))
def test_bad_block_settings_of_any_json_type_never_cause_a_500(settings_value):
    b = Course(TELEHEALTH).block(None)
    weight_before = b.weight
    resp = post(b, "studio_save", {"model": BASE_MODEL, "settings": settings_value})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 400:
        assert resp.json.get("problems") or resp.json.get("field") == "settings"
        assert b.weight == weight_before
    assert b.weight >= 0 and b.weight != float("inf")


def test_a_settings_value_that_is_not_an_object_names_the_settings_field():
    b = Course(TELEHEALTH).block(None)
    for bad in ("weight", 5, [1]):
        resp = post(b, "studio_save", {"model": BASE_MODEL, "settings": bad})
        assert resp.status_code == 400
        assert resp.json["field"] == "settings" and "JSON object" in resp.json["message"]


def test_an_infinite_or_boolean_weight_is_refused_with_the_weight_field():
    b = Course(TELEHEALTH).block(None)
    for bad in ("Infinity", "1e400", True, -1, "nan"):
        resp = post(b, "studio_save", {"model": BASE_MODEL, "settings": {"weight": bad}})
        assert resp.status_code == 400, bad
        assert [p["path"] for p in resp.json["problems"]] == [["settings", "weight"]]
    assert b.weight == 1.0
