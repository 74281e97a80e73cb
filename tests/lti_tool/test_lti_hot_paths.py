"""The launch's fast paths: the resource link is read without a write when nothing changed, and
written when the platform sends something new; the file cache creates its buckets on demand."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from lti_tool.app import tool_of
from lti_tool.cache import FileCache
from lti_tool.store import ResourceLink

AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def _with_activity(app, examples):
    """Store the example activity; launches name it with the deep-linking custom parameter."""
    from lti_tool.views.instructor import save_olx

    with app.test_request_context():
        row, problems = save_olx((examples / "telehealth-ethics.xml").read_text())
    assert row is not None, problems
    return {CLAIM + "custom": {"ce_activity": row.slug}}


def _links(app):
    with tool_of(app).sessions() as s:
        return list(s.scalars(select(ResourceLink)))


def _count_writes(app):
    writes: list[str] = []

    def on_exec(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) and "lti_resource_link" in statement:
            writes.append(statement)

    event.listen(tool_of(app).engine, "before_cursor_execute", on_exec)
    return writes


def test_repeat_launch_of_an_unchanged_link_does_not_write_it(lti, app, examples):
    custom = _with_activity(app, examples)
    assert lti.full_launch(**custom).status_code == 200
    first = _links(app)
    assert len(first) == 1 and first[0].activity_slug
    writes = _count_writes(app)
    assert lti.full_launch(**custom).status_code == 200
    assert writes == []
    again = _links(app)
    assert [(r.id, r.title, r.context_title) for r in again] == [(r.id, r.title, r.context_title) for r in first]


def test_launch_with_new_link_values_updates_the_row(lti, app, platform, examples):
    custom = _with_activity(app, examples)
    assert lti.full_launch(**custom).status_code == 200
    writes = _count_writes(app)
    new_item = platform.url + "/lineitems/77"
    resp = lti.full_launch(
        **custom,
        **{
            CLAIM + "resource_link": {"id": "rl-1", "title": "Renamed module"},
            AGS: {"scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"], "lineitem": new_item},
        },
    )
    assert resp.status_code == 200
    assert writes, "a changed title and line item must be written"
    (row,) = _links(app)
    assert row.title == "Renamed module"
    assert row.lineitem_url == new_item
    assert row.ags_scopes == ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]


def test_file_cache_makes_missing_buckets_and_pops_once(tmp_path):
    cache = FileCache(str(tmp_path / "cache"))
    cache.set("nonce:a", {"state": "s"}, 60)
    assert cache.get("nonce:a") == {"state": "s"}
    assert cache.pop("nonce:a") == {"state": "s"}
    assert cache.pop("nonce:a") is None
    cache.set("nonce:b", [1, 2], -1)
    assert cache.get("nonce:b") is None  # expired entries are never returned


def _api(client, launch_id, action, payload=None):
    resp = client.post(f"/lti/api/{launch_id}", json={"action": action, "payload": payload or {}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_parsed_state_cache_never_hides_a_save_by_someone_else(lti, app, client, examples, launch_id_from):
    """A worker keeps the learner states it parsed, but uses one only while the database holds
    exactly that state: a change by another worker or the records CLI (here: a direct UPDATE that
    does not even bump the revision) is what the next action sees."""
    from sqlalchemy import update

    from lti_tool import learning
    from lti_tool.store import LearnerRecord

    custom = _with_activity(app, examples)
    launch_id = launch_id_from(lti.full_launch(**custom).get_data(as_text=True))
    form = _api(client, launch_id, "start")["form"]
    responses = {q["id"]: [q["choices"][0]["id"]] for q in form["questions"]}
    _api(client, launch_id, "submit", {"attempt": form["attempt"], "responses": responses})
    cache = learning.parsed_states(tool_of(app))
    assert len(cache._states) == 1  # what the submit saved is remembered
    # Someone else empties the learner's state behind this worker's back.
    with tool_of(app).engine.begin() as c:
        c.execute(update(LearnerRecord).values(state={}))
    view = _api(client, launch_id, "start")
    assert view["form"]["attempt"] == 1  # from the emptied state; the remembered one would give 2
    with tool_of(app).sessions() as s:
        (stored,) = s.scalars(select(LearnerRecord.state)).all()
    assert len(stored["attempts"]) == 1


def test_actions_do_not_change_the_remembered_state(lti, app, client, examples, launch_id_from):
    """flow.act works on a copy: a remembered state stays what the database holds."""
    from lti_tool import learning

    custom = _with_activity(app, examples)
    launch_id = launch_id_from(lti.full_launch(**custom).get_data(as_text=True))
    form = _api(client, launch_id, "start")["form"]
    cache = learning.parsed_states(tool_of(app))
    ((stored, state),) = cache._states.values()
    assert state.to_dict() == stored
    responses = {q["id"]: [q["choices"][0]["id"]] for q in form["questions"]}
    _api(client, launch_id, "submit", {"attempt": form["attempt"], "responses": responses})
    assert state.attempts[-1].submitted_at is None  # the earlier remembered state is untouched
    ((stored, state),) = cache._states.values()
    assert state.to_dict() == stored and state.attempts[-1].submitted_at is not None


def _initial_view(html: str) -> dict:
    import json
    import re

    m = re.search(r'<script type="application/json" id="ce-credit-initial-view">(.*?)</script>', html, re.S)
    assert m, html[:2000]
    return json.loads(m.group(1))


def test_the_learner_page_from_its_shell_is_the_page_the_template_renders(lti, app, examples, launch_id_from):
    """The learner page is rendered once per activity and language and then filled in: what each
    launch gets, in each language one after the other, must be exactly what rendering learner.html
    for that launch gives."""
    from flask import g, render_template

    from lti_tool import launches, learning
    from lti_tool.views.learner import script_json

    custom = _with_activity(app, examples)
    seen = set()
    for locale in ("en", "fr", "ar", "en", "fr"):
        claims = {**custom, CLAIM + "launch_presentation": {"locale": locale}}
        page = lti.full_launch(**claims).get_data(as_text=True)
        launch_id = launch_id_from(page)
        assert launch_id not in seen
        seen.add(launch_id)
        assert page.count(launch_id) == 2  # the API URL and data-launch-id
        with app.test_request_context():
            lc = launches.load(tool_of(app).cache, launch_id)
            assert g.locale.startswith(locale)
            activity = learning.activity_for(tool_of(app), lc.activity_slug, lc.registration_id)
            expected = render_template(
                "learner.html",
                lc=lc,
                activity=activity,
                initial_view=script_json(_initial_view(page)),
                api_url=f"/lti/api/{lc.launch_id}",
                locale=lc.locale,
            )
        assert page == expected, locale
        assert ('dir="rtl"' in page) == (locale == "ar")


def test_a_returning_learners_launch_is_one_select_that_brings_their_attempt(
    lti, app, client, examples, launch_id_from
):
    """The resource link, the learner's stored state and their accommodation come in one SELECT,
    and the page shows the attempt the learner left open."""
    custom = _with_activity(app, examples)
    launch_id = launch_id_from(lti.full_launch(**custom).get_data(as_text=True))
    form = _api(client, launch_id, "start")["form"]
    statements: list[str] = []

    def on_exec(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(tool_of(app).engine, "before_cursor_execute", on_exec)
    page = lti.full_launch(**custom).get_data(as_text=True)
    event.remove(tool_of(app).engine, "before_cursor_execute", on_exec)
    assert len(statements) == 1, statements
    assert "lti_resource_link" in statements[0] and "ce_learner" in statements[0]
    assert "ce_accommodation" in statements[0]
    view = _initial_view(page)
    assert view["form"]["attempt"] == form["attempt"]  # the open attempt, read with the link


def test_superseding_a_learners_unsent_scores_uses_the_learner_index(tmp_path):
    """Each scored submit supersedes the learner's unsent scores: an index lookup of that learner,
    not a scan of every score of the link (migration 0009)."""
    from sqlalchemy import create_engine

    from lti_tool.learning import _SUPERSEDE
    from lti_tool.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    engine = create_engine(url)
    sql = str(_SUPERSEDE.statement.compile(dialect=engine.dialect))
    with engine.connect() as c:
        plan = " ".join(
            str(row[-1])
            for row in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("superseded", 1, "sub", "pending", ""))
        )
    engine.dispose()
    assert "ix_lti_outbox_learner" in plan and "user_sub=?" in plan, plan


def test_views_with_the_info_serialised_once_are_the_plain_json(app, client, lti, examples, launch_id_from):
    """A view's info is serialised once per activity and put in place: every view, of either
    activity in turn and with hostile author text, must come out byte for byte as serialising the
    whole view does, in the page (script-safe) and in the API's compact JSON."""
    import json
    from dataclasses import replace
    from datetime import UTC, datetime

    from ce_xblock.core import flow, olx
    from lti_tool import jsonio
    from lti_tool.views.learner import _api_dumps, script_json, view_json, view_script_json

    one = olx.loads((examples / "telehealth-ethics.xml").read_text())
    two = olx.loads((examples / "trauma-informed-care.xml").read_text())
    hostile = replace(one, title='</script><script>alert("x")</script> & <!--')
    now = datetime.now(UTC)
    infos = set()
    with app.test_request_context():
        for activity in (one, two, hostile, one, two):
            view = flow.view(activity, flow.LearnerState(), now, locale="fr")
            infos.add(json.dumps(view["info"]))
            assert view_json(view) == json.dumps(view)
            assert view_script_json(view) == script_json(view)
            assert "</script>" not in view_script_json(view)
            assert view_json(view, _api_dumps) == app.json.dumps(view, separators=(",", ":"))
    assert len(infos) == 3
    custom = _with_activity(app, examples)
    launch_id = launch_id_from(lti.full_launch(**custom).get_data(as_text=True))
    resp = client.post(f"/lti/api/{launch_id}", json={"action": "start", "payload": {}})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    # The app's JSON (orjson: compact, non-ASCII as UTF-8), of the very value the body holds.
    assert resp.get_data(as_text=True) == jsonio.dumps(resp.get_json()) + "\n"
    assert resp.get_json()["info"]["title"] == one.title


def test_logins_send_random_nonces_and_no_flask_session_cookie(lti, app, examples):
    """The tool keeps no Flask session (no cookie, no signing work per request), and a login's
    nonce is 256 random bits: not pylti1p3's uuid1 tail, which carries the host's MAC address."""
    import re

    from flask import session

    nonces = set()
    for _ in range(3):
        state, nonce, resp = lti.login()
        assert re.fullmatch(r"[0-9a-f]{64}", nonce), nonce
        nonces.add(nonce)
        cookies = resp.headers.getlist("Set-Cookie")
        assert any(c.startswith(f"lti1p3-{state}=") for c in cookies), cookies
        assert not any(c.startswith("session=") for c in cookies), cookies
    # A uuid1 ends in the host's node id, the same in every nonce; random bits differ.
    assert len({n[-12:] for n in nonces}) == 3
    custom = _with_activity(app, examples)
    page = lti.full_launch(**custom)
    assert page.status_code == 200 and not any(c.startswith("session=") for c in page.headers.getlist("Set-Cookie"))
    with app.test_request_context():
        assert session.get("anything") is None and not session
        with pytest.raises(RuntimeError):  # a NullSession: nothing may rely on a Flask session
            session["x"] = 1
