"""Learner and instructor launches end to end through the tool: authoring, the learner API, the report."""

import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from ce_xblock.core import flow, olx
from lti_tool import launches, learning
from lti_tool.app import tool_of
from lti_tool.store import IssuedCertificate, LearnerRecord, OutboxScore

INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


def instructor_launch(lti, launch_id_from, **over):
    resp = lti.full_launch(**INSTRUCTOR, **over)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return launch_id_from(resp.get_data(as_text=True))


def import_example(client, launch_id, examples, name="telehealth-ethics.xml"):
    text = (examples / name).read_text()
    resp = client.post(f"/lti/instructor/{launch_id}/olx", data={"olx": text}, base_url="https://tool.test")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    return olx.loads(text)


def learner_launch(lti, sub="learner-1", name="Ada Learner"):
    resp = lti.full_launch(sub=sub, name=name)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    page = resp.get_data(as_text=True)
    launch_id = re.search(r'data-launch-id="([^"]+)"', page).group(1)
    view = json.loads(html.unescape(re.search(r'id="ce-credit-initial-view">(.*?)</script>', page, re.S).group(1)))
    return launch_id, view, page


def api(client, launch_id, action, payload=None):
    resp = client.post(
        f"/lti/api/{launch_id}", json={"action": action, "payload": payload or {}}, base_url="https://tool.test"
    )
    return resp.status_code, resp.get_json()


def answers(activity, form, right=True):
    out = {}
    for q in form["questions"]:
        question = activity.question(q["id"])
        good = sorted(question.correct_ids)
        bad = [c.id for c in question.choices if c.id not in question.correct_ids][:1]
        out[q["id"]] = good if right else bad
    return out


