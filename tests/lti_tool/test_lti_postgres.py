"""The tool on PostgreSQL with Redis: launches, nonces, learner state and the outbox.

Each test module run creates its own database and Redis key prefix and drops them afterwards, so
it never collides with other tests on the same servers. Skips only when a server is unreachable.
"""

import threading
import time

import pytest
from sqlalchemy import select

from lti_tool import create_app, launches, learning, outbox
from lti_tool.app import tool_of
from lti_tool.registry import add_platform
from lti_tool.store import OutboxScore

pytestmark = pytest.mark.postgres
REDIS = "redis://127.0.0.1:6379/0"
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


@pytest.fixture
def app(pg_url, redis_prefix, redis_url, platform, tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "inst"),
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": redis_prefix,
            "OUTBOX_THREAD": False,
        }
    )
    # Each test gets a fresh registration (the platform fixture has a new client id each time).
    add_platform(app, **platform.registration())
    yield app
    tool_of(app).engine.dispose()


def test_postgres_redis_full_learner_flow_and_passback(lti, client, app, platform, examples, launch_id_from):
    from ce_xblock.core import olx

    resp = lti.full_launch(**INSTRUCTOR)
    assert resp.status_code == 200
    lid = launch_id_from(resp.get_data(as_text=True))
    text_ = (examples / "telehealth-ethics.xml").read_text()
    assert (
        client.post(f"/lti/instructor/{lid}/olx", data={"olx": text_}, base_url="https://tool.test").status_code == 200
    )
    activity = olx.loads(text_)
    resp = lti.full_launch(sub="pg-learner")
    launch_id = launch_id_from(resp.get_data(as_text=True))
    r = client.post(f"/lti/api/{launch_id}", json={"action": "start"}, base_url="https://tool.test")
    form = r.get_json()["form"]
    responses = {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in form["questions"]}
    r = client.post(
        f"/lti/api/{launch_id}",
        json={"action": "submit", "payload": {"attempt": 1, "responses": responses}},
        base_url="https://tool.test",
    )
    assert r.status_code == 200 and r.get_json()["result"]["passed"]
    assert outbox.drain(tool_of(app))["sent"] == 1
    assert [s["userId"] for s in platform.scores] == ["pg-learner"]
    # The launch context lives in Redis under this test's prefix.
    import redis

    keys = list(redis.Redis.from_url(REDIS).scan_iter(match=app.config["REDIS_PREFIX"] + "launch:*"))
    assert keys


def test_postgres_redis_replayed_launch_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    token = platform.sign(platform.claims(nonce, **INSTRUCTOR))
    assert lti.launch(token, state).status_code == 200
    assert lti.launch(token, state).status_code == 403


def test_postgres_concurrent_workers_send_each_score_once(lti, client, app, platform, examples, launch_id_from):
    from ce_xblock.core import olx

    resp = lti.full_launch(**INSTRUCTOR)
    lid = launch_id_from(resp.get_data(as_text=True))
    text_ = (examples / "telehealth-ethics.xml").read_text()
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": text_}, base_url="https://tool.test")
    activity = olx.loads(text_)
    tool = tool_of(app)
    users = [f"p{i}" for i in range(8)]
    for u in users:
        resp = lti.full_launch(sub=u)
        lc = launches.load(tool.cache, launch_id_from(resp.get_data(as_text=True)))
        _, view = learning.run_action(tool, lc, "start", {})
        responses = {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in view["form"]["questions"]}
        learning.run_action(tool, lc, "submit", {"attempt": 1, "responses": responses})
    results = []

    def pending() -> int:
        with tool.sessions() as s:
            return sum(1 for r in s.scalars(select(OutboxScore)) if r.status != "sent")

    # Four workers at once, again while any score waits: the first score of the link claims its
    # line item, so the others wait about a second (Retry-After) and go in a later round.
    deadline = time.monotonic() + 60
    while True:
        threads = [
            threading.Thread(target=lambda n=n: results.append(outbox.drain(tool, owner=f"w{n}", limit=2)))
            for n in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if not pending() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sum(r["sent"] for r in results) == len(users)
    assert sorted(s["userId"] for s in platform.scores) == sorted(users)
    with tool.sessions() as s:
        assert all(r.status == "sent" for r in s.scalars(select(OutboxScore)))


def test_postgres_saves_a_submit_and_its_score_in_one_statement(lti, client, app, examples, launch_id_from):
    """On PostgreSQL the state, the superseding of older unsent scores and the new score are one
    statement (no BEGIN/COMMIT); a save against a stale revision changes nothing at all."""
    from sqlalchemy import event

    from lti_tool.store import LearnerRecord

    resp = lti.full_launch(**INSTRUCTOR)
    lid = launch_id_from(resp.get_data(as_text=True))
    text_ = (examples / "telehealth-ethics.xml").read_text()
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": text_}, base_url="https://tool.test")
    launch_id = launch_id_from(lti.full_launch(sub="pg-one").get_data(as_text=True))
    tool = tool_of(app)
    statements: list[str] = []
    event.listen(tool.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def submit_wrong():
        form = client.post(f"/lti/api/{launch_id}", json={"action": "start"}, base_url="https://tool.test")
        form = form.get_json()["form"]
        statements.clear()
        answers = {q["id"]: [q["choices"][0]["id"]] for q in form["questions"]}
        r = client.post(
            f"/lti/api/{launch_id}",
            json={"action": "submit", "payload": {"attempt": form["attempt"], "responses": answers}},
            base_url="https://tool.test",
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    submit_wrong()
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].lstrip().startswith("WITH") and "saved AS" in writes[0], statements
    submit_wrong()
    with tool.sessions() as s:
        rows = s.execute(
            select(OutboxScore.status, OutboxScore.comment)
            .where(OutboxScore.user_sub == "pg-one")
            .order_by(OutboxScore.id)
        ).all()
        state = s.scalars(select(LearnerRecord.state).where(LearnerRecord.user_sub == "pg-one")).one()
    assert [r.status for r in rows] == ["superseded", "pending"]
    assert rows[1].comment.endswith("2 attempts used")
    assert len([a for a in state["attempts"] if a.get("submitted_at")]) == 2
    # A stale revision: nothing is saved, nothing queued, nothing superseded.
    with tool.sessions() as s:
        row = s.scalars(select(LearnerRecord).where(LearnerRecord.user_sub == "pg-one")).one()
    ctx = launches.load(tool.cache, launch_id)
    saved = learning._save_in_one_statement(
        tool,
        ctx,
        {
            "row_id": row.id,
            "old_revision": row.revision - 1,
            "new_state": {},
            "new_revision": 99,
            "now": row.updated_at,
        },
        {
            **learning.score_values(
                ctx,
                learning.activity_for(tool, ctx.activity_slug, ctx.registration_id),
                learning.parsed_states(tool).parse(ctx, row.state),
                row.updated_at,
            )
        },
    )
    assert saved is False
    with tool.sessions() as s:
        assert [
            r.status
            for r in s.execute(
                select(OutboxScore.status).where(OutboxScore.user_sub == "pg-one").order_by(OutboxScore.id)
            )
        ] == [
            "superseded",
            "pending",
        ]
        assert s.scalars(select(LearnerRecord.state).where(LearnerRecord.user_sub == "pg-one")).one() == state
