"""The shared cache for launch data, nonces, platform keys and access tokens: Redis, the database or files.

Every worker must see the same entries (a nonce saved by one worker at login is checked by
another at launch), so nothing here lives only in a process's memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import threading
import time
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import sessionmaker

from .store import CacheEntry


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
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.client.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl * 1000)))

    def pop(self, key: str) -> Any | None:
        raw = self.client.getdel(self.prefix + key)
        return None if raw is None else json.loads(raw)

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
        return json.loads(row[0])

    def set(self, key: str, value: Any, ttl: float) -> None:
        now = time.time()
        with self.engine.begin() as c:
            c.execute(self._upsert, {"key": key, "value": json.dumps(value), "expires_at": now + ttl})
            # Sweep now and then rather than on a timer: there is no scheduler in the embedded default.
            if random.random() < 0.01:
                c.execute(self._sweep, {"now": now})

    def pop(self, key: str) -> Any | None:
        with self.engine.begin() as c:
            row = c.execute(self._pop, {"k": key}).first()
        if row is None or row[1] < time.time():
            return None
        return json.loads(row[0])

    def delete(self, key: str) -> None:
        with self.engine.begin() as c:
            c.execute(self._del, {"k": key})


class FileCache:
    """Entries as files in the instance folder: the embedded default (SQLite, one host, several workers).

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
                entry = json.loads(f.read())
        except (FileNotFoundError, ValueError):
            return None
        return entry["v"] if entry["e"] >= time.time() else None

    def set(self, key: str, value: Any, ttl: float) -> None:
        path = self._path(key)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        data = json.dumps({"e": time.time() + ttl, "v": value}).encode()
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
                    expired = json.load(f)["e"] < now
            except (OSError, ValueError, KeyError):
                continue
            if expired:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
