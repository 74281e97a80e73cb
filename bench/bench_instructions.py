"""Instructions per request of the LTI tool's hot paths, counted by valgrind's callgrind.

    .venv/bin/python bench/bench_instructions.py [--n 200]

Seconds on this shared 2-core VM move by 30 % and more from one run to the next (bench_lti.py's
hello ceiling has read anything from 4,200 to 8,500 req/s); callgrind counts the instructions a
request executes, which stay the same for the same code and inputs whatever else the machine is
doing. That makes it the figure for an A/B of two commits: run this file from each (with
PYTHONPATH pointing at the other checkout) and compare.

What is counted: the requests themselves, made in-process as WSGI calls on the app (the same
app `ce-credit serve` runs, on SQLite with the file cache): GET /hello of a bare Flask app
(bench_lti.hello_app, the ceiling), GET /lti/login, POST /lti/launch (state cookie, RS256
id_token, nonce, resource link, learner page) and a scored submit of an attempt started
beforehand. Building the requests, signing id_tokens and starting attempts are not counted.
User-space instructions only: system calls (file cache writes, SQLite's writes) count only for
their user-space side, and gunicorn, HTTP parsing and the network are outside (bench_lti.py
measures those). Needs valgrind (Debian: apt-get install -y valgrind). Takes about two minutes.

How: the child process runs each phase inside one `functools.reduce` call; callgrind collects
only inside that function (--toggle-collect) and writes one dump after each (--dump-after).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

HERE = Path(__file__).resolve().parent
PHASES = ("hello", "login", "launch", "submit")
BASE = "http://127.0.0.1:8000"


def _child(n: int) -> None:
    """Runs under callgrind: warm up, then one functools.reduce per phase, in PHASES order."""
    import gc

    sys.path.insert(0, str(HERE))
    import bench_lti as bl
    import jwt
    from cryptography.hazmat.primitives import serialization
    from werkzeug.test import EnvironBuilder

    tmp = tempfile.mkdtemp(prefix="ce-instr-")
    env = {
        "CE_CREDIT_INSTANCE": tmp + "/inst",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "REDIS_URL": "",
        "CE_CREDIT_SECURE_COOKIES": "0",
    }
    os.environ.update(env)
    platform = bl.Platform()
    answers = bl.prepare_tool(env, platform)
    from lti_tool import create_app

    app = create_app({"OUTBOX_THREAD": False})
    hello = bl.hello_app()
    cfg = {"base": BASE, "issuer": platform.url, "client_id": platform.client_id, "kid": platform.jwk["kid"]}
    key = serialization.load_pem_private_key(platform.pem.encode(), password=None)
    path, query = bl.login_path(cfg).split("?", 1)

    def call(wsgi, environ):
        out = {}

        def start_response(status, headers, exc_info=None):
            out["status"], out["headers"] = status, dict(headers)

        body = b"".join(wsgi(environ, start_response))
        return out["status"], out["headers"], body

    def login_env():
        return EnvironBuilder(path=path, query_string=query, base_url=BASE).get_environ()

    def launch_env(headers, sub):
        q = parse_qs(urlparse(headers["Location"]).query)
        state, nonce = q["state"][0], q["nonce"][0]
        token = jwt.encode(bl._claims(cfg, nonce, sub), key, algorithm="RS256", headers={"kid": cfg["kid"]})
        return EnvironBuilder(
            path="/lti/launch",
            method="POST",
            data=urlencode({"id_token": token, "state": state}),
            content_type="application/x-www-form-urlencoded",
            headers={"Cookie": f"lti1p3-{state}={state}"},
            base_url=BASE,
        ).get_environ()

    def api_env(launch_id, body):
        return EnvironBuilder(
            path="/lti/api/" + launch_id, method="POST", data=json.dumps(body), content_type="application/json"
        ).get_environ()

    def counted(wsgi, environs):
        """The one place instructions are counted: callgrind collects inside functools.reduce only."""
        return functools.reduce(lambda acc, e: acc.append(call(wsgi, e)) or acc, environs, [])

    def check(results, status):
        bad = [r for r in results if not r[0].startswith(status)]
        if bad:
            raise SystemExit(f"{len(bad)} requests answered {bad[0][0]}: {bad[0][2][:300]!r}")

    hello_env = EnvironBuilder(path="/hello", base_url=BASE).get_environ
    for i in range(30):  # warm-up, not counted: imports, the platform's keys, the page shell
        call(hello, hello_env())
        _, headers, _ = call(app.wsgi_app, login_env())
        check([call(app.wsgi_app, launch_env(headers, f"warm-{i}"))], "200")
    gc.freeze()  # as each `ce-credit serve` worker does
    check(counted(hello, [hello_env() for _ in range(n)]), "200")
    logins = counted(app.wsgi_app, [login_env() for _ in range(n)])
    check(logins, "302")
    launches = counted(app.wsgi_app, [launch_env(h, f"learner-{i}") for i, (_, h, _) in enumerate(logins)])
    check(launches, "200")
    submits = []
    for _, _, page in launches:  # a started attempt per learner, not counted
        launch_id = re.search(rb'data-launch-id="([^"]+)"', page).group(1).decode()
        _, _, body = call(app.wsgi_app, api_env(launch_id, {"action": "start"}))
        form = json.loads(body)["form"]
        responses = {q["id"]: [answers[q["id"]]] for q in form["questions"]}
        submits.append(
            api_env(launch_id, {"action": "submit", "payload": {"attempt": form["attempt"], "responses": responses}})
        )
    check(counted(app.wsgi_app, submits), "200")
    bl.remove_memory_cache(env["CE_CREDIT_INSTANCE"])
    shutil.rmtree(tmp, ignore_errors=True)


def _dump_total(path: Path) -> int:
    m = re.search(r"^(?:summary|totals): (\d+)", path.read_text(errors="replace"), re.M)
    return int(m.group(1)) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="requests counted per phase")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.n < 1:
        ap.error("--n: at least 1")
    if args.child:
        return _child(args.n)
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind (Debian/Ubuntu).")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            "--dump-after=functools_reduce",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            "--n",
            str(args.n),
        ]
        # A fixed hash seed: the same dict layouts, so the same counts, run after run.
        run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if run.returncode != 0:
            raise SystemExit(f"the counted run failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        dumps = sorted(Path(tmp).glob("cg.*"), key=lambda p: int(p.suffix[1:]))
        # Imports may call functools.reduce too (small dumps); the phases are the last four. A
        # reduce inside a request would toggle collection off inside it: refuse such a count.
        totals = [_dump_total(p) for p in dumps]
        big = [t for t in totals if t > 1000 * args.n]
        if len(big) != len(PHASES) or totals[-len(PHASES) :] != big:
            raise SystemExit(f"expected {len(PHASES)} counted phases, got dumps {totals}")
    per = {phase: total / args.n for phase, total in zip(PHASES, big, strict=True)}
    per["login+launch"] = per["login"] + per["launch"]
    hello = per["hello"]
    print(f"instructions per request (callgrind, user space, in-process WSGI; {args.n} requests per phase)")
    for phase in ("hello", "login", "launch", "login+launch", "submit"):
        label = {"submit": "submit (started before)", "hello": "bare Flask hello"}.get(phase, phase)
        print(f"  {label:<24}{per[phase]:12,.0f}  {per[phase] / hello:6.1f} x hello")


if __name__ == "__main__":
    main()