def test_instructor_imports_olx_and_learner_gets_the_shared_front_end(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    launch_id, view, page = learner_launch(lti)
    assert view["step"] == "info"
    assert "/static/js/ce_credit.js" in page and "/static/js/lti_adapter.js" in page
    assert f'data-api-url="/lti/api/{launch_id}"' in page


def test_bad_olx_import_lists_problems(lti, client, launch_id_from):
    lid = instructor_launch(lti, launch_id_from)
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": "<ce_credit id='x'>"}, base_url="https://tool.test")
    assert resp.status_code == 422
    assert "was not saved" in resp.get_data(as_text=True)


def test_learner_passes_and_score_is_queued_with_comment(lti, client, launch_id_from, examples, app):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_example(client, lid, examples)
    launch_id, _view, _ = learner_launch(lti)
    status, view = api(client, launch_id, "start")
    assert status == 200 and view["step"] == "posttest"
    form = view["form"]
    status, view = api(
        client, launch_id, "submit", {"attempt": form["attempt"], "responses": answers(activity, form, right=False)}
    )
    assert status == 200 and view["result"]["passed"] is False
    status, view = api(client, launch_id, "start")
    form = view["form"]
    status, view = api(client, launch_id, "submit", {"attempt": form["attempt"], "responses": answers(activity, form)})
    assert status == 200 and view["result"]["passed"] is True
    # A double submit (retried request) changes nothing and queues nothing.
    status, _ = api(client, launch_id, "submit", {"attempt": form["attempt"], "responses": answers(activity, form)})
    with tool_of(app).sessions() as s:
        rows = s.scalars(select(OutboxScore).order_by(OutboxScore.id)).all()
        rec = s.scalars(select(LearnerRecord)).one()
    # The failed attempt's score was still unsent, so the newer score replaced it in the queue.
    assert [r.status for r in rows] == ["superseded", "pending"]
    last = rows[-1]
    assert last.score_given == last.score_maximum == activity.form_size
    allowed = activity.policy.max_attempts
    assert last.comment == (f"Passed 2 of {allowed} attempts" if allowed else "Passed 2 attempts")
    assert datetime.fromisoformat(last.timestamp).tzinfo is not None
    assert flow.LearnerState.from_dict(rec.state).passed


def test_flow_error_is_a_400_with_field(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    launch_id, _view, _ = learner_launch(lti)
    status, body = api(client, launch_id, "submit", {"attempt": 1, "responses": {}})
    assert status == 400 and body["error"] and "message" in body


def test_unknown_launch_id_is_401(client):
    status, body = api(client, "nope", "start")
    assert status == 401 and body["error"] == "launch-expired"
    assert client.get("/lti/api/nope/certificate.pdf", base_url="https://tool.test").status_code == 401


def test_no_certificate_yet_is_404(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    launch_id, _view, _ = learner_launch(lti)
    resp = client.get(f"/lti/api/{launch_id}/certificate.pdf", base_url="https://tool.test")
    assert resp.status_code == 404 and "no certificate" in resp.get_data(as_text=True)


def test_state_is_per_learner_and_resource_link(lti, client, launch_id_from, examples, app):
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    a, _, _ = learner_launch(lti, sub="a")
    api(client, a, "start")
    b, view_b, _ = learner_launch(lti, sub="b")
    assert view_b["step"] == "info"
    # The same learner relaunching resumes where they were.
    a2, view_a2, _ = learner_launch(lti, sub="a")
    assert view_a2["step"] == "posttest"


def test_certificate_is_issued_and_verifiable(lti, client, launch_id_from, examples, app):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_example(client, lid, examples)
    launch_id, _view, _ = learner_launch(lti)
    tool = tool_of(app)
    lc = launches.load(tool.cache, launch_id)
    t0 = datetime.now(UTC)
    status, view = learning.run_action(tool, lc, "start", {}, now=t0)
    form = view["form"]
    status, view = learning.run_action(tool, lc, "submit", {"attempt": 1, "responses": answers(activity, form)}, now=t0)
    assert view["result"]["passed"]
    status, view = learning.run_action(tool, lc, "continue", {}, now=t0)
    assert view["step"] == "evaluation", view["step"]
    ev = {i["id"]: (4 if i["type"] == "likert" else "Useful") for i in view["evaluation"]["items"]}
    status, view = learning.run_action(tool, lc, "evaluation", {"answers": ev}, now=t0)
    assert status == 200, view
    if view["step"] == "attestation":
        status, view = learning.run_action(tool, lc, "attest", {"confirm": True}, now=t0)
    details = {
        "legal_name": "Ada Learner",
        "license_number": "PSY123",
        "license_state": "CA",
        "profession": "psychologist",
    }
    status, view = learning.run_action(
        tool, lc, "details", {k: details[k] for k in view["details"]["required"]}, now=t0
    )
    assert status == 200, view
    later = t0 + timedelta(minutes=activity.min_minutes + 1)
    status, view = learning.run_action(tool, lc, "certificate", {}, now=later)
    assert status == 200, view
    cid = view["certificate"]["id"]
    with tool.sessions() as s:
        assert s.get(IssuedCertificate, cid) is not None
        last = s.scalars(select(OutboxScore).order_by(OutboxScore.id.desc())).first()
    allowed = activity.policy.max_attempts
    assert (
        last.comment == (f"Passed 1 of {allowed} attempts" if allowed else "Passed 1 attempt") + f"; certificate {cid}"
    )
    assert view["certificate"]["links"]["pdf"] == f"/lti/api/{launch_id}/certificate.pdf"
    pdf = client.get(f"/lti/api/{launch_id}/certificate.pdf", base_url="https://tool.test")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    # The PDF was stored at issue and is what the download serves, even after the provider changes
    # the page size (a re-render would now be A4), and for a row from before PDFs were stored.
    with tool.sessions() as s:
        stored = s.get(IssuedCertificate, cid).pdf
    assert stored == pdf.data
    letter = tool.certificate_layout
    tool.certificate_layout = {**letter, "page_size": "a4"}
    try:
        again = client.get(f"/lti/api/{launch_id}/certificate.pdf", base_url="https://tool.test").data
        assert again == stored and b"/MediaBox [ 0 0 792 612 ]" in again
        with tool.sessions() as s:
            s.get(IssuedCertificate, cid).pdf = None
            s.commit()
        legacy = client.get(f"/lti/api/{launch_id}/certificate.pdf", base_url="https://tool.test").data
        assert b"/MediaBox [ 0 0 841.8898 595.2756 ]" in legacy  # rendered once, with today's settings
        with tool.sessions() as s:
            assert s.get(IssuedCertificate, cid).pdf == legacy
        assert client.get(f"/lti/api/{launch_id}/certificate.pdf", base_url="https://tool.test").data == legacy
    finally:
        tool.certificate_layout = letter
    cred = client.get(f"/lti/api/{launch_id}/credential.json", base_url="https://tool.test")
    assert cred.status_code == 200 and cred.get_json()["type"] == "EnvelopedVerifiableCredential"
    page = client.get(f"/verify/{cid}")
    assert page.status_code == 200 and "Valid certificate" in page.get_data(as_text=True)
    assert client.get("/verify/CE-0000-0000").status_code == 404


def test_instructor_report_lists_roster_with_status(lti, client, launch_id_from, examples, platform, app):
    platform.members = [
        {
            "user_id": "learner-1",
            "name": "Ada Learner",
            "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "status": "Active",
        },
        {
            "user_id": "learner-2",
            "name": "Bo Never",
            "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "status": "Active",
        },
        {
            "user_id": "teacher",
            "name": "Tess Teacher",
            "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
            "status": "Active",
        },
    ]
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    launch_id, _, _ = learner_launch(lti, sub="learner-1")
    api(client, launch_id, "start")
    page = client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True)
    assert re.search(r'data-user="learner-1" data-status="in progress"', page)
    assert re.search(r'data-user="learner-2" data-status="not started"', page)
    assert "Tess Teacher" not in page


def report_with_a_learner(lti, client, launch_id_from, examples, **instructor_claims):
    """The instructor page of a link where learner-1 has started; (page, the roster problem's text)."""
    lid = instructor_launch(lti, launch_id_from, **instructor_claims)
    import_example(client, lid, examples)
    launch_id, _, _ = learner_launch(lti, sub="learner-1")
    api(client, launch_id, "start")
    page = html.unescape(client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True))
    assert re.search(r'data-user="learner-1" data-status="in progress"', page)  # listed without a roster
    found = re.search(r'<p class="roster-problem">(.*?)</p>', page, re.S)
    return page, found.group(1) if found else None


def test_a_roster_the_platform_refuses_is_explained_in_the_instructors_language(
    lti, client, launch_id_from, examples, platform
):
    """NRPS answers 403: the French instructor reads, in French, what happened and who can fix it,
    with the platform's answer under Détails, and the learners who opened the activity still listed."""
    platform.members_status = 403
    french = {"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {"locale": "fr"}}
    page, problem = report_with_a_learner(lti, client, launch_id_from, examples, **french)
    assert "administrateur" in problem and "Names and Role Provisioning Services" in problem
    assert "Seuls les participants qui ont ouvert" in problem
    assert "refused the tool access" not in page  # translated, not the English source
    details = re.search(r'<summary>Détails</summary><small dir="ltr">(.*?)</small>', page, re.S).group(1)
    assert "403" in details


def test_a_platform_without_nrps_gets_a_report_of_the_learners_who_opened_it(lti, client, launch_id_from, examples):
    no_nrps = {"https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": None}
    page, problem = report_with_a_learner(lti, client, launch_id_from, examples, **no_nrps)
    assert "did not offer the course roster" in problem and "Only learners who opened the activity" in problem
    assert "<summary>Details</summary>" not in page.split('class="roster-problem"', 1)[1].split("<table", 1)[0]


def test_a_roster_answer_that_is_not_a_membership_container_is_explained_not_a_500(
    lti, client, launch_id_from, examples, platform
):
    platform.members = "not a list of members"
    page, problem = report_with_a_learner(lti, client, launch_id_from, examples)
    assert "The course roster could not be read because of an unexpected error." in problem
    details = re.search(r'<summary>Details</summary><small dir="ltr">(.*?)</small>', page, re.S).group(1)
    assert "/memberships" in details and "not a membership container" in details


def test_a_roster_read_in_full_shows_no_problem(lti, client, launch_id_from, examples, platform):
    platform.members = [{"user_id": "learner-2", "name": "Bo Never", "status": "Active", "roles": ["Learner"]}]
    page, problem = report_with_a_learner(lti, client, launch_id_from, examples)
    assert problem is None and 'data-user="learner-2" data-status="not started"' in page


def test_learner_cannot_open_instructor_pages(lti, client, launch_id_from, examples):
    lid = instructor_launch(lti, launch_id_from)
    import_example(client, lid, examples)
    launch_id, _, _ = learner_launch(lti)
    assert client.get(f"/lti/instructor/{launch_id}", base_url="https://tool.test").status_code == 403


def test_instructor_preview_sends_no_grade_and_stays_out_of_the_report(lti, client, launch_id_from, examples, app):
    lid = instructor_launch(lti, launch_id_from)
    activity = import_example(client, lid, examples)
    page = html.unescape(
        client.get(f"/lti/instructor/{lid}/preview", base_url="https://tool.test").get_data(as_text=True)
    )
    assert "Preview: you see the activity as a learner" in page
    preview_id = re.search(r'data-launch-id="([^"]+)"', page).group(1)
    status, view = api(client, preview_id, "start")
    form = view["form"]
    status, view = api(client, preview_id, "submit", {"attempt": 1, "responses": answers(activity, form)})
    assert status == 200 and view["result"]["passed"]
    with tool_of(app).sessions() as s:
        assert s.scalars(select(OutboxScore)).first() is None
    report_page = client.get(f"/lti/instructor/{lid}", base_url="https://tool.test").get_data(as_text=True)
    assert "preview:" not in report_page


def test_certificate_layout_settings_are_checked_at_start_up(app_config, tmp_path):
    from lti_tool import create_app

    with pytest.raises(ValueError, match=r"page size 'legal'.*CE_CREDIT_CERTIFICATE_PAGE_SIZE"):
        create_app({**app_config, "CERTIFICATE_PAGE_SIZE": "legal"})
    text = tmp_path / "logo.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="logo must be a PNG or JPEG.*CE_CREDIT_CERTIFICATE_LOGO"):
        create_app({**app_config, "CERTIFICATE_LOGO": str(text)})
    with pytest.raises(ValueError, match="signature image '/nonexistent/sig.png' cannot be read"):
        create_app({**app_config, "CERTIFICATE_SIGNATURE": "/nonexistent/sig.png"})
    buf = io.BytesIO()
    Image.new("RGB", (60, 20), (200, 30, 30)).save(buf, "PNG")
    logo = tmp_path / "real.png"
    logo.write_bytes(buf.getvalue())
    app = create_app({**app_config, "CERTIFICATE_PAGE_SIZE": "A4", "CERTIFICATE_LOGO": str(logo)})
    try:
        assert tool_of(app).certificate_layout == {
            "page_size": "a4",
            "logo": buf.getvalue(),
            "signature_image": None,
        }
    finally:
        tool_of(app).engine.dispose()
