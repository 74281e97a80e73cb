"""The launch's fast paths: the resource link is read without a write when nothing changed, and
written when the platform sends something new; the file cache creates its buckets on demand."""

from __future__ import annotations

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
