"""The `ce-credit` commands of the LTI tool: platform, keys, library, db, serve, worker.

`register(main)` adds them to the lead's `ce-credit` group (ce_xblock/cli.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import click


def _app(**over: Any) -> Any:
    from . import create_app

    return create_app({"OUTBOX_THREAD": False, **over})


def _tool(app: Any) -> Any:
    return app.extensions["ce_credit"]


@click.group("platform")
def platform_group() -> None:
    """Register LTI 1.3 platforms (Canvas, Moodle, Brightspace, ...) by hand."""


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 access token endpoint.")
@click.option("--keyset-url", required=True, help="The platform's public JWKS URL.")
@click.option("--deployment", "deployments", multiple=True, help="A deployment id (repeat for several).")
@click.option("--name", default="", help="A name to show in lists.")
@click.option("--auth-audience", default="", help="The token endpoint's audience, if not its URL (Brightspace).")
def platform_add(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    keyset_url: str,
    deployments: tuple[str, ...],
    name: str,
    auth_audience: str,
) -> None:
    """Register a platform, or add deployments to an existing registration."""
    from .registry import RegistryError, add_platform

    app = _app()
    try:
        reg = add_platform(
            app,
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            keyset_url=keyset_url,
            deployment_ids=list(deployments),
            name=name,
            auth_audience=auth_audience,
        )
    except RegistryError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Registered platform {reg.id}: {reg.issuer} (client id {reg.client_id}).")


@platform_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def platform_list(as_json: bool) -> None:
    """List registered platforms and their deployments."""
    from .registry import list_platforms

    app = _app()
    with _tool(app).sessions() as s:
        regs = list_platforms(s)
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "issuer": r.issuer,
                "client_id": r.client_id,
                "auth_login_url": r.auth_login_url,
                "auth_token_url": r.auth_token_url,
                "keyset_url": r.keyset_url,
                "deployments": [{"id": d.deployment_id, "auto_recorded": d.auto_recorded} for d in r.deployments],
            }
            for r in regs
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No platforms are registered. Add one with: ce-credit platform add --help")
    for r in rows:
        deps = (
            ", ".join(d["id"] + (" (seen at launch)" if d["auto_recorded"] else "") for d in r["deployments"])
            or "none yet"
        )
        click.echo(
            f"{r['id']}: {r['name']}\n   issuer {r['issuer']}\n   client id {r['client_id']}\n"
            f"   login {r['auth_login_url']}\n   token {r['auth_token_url']}\n   keys {r['keyset_url']}\n"
            f"   deployments: {deps}"
        )


@platform_group.command("remove")
@click.argument("registration_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def platform_remove(registration_id: int, yes: bool) -> None:
    """Remove a registration with its deployments, links, learner records and queued grades."""
    from .registry import remove_platform

    if not yes:
        click.confirm(f"Remove platform {registration_id} and all its learner records?", abort=True)
    app = _app()
    with _tool(app).sessions() as s:
        if not remove_platform(s, registration_id):
            raise click.ClickException(f"There is no platform {registration_id}. See ce-credit platform list.")
    click.echo(f"Removed platform {registration_id}.")


@click.group("keys")
def keys_group() -> None:
    """The tool's LTI signing keys (published at /lti/jwks)."""


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


@keys_group.command("list")
def keys_list() -> None:
    """The keys, oldest first: which one signs, which signs next, which are still published."""
    app = _app()
    for k in _tool(app).keyring.status():
        if k.state == "signing":
            state = "signing, published"
        elif k.state == "next":
            state = f"published, signs from {_when(k.signs_from)}"
        elif k.state == "previous":
            state = f"published until {_when(k.withdraw_at)} (previous key)"
        else:
            state = "withdrawn"
        click.echo(f"{k.kid}  {k.created_at:%Y-%m-%d %H:%M}  {state}")


@keys_group.command("rotate")
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="The signing key is compromised: sign with the new key at once and withdraw every older key.",
)
def keys_rotate(immediately: bool) -> None:
    """Publish a new key now; it signs once platforms' cached copies of the JWKS have expired.

    The previous key keeps signing until then, and stays published for an hour afterwards.
    """
    from .keys import JWKS_MAX_AGE, RETIRED_KEY_KEPT

    app = _app()
    kr = _tool(app).keyring
    r = kr.rotate(immediately=immediately)
    if immediately:
        withdrawn = ", ".join(r.withdrawn) or "none"
        click.echo(f"New signing key {r.kid}, signing now. Withdrawn from the JWKS: {withdrawn}.")
        click.echo(
            f"Warning: platforms that cached the JWKS do not know the new key yet and may refuse the tool's "
            f"deep-linking responses and grade passback for up to {JWKS_MAX_AGE} seconds, and may go on "
            f"accepting the withdrawn keys for as long."
        )
    elif r.immediately:
        click.echo(f"New signing key {r.kid}, signing now (no key was published before).")
    else:
        wait = max(0, round(r.signs_from.timestamp() - kr.clock()))
        click.echo(
            f"New key {r.kid}, published now; it starts signing at {_when(r.signs_from)} (in {wait} seconds), "
            f"when platforms' cached copies of the JWKS have expired. The current key signs until then and "
            f"stays published for {RETIRED_KEY_KEPT // 60} minutes afterwards."
        )


