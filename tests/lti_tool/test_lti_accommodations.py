"""Accommodations in the LTI tool: an instructor gives one learner extra attempts or extra minutes.

Real launches (RS256 id_tokens from the test platform, the tool's login and launch endpoints), the
instructor page's form, and the learner API: the server enforces the granted attempts.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, inspect, select, text

from ce_xblock.core import flow, olx
from lti_tool import accommodations, launches, learning
from lti_tool.app import tool_of
from lti_tool.migrate import alembic_config, upgrade
from lti_tool.store import Accommodation, LearnerRecord, Registration, ResourceLink

BASE = "https://tool.test"
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}
TRAUMA = "trauma-informed-care.xml"  # 3 attempts, 60 minutes between attempts


# --- helpers -------------------------------------------------------------------------------------


def instructor_launch(lti, launch_id_from):
    resp = lti.full_launch(**INSTRUCTOR, sub="instructor-1", name="Iris Instructor")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return launch_id_from(resp.get_data(as_text=True))


def import_activity(client, lid, examples, *, attempts="2", wait="0"):
    """The trauma example with its attempt limit and wait set, as the link's activity."""
    text_ = (examples / TRAUMA).read_text()
    text_ = text_.replace('attempts="3" wait_minutes="60"', f'attempts="{attempts}" wait_minutes="{wait}"', 1)
    resp = client.post(f"/lti/instructor/{lid}/olx", data={"olx": text_}, base_url=BASE)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    activity = olx.loads(text_)
    assert activity.policy.max_attempts == int(attempts) and activity.policy.wait_minutes == int(wait)
    return activity


def learner_launch(lti, sub="learner-1", name="Ada Learner"):
    resp = lti.full_launch(sub=sub, name=name)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    page = resp.get_data(as_text=True)
    launch_id = re.search(r'data-launch-id="([^"]+)"', page).group(1)
    view = json.loads(html.unescape(re.search(r'id="ce-credit-initial-view">(.*?)</script>', page, re.S).group(1)))
    return launch_id, view


def api(client, launch_id, action, payload=None):
    resp = client.post(f"/lti/api/{launch_id}", json={"action": action, "payload": payload or {}}, base_url=BASE)
    return resp.status_code, resp.get_json()


def wrong_answers(activity, form):
    out = {}
    for q in form["questions"]:
        question = activity.question(q["id"])
        out[q["id"]] = [c.id for c in question.choices if c.id not in question.correct_ids][:1]
    return out


def fail_once(client, launch_id, activity):
    status, view = api(client, launch_id, "start")
    assert status == 200 and view["step"] == "posttest", view
    form = view["form"]
    status, view = api(
        client, launch_id, "submit", {"attempt": form["attempt"], "responses": wrong_answers(activity, form)}
    )
    assert status == 200 and view["result"]["passed"] is False
    return view


def grant(client, lid, **form):
    resp = client.post(f"/lti/instructor/{lid}/accommodations", data=form, base_url=BASE)
    return resp.status_code, resp.get_data(as_text=True)


def stored(app):
    with tool_of(app).sessions() as s:
        return list(s.scalars(select(Accommodation)))


@pytest.fixture
def course(lti, client, launch_id_from, examples):
    """An instructor's link with the trauma activity at 2 attempts and no wait; Ada has used both."""
    lid = instructor_launch(lti, launch_id_from)
    activity = import_activity(client, lid, examples)
    launch_id, _ = learner_launch(lti)
    fail_once(client, launch_id, activity)
    fail_once(client, launch_id, activity)
    return lid, launch_id, activity


# --- the learner who used every attempt, and the instructor's extra attempt -----------------------


