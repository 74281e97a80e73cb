"""Benchmarks the LTI tool on this machine with wrk: logins, launches and submissions per second vs a bare Flask hello.

    .venv/bin/python bench/bench_lti.py [--runs 3] [--seconds 4] [--workers 2] [--no-postgres | --no-sqlite]
        [--only mixed,submit_only]

Needs `wrk` on the PATH (Debian: apt-get install -y wrk). Everything runs on 127.0.0.1: a small
platform (JWKS, token and score endpoints) in a thread of this process, the tool under
`ce-credit serve -w 2` (two sync gunicorn workers; --workers changes it, for hello too), and wrk as the load generator (C, epoll; the
Python clients of earlier versions used more CPU than the server). Every figure is the median of
--runs runs of --seconds seconds, at 16 connections; p99 is wrk's latency percentile.

What each line measures (all against the same server, the same way):
- hello: GET /hello on a bare Flask app under `gunicorn -w 2` (sync; --workers as the tool): the ceiling for this machine.
- login: GET /lti/login (OIDC third-party login initiation): platform lookup, state and nonce
  written to the shared cache, the 302 to the platform with the state cookie.
- launch: POST /lti/launch with an id_token and its state cookie, i.e. full validation (state
  cookie, RS256 signature against the cached platform key, exp/iat/aud/iss, single-use nonce
  popped from the shared cache, deployment, message claims), the resource-link upsert, the launch
  context saved to the shared cache and the learner page rendered with its initial view. Each
  request carries its own state and nonce: the logins that issued them are made beforehand (not
  timed) and the id_tokens signed beforehand by this script, so the figure excludes platform work.
- login+launch: wrk alternates a fresh login with a launch from the pre-generated pool on every
  connection, so the server does exactly the work of one browser launch per pair; launches/s
  counts pairs. This is the "launches per second" of issue #4.
- start+submit: on each connection one learner at a time posts {"action": "start"}, reads the
  drawn form from the answer, and posts a scored submit (wrong answers: the example allows
  unlimited attempts, so every submit is a new scored attempt that writes the learner state and
  queues a score in the outbox). submits/s counts submits; requests/s counts both.
- submit (started before): each request is one scored submit, of an attempt that a learner
  started beforehand (untimed), from a pool of --submit-pool learners; no attempt is submitted
  twice. This is the "submissions per second" of issue #4.
- outbox drain: queued scores sent by one in-process worker to the local platform's score endpoint.

Below each figure, where its CPU went, per unit of work (a launch is a login+launch pair, a submit
in start+submit is its start and its submit): the tool's gunicorn processes, the PostgreSQL
server's processes, redis-server, and wrk, from /proc (user + system time over the run), and
how busy the whole box was, including the time the hypervisor gave to other machines (steal).
The database and Redis servers share the box's cores with the tool, so on PostgreSQL+Redis the
tool's own share is what remains after theirs.

PostgreSQL runs use a database created for the run and a Redis key prefix of their own, both
removed afterwards. Only processes this script starts are stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
CE_CREDIT = str(Path(sys.executable).with_name("ce-credit"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CONNECTIONS = 16
# The figures bench_tool measures (--only picks some; "drain" is the outbox drain rate).
MODES = ("login", "launch", "mixed", "submit", "submit_only")


def hello_app():
    """The ceiling: a bare Flask JSON endpoint (gunicorn 'bench_lti:hello_app()')."""
    from flask import Flask, jsonify

    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: jsonify({"hello": "world"}))
    return app


# --- wrk scripts -------------------------------------------------------------------------------

# Shared by every run: a thread id per wrk thread, and a JSON summary line printed by done().
WRK_COMMON = r"""
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
-- The lines of a pool file that belong to this wrk thread: every n-th, so no line is used twice.
function thread_lines(path, nthreads)
  local out, i = {}, 0
  for line in io.lines(path) do
    if i % nthreads == id then out[#out + 1] = line end
    i = i + 1
  end
  return out
end
function done(summary, latency, requests)
  local exhausted, submits = 0, 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
    submits = submits + (t:get("submits") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"status_errors":%d,' ..
    '"exhausted":%d,"submits":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, exhausted, submits))
end
"""

# Launches from a pool of pre-generated (state, id_token) pairs; with mode "mixed", every other
# request is a fresh login. Each wrk thread takes every n-th line, so no pair is used twice.
WRK_LAUNCH = r"""
function init(args)
  mode, login_path = args[3], args[4]
  items, pos, turn, exhausted = thread_lines(args[1], tonumber(args[2])), 0, 0, 0
end
function request()
  turn = turn + 1
  if mode == "login" or (mode == "mixed" and turn % 2 == 1) then
    return wrk.format("GET", login_path)
  end
  pos = pos + 1
  local line = items[pos]
  if line == nil then
    exhausted = exhausted + 1  -- reported: the pool was too small, the run's figure is void
    line = items[#items]
  end
  local state, body = line:match("^(%S+) (.*)$")
  return wrk.format("POST", "/lti/launch", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "lti1p3-" .. state .. "=" .. state,
  }, body)
end
"""

# One connection per wrk thread, so request() and response() alternate strictly: start, then the
# submit of the form the start returned, then the next learner of this thread.
WRK_SUBMIT = r"""
function init(args)
  paths, answers = thread_lines(args[1], tonumber(args[2])), {}
  for line in io.lines(args[3]) do
    local q, c = line:match("^(%S+) (%S+)$")
    answers[q] = c
  end
  li, cur, pending, last_was_submit, submits = 0, nil, nil, false, 0
  hdr = {["Content-Type"] = "application/json"}
end
function request()
  if pending ~= nil then
    local body = pending
    pending, last_was_submit = nil, true
    return wrk.format("POST", cur, hdr, body)
  end
  li = li % #paths + 1
  cur, last_was_submit = paths[li], false
  return wrk.format("POST", cur, hdr, '{"action":"start"}')
end
function response(status, headers, body)
  if last_was_submit then
    if status == 200 then submits = submits + 1 end
    return
  end
  if status ~= 200 then return end
  local form = body:match('"form":%s*(%b{})')
  if form == nil then return end
  local attempt = form:match('"attempt":%s*(%d+)')
  local parts = {}
  for qid in form:gmatch('"id":%s*"([^"]+)"') do
    if answers[qid] then parts[#parts + 1] = '"' .. qid .. '":["' .. answers[qid] .. '"]' end
  end
  pending = '{"action":"submit","payload":{"attempt":' .. attempt .. ',"responses":{' ..
    table.concat(parts, ",") .. '}}}'
end
"""


# Submits only: each line of the pool is a learner's API path and the submit body for the form
# its (untimed) start drew; each wrk thread takes every n-th line, so no attempt is submitted twice.
WRK_SUBMIT_ONLY = r"""
function init(args)
  items, pos, exhausted, submits = thread_lines(args[1], tonumber(args[2])), 0, 0, 0
  hdr = {["Content-Type"] = "application/json"}
end
function request()
  pos = pos + 1
  local line = items[pos]
  if line == nil then
    exhausted = exhausted + 1
    line = items[#items]
  end
  local path, body = line:match("^(%S+) (.*)$")
  return wrk.format("POST", path, hdr, body)
end
function response(status, headers, body)
  if status == 200 then submits = submits + 1 end
end
"""


# --- where the CPU goes ----------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_GROUPS = ("tool", "postgres", "redis", "wrk")


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, parent pid, user+system CPU seconds) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    # The name is in parentheses and may itself hold spaces or parentheses: split at the last ")".
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the tool's server (the gunicorn master and its workers), the
    PostgreSQL and Redis servers, this script's finished children (wrk), and the whole box."""
    out = dict.fromkeys(CPU_GROUPS, 0.0)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        st = _proc_stat(pid)
        if st is None:
            continue
        comm, ppid, secs = st
        if int(pid) == server_pid or ppid == server_pid:
            out["tool"] += secs
        elif comm == "postgres" or comm.startswith("postgres:"):
            out["postgres"] += secs
        elif comm.startswith("redis-server"):
            out["redis"] += secs
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["wrk"] = children.ru_utime + children.ru_stime  # wrk has exited and been reaped by then
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    out["busy"] = (sum(fields[:3]) + fields[5] + fields[6]) / CLK_TCK
    out["steal"] = fields[7] / CLK_TCK if len(fields) > 7 else 0.0
    out["wall"] = time.monotonic()
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def measured(server_pid: int, *args: Any, **kwargs: Any) -> dict:
    """`wrk(*args, **kwargs)` with the CPU each group used during the run, in its summary's "cpu"."""
    before = cpu_snapshot(server_pid)
    r = wrk(*args, **kwargs)
    r["cpu"] = cpu_used(before, cpu_snapshot(server_pid))
    return r


def cpu_per_unit(runs: list[dict], per_request: float) -> dict[str, float]:
    """Median milliseconds of CPU per unit of work (`per_request` wrk requests make one unit) for
    each group, and the box's busy and steal shares of its cores."""
    out: dict[str, float] = {}
    for k in (*CPU_GROUPS, "busy", "steal"):
        out[k] = statistics.median(r["cpu"][k] * 1000 / (r["requests"] / per_request) for r in runs)
    cores = os.cpu_count() or 1
    out["busy_share"] = statistics.median(r["cpu"]["busy"] / (r["cpu"]["wall"] * cores) for r in runs)
    out["steal_share"] = statistics.median(r["cpu"]["steal"] / (r["cpu"]["wall"] * cores) for r in runs)
    return out


def wrk(port: int, path: str, seconds: float, script: str, args: list[str], threads: int = 2) -> dict:
    """One wrk run; returns its summary (requests/s, p99 ms, errors, ...)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_COMMON + script)
        lua = f.name
    try:
        cmd = ["wrk", "-t", str(threads), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--timeout", "10s"]
        cmd += ["-s", lua, f"http://127.0.0.1:{port}{path}", "--", *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(lua)
    m = re.search(r"^WRKJSON (.*)$", out.stdout, re.M)
    if not m:
        raise SystemExit(f"wrk failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / secs
    r["submits_ps"] = r["submits"] / secs
    r["p99_ms"] = r["p99_us"] / 1000
    r["p50_ms"] = r["p50_us"] / 1000
    return r


# --- the platform ----------------------------------------------------------------------------


class Platform:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from lti_tool.keys import public_jwk

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.jwk = public_jwk(key.public_key())
        self.scores = 0
        self.lock = threading.Lock()
        platform = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # keep-alive answers must not wait for delayed ACKs
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"keys": [platform.jwk]})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/token":
                    return self._send(200, {"access_token": "tok-" + uuid.uuid4().hex, "expires_in": 3600})
                with platform.lock:
                    platform.scores += 1
                return self._send(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client_id = "bench-client"

    def registration(self) -> dict:
        return {
            "issuer": self.url,
            "client_id": self.client_id,
            "auth_login_url": self.url + "/auth",
            "auth_token_url": self.url + "/token",
            "keyset_url": self.url + "/jwks",
            "deployment_ids": ["d1"],
        }


# --- pre-generated launches (separate processes: one login request and one RS256 signature each) --


def _claims(cfg, nonce, sub):
    now = int(time.time())
    return {
        "iss": cfg["issuer"],
        "aud": cfg["client_id"],
        "sub": sub,
        "iat": now,
        "exp": now + 1800,  # the pool is made before the timed runs
        "nonce": nonce,
        "name": "Bench Learner",
        CLAIM + "message_type": "LtiResourceLinkRequest",
        CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": "d1",
        CLAIM + "target_link_uri": cfg["base"] + "/lti/launch",
        CLAIM + "resource_link": {"id": "bench-link"},
        CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        CLAIM + "custom": {"ce_activity": "telehealth-ethics"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitem": cfg["issuer"] + "/lineitems/1",
        },
    }


def login_path(cfg) -> str:
    return "/lti/login?" + urlencode(
        {
            "iss": cfg["issuer"],
            "login_hint": "bench",
            "client_id": cfg["client_id"],
            "target_link_uri": cfg["base"] + "/lti/launch",
        }
    )


def _pregen(args):
    """`n` logins on one keep-alive connection, each answered by a signed id_token: "state body" lines."""
    cfg, n, tag = args
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(cfg["pem"].encode(), password=None)
    conn = http.client.HTTPConnection("127.0.0.1", cfg["port"], timeout=30)
    lines = []
    path = login_path(cfg)
    for i in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 302:
            raise SystemExit(f"login failed with {r.status}")
        q = parse_qs(urlparse(r.getheader("Location")).query)
        state, nonce = q["state"][0], q["nonce"][0]
        token = jwt.encode(_claims(cfg, nonce, f"{tag}-{i}"), key, algorithm="RS256", headers={"kid": cfg["kid"]})
        lines.append(f"{state} {urlencode({'id_token': token, 'state': state})}")
    conn.close()
    return lines


def pregenerate(cfg, n: int, tag: str) -> list[str]:
    procs = 2
    with mp.get_context("spawn").Pool(procs) as pool:
        parts = pool.map(_pregen, [(cfg, n // procs + 1, f"{tag}{p}-{uuid.uuid4().hex[:6]}") for p in range(procs)])
    return [x for part in parts for x in part][:n]


def launch_learners(cfg, lines: list[str]) -> list[str]:
    """Launch each pre-generated pair once (untimed) and return the learners' API paths."""
    conn = http.client.HTTPConnection("127.0.0.1", cfg["port"], timeout=30)
    paths = []
    for line in lines:
        state, body = line.split(" ", 1)
        hdr = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"lti1p3-{state}={state}"}
        conn.request("POST", "/lti/launch", body, hdr)
        r = conn.getresponse()
        page = r.read()
        if r.status != 200:
            raise SystemExit(f"launch failed with {r.status}: {page[:500]!r}")
        paths.append("/lti/api/" + re.search(rb'data-launch-id="([^"]+)"', page).group(1).decode())
    conn.close()
    return paths


def start_learners(cfg, paths: list[str], answers: dict[str, str]) -> list[str]:
    """Start one attempt for each learner (untimed); "path body" lines, each a scored submit of
    the form that learner drew."""
    conn = http.client.HTTPConnection("127.0.0.1", cfg["port"], timeout=30)
    lines = []
    for path in paths:
        conn.request("POST", path, json.dumps({"action": "start"}), {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"start failed with {r.status}: {data[:500]!r}")
        form = json.loads(data)["form"]
        responses = {q["id"]: [answers[q["id"]]] for q in form["questions"]}
        body = {"action": "submit", "payload": {"attempt": form["attempt"], "responses": responses}}
        lines.append(f"{path} {json.dumps(body, separators=(',', ':'))}")
    conn.close()
    return lines


# --- servers ------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port, path, proc):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stdout.read().decode()[-2000:]}")
    raise SystemExit("server did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def prepare_tool(env, platform):
    from ce_xblock.core import olx

    old = dict(os.environ)
    os.environ.update(env)
    try:
        from lti_tool import create_app
        from lti_tool.registry import add_platform
        from lti_tool.views.instructor import save_olx

        app = create_app({"OUTBOX_THREAD": False})
        add_platform(app, **platform.registration())
        text = (ROOT / "examples" / "telehealth-ethics.xml").read_text()
        with app.test_request_context():
            row, problems = save_olx(text)
            assert row is not None, problems
        app.extensions["ce_credit"].engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(old)
    activity = olx.loads(text)
    # Wrong answers: the example allows unlimited attempts with no wait, so every submit is a new
    # scored attempt (a passed learner could not start again).
    return {q.id: next(c.id for c in q.choices if not c.correct) for q in activity.questions}


def drain_rate(env, n=300, concurrency=1):
    """Outbox drain rate: n queued scores sent by one in-process worker to the local platform."""
    old = dict(os.environ)
    os.environ.update(env)
    try:
        from sqlalchemy import select

        from lti_tool import create_app, outbox
        from lti_tool.store import OutboxScore, ResourceLink

        app = create_app({"OUTBOX_THREAD": False})
        tool = app.extensions["ce_credit"]
        with tool.sessions.begin() as s:
            rl = s.scalars(select(ResourceLink)).first()
            s.query(OutboxScore).filter(OutboxScore.status == "pending").update({"status": "superseded"})
            for i in range(n):
                s.add(
                    OutboxScore(
                        registration_id=rl.registration_id,
                        resource_link_pk=rl.id,
                        user_sub=f"d{i}",
                        score_given=1,
                        score_maximum=1,
                        activity_progress="Completed",
                        comment="bench",
                        timestamp="2026-01-01T00:00:00+00:00",
                        status="pending",
                    )
                )
        t = time.perf_counter()
        counts = outbox.drain(tool, limit=50, concurrency=concurrency)
        rate = counts["sent"] / (time.perf_counter() - t)
        tool.engine.dispose()
        return rate
    finally:
        os.environ.clear()
        os.environ.update(old)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench_tool(name, env, platform, args, tmp):
    answers = prepare_tool(env, platform)
    only = set(args.only.split(",")) if args.only else {*MODES, "drain"}
    port = free_port()
    proc = subprocess.Popen(
        [CE_CREDIT, "serve", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--no-outbox"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out: dict = {}
    try:
        wait_up(port, "/lti/jwks", proc)
        cfg = {
            "port": port,
            "base": f"http://127.0.0.1:{port}",
            "issuer": platform.url,
            "client_id": platform.client_id,
            "pem": platform.pem,
            "kid": platform.jwk["kid"],
        }
        answers_file = Path(tmp) / f"{name}-answers.txt"
        answers_file.write_text("".join(f"{q} {c}\n" for q, c in answers.items()))
        # Warm up: both workers fetch the platform's JWKS, import everything, parse the activity.
        launch_learners(cfg, pregenerate(cfg, 40, "warm"))
        lpath = login_path(cfg)
        pool_n = args.pool
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for run in range(args.runs):
            if "login" in only:
                runs["login"].append(
                    measured(proc.pid, port, lpath, args.seconds, WRK_LAUNCH, ["/dev/null", "2", "login", lpath])
                )
            for mode in ("launch", "mixed"):
                if mode not in only:
                    continue
                pool = Path(tmp) / f"{name}-{mode}-{run}.txt"
                pool.write_text("\n".join(pregenerate(cfg, pool_n, f"{mode}{run}")) + "\n")
                runs[mode].append(
                    measured(proc.pid, port, lpath, args.seconds, WRK_LAUNCH, [str(pool), "2", mode, lpath])
                )
                pool.unlink()
            if "submit" in only:
                # Fresh learners each run, so a learner's state stays a realistic size.
                learners = Path(tmp) / f"{name}-learners-{run}.txt"
                paths = launch_learners(cfg, pregenerate(cfg, args.learners, f"s{run}"))
                learners.write_text("\n".join(paths) + "\n")
                runs["submit"].append(
                    measured(
                        proc.pid,
                        port,
                        "/",
                        args.seconds,
                        WRK_SUBMIT,
                        [str(learners), str(CONNECTIONS), str(answers_file)],
                        threads=CONNECTIONS,
                    )
                )
            if "submit_only" in only:
                # Submits alone: a pool of learners, each with an attempt started beforehand.
                pool = Path(tmp) / f"{name}-submits-{run}.txt"
                paths = launch_learners(cfg, pregenerate(cfg, args.submit_pool, f"o{run}"))
                pool.write_text("\n".join(start_learners(cfg, paths, answers)) + "\n")
                runs["submit_only"].append(
                    measured(proc.pid, port, "/", args.seconds, WRK_SUBMIT_ONLY, [str(pool), "2"])
                )
                pool.unlink()
        for mode, rs in runs.items():
            if not rs:
                continue
            exhausted = sum(r["exhausted"] for r in rs)
            if exhausted:
                print(f"  warning: {name} {mode}: the launch pool ran out {exhausted} times; raise --pool")
            out[mode] = {
                "rps": _median(rs, "rps"),
                "p99": _median(rs, "p99_ms"),
                "p50": _median(rs, "p50_ms"),
                "errors": sum(r["errors"] + r["status_errors"] for r in rs),
                "submits": _median(rs, "submits_ps"),
                # A launch is a login+launch pair; a submit of start+submit comes with its start.
                "cpu": cpu_per_unit(rs, 2 if mode in ("mixed", "submit") else 1),
            }
    finally:
        stop(proc)
    if "drain" in only:
        out["drain"] = statistics.median(drain_rate(env) for _ in range(args.runs))
        out["drain4"] = statistics.median(drain_rate(env, concurrency=4) for _ in range(args.runs))
    return out


def bench_hello(args):
    port = free_port()
    proc = subprocess.Popen(
        [
            GUNICORN,
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "bench"),
            "bench_lti:hello_app()",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_up(port, "/hello", proc)
        runs = [measured(proc.pid, port, "/hello", args.seconds, "", []) for _ in range(args.runs)]
    finally:
        stop(proc)
    return {"rps": _median(runs, "rps"), "p99": _median(runs, "p99_ms"), "cpu": cpu_per_unit(runs, 1)}


def postgres_env(tmp):
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = "ce_lti_bench_" + uuid.uuid4().hex[:8]
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    prefix = f"ce-credit-bench-{uuid.uuid4().hex[:8]}:"
    env = {
        "CE_CREDIT_INSTANCE": str(Path(tmp) / "pg-inst"),
        "DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + name,
        "REDIS_URL": REDIS_URL,
        "CE_CREDIT_REDIS_PREFIX": prefix,
        "CE_CREDIT_SECURE_COOKIES": "0",
    }

    def cleanup():
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        for k in r.scan_iter(match=prefix + "*", count=1000):
            r.delete(k)
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()

    return env, cleanup


def report(name: str, r: dict, hello: dict, args) -> None:
    h = hello["rps"]
    print(
        f"\n{name} (ce-credit serve -w {args.workers}, {CONNECTIONS} connections, median of {args.runs} x {args.seconds:g} s)"
    )

    def line(label: str, rate: float, unit: str, m: dict, reqs: float, per: str = "request") -> None:
        print(
            f"  {label:<22}{rate:7.0f} {unit:<10} p50 {m['p50']:5.1f} ms  p99 {m['p99']:6.1f} ms  "
            f"{reqs / h:6.1%} of hello's req/s  errors {m['errors']}"
        )
        print(cpu_line(m["cpu"], per))

    if "login" in r:
        line("login", r["login"]["rps"], "/s", r["login"], r["login"]["rps"])
    if "launch" in r:
        line("launch (id_token POST)", r["launch"]["rps"], "/s", r["launch"], r["launch"]["rps"])
    if "mixed" in r:
        line("login+launch", r["mixed"]["rps"] / 2, "launches/s", r["mixed"], r["mixed"]["rps"], "launch")
    if "submit" in r:
        line("start+submit", r["submit"]["submits"], "submits/s", r["submit"], r["submit"]["rps"], "submit")
    if "submit_only" in r:
        m = r["submit_only"]
        line("submit (started before)", m["submits"], "submits/s", m, m["rps"], "submit")
    if "drain" in r:
        print(f"  outbox drain (1 worker): {r['drain']:6.0f} scores/s  ({r['drain4']:.0f}/s with --concurrency 4)")


def cpu_line(c: dict, unit: str) -> str:
    """Where a unit of work's CPU went (cpu_per_unit), in milliseconds."""
    groups = "  ".join(f"{k} {c[k]:.2f}" for k in CPU_GROUPS if c[k] >= 0.005)
    return (
        f"    CPU ms per {unit}: {groups}; whole box {c['busy']:.2f} "
        f"(cores {c['busy_share']:.0%} busy, {c['steal_share']:.0%} stolen by the hypervisor)"
    )


def remove_memory_cache(instance: str) -> None:
    """The file cache's folder in /dev/shm of a bench instance (lti_tool.cache.file_cache_dir),
    which the instance's temporary folder does not hold."""
    from lti_tool.cache import file_cache_dir

    folder = file_cache_dir(instance)
    if not folder.startswith(instance + os.sep):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--pool", type=int, default=10000, help="pre-generated launches per launch run")
    ap.add_argument("--learners", type=int, default=320, help="learners in each submission run")
    ap.add_argument("--submit-pool", type=int, default=6000, help="learners with a started attempt per submit run")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated figures to measure: login, launch, mixed (login+launch), submit (start+submit), "
        "submit_only, drain (default: all)",
    )
    ap.add_argument(
        "--workers", type=int, default=2, help="sync gunicorn workers, for hello and the tool (issue #4: 2)"
    )
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true", help="only the PostgreSQL+Redis figures")
    args = ap.parse_args()
    if args.workers < 1:
        ap.error("--workers: at least 1")
    unknown = set(filter(None, args.only.split(","))) - {*MODES, "drain"}
    if unknown:
        ap.error(f"--only: unknown figure(s) {', '.join(sorted(unknown))}; choose from {', '.join((*MODES, 'drain'))}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk.")
    sys.path.insert(0, str(ROOT))
    platform = Platform()
    load_before = os.getloadavg()[0]
    print(
        f"load average before the run: {load_before:.1f} on {os.cpu_count()} cores "
        "(other processes share the machine; figures scale down with it)"
    )
    hello = bench_hello(args)
    print(f"bare Flask hello (gunicorn -w {args.workers}): {hello['rps']:7.0f} req/s  p99 {hello['p99']:5.1f} ms")
    print(cpu_line(hello["cpu"], "request"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_env = {
            "CE_CREDIT_INSTANCE": str(Path(tmp) / "inst"),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "REDIS_URL": "",
            "CE_CREDIT_SECURE_COOKIES": "0",
        }
        if not args.no_sqlite:
            try:
                results["SQLite (file cache)"] = bench_tool("sqlite", sqlite_env, platform, args, tmp)
            finally:
                remove_memory_cache(sqlite_env["CE_CREDIT_INSTANCE"])
            report("SQLite (file cache)", results["SQLite (file cache)"], hello, args)
        if not args.no_postgres:
            try:
                env, cleanup = postgres_env(tmp)
            except Exception as exc:  # noqa: BLE001
                print(f"PostgreSQL skipped: {exc}")
            else:
                try:
                    results["PostgreSQL+Redis"] = bench_tool("postgres", env, platform, args, tmp)
                finally:
                    cleanup()
                report("PostgreSQL+Redis", results["PostgreSQL+Redis"], hello, args)
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