@click.group("library")
def library_group() -> None:
    """The tool's activity library."""


@library_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def library_import(files: tuple[Path, ...]) -> None:
    """Import OLX activity files into the library (replacing activities with the same id)."""
    app = _app()
    from .views.instructor import save_olx

    failed = False
    with app.test_request_context():
        for f in files:
            row, problems = save_olx(f.read_text(encoding="utf-8"))
            if row is None:
                failed = True
                for p in problems:
                    click.echo(f"{f}: {p}", err=True)
            else:
                click.echo(f"{f}: imported {row.slug} ({row.title})")
    if failed:
        sys.exit(1)


@library_group.command("list")
def library_list() -> None:
    from sqlalchemy import select

    from .store import Registration, StoredActivity

    app = _app()
    with _tool(app).sessions() as s:
        issuers = {r.id: f"{r.issuer} {r.client_id}" for r in s.scalars(select(Registration))}
        for a in s.scalars(select(StoredActivity).order_by(StoredActivity.slug, StoredActivity.owner_id)):
            # Shared: every platform's instructors may choose it. Otherwise one platform's own copy.
            owner = "shared" if not a.owner_id else f"platform {a.owner_id} ({issuers.get(a.owner_id, 'removed')})"
            click.echo(f"{a.slug}  v{a.version}  {a.title}  [{owner}]")


@click.group("db")
def db_group() -> None:
    """The tool's database."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables (Alembic) in DATABASE_URL or the embedded SQLite file."""
    from . import config
    from .migrate import upgrade

    cfg = config.load()
    upgrade(cfg["DATABASE_URL"])
    click.echo(f"Database is at the latest revision: {_safe_url(cfg['DATABASE_URL'])}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("serve")
@click.option("--bind", "-b", default="127.0.0.1:8000", show_default=True, help="host:port to listen on.")
@click.option("--workers", "-w", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=1, show_default=True, help="Threads per worker (1 = sync workers).")
@click.option(
    "--outbox/--no-outbox",
    default=True,
    show_default=True,
    help="Send grades from each web worker; turn off when `ce-credit worker` runs.",
)
@click.option("--access-log/--no-access-log", default=False)
def serve(bind: str, workers: int, threads: int, outbox: bool, access_log: bool) -> None:
    """Run the tool under gunicorn. Configuration comes from the environment (docs/lti.md)."""
    from gunicorn.app.base import BaseApplication

    from . import config
    from .migrate import upgrade

    cfg = config.load()
    upgrade(cfg["DATABASE_URL"])  # once, before the workers start, so they do not race to migrate
    # Each worker must reach the same instance folder (secret key) and database.
    os.environ["CE_CREDIT_INSTANCE"] = cfg["INSTANCE_PATH"]
    os.environ["CE_CREDIT_AUTO_MIGRATE"] = "0"
    os.environ["CE_CREDIT_OUTBOX_THREAD"] = "1" if outbox else "0"

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            if access_log:
                self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            import gc

            from . import create_app

            app = create_app()
            # Everything loaded so far (Flask, SQLAlchemy, Babel, the catalogues) lives as long as
            # the worker: kept out of the garbage collector's full passes, which walked all of it
            # about every 30 launches (27 µs a launch on average, measured in-process; 3 µs after).
            gc.freeze()
            return app

    click.echo(
        f"CE Credit LTI tool on http://{bind} with {workers} worker(s); database {_safe_url(cfg['DATABASE_URL'])}"
    )
    Server().run()


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain the outbox once and exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@click.option("--concurrency", default=1, show_default=True, help="Scores in flight at once (platform latency bound).")
def worker(once: bool, interval: float, concurrency: int) -> None:
    """Send queued grades to the platforms (AGS), with retries and backoff. Run as many as you like."""
    import logging
    import signal
    import threading

    from .outbox import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = _app()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        run_worker(_tool(app), interval=interval, once=once, stop=stop, concurrency=concurrency)


def register(main: click.Group) -> None:
    """Add the LTI commands to the `ce-credit` group."""
    for cmd in (platform_group, keys_group, library_group, db_group, serve, worker):
        main.add_command(cmd)
    from .records_cli import register as register_records  # `records` with the tool's database as a source

    register_records(main)
    try:
        from .demo import demo
    except ImportError:
        return
    if isinstance(demo, click.Command):
        main.add_command(demo)
