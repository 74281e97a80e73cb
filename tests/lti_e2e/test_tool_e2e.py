"""End to end: the real CE Credit tool launched by the real demo LMS over HTTP on two hosts."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from lti_tool.lti.adapter import SCOPE_RESULT

TELEHEALTH = "telehealth-ethics"


def test_learner_launch_round_trip_opens_the_learner_flow(stack):
    demo, course = stack
    link = course.link_for(TELEHEALTH)
    with course.browser() as b:
        launch_id, view = course.learner_launch(b, "learner-ada", link.id)
    assert launch_id
    assert view["step"] == "info"
    assert view["info"]["title"] == course.activities[TELEHEALTH].title


def test_instructor_launch_opens_authoring_and_the_roster_from_nrps(stack):
    demo, course = stack
    link = course.link_for(TELEHEALTH)
    with course.browser() as b:
        resp = b.launch(course.platform_url, "instructor-iris", "instructor", link.id)
    assert resp.status_code == 200, resp.text[:800]
    assert 'id="ce-credit-root"' not in resp.text  # not the learner flow
    # the report joins the NRPS roster: every course member's name comes from the platform
    for name in ("Ada Okafor", "Ben Lindqvist", "Mei Chen"):
        assert name in resp.text, f"{name} missing from the instructor report"


def test_deep_link_round_trip_then_launch_of_the_picked_link(stack):
    demo, course = stack
    before = set(course.lms.state.links)
    with course.browser() as b:
        page = b.launch(course.platform_url, "instructor-iris", "deeplink")
        assert page.status_code == 200, page.text[:800]
        choose = [f for f in _forms(page.text) if f["action"].endswith("/deeplink")]
        assert choose, f"no activity picker in the deep linking page: {page.text[:800]}"
        form = choose[0]
        back = b.post(urljoin(page.url, form["action"]), data={**form["fields"], "activity": TELEHEALTH}, timeout=30)
        assert back.status_code == 200, back.text[:800]
        done = b.submit_auto_form(back)
        assert done.status_code == 200, done.text[:800]
        assert "Deep linking done" in done.text
        (new_id,) = set(course.lms.state.links) - before
        link = course.lms.state.links[new_id]
        assert link.custom == {"ce_activity": TELEHEALTH}
        item = course.lms.state.line_items[link.line_item_id]
        assert item.resource_id == TELEHEALTH and item.resource_link_id == new_id and item.score_maximum > 0
        launch_id, view = course.learner_launch(b, "learner-mei", new_id)
    assert view["info"]["title"] == course.activities[TELEHEALTH].title


def test_learner_posttest_score_arrives_in_the_gradebook_and_reads_back_from_results(stack):
    demo, course = stack
    link = course.link_for(TELEHEALTH)
    with course.browser() as b:
        launch_id, _ = course.learner_launch(b, "learner-ben", link.id)
        result = course.take_posttest(b, launch_id, TELEHEALTH)
    assert result["result"]["passed"] is True
    points = result["result"]["points"]
    course.wait_for_results({(link.line_item_id, "learner-ben"): points})
    entry = course.lms.state.results[(link.line_item_id, "learner-ben")]
    assert entry["gradingProgress"] == "FullyGraded"
    assert entry["scoreMaximum"] == result["result"]["max_points"]
    assert entry["timestamp"].endswith(("Z", "+00:00"))
    # read back through AGS results with the tool's own service client (token, scopes and all)
    tool = demo.tool_app.extensions["ce_credit"]
    platform = tool.platform(1)
    got = tool.adapter.service_request(
        platform,
        [SCOPE_RESULT],
        course.lms.line_item_url(link.line_item_id) + "/results",
        accept="application/vnd.ims.lis.v2.resultcontainer+json",
    )
    assert [(r["userId"], r["resultScore"]) for r in got.body] == [("learner-ben", points)]
    page = b.get(course.platform_url + "/", timeout=10).text
    assert f"{points:g} / {entry['scoreMaximum']:g}" in page
    course.applied_once()


def test_tool_creates_a_line_item_when_the_link_has_none(stack):
    demo, course = stack
    link = course.lms.state.add_link("Telehealth, no column", custom={"ce_activity": TELEHEALTH})
    assert link.line_item_id is None
    with course.browser() as b:
        launch_id, _ = course.learner_launch(b, "learner-ada", link.id)
        result = course.take_posttest(b, launch_id, TELEHEALTH, right=False)
    assert result["result"]["passed"] is False
    deadline_items = [i for i in course.lms.state.line_items.values() if i.resource_link_id == link.id]
    import time

    for _ in range(150):
        deadline_items = [i for i in course.lms.state.line_items.values() if i.resource_link_id == link.id]
        if deadline_items:
            break
        time.sleep(0.2)
    (item,) = deadline_items
    assert item.resource_id == TELEHEALTH
    course.wait_for_results({(item.id, "learner-ada"): result["result"]["points"]})


def test_outbox_delivers_every_score_once_when_the_platform_fails_every_other_request(stack):
    demo, course = stack
    link = course.link_for(TELEHEALTH)
    course.lms.set_failure_mode("every-other")
    expected = {}
    for user, right in (("learner-ada", True), ("learner-ben", False), ("learner-mei", True)):
        with course.browser() as b:
            launch_id, _ = course.learner_launch(b, user, link.id)
            expected[(link.line_item_id, user)] = course.take_posttest(b, launch_id, TELEHEALTH, right)["result"][
                "points"
            ]
    course.wait_for_results(expected, timeout=90)
    assert course.lms.refused, "the platform never failed a request, so the test proved nothing"
    course.applied_once()
    assert len(course.lms.state.results) == 3


def _forms(html: str) -> list[dict]:
    from html.parser import HTMLParser

    forms: list[dict] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = {k: v or "" for k, v in attrs}
            if tag == "form":
                forms.append({"action": a.get("action", ""), "fields": {}})
            elif tag == "input" and forms and a.get("name") and a.get("type") != "radio":
                forms[-1]["fields"][a["name"]] = a.get("value", "")

    P().feed(html)
    return forms


def test_bad_launch_from_an_unknown_link_is_a_4xx_page_not_a_500(stack):
    demo, course = stack
    with course.browser() as b:
        resp = b.get(f"{course.platform_url}/launch?user=learner-ada&kind=learner&link=nope", timeout=10)
    assert resp.status_code == 400
    assert re.search(r"does not exist", resp.text)


def test_a_score_sent_while_the_platform_is_down_arrives_when_it_is_back(stack):
    import time

    demo, course = stack
    link = course.link_for(TELEHEALTH)
    with course.browser() as b:
        launch_id, _ = course.learner_launch(b, "learner-mei", link.id)
        course.lms.set_failure_mode("down")  # after the launch: the tool cannot reach the LMS at all now
        result = course.take_posttest(b, launch_id, TELEHEALTH)
    time.sleep(2)  # several outbox rounds against a platform answering 503
    assert course.lms.state.results == {}
    course.lms.set_failure_mode("none")
    course.wait_for_results({(link.line_item_id, "learner-mei"): result["result"]["points"]}, timeout=90)
    course.applied_once()


def test_launch_from_an_unregistered_client_id_is_refused_with_a_4xx_page(stack):
    demo, course = stack
    link = course.link_for(TELEHEALTH)
    course.lms.tool.client_id = "someone-else"  # the LMS now speaks for a client the tool never registered
    with course.browser() as b:
        resp = b.get(f"{course.platform_url}/launch?user=learner-ada&kind=learner&link={link.id}", timeout=30)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    assert "Traceback" not in resp.text


def test_a_new_deployment_of_the_registered_platform_is_recorded_on_first_launch(stack):
    from sqlalchemy import select

    from lti_tool.store import Deployment

    demo, course = stack
    link = course.link_for(TELEHEALTH)
    course.lms.tool.deployment_id = "second-deployment"
    with course.browser() as b:
        launch_id, view = course.learner_launch(b, "learner-ben", link.id)
    assert view["step"] == "info"
    tool = demo.tool_app.extensions["ce_credit"]
    with tool.sessions() as s:
        deployments = set(s.scalars(select(Deployment.deployment_id)))
    assert {"demo-deployment-1", "second-deployment"} <= deployments
