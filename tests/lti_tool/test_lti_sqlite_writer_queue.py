"""SQLite writers take turns through a flock queue beside the database (store.WriterQueue): the turn
is held from a connection's first write to its commit or rollback, it excludes other processes,
and no write is lost when threads and processes write at once."""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import threading

from sqlalchemy import text

from lti_tool.store import make_engine


def _engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (who TEXT, n INTEGER)"))
    return engine


def _queue_is_free(tmp_path) -> bool:
    """Whether another open file (as another process would have) can take the turn right now."""
    fd = os.open(tmp_path / "q.db.writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_turn_is_held_from_the_first_write_to_the_commit_or_rollback(tmp_path):
    engine = _engine(tmp_path)
    with engine.begin() as c:
        c.execute(text("SELECT count(*) FROM t"))
        assert _queue_is_free(tmp_path)  # reading takes no turn
        c.execute(text("INSERT INTO t VALUES ('a', 1)"))
        assert not _queue_is_free(tmp_path)
    assert _queue_is_free(tmp_path)
    try:
        with engine.begin() as c:
            c.execute(text("UPDATE t SET n = 2"))
            assert not _queue_is_free(tmp_path)
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert _queue_is_free(tmp_path)
    # A connection that committed but is still open has given its turn back: a second connection
    # of the same thread can write at once (no wait for the first to go back to the pool).
    with engine.connect() as first:
        first.execute(text("INSERT INTO t VALUES ('b', 1)"))
        first.commit()
        with engine.begin() as second:
            second.execute(text("INSERT INTO t VALUES ('c', 1)"))
    with engine.connect() as c:
        assert c.execute(text("SELECT who FROM t ORDER BY who")).scalars().all() == ["a", "b", "c"]


def _writer(url: str, who: str, n: int) -> None:
    engine = make_engine(url)
    for i in range(n):
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (:who, :n)"), {"who": who, "n": i})
            (count,) = c.execute(text("SELECT count(*) FROM t WHERE who = :who"), {"who": who}).one()
            assert count == i + 1
    engine.dispose()


def test_processes_and_threads_writing_at_once_lose_nothing(tmp_path):
    engine = _engine(tmp_path)
    url = str(engine.url)
    ctx = mp.get_context("fork")  # as gunicorn forks its workers from one loaded app
    procs = [ctx.Process(target=_writer, args=(url, f"p{k}", 150)) for k in range(3)]
    threads = [threading.Thread(target=_writer, args=(url, f"t{k}", 150)) for k in range(2)]
    for w in [*procs, *threads]:
        w.start()
    for w in [*procs, *threads]:
        w.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    with engine.connect() as c:
        rows = dict(c.execute(text("SELECT who, count(*) FROM t GROUP BY who")).all())
    assert rows == {"p0": 150, "p1": 150, "p2": 150, "t0": 150, "t1": 150}
    assert _queue_is_free(tmp_path)


def _impatient_write(engine, go, done) -> None:
    """In a forked worker: write with SQLite's busy timeout at 0, so only the queue can make it wait."""
    with engine.connect() as c:
        c.exec_driver_sql("PRAGMA busy_timeout=0")
        go.wait(30)
        c.execute(text("INSERT INTO t VALUES ('child', 1)"))
        c.commit()
    done.set()


def test_a_forked_worker_queues_behind_its_parent(tmp_path):
    """gunicorn forks workers from a process that may already have written: the fork shares the
    parent's open queue file (and flock belongs to the open file), so each process opens its own."""
    engine = _engine(tmp_path)
    with engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES ('parent', 0)"))  # the parent has opened its queue file
    engine.dispose()  # no SQLite connection crosses the fork
    ctx = mp.get_context("fork")
    go, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_impatient_write, args=(engine, go, done))
    child.start()
    with engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES ('parent', 1)"))
        go.set()
        assert not done.wait(1.0), "the child wrote while the parent held the turn"
    child.join(30)
    assert child.exitcode == 0 and done.is_set()  # it waited for its turn, not for SQLite's lock
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 3
