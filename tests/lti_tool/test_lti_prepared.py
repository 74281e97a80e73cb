"""lti_tool.prepared: hot-path statements on the DBAPI cursor must read and write exactly what
Connection.execute does, on SQLite and on PostgreSQL, and fail the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, bindparam, event, select, update
from sqlalchemy.exc import IntegrityError

from lti_tool.prepared import Prepared
from lti_tool.store import make_engine

meta = MetaData()
things = Table(
    "prep_thing",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), unique=True, nullable=False),
    Column("doc", JSON, nullable=False),
    Column("at", DateTime(timezone=True)),
)
BY_NAME = Prepared(
    select(things.c.id, things.c.doc, things.c.at, (things.c.id * 10).label("tens")).where(
        things.c.name == bindparam("name")
    )
)
SET_DOC = Prepared(
    update(things)
    .where(things.c.name == bindparam("who"), things.c.id != 0)
    .values(doc=bindparam("new_doc"), at=bindparam("when"))
)
RENAME = Prepared(update(things).where(things.c.id == bindparam("pk")).values(name=bindparam("new_name")))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path}/p.db")
    else:
        eng = make_engine(request.getfixturevalue("pg_url"))
    meta.create_all(eng)
    yield eng
    meta.drop_all(eng)
    eng.dispose()


def test_reads_and_writes_match_connection_execute(engine):
    when = datetime(2026, 12, 7, 15, 30, 1, 250000, tzinfo=UTC)
    doc = {"attempts": [{"n": 1, "ok": True}], "name": "Zoë <b>&"}
    with engine.begin() as c:
        c.execute(things.insert(), [{"name": "a", "doc": {}}, {"name": "b", "doc": {"x": 1}}])
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with engine.begin() as c:
        assert SET_DOC.rowcount(c, {"who": "a", "new_doc": doc, "when": when}) == 1
        assert SET_DOC.rowcount(c, {"who": "nobody", "new_doc": doc, "when": when}) == 0
    assert len(seen) == 2 and all("UPDATE prep_thing" in s for s in seen)
    with engine.connect() as c:
        fast = BY_NAME.one(c, {"name": "a"})
        slow = c.execute(BY_NAME.statement, {"name": "a"}).one()
        assert tuple(fast) == tuple(slow)
        assert fast.doc == doc and fast.tens == fast.id * 10
        assert fast.at.replace(tzinfo=UTC) == when  # SQLite keeps no zone; the instant is kept
        assert BY_NAME.first(c, {"name": "zzz"}) is None
        with pytest.raises(LookupError):
            BY_NAME.one(c, {"name": "zzz"})
        assert [r.id for r in BY_NAME.rows(c, {"name": "b"})] == [slow.id + 1]


def test_a_rolled_back_write_is_not_kept(engine):
    with engine.begin() as c:
        c.execute(things.insert(), [{"name": "a", "doc": {}}])
    with pytest.raises(RuntimeError), engine.begin() as c:
        SET_DOC.rowcount(c, {"who": "a", "new_doc": {"lost": True}, "when": datetime.now(UTC)})
        raise RuntimeError("after the write")
    with engine.connect() as c:
        assert BY_NAME.one(c, {"name": "a"}).doc == {}


def test_driver_errors_are_sqlalchemys_and_the_connection_stays_usable(engine):
    with engine.begin() as c:
        c.execute(things.insert(), [{"name": "a", "doc": {}}, {"name": "b", "doc": {}}])
        pk = c.execute(select(things.c.id).where(things.c.name == "b")).scalar_one()
    with pytest.raises(IntegrityError) as caught, engine.begin() as c:
        RENAME.rowcount(c, {"pk": pk, "new_name": "a"})
    assert "prep_thing" in str(caught.value) and "UPDATE" in str(caught.value)
    with engine.connect() as c:
        assert BY_NAME.one(c, {"name": "b"}).id == pk
        assert BY_NAME.first(c, {"name": "a"}) is not None


def test_a_dropped_postgresql_connection_is_invalidated(request):
    """A connection the server ended fails one statement and is not handed out again."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    eng = make_engine(request.getfixturevalue("pg_url"))
    meta.create_all(eng)
    try:
        with eng.begin() as c:
            c.execute(things.insert(), [{"name": "a", "doc": {}, "at": datetime.now(UTC) - timedelta(days=1)}])
        with eng.connect() as c:
            pid = c.execute(text("select pg_backend_pid()")).scalar_one()
            with eng.connect() as killer:
                killer.execute(text("select pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(OperationalError) as caught:
                BY_NAME.one(c, {"name": "a"})
            assert caught.value.connection_invalidated
        with eng.connect() as c:  # a fresh connection
            assert c.execute(text("select pg_backend_pid()")).scalar_one() != pid
            assert BY_NAME.one(c, {"name": "a"}).doc == {}
    finally:
        meta.drop_all(eng)
        eng.dispose()