def test_used_all_attempts_is_refused_then_one_extra_attempt_allows_exactly_one_more(lti, client, app, course):
    lid, launch_id, activity = course
    status, body = api(client, launch_id, "start")
    assert status == 400 and body["error"] == "no-attempts-left", body
    status, body = api(client, launch_id, "start", {"attempt": 3})
    assert status == 400 and body["error"] == "no-attempts-left"

    page = client.get(f"/lti/instructor/{lid}", base_url=BASE).get_data(as_text=True)
    assert '<option value="learner-1">Ada Learner (ada@example.org)</option>' in page
    assert "No accommodations yet." in page
    status, page = grant(client, lid, learner="learner-1", extra_attempts="1", extra_minutes="0", reason="Documented")
    assert status == 200, page
    assert "Saved for Ada Learner: extra attempts 1, extra minutes 0." in page
    row = re.search(r'<tr data-user="learner-1">(.*?)</tr>', page, re.S).group(1)
    assert ">Ada Learner</th><td>1</td><td>0</td><td>Documented</td>" in row and "Iris Instructor" in row
    (acc,) = stored(app)
    assert (acc.user_sub, acc.extra_attempts, acc.extra_minutes, acc.granted_by) == (
        "learner-1",
        1,
        0,
        "Iris Instructor",
    )

    # The same launch (no new id_token): the server now allows a third attempt, and only one.
    view = fail_once(client, launch_id, activity)
    assert view["attempts"]["used"] == 3 and view["attempts"]["allowed"] == 3
    assert view["accommodation"] == {"extra_attempts": 1, "extra_minutes": 0}
    status, body = api(client, launch_id, "start")
    assert status == 400 and body["error"] == "no-attempts-left"
    # A new launch shows it too (the launch page's view reads the grant with the state).
    _, view = learner_launch(lti)
    assert view["attempts"]["allowed"] == 3 and view["attempts"]["can_start"] is False
    assert view["accommodation"]["extra_attempts"] == 1
    # The grade comment counts the accommodation in the attempts allowed.
    from lti_tool.store import OutboxScore

    with tool_of(app).sessions() as s:
        last = s.scalars(select(OutboxScore).order_by(OutboxScore.id.desc())).first()
    assert last.comment == "Not passed; 3 of 3 attempts used"


def test_the_grant_applies_only_to_that_learner_and_that_link(lti, client, app, course, launch_id_from):
    lid, _launch_id, activity = course
    assert grant(client, lid, learner="learner-1", extra_attempts="2")[0] == 200
    _, view = learner_launch(lti, sub="learner-2", name="Bea Other")
    assert view["attempts"]["allowed"] == 2 and view["accommodation"]["extra_attempts"] == 0
    # The same learner in another placement (resource link) of the same activity: none there.
    rl2 = {"https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-2", "title": "Other"}}
    resp = lti.full_launch(**INSTRUCTOR, **rl2)
    lid2 = launch_id_from(resp.get_data(as_text=True))
    resp = client.post(f"/lti/instructor/{lid2}/choose", data={"activity": activity.id}, base_url=BASE)
    assert resp.status_code == 302
    resp = lti.full_launch(sub="learner-1", name="Ada Learner", **rl2)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    view = json.loads(html.unescape(re.search(r'id="ce-credit-initial-view">(.*?)</script>', page, re.S).group(1)))
    assert view["attempts"]["allowed"] == 2 and view["accommodation"]["extra_attempts"] == 0
    _, view = learner_launch(lti)
    assert view["attempts"]["allowed"] == 4


def test_change_and_remove(lti, client, app, course):
    lid, launch_id, activity = course
    assert grant(client, lid, learner="learner-1", extra_attempts="1")[0] == 200
    assert grant(client, lid, learner="learner-1", extra_attempts="3", extra_minutes="45")[0] == 200
    (acc,) = stored(app)
    assert (acc.extra_attempts, acc.extra_minutes) == (3, 45)
    _, view = learner_launch(lti)
    assert view["attempts"]["allowed"] == 5 and view["accommodation"] == {"extra_attempts": 3, "extra_minutes": 45}

    status, page = grant(client, lid, learner="learner-1", action="remove")
    assert status == 200 and "Ada Learner has no accommodation now." in page
    assert stored(app) == [] and "No accommodations yet." in page
    status, body = api(client, launch_id, "start")
    assert status == 400 and body["error"] == "no-attempts-left"
    # 0 and 0 removes too, as in the XBlock.
    assert grant(client, lid, learner="learner-1", extra_attempts="1")[0] == 200
    assert grant(client, lid, learner="learner-1", extra_attempts="0", extra_minutes="0")[0] == 200
    assert stored(app) == []


