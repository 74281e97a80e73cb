"""The demo LMS against a tiny stand-in tool built with pylti1p3's Flask helpers, over real HTTP."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest, FlaskServiceConnector
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.grade import Grade
from pylti1p3.launch_data_storage.cache import CacheDataStorage
from pylti1p3.lineitem import LineItem
from pylti1p3.tool_config import ToolConfDict

from lti_tool.demo_lms import ServerThread

CLIENT_ID = "stand-in-client"
DEPLOYMENT = "dep-1"


class DictCache:
    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, exp=None):
        self.data[key] = value


class DictStorage(CacheDataStorage):
    def __init__(self, cache: DictCache) -> None:
        super().__init__()
        self._cache = cache


def rsa_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def stand_in_tool(issuer: str) -> tuple[Flask, str]:
    """A minimal LTI 1.3 tool: login, launch (answers JSON), JWKS, AGS/NRPS/deep-link actions."""
    private, public = rsa_pem()
    conf = ToolConfDict(
        {
            issuer: [
                {
                    "default": True,
                    "client_id": CLIENT_ID,
                    "auth_login_url": f"{issuer}/auth",
                    "auth_token_url": f"{issuer}/token",
                    "key_set_url": f"{issuer}/jwks",
                    "deployment_ids": [DEPLOYMENT],
                }
            ]
        }
    )
    conf.set_private_key(issuer, private, client_id=CLIENT_ID)
    conf.set_public_key(issuer, public, client_id=CLIENT_ID)
    cache = DictCache()
    app = Flask("stand_in_tool")
    app.secret_key = "stand-in"

    def storage() -> DictStorage:
        return DictStorage(cache)

    def restore(launch_id: str) -> FlaskMessageLaunch:
        return FlaskMessageLaunch.from_cache(
            launch_id,
            FlaskRequest(),
            conf,
            launch_data_storage=storage(),
            service_connector_cls=FlaskServiceConnector,
        )

    @app.route("/login", methods=["GET", "POST"])
    def login():
        target = request.values["target_link_uri"]
        return FlaskOIDCLogin(FlaskRequest(), conf, launch_data_storage=storage()).redirect(target)

    @app.route("/launch", methods=["POST"])
    def launch():
        ml = FlaskMessageLaunch(
            FlaskRequest(), conf, launch_data_storage=storage(), service_connector_cls=FlaskServiceConnector
        )
        data = ml.get_launch_data()
        return jsonify(launch_id=ml.get_launch_id(), claims=data, deep_link=ml.is_deep_link_launch())

    @app.route("/jwks")
    def jwks():
        return jsonify(conf.get_jwks())

    @app.route("/deep_link/<launch_id>", methods=["POST"])
    def deep_link(launch_id: str):
        ml = restore(launch_id)
        resource = (
            DeepLinkResource()
            .set_url(request.url_root.rstrip("/") + "/launch")
            .set_title("Ethics in telehealth")
            .set_custom_params({"activity": "ethics-telehealth"})
            .set_lineitem(LineItem().set_score_maximum(10).set_label("Ethics post-test").set_resource_id("ethics"))
        )
        return ml.get_deep_link().output_response_form([resource])

    @app.route("/score/<launch_id>", methods=["POST"])
    def score(launch_id: str):
        ml = restore(launch_id)
        ags = ml.get_ags()
        body = request.get_json()
        grade = (
            Grade()
            .set_score_given(body["score"])
            .set_score_maximum(body["max"])
            .set_timestamp(body["timestamp"])
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(ml.get_launch_data()["sub"])
            .set_comment(body.get("comment", ""))
        )
        lineitem = None
        if body.get("resource_id"):
            lineitem = (
                LineItem()
                .set_tag("posttest")
                .set_resource_id(body["resource_id"])
                .set_score_maximum(body["max"])
                .set_label(body["label"])
            )
        result = ags.put_grade(grade, lineitem)
        grades = list(ags.get_grades(lineitem if lineitem else None))
        return jsonify(status=result.get("status_code"), grades=grades)

    @app.route("/roster/<launch_id>")
    def roster(launch_id: str):
        return jsonify(members=restore(launch_id).get_nrps().get_members())

    return app, private


@pytest.fixture
def pair(platform):
    """The demo LMS and the stand-in tool on two hosts, registered with each other."""
    server, lms = platform
    app, private = stand_in_tool(server.url)
    tool = ServerThread(app, host="127.0.0.1").start()
    lms.register_tool(
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT,
        login_url=f"{tool.url}/login",
        launch_url=f"{tool.url}/launch",
        jwks_url=f"{tool.url}/jwks",
    )
    yield server, lms, tool, private
    tool.stop()


def test_jwks_publishes_the_platform_key_with_a_kid(platform):
    server, _ = platform
    keys = requests.get(f"{server.url}/jwks", timeout=10).json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]


def test_learner_launch_round_trip_carries_user_context_link_ags_and_nrps(pair, lti_browser):
    server, lms, tool, _ = pair
    link = lms.state.add_link("Boundaries in practice", custom={"activity": "boundaries"}, line_item={"label": "B"})
    resp = lti_browser.launch(server.url, "learner-ada", "learner", link.id)
    assert resp.status_code == 200, resp.text
    claims = resp.json()["claims"]
    assert claims["iss"] == server.url
    assert claims["aud"] == CLIENT_ID
    assert claims["sub"] == "learner-ada"
    assert claims["name"] == "Ada Okafor"
    assert (
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
        in claims["https://purl.imsglobal.org/spec/lti/claim/roles"]
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["id"] == link.id
    assert claims["https://purl.imsglobal.org/spec/lti/claim/custom"] == {"activity": "boundaries"}
    assert claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == DEPLOYMENT
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitem"] == lms.line_item_url(link.line_item_id)
    assert ags["lineitems"] == lms.line_items_url()
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in ags["scope"]
    nrps = claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert nrps["context_memberships_url"] == lms.memberships_url()


def test_instructor_launch_has_the_instructor_role(pair, lti_browser):
    server, lms, _, _ = pair
    link = lms.state.add_link("Any")
    claims = lti_browser.launch(server.url, "instructor-iris", "instructor", link.id).json()["claims"]
    assert (
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
        in claims["https://purl.imsglobal.org/spec/lti/claim/roles"]
    )


def test_deep_link_round_trip_adds_a_launchable_link_with_its_line_item(pair, lti_browser):
    server, lms, _, _ = pair
    resp = lti_browser.launch(server.url, "instructor-iris", "deeplink")
    body = resp.json()
    assert body["deep_link"] is True
    settings = body["claims"]["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    assert settings["deep_link_return_url"] == f"{server.url}/deep_link_return"
    assert "ltiResourceLink" in settings["accept_types"]

    form_page = lti_browser.post(f"{resp.url.rsplit('/', 1)[0]}/deep_link/{body['launch_id']}", timeout=30)
    done = lti_browser.submit_auto_form(form_page)
    assert done.status_code == 200, done.text
    assert "Ethics in telehealth" in done.text
    (link,) = lms.state.links.values()
    assert link.custom == {"activity": "ethics-telehealth"}
    item = lms.state.line_items[link.line_item_id]
    assert (item.label, item.score_maximum, item.resource_id, item.resource_link_id) == (
        "Ethics post-test",
        10,
        "ethics",
        link.id,
    )
    launched = lti_browser.launch(server.url, "learner-ben", "learner", link.id).json()["claims"]
    assert launched["https://purl.imsglobal.org/spec/lti/claim/custom"] == {"activity": "ethics-telehealth"}
    ags = launched["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitem"] == lms.line_item_url(item.id)


def test_score_post_reaches_the_gradebook_and_reads_back_from_results(pair, lti_browser):
    server, lms, tool, _ = pair
    link = lms.state.add_link("Scored", line_item={"label": "Scored post-test", "scoreMaximum": 10})
    launch_id = lti_browser.launch(server.url, "learner-mei", "learner", link.id).json()["launch_id"]
    stamp = datetime.now(UTC).isoformat()
    resp = requests.post(
        f"{tool.url}/score/{launch_id}",
        json={"score": 8, "max": 10, "timestamp": stamp, "comment": "2 of 3"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    grades = resp.json()["grades"]
    assert grades == [
        {
            "id": f"{lms.line_item_url(link.line_item_id)}/results/learner-mei",
            "scoreOf": lms.line_item_url(link.line_item_id),
            "userId": "learner-mei",
            "resultScore": 8,
            "resultMaximum": 10,
            "comment": "2 of 3",
        }
    ]
    assert lms.state.results[(link.line_item_id, "learner-mei")]["scoreGiven"] == 8
    page = requests.get(f"{server.url}/", timeout=10).text
    assert "8 / 10" in page


def test_tool_creates_a_line_item_by_resource_id_when_the_link_has_none(pair, lti_browser):
    server, lms, tool, _ = pair
    link = lms.state.add_link("No column yet")
    launch_id = lti_browser.launch(server.url, "learner-ada", "learner", link.id).json()["launch_id"]
    body = {"score": 3, "max": 4, "timestamp": datetime.now(UTC).isoformat(), "resource_id": "x1", "label": "Made"}
    assert requests.post(f"{tool.url}/score/{launch_id}", json=body, timeout=30).status_code == 200
    (item,) = lms.state.line_items.values()
    assert (item.label, item.resource_id, item.tag) == ("Made", "x1", "posttest")
    # a second score finds the same line item instead of creating another
    body["timestamp"] = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    body["score"] = 4
    assert requests.post(f"{tool.url}/score/{launch_id}", json=body, timeout=30).status_code == 200
    assert len(lms.state.line_items) == 1
    assert lms.state.results[(item.id, "learner-ada")]["scoreGiven"] == 4


def test_nrps_round_trip_lists_the_roster(pair, lti_browser):
    server, lms, tool, _ = pair
    link = lms.state.add_link("Roster")
    launch_id = lti_browser.launch(server.url, "instructor-iris", "instructor", link.id).json()["launch_id"]
    members = requests.get(f"{tool.url}/roster/{launch_id}", timeout=30).json()["members"]
    by_id = {m["user_id"]: m for m in members}
    assert set(by_id) == {"learner-ada", "learner-ben", "learner-mei", "instructor-iris"}
    assert by_id["instructor-iris"]["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
    assert by_id["learner-ben"]["name"] == "Ben Lindqvist"


def _assertion(private: str, aud: str, **over) -> str:
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": aud, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    claims.update(over)
    from lti1p3platform.registration import Registration

    kid = Registration.get_jwk(private)["kid"]
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def _token(server_url: str, assertion: str) -> requests.Response:
    return requests.post(
        f"{server_url}/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        },
        timeout=10,
    )


def test_token_endpoint_grants_a_valid_assertion_once_and_refuses_replay_wrong_aud_and_forgery(pair):
    server, _, _, private = pair
    good = _assertion(private, f"{server.url}/token")
    first = _token(server.url, good)
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    replay = _token(server.url, good)
    assert replay.status_code == 401 and "already used" in replay.json()["error_description"]
    wrong_aud = _token(server.url, _assertion(private, "https://elsewhere.example/token"))
    assert wrong_aud.status_code == 401 and "aud" in wrong_aud.json()["error_description"]
    forger, _ = rsa_pem()
    forged = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}) | {"jti": "new"},
        forger,
        algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(good)["kid"]},
    )
    assert _token(server.url, forged).status_code == 401
    expired = _assertion(private, f"{server.url}/token", exp=int(time.time()) - 600, iat=int(time.time()) - 700)
    assert _token(server.url, expired).status_code == 401


def test_ags_refuses_requests_without_a_valid_token(pair):
    server, lms, _, _ = pair
    url = lms.line_items_url()
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=10).status_code == 401


def test_score_validation_names_the_bad_field(pair):
    server, lms, _, private = pair
    link = lms.state.add_link("V", line_item={"label": "V"})
    token = _token(server.url, _assertion(private, f"{server.url}/token")).json()["access_token"]
    url = lms.line_item_url(link.line_item_id) + "/scores"
    bad = {"userId": "learner-ada", "scoreGiven": 1, "scoreMaximum": 2, "activityProgress": "Completed",
           "gradingProgress": "FullyGraded", "timestamp": "2026-01-01T10:00:00"}  # fmt: skip
    resp = requests.post(url, json=bad, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 400 and "timezone" in resp.json()["error"]


def test_same_score_resent_is_acknowledged_but_not_applied_twice_and_older_is_refused(pair):
    server, lms, _, private = pair
    link = lms.state.add_link("D", line_item={"label": "D"})
    token = _token(server.url, _assertion(private, f"{server.url}/token")).json()["access_token"]
    url = lms.line_item_url(link.line_item_id) + "/scores"
    score = {"userId": "learner-ada", "scoreGiven": 5, "scoreMaximum": 10, "activityProgress": "Completed",
             "gradingProgress": "FullyGraded", "timestamp": "2026-01-01T10:00:00+00:00"}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, json=score, headers=headers, timeout=10).status_code == 201
    assert requests.post(url, json=score, headers=headers, timeout=10).status_code == 200
    older = score | {"scoreGiven": 1, "timestamp": "2025-12-31T10:00:00+00:00"}
    assert requests.post(url, json=older, headers=headers, timeout=10).status_code == 409
    assert [e["outcome"] for e in lms.state.score_log] == ["created", "duplicate", "oldtimestamp"]
    assert lms.state.results[(link.line_item_id, "learner-ada")]["scoreGiven"] == 5


def test_failure_switch_fails_every_other_grade_request_and_can_go_down(pair):
    server, lms, _, private = pair
    link = lms.state.add_link("F", line_item={"label": "F"})
    token = _token(server.url, _assertion(private, f"{server.url}/token")).json()["access_token"]
    url = lms.line_item_url(link.line_item_id)
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(f"{server.url}/control", json={"mode": "every-other"}, timeout=10).raise_for_status()
    codes = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(4)]
    assert codes == [503, 200, 503, 200]
    lms.set_failure_mode("down")
    assert requests.get(f"{server.url}/jwks", timeout=10).status_code == 503
    assert requests.get(f"{server.url}/", timeout=10).status_code == 200  # the page stays up to switch back
    lms.set_failure_mode("none")
    assert requests.get(url, headers=headers, timeout=10).status_code == 200


def test_launch_refuses_an_unregistered_redirect_uri_and_an_unknown_hint(pair, lti_browser):
    server, lms, tool, _ = pair
    link = lms.state.add_link("R")
    start = lti_browser.get(
        f"{server.url}/launch", params={"user": "learner-ada", "kind": "learner", "link": link.id},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    login = start.headers["Location"]
    assert login.startswith(f"{tool.url}/login?")
    auth = lti_browser.get(login, allow_redirects=False, timeout=10).headers["Location"]
    evil = auth.replace("redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example%2F&x=")
    resp = lti_browser.get(evil, timeout=10)
    assert resp.status_code == 400 and "redirect_uri" in resp.text
    resp = lti_browser.get(auth.replace("lti_message_hint=", "lti_message_hint=zz"), timeout=10)
    assert resp.status_code == 400 and "lti_message_hint" in resp.text


def test_page_lists_buttons_gradebook_and_frame(pair):
    server, lms, _, _ = pair
    lms.state.add_link("Page link", line_item={"label": "Page column"})
    page = requests.get(f"{server.url}/", timeout=10).text
    for text in ("Launch as learner", "Launch as instructor", "Deep link", "Gradebook", "Page column", "<iframe"):
        assert text in page
