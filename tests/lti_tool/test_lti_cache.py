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


def test_values_json_refuses_are_kept_too(cache):
    """orjson refuses dict keys that are not strings and integers beyond 64 bits; the cache
    still keeps such values (as json would: the keys become strings)."""
    cache.set("k:odd", {"n": 2**70, "by_id": {7: "seven"}, "text": "Zoë ≠ \u2028"}, 60)
    assert cache.get("k:odd") == {"n": 2**70, "by_id": {"7": "seven"}, "text": "Zoë ≠ \u2028"}


# --- where the file cache lives (lti_tool.cache.file_cache_dir)


@pytest.fixture
def memory_fs(tmp_path, monkeypatch):
    """A stand-in for /dev/shm: a folder of the test's own (its filesystem is well over 1 GiB)."""
    fs = tmp_path / "shm"
    fs.mkdir()
    monkeypatch.setenv("CE_CREDIT_MEMORY_FS", str(fs))
    return fs


def test_the_file_cache_is_in_memory_one_private_folder_per_instance(tmp_path, memory_fs):
    import os
    import stat

    from lti_tool.cache import file_cache_dir

    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    here = file_cache_dir(one)
    assert os.path.dirname(here) == str(memory_fs) and os.path.basename(here).startswith(f"ce-credit-{os.geteuid()}-")
    assert stat.S_IMODE(os.lstat(here).st_mode) == 0o700
    # Every worker of the instance finds the same folder; another instance has its own.
    assert file_cache_dir(one) == here and file_cache_dir(one + "/") == here
    assert file_cache_dir(two) != here
    # A value set through one worker's cache is there for another's.
    FileCache(file_cache_dir(one)).set("nonce:x", {"state": "s"}, 60)
    assert FileCache(file_cache_dir(one)).pop("nonce:x") == {"state": "s"}
    assert FileCache(file_cache_dir(two)).get("nonce:x") is None


def test_the_file_cache_stays_on_disk_when_memory_is_small_or_not_private(tmp_path, memory_fs, monkeypatch, caplog):
    import os

    from lti_tool import cache as cache_mod
    from lti_tool.cache import file_cache_dir

    inst = str(tmp_path / "inst")
    on_disk = os.path.join(inst, "cache")
    # Set explicitly: relative to the instance folder, or absolute.
    assert file_cache_dir(inst, "c2") == os.path.join(inst, "c2")
    assert file_cache_dir(inst, str(tmp_path / "abs")) == str(tmp_path / "abs")
    # A folder someone else can enter (or a symlink planted where ours would be) is not used.
    mine = file_cache_dir(inst)
    os.chmod(mine, 0o755)
    assert file_cache_dir(inst) == on_disk
    assert "not a private folder" in caplog.text
    os.rmdir(mine)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    os.symlink(tmp_path / "elsewhere", mine)
    assert file_cache_dir(inst) == on_disk
    os.unlink(mine)
    assert file_cache_dir(inst) == mine
    # No memory filesystem, or a small one (Docker's 64 MB /dev/shm): the instance folder.
    monkeypatch.setenv("CE_CREDIT_MEMORY_FS", str(tmp_path / "missing"))
    assert file_cache_dir(inst) == on_disk
    monkeypatch.setenv("CE_CREDIT_MEMORY_FS", str(memory_fs))
    monkeypatch.setattr(cache_mod, "MEMORY_FS_MIN_BYTES", 1 << 62)
    assert file_cache_dir(inst) == on_disk


def test_the_app_puts_its_file_cache_where_configured(tmp_path, memory_fs):
    from lti_tool.app import make_cache

    inst = str(tmp_path / "inst")
    cfg = {"REDIS_URL": "", "CACHE": "", "DATABASE_URL": "sqlite:///x.db", "INSTANCE_PATH": inst}
    assert make_cache({**cfg, "CACHE_DIR": ""}, None).root.startswith(str(memory_fs) + "/")
    assert make_cache({**cfg, "CACHE_DIR": "cache"}, None).root == inst + "/cache"


def test_without_a_memory_fs_named_it_is_dev_shm(tmp_path, monkeypatch):
    """The default, where the suite itself names its own folder (tests/conftest.py)."""
    import os

    from lti_tool.cache import file_cache_dir

    monkeypatch.delenv("CE_CREDIT_MEMORY_FS", raising=False)
    if os.statvfs("/dev/shm").f_blocks * os.statvfs("/dev/shm").f_frsize < (1 << 30):
        pytest.skip("this machine's /dev/shm is under 1 GiB: the instance folder is the default")
    here = file_cache_dir(str(tmp_path / "inst"))
    try:
        assert os.path.dirname(here) == "/dev/shm"
    finally:
        os.rmdir(here)
