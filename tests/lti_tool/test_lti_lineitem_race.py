"""Two outbox workers sending the first scores of one resource link create one line item, not two.

Real parts: the tool on SQLite and PostgreSQL, the test platform's AGS endpoints over HTTP
(tests/lti_tool/conftest.py), and two workers draining in two threads at the same moment. The
platform answers the line-item container slowly, so both workers are inside the find-or-create
window together; without the claim both see no line item and both POST one.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from lti_tool import outbox
from lti_tool.app import tool_of
from lti_tool.store import OutboxScore, ResourceLink

from .test_lti_outbox import learner_scores, setup_activity


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_config(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'tool.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return {"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": url, "OUTBOX_THREAD": False, "REDIS_URL": ""}


def only_this_link_is_due(tool, pk):
    """The PostgreSQL database is shared by the session's tests: park other links' pending scores."""
    with tool.sessions.begin() as s:
        s.execute(
            update(OutboxScore)
            .where(OutboxScore.status == "pending", OutboxScore.resource_link_pk != pk)
            .values(next_attempt_at=1e12)
        )


def drain_link(tool, pk, rounds=30):
    """Drain this link's scores, pretending time passes: retry backoff is skipped, nothing sleeps."""
    for _ in range(rounds):
        with tool.sessions.begin() as s:
            s.execute(
                update(OutboxScore)
                .where(OutboxScore.status == "pending", OutboxScore.resource_link_pk == pk)
                .values(next_attempt_at=0.0)
            )
        outbox.drain(tool)
        with tool.sessions() as s:
            q = select(OutboxScore).where(OutboxScore.status == "pending", OutboxScore.resource_link_pk == pk)
            if not s.scalars(q).first():
                return
    raise AssertionError("the outbox did not send this link's scores")


def two_workers_at_once(tool):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name):
        try:
            barrier.wait(10)
            outbox.drain(tool, owner=name, limit=1, max_rounds=1)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a worker hung"


def test_two_workers_create_one_line_item_and_both_scores_arrive_once(
    lti, client, app, platform, examples, launch_id_from
):
    tool = tool_of(app)
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    pk = learner_scores(lti, app, activity, "learner-a", launch_id_from).resource_link_pk
    assert learner_scores(lti, app, activity, "learner-b", launch_id_from).resource_link_pk == pk
    with tool.sessions() as s:
        rows = s.scalars(select(OutboxScore).where(OutboxScore.resource_link_pk == pk)).all()
        assert sorted((r.user_sub, r.status) for r in rows) == [("learner-a", "pending"), ("learner-b", "pending")]
    only_this_link_is_due(tool, pk)
    platform.lineitems_get_delay = 0.5
    two_workers_at_once(tool)
    platform.lineitems_get_delay = 0.0
    drain_link(tool, pk)
    assert len(platform.lineitems) == 1, f"the platform got {len(platform.lineitems)} line items: {platform.lineitems}"
    (item_id,) = platform.lineitems
    assert sorted(sc["userId"] for sc in platform.scores) == ["learner-a", "learner-b"]
    assert {platform.url + sc["lineitem"] for sc in platform.scores} == {item_id}
    with tool.sessions() as s:
        rl = s.get(ResourceLink, pk)
        assert rl.lineitem_url == item_id
        assert rl.lineitem_claim_owner == "" and rl.lineitem_claim_until == 0.0


def test_after_a_crash_mid_create_the_next_worker_finds_the_created_item(
    lti, client, app, platform, examples, launch_id_from
):
    """A worker POSTed the line item and died before storing it: its claim expires, nobody POSTs again."""
    tool = tool_of(app)
    _, activity = setup_activity(lti, client, examples, launch_id_from)
    pk = learner_scores(lti, app, activity, "learner-a", launch_id_from).resource_link_pk
    with tool.sessions() as s:
        rl = s.get(ResourceLink, pk)
        row = s.scalars(select(OutboxScore).where(OutboxScore.resource_link_pk == pk)).one()
    # The dead worker's claim, still held, and the line item it created on the platform.
    assert outbox._claim_lineitem(tool, rl.id, "dead-worker")
    resource_id = rl.activity_slug or rl.resource_link_id
    created = tool.adapter.service_request(
        tool.platform(row.registration_id),
        [outbox.SCOPE_LINEITEM],
        rl.lineitems_url,
        method="POST",
        body={
            "scoreMaximum": 1,
            "label": "x",
            "resourceId": resource_id,
            "tag": "ce-credit",
            "resourceLinkId": rl.resource_link_id,
        },
        content_type="application/vnd.ims.lis.v2.lineitem+json",
        accept="application/vnd.ims.lis.v2.lineitem+json",
    ).body["id"]
    # While the claim is held, the score waits and no second line item is made.
    only_this_link_is_due(tool, pk)
    outbox.drain(tool)
    assert len(platform.lineitems) == 1 and not platform.scores
    with tool.sessions() as s:
        waiting = s.get(OutboxScore, row.id)
        assert waiting.status == "pending" and "Another worker" in waiting.last_error
    # The claim expires (the lease ran out): the next worker finds the item instead of POSTing.
    with tool.sessions.begin() as s:
        s.execute(update(ResourceLink).where(ResourceLink.id == rl.id).values(lineitem_claim_until=1.0))
    drain_link(tool, pk)
    assert list(platform.lineitems) == [created]
    assert [(sc["userId"], platform.url + sc["lineitem"]) for sc in platform.scores] == [("learner-a", created)]