def test_a_learner_from_the_nrps_roster_who_never_opened_the_activity_can_be_given_one(
    lti, client, app, platform, launch_id_from, examples
):
    platform.members = [
        {"user_id": "roster-only", "name": "Rory Roster", "roles": ["Learner"], "status": "Active"},
        {"user_id": "teacher-2", "name": "Tia Teacher", "roles": ["Instructor"], "status": "Active"},
    ]
    lid = instructor_launch(lti, launch_id_from)
    activity = import_activity(client, lid, examples)
    page = client.get(f"/lti/instructor/{lid}", base_url=BASE).get_data(as_text=True)
    assert '<option value="roster-only">Rory Roster</option>' in page
    assert 'value="teacher-2"' not in page  # instructors are not in the report's roster
    assert grant(client, lid, learner="roster-only", extra_attempts="1")[0] == 200
    assert grant(client, lid, learner="teacher-2", extra_attempts="1")[0] == 400
    # The learner's first launch already shows it: 3 attempts instead of 2.
    launch_id, view = learner_launch(lti, sub="roster-only", name="Rory Roster")
    assert view["attempts"]["allowed"] == 3
    for _ in range(3):
        fail_once(client, launch_id, activity)
    assert api(client, launch_id, "start")[1]["error"] == "no-attempts-left"


# --- extra minutes: what they mean in the engine, as in the XBlock ------------------------------------


def test_extra_minutes_are_shown_and_change_no_wait_as_in_the_xblock(lti, client, app, launch_id_from, examples):
    """flow.LearnerState.extra_minutes is shown to the learner ("+30 minutes") and lengthens only a
    timed post-test (tests/lti_tool/test_lti_timelimit.py); this activity is untimed, so it stays
    untimed, the wait after a failed attempt stays the author's 60 minutes (neither longer nor
    shorter), and the minimum time is the accreditor's."""
    lid = instructor_launch(lti, launch_id_from)
    activity = import_activity(client, lid, examples, attempts="3", wait="60")
    launch_id, _ = learner_launch(lti)
    tool = tool_of(app)
    lc = launches.load(tool.cache, launch_id)
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    status, view = learning.run_action(tool, lc, "start", {}, now=t0)
    form = view["form"]
    status, view = learning.run_action(
        tool, lc, "submit", {"attempt": 1, "responses": wrong_answers(activity, form)}, now=t0 + timedelta(minutes=5)
    )
    assert status == 200 and view["result"]["passed"] is False
    at = t0 + timedelta(minutes=30)
    before = learning.current_view(tool, lc, activity, now=at)
    assert before["attempts"]["code"] == "wait" and before["accommodation"]["extra_minutes"] == 0

    assert grant(client, lid, learner="learner-1", extra_minutes="30")[0] == 200
    after = learning.current_view(tool, lc, activity, now=at)
    assert after["accommodation"] == {"extra_attempts": 0, "extra_minutes": 30}
    assert after["attempts"] == before["attempts"]  # same wait, same next_allowed_at, same limit
    assert after["time_limit"] is None  # extra minutes never make an untimed post-test timed
    assert after["attempts"]["next_allowed_at"] == (t0 + timedelta(minutes=65)).isoformat()
    # The engine's own view of the same state gives the same: the LTI tool adds no meaning of its own.
    state = flow.LearnerState.from_dict(_state_of(app, "learner-1"))
    state.extra_minutes = 30
    assert flow.view(activity, state, at)["attempts"] == after["attempts"]
    # The accommodation is the truth on the server's own path too: start is still refused before 65 min.
    status, body = learning.run_action(tool, lc, "start", {}, now=t0 + timedelta(minutes=64))
    assert status == 400 and body["error"] == "wait"
    status, view = learning.run_action(tool, lc, "start", {}, now=t0 + timedelta(minutes=66))
    assert status == 200 and view["step"] == "posttest" and view["accommodation"]["extra_minutes"] == 30


def _state_of(app, sub):
    with tool_of(app).sessions() as s:
        return s.scalar(select(LearnerRecord.state).where(LearnerRecord.user_sub == sub))


def test_bounds_are_the_xblocks():
    from ce_xblock import block

    assert accommodations.MAX_EXTRA_ATTEMPTS == block.MAX_EXTRA_ATTEMPTS == 20
    assert accommodations.MAX_EXTRA_MINUTES == block.MAX_EXTRA_MINUTES == 1440


