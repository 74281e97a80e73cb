"""The shared cache backends: a value popped by one of many concurrent takers reaches exactly one."""

import threading
import time

import pytest

from lti_tool.cache import DatabaseCache, FileCache, RedisCache
from lti_tool.migrate import upgrade
from lti_tool.store import make_engine, make_sessionmaker


@pytest.fixture(params=["files", "database", "redis"])
def cache(request, tmp_path):
    if request.param == "files":
        yield FileCache(str(tmp_path / "cache"))
    elif request.param == "database":
        url = f"sqlite:///{tmp_path / 'c.db'}"
        upgrade(url)
        engine = make_engine(url)
        yield DatabaseCache(make_sessionmaker(engine))
        engine.dispose()
    else:
        prefix = request.getfixturevalue("redis_prefix")
        yield RedisCache(request.getfixturevalue("redis_url"), prefix)


def test_set_get_pop_delete_and_expiry(cache):
    cache.set("k:1", {"a": [1, 2]}, 60)
    assert cache.get("k:1") == {"a": [1, 2]}
    assert cache.pop("k:1") == {"a": [1, 2]}
    assert cache.pop("k:1") is None and cache.get("k:1") is None
    cache.set("k:2", "v", 60)
    cache.delete("k:2")
    assert cache.get("k:2") is None
    cache.set("k:3", True, 0.2)
    time.sleep(0.4)
    assert cache.get("k:3") is None and cache.pop("k:3") is None


def test_concurrent_pops_hand_each_value_to_exactly_one_taker(cache):
    keys = [f"nonce:{i}" for i in range(30)]
    for k in keys:
        cache.set(k, k, 60)
    got: list[str] = []
    lock = threading.Lock()

    def taker():
        for k in keys:
            v = cache.pop(k)
            if v is not None:
                with lock:
                    got.append(v)

    threads = [threading.Thread(target=taker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(keys)
