"""Staff give one learner extra attempts or extra minutes through the `accommodation` handler."""

from __future__ import annotations

from datetime import timedelta

import pytest
from xbhelpers import T0, Course, advance, api, example_xml, get, post
from xblock.reference.user_service import XBlockUser

TRAUMA = "trauma-informed-care.xml"  # 3 attempts, 60 minutes between attempts


def staff_user() -> XBlockUser:
    user = XBlockUser(full_name="Sam Staff")
    user.opt_attrs["edx-platform.user_is_staff"] = True
    user.opt_attrs["edx-platform.anonymous_user_id"] = "anon-staff"
    return user


def learner_user(anon: str) -> XBlockUser:
    user = XBlockUser(full_name="Lee Learner")
    user.opt_attrs["edx-platform.anonymous_user_id"] = anon
    return user


@pytest.fixture
def course():
    return Course(example_xml(TRAUMA))


def grant(block, learner, attempts=1, minutes=0):
    resp = post(block, "accommodation", {"learner": learner, "extra_attempts": attempts, "extra_minutes": minutes})
    return resp.status_code, resp.json


def test_staff_give_a_learner_an_extra_attempt_by_anonymous_id_and_the_learner_sees_it(course):
    staff = course.block("staff-1", user=staff_user())
    status, body = grant(staff, "anon-lee", attempts=1, minutes=30)
    assert status == 200, body
    assert body["key"] == "anon-lee" and body["extra_attempts"] == 1 and body["extra_minutes"] == 30
    assert "anon-lee" in body["rows_html"]

    lee = course.block("lee", user=learner_user("anon-lee"))
    status, view = api(lee, "view")
    assert view["accommodation"] == {"extra_attempts": 1, "extra_minutes": 30}
    assert view["attempts"]["allowed"] == 4
    # Another learner is not affected
    other = course.block("kim", user=learner_user("anon-kim"))
    assert api(other, "view")[1]["attempts"]["allowed"] == 3
    # The staff summary lists the accommodation
    assert "anon-lee" in staff.student_view().content


def test_a_username_is_mapped_to_the_anonymous_id_through_the_user_service(course):
    class LmsUsers:
        """As the LMS's user service: staff may map a username to the course's anonymous id."""

        def __init__(self, user):
            self.user = user

        def get_current_user(self):
            return self.user

        def get_anonymous_user_id(self, username, course_id):
            return {"lee": "anon-lee"}.get(username)

    staff = course.block("staff-1", user=staff_user())
    staff.runtime._services["user"] = LmsUsers(staff_user())
    status, body = grant(staff, "lee", attempts=2)
    assert status == 200 and body["key"] == "anon-lee" and body["learner"] == "lee"
    lee = course.block("lee", user=learner_user("anon-lee"))
    assert api(lee, "view")[1]["attempts"]["allowed"] == 5


def test_the_extra_attempt_lets_a_learner_who_used_every_attempt_start_again(course):
    lee = course.block("lee", user=learner_user("anon-lee"))
    for n in (1, 2, 3):
        assert api(lee, "start", {"attempt": n})[0] == 200
        form = api(lee, "view")[1]["form"]
        responses = {q["id"]: [q["choices"][0]["id"]] for q in form["questions"]}
        status, view = api(lee, "submit", {"attempt": n, "responses": responses})
        assert status == 200
        if view["passed"]:
            pytest.skip("the first choices happened to pass")
        advance(lee, 61)
    assert api(lee, "view")[1]["attempts"]["code"] == "no-attempts-left"
    assert api(lee, "start", {"attempt": 4})[0] == 400

    staff = course.block("staff-1", user=staff_user())
    assert grant(staff, "anon-lee", attempts=1)[0] == 200
    lee = course.block("lee", user=learner_user("anon-lee"))
    lee.clock["now"] = T0 + timedelta(hours=6)  # past the 60-minute wait
    view = api(lee, "view")[1]
    assert view["attempts"]["can_start"] is True and view["attempts"]["allowed"] == 4
    assert api(lee, "start", {"attempt": 4})[0] == 200


def test_zero_and_zero_removes_the_accommodation(course):
    staff = course.block("staff-1", user=staff_user())
    grant(staff, "anon-lee", attempts=1)
    status, body = grant(staff, "anon-lee", attempts=0, minutes=0)
    assert status == 200 and "no accommodation" in body["message"]
    lee = course.block("lee", user=learner_user("anon-lee"))
    assert api(lee, "view")[1]["accommodation"] == {"extra_attempts": 0, "extra_minutes": 0}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"learner": "", "extra_attempts": 1}, "learner"),
        ({"learner": "anon-lee", "extra_attempts": -1}, "extra_attempts"),
        ({"learner": "anon-lee", "extra_attempts": "two"}, "extra_attempts"),
        ({"learner": "anon-lee", "extra_attempts": True}, "extra_attempts"),
        ({"learner": "anon-lee", "extra_attempts": 21}, "extra_attempts"),
        ({"learner": "anon-lee", "extra_minutes": 1.5}, "extra_minutes"),
        ({"learner": "anon-lee", "extra_minutes": 100000}, "extra_minutes"),
    ],
)
def test_bad_input_is_refused_naming_the_field(course, payload, field):
    staff = course.block("staff-1", user=staff_user())
    resp = post(staff, "accommodation", payload)
    assert resp.status_code == 400 and resp.json["field"] == field, resp.json
    assert resp.json["message"]
    assert staff.accommodations == {}


def test_only_staff_may_give_an_accommodation(course):
    lee = course.block("lee", user=learner_user("anon-lee"))
    resp = post(lee, "accommodation", {"learner": "anon-lee", "extra_attempts": 5})
    assert resp.status_code == 403 and resp.json["error"] == "staff-only"
    assert api(lee, "view")[1]["attempts"]["allowed"] == 3


def test_a_get_is_refused(course):
    staff = course.block("staff-1", user=staff_user())
    assert get(staff, "accommodation").status_code == 405


def test_without_an_anonymous_id_the_runtime_user_id_is_the_key(course):
    staff = course.block("staff-1", user=staff_user())
    assert grant(staff, "plain-user", attempts=1)[0] == 200
    plain = course.block("plain-user", user=XBlockUser(full_name="Pat Plain"))
    assert api(plain, "view")[1]["accommodation"]["extra_attempts"] == 1
