"""Launches under gunicorn with 4 workers: any worker may take any step, none may lose the launch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from lti_tool.demo import CLIENT_ID, DEPLOYMENT_ID, load_library, read_examples
from lti_tool.demo_lms import ServerThread, create_platform_app, lms_of

from .conftest import REPO, Course, free_port, postgres_url, server_tls

pytestmark = pytest.mark.slow
TELEHEALTH = "telehealth-ethics"


def _prepare_tool(instance: Path, issuer: str, extra_env: dict[str, str]) -> None:
    """Migrate, register the platform and load the library once, before the workers start."""
    from lti_tool import create_app, registry

    config = {"INSTANCE_PATH": str(instance), "OUTBOX_THREAD": False}
    if "DATABASE_URL" in extra_env:
        config["DATABASE_URL"] = extra_env["DATABASE_URL"]
    app = create_app(config)
    registry.add_platform(
        app,
        issuer=issuer,
        client_id=CLIENT_ID,
        auth_login_url=f"{issuer}/auth",
        auth_token_url=f"{issuer}/token",
        keyset_url=f"{issuer}/jwks",
        deployment_ids=[DEPLOYMENT_ID],
    )
    load_library(app, read_examples(REPO / "examples"))
    app.extensions["ce_credit"].engine.dispose()


def _gunicorn(port: int, instance: Path, tls_files, env_extra: dict[str, str]) -> subprocess.Popen:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    env = {
        **os.environ,
        "CE_CREDIT_INSTANCE": str(instance),
        "PYTHONPATH": str(REPO),
        **env_extra,
    }
    args = [
        gunicorn, "-w", "4", "-k", "sync", "-b", f"127.0.0.1:{port}",
        "--certfile", str(tls_files[1]), "--keyfile", str(tls_files[2]),
        "--log-level", "warning", "--graceful-timeout", "5", "lti_tool:create_app()",
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _run(tmp_path: Path, tls_files, ca: Path, env_extra: dict[str, str]) -> None:
    instance = tmp_path / "instance"
    users = [f"learner-{n:02d}" for n in range(1, 13)]
    roster = [{"id": u, "given_name": "Learner", "family_name": u[-2:], "email": f"{u}@example.org"} for u in users]
    lms_app = create_platform_app({"USERS": roster})
    lms_server = ServerThread(lms_app, host="localhost", ssl_context=server_tls(tls_files)).start()
    lms = lms_of(lms_app)
    lms.set_base_url(lms_server.url)
    port = free_port()
    tool_url = f"https://127.0.0.1:{port}"
    lms.register_tool(client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID, tool_url=tool_url)
    proc = None
    try:
        _prepare_tool(instance, lms.issuer, env_extra)
        link = lms.state.add_link(
            "Telehealth", custom={"ce_activity": TELEHEALTH}, line_item={"label": "Telehealth", "scoreMaximum": 10}
        )
        proc = _gunicorn(port, instance, tls_files, env_extra)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            try:
                if requests.get(f"{tool_url}/lti/jwks", verify=str(ca), timeout=10).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        course = Course(tool_url, lms_server.url, lms, verify=str(ca))
        # 12 learners launch and take the post-test, 4 at a time; every request may hit another worker

        def one(user: str) -> tuple[str, str, float]:
            with course.browser() as b:
                launch_id, view = course.learner_launch(b, user, link.id)
                assert view["step"] == "info"
                result = course.take_posttest(b, launch_id, TELEHEALTH, right=int(user[-2:]) % 3 != 0)
                return user, launch_id, result["result"]["points"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(one, users))
        assert len({launch_id for _, launch_id, _ in outcomes}) == 12
        stderr_so_far = b""
        # the grades reach the platform from the workers' outbox threads
        course.wait_for_results({(link.line_item_id, u): p for u, _, p in outcomes}, timeout=90)
        course.applied_once()
    finally:
        if proc is not None:
            proc.terminate()
            try:
                _, stderr_so_far = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr_so_far = proc.communicate()
        lms_server.stop()
    log = stderr_so_far.decode(errors="replace")
    assert "Invalid Nonce" not in log and "Launch data not found" not in log, log[-3000:]


def test_twelve_launches_across_four_gunicorn_workers_on_sqlite(tmp_path, tls_files, trust_test_ca):
    _run(tmp_path, tls_files, trust_test_ca, {})


@pytest.mark.postgres
def test_twelve_launches_across_four_gunicorn_workers_on_postgresql_with_redis(tmp_path, tls_files, trust_test_ca):
    base = postgres_url()
    if base is None:
        pytest.skip("no PostgreSQL server answers at DATABASE_URL or 127.0.0.1:5432")
    import psycopg
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip("no Redis server answers at 127.0.0.1:6379")
    import uuid

    name = f"ce_e2e_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {
            "DATABASE_URL": admin.rsplit("/", 1)[0] + "/" + name,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "CE_CREDIT_REDIS_PREFIX": f"{name}:",
        }
        _run(tmp_path, tls_files, trust_test_ca, env)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # The launch contexts (8 hours) and access tokens the run left in Redis, under its own prefix.
        from lti_tool.cache import RedisCache

        RedisCache(env["REDIS_URL"], env["CE_CREDIT_REDIS_PREFIX"]).clear_prefix()
