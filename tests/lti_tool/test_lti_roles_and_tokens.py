"""Which LTI roles open the instructor pages; access tokens kept per registration; JSON in <script>."""

from __future__ import annotations

import json

import pytest

from lti_tool.lti.adapter import _ServiceConnector, _TimeoutSession, is_instructor_roles
from lti_tool.views.learner import script_json

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    "roles",
    [
        [LIS + "membership#Instructor"],
        [LIS + "membership#Administrator"],
        [LIS + "membership#ContentDeveloper"],
        [LIS + "membership#TeachingAssistant"],
        [LIS + "membership/Instructor#TeachingAssistant"],
        [LIS + "membership#Learner", LIS + "institution/person#Administrator"],
        [LIS + "system/person#Administrator"],
        ["Instructor"],
    ],
)
def test_staff_roles_open_the_instructor_pages(roles):
    assert is_instructor_roles(roles)


@pytest.mark.parametrize(
    "roles",
    [
        [LIS + "membership#Learner"],
        # Canvas sends the institution Instructor role for every teacher, also when they take a course.
        [LIS + "membership#Learner", LIS + "institution/person#Instructor"],
        [LIS + "institution/person#Faculty", LIS + "membership#Learner"],
        [LIS + "membership#Mentor"],
        [LIS + "membership/Learner#Learner"],
        [LIS + "system/person#User"],
        [],
    ],
)
def test_learner_roles_do_not(roles):
    assert not is_instructor_roles(roles)


class _Reg:
    def __init__(self, client_id, token_url="https://canvas.instructure.com/login/oauth2/token"):
        self.client_id, self.token_url = client_id, token_url

    def get_issuer(self):
        return "https://canvas.instructure.com"

    def get_client_id(self):
        return self.client_id

    def get_auth_token_url(self):
        return self.token_url


def test_access_tokens_are_kept_per_client_not_per_issuer():
    scopes = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
    a = _ServiceConnector(_Reg("1000001"))
    b = _ServiceConnector(_Reg("2000002"))
    c = _ServiceConnector(_Reg("1000001", "https://canvas.example.edu/login/oauth2/token"))
    keys = {conn._scope_key(scopes) for conn in (a, b, c)}
    assert len(keys) == 3
    assert a._scope_key(scopes) == _ServiceConnector(_Reg("1000001"))._scope_key(list(reversed(scopes)))


def test_service_requests_time_out_by_default():
    seen = {}

    class Session:
        def request(self, method, url, **kw):
            seen.update(kw, method=method)
            return "ok"

    s = _TimeoutSession(Session(), timeout=7)
    assert s.post("https://p.test/token", data={}) == "ok"
    assert seen["timeout"] == 7 and seen["method"] == "POST"
    s.get("https://p.test/x", timeout=2)
    assert seen["timeout"] == 2


def test_json_in_the_learner_page_cannot_close_its_script_element():
    value = {"platform": "</script><script>alert(1)</script>", "x": "<!-- & -->"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value
