"""The ce_credit XBlock on XBlock's TestRuntime: handlers called directly, as the LMS would."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess

import pytest
from lxml import etree
from xbhelpers import T0, Course, advance, api, example_xml, get, post
from xblock.reference.user_service import XBlockUser

from ce_xblock.block import CECreditBlock
from ce_xblock.core import olx

SECRETS_RE = re.compile(r'"correct"|correct_ids|"feedback"|"explanation"')


@pytest.fixture
def telehealth():
    # The telehealth example: unlimited attempts, own-answers review, partial credit. No minimum time here.
    return Course(example_xml("telehealth-ethics.xml", min_minutes=0))


@pytest.fixture
def trauma():
    # The trauma example: 3 attempts, a 60-minute wait, the key after passing.
    return Course(example_xml("trauma-informed-care.xml", min_minutes=0))


def answers(block, view, right=True):
    out = {}
    for q in view["form"]["questions"]:
        key = block.activity.question(q["id"]).correct_ids
        ids = [c["id"] for c in q["choices"]]
        out[q["id"]] = sorted(key) if right else [next(i for i in ids if i not in key)]
    return out


def evaluation_answers(view):
    return {i["id"]: 4 for i in view["evaluation"]["items"] if i["type"] == "likert"}


DETAILS = {"legal_name": "Dana Learner", "license_number": "LPC 1234", "license_state": "tx", "profession": "Counselor"}


def test_whole_flow_fail_retake_pass_evaluation_certificate(trauma):
    b = trauma.block()
    status, v = api(b, "view")
    assert status == 200 and v["step"] == "info"
    status, v = api(b, "start")
    assert v["step"] == "posttest" and (v["attempts"]["used"], v["attempts"]["allowed"]) == (1, 3)
    status, v = api(b, "submit", {"attempt": 1, "responses": answers(b, v, right=False)})
    assert status == 200 and v["result"]["passed"] is False
    assert v["attempts"]["code"] == "wait"
    advance(b, 61)
    status, v = api(b, "start", {"attempt": 2})
    status, v = api(b, "submit", {"attempt": 2, "responses": answers(b, v)})
    assert v["result"]["passed"] is True and v["result"]["review"]["key_shown"] is True
    status, v = api(b, "continue")
    assert v["step"] == "evaluation"
    completions = [e for e in b.runtime.events if e[0] == "completion"]
    assert completions == []  # passed, but the required evaluation is not in yet
    status, v = api(b, "evaluation", {"answers": evaluation_answers(v)})
    assert [e for e in b.runtime.events if e[0] == "completion"] == [("completion", {"completion": 1.0})]
    if v["step"] == "attestation":
        status, v = api(b, "attest", {"confirm": True})
    assert v["step"] == "details" and v["details"]["values"]["legal_name"] == "Dana Q. Learner"
    status, v = api(b, "details", DETAILS | {"legal_name": "Dana Learner"})
    assert v["step"] == "certificate" and v["certificate"]["issued"] is False
    status, v = api(b, "certificate")
    assert status == 200 and v["certificate"]["issued"] is True
    cid = v["certificate"]["id"]
    assert re.fullmatch(r"CE-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}", cid)
    assert set(v["certificate"]["links"]) == {"pdf", "credential", "verify"}

    pdf1 = get(b, "certificate_pdf")
    pdf2 = get(b, "certificate_pdf")
    assert pdf1.status_code == 200 and pdf1.content_type == "application/pdf"
    assert pdf1.body.startswith(b"%PDF") and pdf1.body == pdf2.body
    cred = get(b, "certificate_credential")
    assert cred.status_code == 200 and cred.json["type"] == "EnvelopedVerifiableCredential"
    from ce_xblock.core import credential

    assert credential.certificate_id_of(credential.verify_credential(cred.json, b._trusted_keys())) == cid

    page = get(b, "verify", cid)
    assert page.status_code == 200 and "Valid" in page.text and "Dana Learner" in page.text

    grades = [e for e in b.runtime.events if e[0] == "grade"]
    assert [g[1]["value"] for g in grades] == [0.0, 25.0]
    assert all(g[1]["max_value"] == 25.0 for g in grades)
    assert "progress" not in [e[0] for e in b.runtime.events]


def test_a_learner_who_comes_back_sees_where_they_left_off(trauma):
    b = trauma.block()
    api(b, "start")
    again = trauma.block()  # a new request: a fresh block instance over the same stored state
    status, v = api(again, "view")
    assert v["step"] == "posttest" and v["form"]["attempt"] == 1
    html = again.student_view().content
    assert "cec-root" in html


def test_the_attempt_limit_and_the_wait_are_enforced_on_the_server(trauma):
    b = trauma.block()
    for n in (1, 2, 3):
        status, v = api(b, "start", {"attempt": n})
        assert status == 200, v
        status, v = api(b, "submit", {"attempt": n, "responses": answers(b, v, right=False)})
        if n < 3:
            status, refused = api(b, "start", {"attempt": n + 1})
            assert status == 400 and refused["error"] == "wait" and "60 minutes" in refused["message"]
            advance(b, 60)
    assert v["attempts"]["code"] == "no-attempts-left"
    advance(b, 600)
    status, refused = api(b, "start", {"attempt": 4})
    assert status == 400 and refused["error"] == "no-attempts-left"
    assert "attempts" in refused["message"]


def test_no_answer_key_in_html_view_data_or_responses_before_the_policy_allows(trauma):
    b = trauma.block()
    texts = [b.student_view().content, json.dumps(b.student_view().json_init_args), json.dumps(b.student_view_data())]
    status, v = api(b, "start")
    texts += [json.dumps(v), b.student_view().content, json.dumps(b.student_view().json_init_args)]
    texts.append(json.dumps(b.student_view_data()))
    status, v = api(b, "submit", {"attempt": 1, "responses": answers(b, v, right=False)})
    texts.append(json.dumps(v))
    texts.append(json.dumps(b.student_view_data()))
    for t in texts:
        assert not SECRETS_RE.search(t), SECRETS_RE.search(t)
    # and none of the explanations' words leak either
    explanations = [q.explanation for q in b.activity.questions if q.explanation]
    for t in texts:
        assert not any(e and e in t for e in explanations)


def test_a_double_submit_is_counted_once(trauma):
    b = trauma.block()
    status, v = api(b, "start")
    responses = answers(b, v, right=False)
    s1, first = api(b, "submit", {"attempt": 1, "responses": responses})
    s2, second = api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
    assert (s1, s2) == (200, 200) and first == second
    assert first["attempts"]["used"] == 1 and second["result"]["passed"] is False
    assert len([e for e in b.runtime.events if e[0] == "grade"]) == 1
    assert b.stats["attempts"] == 1


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"{not json", "bad-json"),
        (b"[1, 2]", "bad-json"),
        (b'{"payload": {}}', "bad-action"),
        (b'{"action": "hack"}', "bad-action"),
        (b'{"action": "start", "payload": [1]}', "bad-payload"),
        (b'{"action": "start", "payload": {"attempt": "one"}}', "bad-payload"),
        (b'{"action": "submit", "payload": {"responses": {}}}', "bad-payload"),
        (b'{"action": "evaluation", "payload": {"answers": {}}}', "not-passed"),
        (b'{"action": "details", "payload": {"legal_name": 5}}', "not-passed"),
        (b'{"action": "certificate"}', "not-ready"),
        (b"\xff\xfe", "bad-json"),
    ],
)
def test_bad_json_and_bad_values_are_a_400_with_a_clear_message(telehealth, raw, code):
    b = telehealth.block()
    resp = post(b, "api", None, raw=raw)
    assert resp.status_code == 400
    assert resp.json["error"] == code
    assert len(resp.json["message"]) > 15


def test_bad_values_in_later_steps_name_the_field(telehealth):
    b = telehealth.block()
    status, v = api(b, "start")
    qid = v["form"]["questions"][0]["id"]
    bad = answers(b, v) | {qid: ["no-such-choice"]}
    status, err = api(b, "submit", {"attempt": 1, "responses": bad})
    assert status == 400 and err["field"] == qid and "no-such-choice" in err["message"]
    status, v = api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
    status, v = api(b, "continue")
    item = v["evaluation"]["items"][0]["id"]
    status, err = api(b, "evaluation", {"answers": {item: 17}})
    assert status == 400 and err["field"] == item
    api(b, "evaluation", {"answers": evaluation_answers(v)})
    status, v = api(b, "attest", {"confirm": True})
    status, err = api(b, "details", DETAILS | {"license_state": "Texas"})
    assert status == 400 and err["field"] == "license_state" and "two-letter" in err["message"]


def test_other_handlers_refuse_bad_requests_clearly(telehealth):
    b = telehealth.block()
    req = get(b, "api")
    assert req.status_code == 405
    for handler in ("certificate_pdf", "certificate_credential"):
        resp = get(b, handler)
        assert resp.status_code == 404 and "no certificate" in resp.json["message"]
    page = get(b, "verify", "not-an-id")
    assert page.status_code == 404 and "Not verified" in page.text and "not-an-id" in page.text
    page = get(b, "verify", "", query="id=CE-0000-0000")
    assert page.status_code == 404
    lookup = get(b, "verify")
    assert lookup.status_code == 200 and 'name="id"' in lookup.text
    resp = post(b, "studio_save", None, raw=b"nope")
    assert resp.status_code == 400 and resp.json["error"] == "bad-json"


def test_grades_best_or_last_attempt_and_rescoring(telehealth):
    course = telehealth
    b = course.block()
    status, v = api(b, "start")
    api(b, "submit", {"attempt": 1, "responses": answers(b, v, right=False)})
    status, v = api(b, "start")
    good = answers(b, v)
    api(b, "submit", {"attempt": 2, "responses": good})
    grades = [e[1]["value"] for e in b.runtime.events if e[0] == "grade"]
    assert grades[0] < grades[1] == 10.0

    # The grade policy "last": a worse later attempt lowers the grade (unlimited attempts here,
    # but a pass ends attempts, so use a learner who only fails, better then worse).
    b2 = course.block("learner-2")
    b2.grade_policy = "last"
    status, v = api(b2, "start")
    half = answers(b2, v, right=False)
    right = answers(b2, v)
    for qid in list(half)[:6]:
        half[qid] = right[qid]
    api(b2, "submit", {"attempt": 1, "responses": half})
    status, v = api(b2, "start")
    api(b2, "submit", {"attempt": 2, "responses": answers(b2, v, right=False)})
    values = [e[1]["value"] for e in b2.runtime.events if e[0] == "grade"]
    assert values[0] > 0 and values[1] < values[0]
    b2.grade_policy = "best"
    assert b2.calculate_score().raw_earned == values[0]

    # Rescoring: the author corrects a key; the stored responses are scored again.
    b.runtime.events.clear()
    q = b.activity.question(next(iter(good)))
    wrong_choice = next(c for c in q.choices if not c.correct)
    fixed = q.__class__(
        id=q.id,
        prompt=q.prompt,
        type=q.type,
        objective=q.objective,
        explanation=q.explanation,
        choices=tuple(c.__class__(c.id, c.text, c.id == wrong_choice.id, c.feedback) for c in q.choices),
    )
    author = course.block(None)
    author.activity_olx = olx.dumps(
        author.activity.replace(questions=tuple(fixed if x.id == q.id else x for x in author.activity.questions))
    )
    author.save()
    b = course.block()
    b.rescore(only_if_higher=False)
    (event,) = b.runtime.events
    assert event[0] == "grade" and event[1]["value"] < 10.0 and event[1]["only_if_higher"] is False
    assert b.has_submitted_answer() and b.weight == 1.0


def test_weight_is_a_setting_and_max_score_is_the_form_size(telehealth):
    b = telehealth.block()
    assert b.max_score() == 10.0
    assert b.get_score().raw_possible == 10.0
    assert b.has_score is True


def test_olx_round_trips_through_the_runtime(tmp_path):
    source = example_xml("trauma-informed-care.xml")
    course = Course(source)
    block = course.block(None)
    out = io.BytesIO()
    block.runtime.export_to_xml(block, out)
    exported = out.getvalue()
    again = Course(exported)
    out2 = io.BytesIO()
    b2 = again.block(None)
    b2.runtime.export_to_xml(b2, out2)
    assert out2.getvalue() == exported
    assert b2.activity == olx.loads(source)
    assert b"<question " in exported and b"{" not in exported.split(b"<description>")[0]


def test_block_settings_ride_along_in_the_olx():
    xml = example_xml("telehealth-ethics.xml").replace("<ce_credit ", '<ce_credit weight="2.5" grade_policy="last" ', 1)
    course = Course(xml)
    b = course.block(None)
    assert (b.weight, b.grade_policy) == (2.5, "last")
    out = io.BytesIO()
    b.runtime.export_to_xml(b, out)
    root = etree.fromstring(out.getvalue())
    assert root.get("weight") == "2.5" and root.get("grade_policy") == "last"


def test_a_broken_olx_import_names_the_line():
    bad = example_xml("telehealth-ethics.xml").replace('pass_mark="75"', 'pass_mark="seventy"')
    with pytest.raises(olx.OLXError) as e:
        Course(bad)
    assert ":" in str(e.value) and "seventy" in str(e.value)


HOSTILE = (
    '<p>Hi</p><script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a><p onclick="alert(3)" style="x">p</p>'
)


def test_hostile_html_in_author_content_is_inert(telehealth):
    from ce_xblock import editing

    author = telehealth.block(None)
    model = editing.to_model(author.activity)
    model["description"] = HOSTILE
    model["instructors"][0]["bio"] = HOSTILE
    for q in model["questions"]:
        q["prompt"] = HOSTILE
        q["choices"][0]["text"] = HOSTILE + q["choices"][0]["text"]
    model["objectives"][0]["text"] = HOSTILE  # plain text: kept literally, rendered with textContent
    resp = post(author, "studio_save", {"model": model})
    assert resp.status_code == 200, resp.json
    assert "<script" not in author.activity_olx and "<img" not in author.activity_olx  # escaped text at most

    b = telehealth.block()
    status, view = api(b, "view")
    status, started = api(b, "start")
    rich = [view["info"]["description"], view["info"]["instructors"][0]["bio"]]
    for q in started["form"]["questions"]:
        rich.append(q["prompt"])
        rich += [c["text"] for c in q["choices"]]
    for text in rich + [b.student_view().content]:
        lowered = text.lower()
        for bad in ("<script", "<img", "onerror", "onclick", "javascript:", "style="):
            assert bad not in lowered, (bad, text[:200])
    assert "<p>Hi</p>" in view["info"]["description"]
    assert view["info"]["objectives"][0]["text"] == HOSTILE


def test_without_a_user_service_the_learner_types_their_name(telehealth):
    b = telehealth.block(with_user_service=False)
    status, v = api(b, "start")
    assert status == 200
    api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
    status, v = api(b, "continue")
    api(b, "evaluation", {"answers": evaluation_answers(v)})
    status, v = api(b, "attest", {"confirm": True})
    assert v["details"]["values"]["legal_name"] == "" and v["details"]["prefilled_from_profile"] is False
    status, err = api(b, "details", DETAILS | {"legal_name": " "})
    assert status == 400 and err["field"] == "legal_name"


def test_an_empty_full_name_prefills_nothing(telehealth):
    b = telehealth.block(user=XBlockUser(full_name=""))
    assert b._learner()["full_name"] == ""
    status, v = api(b, "view")
    assert v["anonymous"] is False


def test_an_anonymous_user_may_read_but_not_take_the_post_test(telehealth):
    anon = XBlockUser(full_name="")
    anon.opt_attrs["edx-platform.is_authenticated"] = False
    b = telehealth.block(user=anon)
    status, v = api(b, "view")
    assert status == 200 and v["anonymous"] is True and v["step"] == "info"
    status, err = api(b, "start")
    assert status == 403 and err["error"] == "sign-in"
    assert b.student_view().json_init_args["view"]["anonymous"] is True  # the front end says "Sign in ..."
    assert b.learner_state == {}


def test_verification_shows_valid_revoked_unknown_and_tampered(telehealth):
    b = telehealth.block()
    status, v = api(b, "start")
    api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
    status, v = api(b, "continue")
    api(b, "evaluation", {"answers": evaluation_answers(v)})
    api(b, "attest", {"confirm": True})
    api(b, "details", DETAILS)
    status, v = api(b, "certificate")
    cid = v["certificate"]["id"]
    board = telehealth.block(None)  # the board official: no account
    assert "Valid" in get(board, "verify", cid).text
    assert "Valid" in get(board, "verify", cid.lower().replace("-", "")).text  # typed loosely
    unknown = get(board, "verify", "CE-0000-0000")
    assert unknown.status_code == 404 and ("Unknown" in unknown.text or "Not verified" in unknown.text)
    as_json = get(board, "verify", cid, query="format=json")
    assert as_json.json["status"] == "valid" and as_json.json["verified"] is True

    from ce_xblock.core import certificate as cert

    signed = cert.SignedRecord.from_dict(board.issued_certificates[cid])
    event = cert.revoke(signed, reason="Issued in error", at=T0)
    board.certificate_log = [event.to_dict()]
    board.save()
    page = get(telehealth.block(None), "verify", cid).text
    assert "Revoked" in page and "Issued in error" in page

    tampered = telehealth.block(None)
    records = json.loads(json.dumps(tampered.issued_certificates))
    records[cid]["record"]["legal_name"] = "Someone Else"
    tampered.issued_certificates = records
    tampered.certificate_log = []
    tampered.save()
    resp = get(telehealth.block(None), "verify", cid)
    assert resp.status_code == 409 and "Not verified" in resp.text and "signature" in resp.text
    assert "Someone Else" not in resp.text


def test_staff_see_a_summary(telehealth):
    learner = telehealth.block()
    status, v = api(learner, "start")
    api(learner, "submit", {"attempt": 1, "responses": answers(learner, v)})
    sam = XBlockUser(full_name="Sam Staff")
    sam.opt_attrs["edx-platform.user_is_staff"] = True
    staff = telehealth.block("staff-1", user=sam)
    html = staff.student_view().content
    assert "Staff summary" in html and "Attempts submitted" in html and "100%" in html
    assert "Staff summary" not in learner.student_view().content


def test_a_french_catalogue_translates_the_rendered_view(telehealth, tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    cat = Catalog(locale="fr", domain="text")
    cat.add("Loading the CE activity...", "Chargement de l'activité de FC...")
    cat.add("Start the post-test", "Commencer le post-test")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with open(tmp_path / "fr" / "LC_MESSAGES" / "text.mo", "wb") as f:
        write_mo(f, cat)
    b = telehealth.block(language="fr")
    b.translations_dir = str(tmp_path)
    frag = b.student_view()
    assert "Chargement de l&#x27;activité de FC..." in frag.content and 'lang="fr"' in frag.content
    inline = "".join(r.data for r in frag.resources if r.kind == "text")
    assert "CECreditI18N" in inline and "Commencer le post-test" in inline
    arabic = telehealth.block(language="ar")
    assert 'dir="rtl"' in arabic.student_view().content


def test_the_view_uses_the_packaged_static_files(telehealth):
    frag = telehealth.block().student_view()
    urls = [r.data for r in frag.resources if r.kind == "url"]
    assert "/resource/ce_credit/static/css/ce_credit.css" in urls
    assert "/resource/ce_credit/static/js/ce_credit.js" in urls
    assert frag.js_init_fn == "CECreditXBlock"
    assert CECreditBlock.open_local_resource("static/js/ce_credit.js").read(20)


def test_workbench_scenarios_come_from_the_examples():
    scenarios = CECreditBlock.workbench_scenarios()
    titles = [t for t, _ in scenarios]
    assert any("Trauma-Informed Care" in t for t in titles)
    assert any("no minimum time" in t for t in titles)
    for _, xml in scenarios:
        Course(xml)  # each one imports


def test_the_packaged_js_catalogue_of_the_page_language_is_loaded(telehealth):
    from ce_xblock.block import PACKAGE_DIR

    assert (PACKAGE_DIR / "static/js/translations/fr/text.js").is_file()
    frag = telehealth.block(language="fr").student_view()
    urls = [r.data for r in frag.resources if r.kind == "url"]
    i18n = urls.index("/resource/ce_credit/static/js/translations/fr/text.js")
    # The namespace must exist before the front end reads it.
    assert i18n < urls.index("/resource/ce_credit/static/js/ce_credit.js")
    english = telehealth.block(language="en").student_view()
    assert "CECreditI18N" in "".join(r.data for r in english.resources if r.kind == "text")


def _ready_for_certificate(b) -> None:
    status, v = api(b, "start")
    status, v = api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
    assert v["result"]["passed"] is True, v
    status, v = api(b, "continue")
    if v["step"] == "evaluation":
        status, v = api(b, "evaluation", {"answers": evaluation_answers(v)})
    if v["step"] == "attestation":
        status, v = api(b, "attest", {"confirm": True})
    status, v = api(b, "details", DETAILS)
    assert status == 200 and v["step"] == "certificate", v


def _earn_certificate(b) -> str:
    _ready_for_certificate(b)
    status, v = api(b, "certificate")
    assert status == 200 and v["certificate"]["issued"] is True, v
    return v["certificate"]["id"]


def test_the_pdf_is_stored_at_issue_and_served_unchanged_after_the_settings_change(telehealth, tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 20), (200, 30, 30)).save(buf, "PNG")
    logo = tmp_path / "logo.png"
    logo.write_bytes(buf.getvalue())
    a4 = {"CECreditBlock": {"certificate_page_size": "a4", "certificate_logo": str(logo)}}
    b = telehealth.block(settings=a4)
    cid = _earn_certificate(b)
    assert b.certificate_pdf_store["id"] == cid
    first = get(b, "certificate_pdf").body
    assert b"/MediaBox [ 0 0 841.8898 595.2756 ]" in first and b"/Subtype /Image" in first
    # The provider goes back to Letter with no logo: the certificate already issued does not change.
    later = telehealth.block(settings={})
    assert later.certificate_pdf_store["id"] == cid
    assert get(later, "certificate_pdf").body == first


def test_wrong_certificate_settings_refuse_the_certificate_clearly_and_keep_progress(telehealth):
    from ce_xblock.core.flow import LearnerState

    b = telehealth.block(settings={"CECreditBlock": {"certificate_page_size": "legal"}})
    _ready_for_certificate(b)
    status, v = api(b, "certificate")
    assert status == 400 and v["error"] == "refused", v
    assert "certificate settings are wrong" in v["message"] and "progress is kept" in v["message"]
    assert not b.issued_certificates and LearnerState.from_dict(b.learner_state).passed
    ok = telehealth.block(settings={})
    status, v = api(ok, "certificate")
    assert status == 200 and v["certificate"]["issued"] is True, v


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_an_empty_or_blank_full_name_is_typed_by_the_learner_and_printed_as_typed(telehealth):
    for blank in ("", "   "):
        b = telehealth.block(user_id=f"blank-{len(blank)}", user=XBlockUser(full_name=blank))
        assert b._learner() == {"full_name": "", "anonymous": False, "staff": False}
        status, v = api(b, "start")
        assert status == 200  # signed in: the post-test is open even without a profile name
        api(b, "submit", {"attempt": 1, "responses": answers(b, v)})
        status, v = api(b, "continue")
        api(b, "evaluation", {"answers": evaluation_answers(v)})
        status, v = api(b, "attest", {"confirm": True})
        assert v["details"]["values"]["legal_name"] == "" and v["details"]["prefilled_from_profile"] is False
        status, err = api(b, "details", DETAILS | {"legal_name": blank})
        assert status == 400 and err["field"] == "legal_name" and err["message"]
        status, v = api(b, "details", DETAILS | {"legal_name": "Dana Typed-Name"})
        assert status == 200 and v["step"] == "certificate", v
        status, v = api(b, "certificate")
        assert status == 200 and v["certificate"]["issued"] is True
        pdf = get(b, "certificate_pdf")
        assert pdf.status_code == 200 and pdf.body.startswith(b"%PDF")
        assert pdftotext(pdf.body).count("Dana Typed-Name") == 1


def test_a_runtime_without_a_user_id_is_anonymous_and_stores_nothing(telehealth):
    # Public course preview: the LMS gives no user id. With or without a user service.
    for kwargs in ({}, {"with_user_service": False}):
        b = telehealth.block(user_id=None, **kwargs)
        assert b._learner()["anonymous"] is True and b._learner()["full_name"] == ""
        frag = b.student_view()
        assert "Sign in to take the post-test" in frag.content
        assert frag.json_init_args["view"]["anonymous"] is True and frag.json_init_args["view"]["step"] == "info"
        for action in ("start", "submit", "evaluation", "attest", "details"):
            status, err = api(b, action, {})
            assert status == 403 and err["error"] == "sign-in", (action, err)
        assert b.learner_state == {}
        assert not [e for e in b.runtime.events if e[0] in ("grade", "completion")]


def test_the_author_view_previews_what_a_learner_sees_with_a_note_and_no_key(telehealth):
    assert CECreditBlock.has_author_view is True
    b = telehealth.block(user_id="author")
    frag = b.author_view()
    assert frag.content.startswith('<p class="cec-author-note">Preview: this is what a learner sees.')
    assert 'class="cec-root cec"' in frag.content  # the learner page itself follows
    assert frag.js_init_fn == "CECreditXBlock" and frag.json_init_args["view"]["step"] == "info"
    assert frag.json_init_args["view"]["info"]["title"] == b.activity.title
    assert not SECRETS_RE.search(frag.content + json.dumps(frag.json_init_args))
    urls = [r.data for r in frag.resources if r.kind == "url"]
    assert "/resource/ce_credit/static/js/ce_credit.js" in urls
    french = telehealth.block(user_id="author", language="fr").author_view().content
    assert "Preview: this is what" not in french and 'lang="fr"' in french
    assert b.learner_state == {}  # looking at the preview records nothing


def test_a_broken_stored_activity_is_explained_to_authors_and_learners_never_a_500(telehealth):
    learner = telehealth.block()
    status, v = api(learner, "start")  # progress made before the activity broke
    kept = json.loads(json.dumps(learner.learner_state))
    learner.activity_olx = learner.activity_olx.replace('pass_mark="75"', 'pass_mark="0"')
    assert kept["attempts"]

    content = learner.student_view().content
    assert "not available at the moment" in content and 'role="alert"' in content
    assert "pass mark" not in content.lower()  # the details are for the course team
    status, err = api(learner, "view")
    assert status == 503 and err["error"] == "activity-unavailable" and "progress" in err["message"]
    assert learner.student_view_data()["error"] == "activity-unavailable"
    assert learner.learner_state == kept

    author = telehealth.block(user_id="author").author_view().content
    assert "Learners cannot use this activity until these problems are fixed" in author
    assert 'lang="en"' in author and "The pass mark must be a percentage from 1 to 100, not 0." in author
    staff_user = XBlockUser(full_name="Sam Staff")
    staff_user.opt_attrs["edx-platform.user_is_staff"] = True
    assert "pass mark" in telehealth.block(user_id="staff", user=staff_user).student_view().content

    french = telehealth.block(language="fr").student_view().content
    assert "not available at the moment" not in french and 'lang="fr"' in french


class _ServiceCatalogue:
    """An i18n service that translates, as Open edX's does with the block's or atlas's catalogue."""

    def __init__(self, language, table):
        self.language, self.table = language, table

    def get_language(self):
        return self.language

    def gettext(self, text):
        return self.table.get(text, text)

    def get_javascript_i18n_catalog_url(self, block):
        return None


def test_the_runtime_i18n_service_translates_python_strings_before_the_packaged_catalogue(telehealth):
    service = _ServiceCatalogue("fr", {"Loading the CE activity...": "Chargement (catalogue du LMS)..."})
    b = telehealth.block(i18n=service)
    content = b.student_view().content
    assert "Chargement (catalogue du LMS)..." in content
    # A string the service does not know still comes from the packaged French catalogue.
    packaged = telehealth.block(language="fr")._(
        "This CE activity needs JavaScript. Please turn it on and reload the page."
    )
    assert packaged != "This CE activity needs JavaScript. Please turn it on and reload the page."
    assert html.escape(packaged) in content
    # Handler messages go the same way.
    service.table["The request names no action."] = "La requête ne nomme aucune action (LMS)."
    status, err = api(b, None)
    assert status == 400 and err["message"] == "La requête ne nomme aucune action (LMS)."
