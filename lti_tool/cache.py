"""The shared cache for launch data, nonces, platform keys and access tokens: Redis, the database or files.

Every worker must see the same entries (a nonce saved by one worker at login is checked by
another at launch), so nothing here lives only in a process's memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import stat
import threading
import time
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import sessionmaker

from . import jsonio
from .store import CacheEntry

log = logging.getLogger(__name__)

# The file cache's default home: a memory filesystem, where it is large enough (see file_cache_dir).
# CE_CREDIT_MEMORY_FS names another (a tmpfs mounted elsewhere; the test suite's own folder).
MEMORY_FS = "/dev/shm"
MEMORY_FS_MIN_BYTES = 1 << 30


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def pop(self, key: str) -> Any | None:
        """Remove and return the entry in one atomic step: two workers can never both get it."""
        ...

    def delete(self, key: str) -> None: ...


class RedisCache:
    def __init__(self, url: str, prefix: str = "ce-credit:") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def get(self, key: str) -> Any | None:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else jsonio.loads(raw)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.client.set(self.prefix + key, jsonio.dumps(value), px=max(1, int(ttl * 1000)))

    def pop(self, key: str) -> Any | None:
        raw = self.client.getdel(self.prefix + key)
        return None if raw is None else jsonio.loads(raw)

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def clear_prefix(self) -> None:
        """Delete every key under this cache's prefix (tests and `db reset`)."""
        for k in self.client.scan_iter(match=self.prefix + "*", count=500):
            self.client.delete(k)


class DatabaseCache:
    """Entries in the `lti_cache` table; expired rows are ignored and swept now and then.

    Uses SQLAlchemy Core on the engine, not ORM sessions: these are the hottest queries of a launch.
    """

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self.engine = sessions.kw["bind"]
        table = CacheEntry.__table__
        self._get = select(table.c.value, table.c.expires_at).where(table.c.key == bindparam("k"))
        self._del = delete(table).where(table.c.key == bindparam("k"))
        self._pop = self._del.returning(table.c.value, table.c.expires_at)
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        ins = insert(table)
        self._upsert = ins.on_conflict_do_update(
            index_elements=[table.c.key], set_={"value": ins.excluded.value, "expires_at": ins.excluded.expires_at}
        )
        self._sweep = delete(table).where(table.c.expires_at < bindparam("now"))

    def get(self, key: str) -> Any | None:
        with self.engine.connect() as c:
            row = c.execute(self._get, {"k": key}).first()
        if row is None or row[1] < time.time():
            return None
        return jsonio.loads(row[0])

    def set(self, key: str, value: Any, ttl: float) -> None:
        now = time.time()
        with self.engine.begin() as c:
            c.execute(self._upsert, {"key": key, "value": jsonio.dumps(value), "expires_at": now + ttl})
            # Sweep now and then rather than on a timer: there is no scheduler in the embedded default.
            if random.random() < 0.01:
                c.execute(self._sweep, {"now": now})

    def pop(self, key: str) -> Any | None:
        with self.engine.begin() as c:
            row = c.execute(self._pop, {"k": key}).first()
        if row is None or row[1] < time.time():
            return None
        return jsonio.loads(row[0])

    def delete(self, key: str) -> None:
        with self.engine.begin() as c:
            c.execute(self._del, {"k": key})


def file_cache_dir(instance_path: str, configured: str = "") -> str:
    """Where the file cache keeps its entries: `configured` (CACHE_DIR) when set; otherwise a
    folder of this instance's own in the memory filesystem /dev/shm (or CE_CREDIT_MEMORY_FS)
    when that holds at least 1 GiB; otherwise `<instance>/cache`.

    Why memory: every login and launch writes a new entry, and creating a file (a new inode) on a
    disk filesystem cost 120-190 µs on this project's ext4 VM against 4 µs on tmpfs, a sixth of
    a login and launch. The entries are short-lived (a login's nonce 10 minutes, a launch's
    context 8 hours), so losing them at a reboot costs an open learner page a relaunch from the
    course, as Redis without persistence would. A small /dev/shm (Docker gives 64 MB) is not
    used: a full one would refuse launches. The folder's name comes from the instance path, so
    every worker of one instance finds the same folder; it is made mode 0700 and used only if it
    is this user's own folder (not a symlink, nobody else's, closed to others).
    """
    if configured:
        return os.path.abspath(os.path.join(instance_path, configured))
    return _memory_dir(instance_path) or os.path.join(instance_path, "cache")


def _memory_dir(instance_path: str) -> str | None:
    memory_fs = os.environ.get("CE_CREDIT_MEMORY_FS") or MEMORY_FS
    try:
        fs = os.statvfs(memory_fs)
    except OSError:
        return None
    if fs.f_blocks * fs.f_frsize < MEMORY_FS_MIN_BYTES:
        return None
    uid = os.geteuid()
    tag = hashlib.sha256(os.path.realpath(instance_path).encode()).hexdigest()[:20]
    path = os.path.join(memory_fs, f"ce-credit-{uid}-{tag}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        log.warning("file cache: cannot make %s (%s); using the instance folder", path, exc)
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        log.warning("file cache: %s is not a private folder of this user; using the instance folder", path)
        return None
    return path


class FileCache:
    """Entries as files in one folder (see file_cache_dir): the embedded default (SQLite, one
    host, several workers).

    Every change is a rename, which is atomic on one filesystem, so workers need no lock: `pop`
    renames the entry to a name of its own before reading it, and only one rename can succeed.
    Unlike the SQLite table, this never queues writers behind the database lock.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)

    def _path(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return os.path.join(self.root, digest[:2], digest[2:])

    def get(self, key: str) -> Any | None:
        return self._read(self._path(key))

    def _read(self, path: str) -> Any | None:
        try:
            with open(path, "rb") as f:
                entry = jsonio.loads(f.read())
        except (FileNotFoundError, ValueError):
            return None
        return entry["v"] if entry["e"] >= time.time() else None

    def set(self, key: str, value: Any, ttl: float) -> None:
        path = self._path(key)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        data = jsonio.dumpb({"e": time.time() + ttl, "v": value})
        # One write of the whole entry; the bucket folder is made only when it is missing (a
        # makedirs per call is a failed mkdir system call on every login and launch).
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if random.random() < 0.01:
            self._sweep(os.path.dirname(path))

    def pop(self, key: str) -> Any | None:
        path = self._path(key)
        mine = f"{path}.{os.getpid()}.{threading.get_ident()}.pop"
        try:
            os.rename(path, mine)
        except FileNotFoundError:
            return None
        try:
            return self._read(mine)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(mine)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def _sweep(self, directory: str) -> None:
        now = time.time()
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if name.endswith((".tmp", ".pop")):
                # Left by a killed worker; harmless unless old.
                with contextlib.suppress(OSError):
                    if os.path.getmtime(path) < now - 3600:
                        os.unlink(path)
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    expired = jsonio.loads(f.read())["e"] < now
            except (OSError, ValueError, KeyError):
                continue
            if expired:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