# --- bad input, and who may grant ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "named"),
    [
        ({"learner": "", "extra_attempts": "1"}, "learner", "Learner"),
        ({"learner": "nobody", "extra_attempts": "1"}, "learner", "Learner: &#39;nobody&#39; has not opened"),
        ({"learner": "learner-1", "extra_attempts": "-1"}, "extra_attempts", "Extra attempts must be a whole number"),
        ({"learner": "learner-1", "extra_attempts": "21"}, "extra_attempts", "from 0 to 20, not &#39;21&#39;"),
        ({"learner": "learner-1", "extra_attempts": "two"}, "extra_attempts", "not &#39;two&#39;"),
        ({"learner": "learner-1", "extra_attempts": "1.5"}, "extra_attempts", "Extra attempts must be"),
        ({"learner": "learner-1", "extra_minutes": "1441"}, "extra_minutes", "Extra minutes must be a whole number"),
        ({"learner": "learner-1", "extra_minutes": "abc"}, "extra_minutes", "Extra minutes must be"),
        ({"learner": "learner-1", "extra_minutes": "-5"}, "extra_minutes", "Extra minutes must be"),
        ({"learner": "learner-1", "extra_attempts": "1", "reason": "x" * 501}, "reason", "Reason: at most 500"),
    ],
)
def test_bad_input_is_a_400_page_naming_the_field(client, app, course, form, field, named):
    lid, _launch_id, _activity = course
    status, page = grant(client, lid, **form)
    assert status == 400, page[:500]
    assert "The accommodation was not saved:" in page and named in page
    # The message sits beside its field and is tied to it; the summary links to the field.
    assert f'id="acc-{field}-error"' in page and f'href="#acc-{field}"' in page
    tag = re.search(rf'<(?:input|select) id="acc-{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag and f"acc-{field}-error" in tag
    assert stored(app) == []


def test_several_bad_fields_are_all_named_and_what_was_typed_is_kept(client, course):
    lid, _launch_id, _activity = course
    status, page = grant(client, lid, learner="learner-1", extra_attempts="99", extra_minutes="x", reason="Why")
    assert status == 400
    assert 'id="acc-extra_attempts-error"' in page and 'id="acc-extra_minutes-error"' in page
    assert 'id="acc-learner-error"' not in page
    assert 'value="99"' in page and 'value="Why"' in page
    assert '<option value="learner-1" selected>' in page


def test_a_learner_cannot_grant(client, app, course):
    _lid, launch_id, _activity = course
    status, page = grant(client, launch_id, learner="learner-1", extra_attempts="5")
    assert status == 403 and "Only instructors" in page
    assert stored(app) == []
    status, body = api(client, launch_id, "accommodation", {"learner": "learner-1", "extra_attempts": 5})
    assert status == 400 and body["error"] == "bad-action"
    assert api(client, launch_id, "start")[1]["error"] == "no-attempts-left"


def test_a_get_or_an_expired_launch_cannot_grant(client, app, course):
    lid, _launch_id, _activity = course
    assert client.get(f"/lti/instructor/{lid}/accommodations", base_url=BASE).status_code == 405
    assert grant(client, "no-such-launch", learner="learner-1", extra_attempts="1")[0] == 401
    assert stored(app) == []


# --- the migration -----------------------------------------------------------------------------------


def _seed_0002(url):
    """A database at revision 0002 with a registration, a link and a learner in it."""
    upgrade(url, revision="0002_certificate_status")
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = datetime.now(UTC)
    with eng.begin() as c:
        assert set(inspect(c).get_table_names()) >= {"ce_learner", "ce_certificate_status"}
        assert "ce_accommodation" not in inspect(c).get_table_names()
        reg = c.execute(
            insert(Registration.__table__)
            .values(
                name="Old",
                issuer="https://lms.example",
                client_id="c1",
                auth_login_url="https://lms.example/a",
                auth_token_url="https://lms.example/t",
                auth_audience="",
                keyset_url="https://lms.example/k",
                created_at=now,
            )
            .returning(Registration.__table__.c.id)
        ).scalar_one()
        link = c.execute(
            insert(ResourceLink.__table__)
            .values(
                registration_id=reg,
                deployment_id="d",
                resource_link_id="rl",
                context_id="",
                context_title="",
                title="",
                activity_slug="trauma-informed-care",
                lineitem_url="",
                lineitems_url="",
                ags_scopes=[],
                nrps_url="",
                updated_at=now,
            )
            .returning(ResourceLink.__table__.c.id)
        ).scalar_one()
        c.execute(
            insert(LearnerRecord.__table__).values(
                registration_id=reg,
                resource_link_pk=link,
                user_sub="old-learner",
                name="Olga",
                email="",
                state={"attempts": [], "extra_attempts": 7},
                revision=3,
                updated_at=now,
            )
        )
    return eng, reg, link


def _check_upgraded(url, eng, reg, link):
    upgrade(url)
    with eng.begin() as c:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert c.scalar(text("select version_num from alembic_version")) == head
        assert "pdf" in {col["name"] for col in inspect(c).get_columns("ce_certificate")}  # 0004
        cols = {col["name"] for col in inspect(c).get_columns("ce_accommodation")}
        assert cols == {
            "id",
            "registration_id",
            "resource_link_pk",
            "user_sub",
            "learner_name",
            "extra_attempts",
            "extra_minutes",
            "reason",
            "granted_by",
            "granted_at",
        }
        # The old rows are kept; the new table works, keyed by link and user.
        assert c.scalar(select(LearnerRecord.__table__.c.revision)) == 3
        values = {
            "registration_id": reg,
            "resource_link_pk": link,
            "user_sub": "old-learner",
            "learner_name": "Olga",
            "extra_attempts": 2,
            "extra_minutes": 30,
            "reason": "",
            "granted_by": "cli",
            "granted_at": datetime.now(UTC),
        }
        c.execute(insert(Accommodation.__table__).values(**values))
        assert accommodations.granted(c, link, "old-learner") == (2, 30)
        assert accommodations.granted(c, link, "someone-else") == (0, 0)
    with pytest.raises(Exception, match="(?i)unique"), eng.begin() as c:
        c.execute(insert(Accommodation.__table__).values(**values))
    # A stored extra_attempts in an old state is not the truth: the table is.
    stored_state = {"attempts": [], "extra_attempts": 7}
    assert accommodations.overlay(flow.LearnerState.from_dict(stored_state), 2, 30).extra_attempts == 2


def test_migration_upgrades_an_existing_0002_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng, reg, link = _seed_0002(url)
    _check_upgraded(url, eng, reg, link)
    # Down and up again.
    from alembic import command

    from lti_tool.migrate import alembic_config

    command.downgrade(alembic_config(url), "0002_certificate_status")
    with eng.connect() as c:
        assert "ce_accommodation" not in inspect(c).get_table_names()
    upgrade(url)
    with eng.connect() as c:
        assert "ce_accommodation" in inspect(c).get_table_names()
    eng.dispose()


@pytest.fixture
def fresh_pg(pg_url):
    """An empty PostgreSQL database of this test's own, dropped afterwards (pg_url's is shared and migrated)."""
    base, _ = pg_url.rsplit("/", 1)
    name = "ce_acc_test_" + uuid.uuid4().hex[:10]
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{base}/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_migration_upgrades_an_existing_0002_postgres_database(fresh_pg):
    eng, reg, link = _seed_0002(fresh_pg)
    _check_upgraded(fresh_pg, eng, reg, link)
    eng.dispose()


@pytest.fixture
def app_config(app_config, request):
    """The tests marked postgres run the tool on PostgreSQL, in a database of their own (the
    session's shared one would keep this test's queued grades for the other PostgreSQL tests)."""
    if request.node.get_closest_marker("postgres"):
        return {**app_config, "DATABASE_URL": request.getfixturevalue("fresh_pg")}
    return app_config


@pytest.mark.postgres
def test_grant_and_enforce_on_postgres(lti, client, app, launch_id_from, examples):
    assert tool_of(app).engine.dialect.name == "postgresql"
    lid = instructor_launch(lti, launch_id_from)
    activity = import_activity(client, lid, examples, attempts="1")
    launch_id, _ = learner_launch(lti, sub="pg-acc")
    fail_once(client, launch_id, activity)
    assert api(client, launch_id, "start")[1]["error"] == "no-attempts-left"
    assert grant(client, lid, learner="pg-acc", extra_attempts="x")[0] == 400
    assert grant(client, lid, learner="pg-acc", extra_attempts="1", extra_minutes="15")[0] == 200
    view = fail_once(client, launch_id, activity)
    assert view["attempts"]["allowed"] == 2 and view["accommodation"] == {"extra_attempts": 1, "extra_minutes": 15}
    assert api(client, launch_id, "start")[1]["error"] == "no-attempts-left"
    _, view = learner_launch(lti, sub="pg-acc")
    assert view["accommodation"] == {"extra_attempts": 1, "extra_minutes": 15}
