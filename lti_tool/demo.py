"""`ce-credit demo`: the tool and a small local LMS, registered with each other, in one command.

The tool listens on http://127.0.0.1:PORT and the demo LMS on http://localhost:PORT+1. The two
host names make them different sites, so the tool runs in a cross-site iframe exactly as it does
inside Canvas or Moodle. Both are threaded servers in this process: the LMS calls the tool's JWKS
while the tool waits on the LMS's token endpoint.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

REPO_EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLIENT_ID = "ce-credit-demo"
DEPLOYMENT_ID = "demo-deployment-1"
ACTIVITY_PARAM = "ce_activity"  # the custom parameter the tool reads to find the activity (lti_tool.launches)


@dataclass
class Demo:
    """The two running servers. `stop()` shuts both down."""

    tool_server: Any  # demo_lms.ServerThread
    lms_server: Any
    tool_app: Any
    lms_app: Any
    activities: list[Example]

    @property
    def url(self) -> str:
        return self.lms_server.url + "/"

    def stop(self) -> None:
        for server in (self.lms_server, self.tool_server):
            server.stop()
        tool = self.tool_app.extensions.get("ce_credit")
        thread = getattr(tool, "outbox_thread", None)
        if thread is not None:
            thread.stop()
            thread.join(timeout=5)
        if tool is not None:
            tool.engine.dispose()  # so a test can drop its database afterwards


def platform_key(instance: Path) -> str:
    """The demo LMS's RSA key, kept in the instance folder so restarts keep the same key id."""
    path = instance / "demo_lms_key.pem"
    if path.exists():
        return path.read_text()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    path.write_text(pem)
    os.chmod(path, 0o600)
    return pem


@dataclass
class Example:
    slug: str
    title: str
    olx: str
    score_maximum: int


def read_examples(directory: Path) -> list[Example]:
    """Every example activity, checked by the engine's OLX reader."""
    from ce_xblock.core import olx

    found = []
    for path in sorted(directory.glob("*.xml")):
        text = path.read_text(encoding="utf-8")
        activity = olx.loads(text, filename=str(path))
        found.append(Example(activity.id, activity.title, text, activity.form_size))
    if not found:
        raise click.ClickException(f"No activities (*.xml) in {directory}; pass --examples with a folder of OLX files.")
    return found


TRY_OUT_SUFFIX = "-no-minimum"


def try_out_copies(examples: list[Example]) -> list[Example]:
    """For each example with a minimum time, a copy without it (slug `<id>-no-minimum`), so that
    someone trying the demo can reach the certificate in one sitting. The originals keep the
    accreditor's rule: a learner who passes their post-test sees the wait, as in a real course.
    A copy already among the examples (a file with that id) is kept as it is."""
    from ce_xblock.core import olx

    have = {ex.slug for ex in examples}
    copies = []
    for ex in examples:
        activity = olx.loads(ex.olx)
        slug = activity.id + TRY_OUT_SUFFIX
        if not activity.min_minutes or slug in have:
            continue
        copy = activity.replace(id=slug, min_minutes=0, title=f"{activity.title} (demo copy: no minimum time)")
        copies.append(Example(slug, copy.title, olx.dumps(copy), ex.score_maximum))
    return copies


def load_library(tool_app: Any, examples: list[Example]) -> None:
    """Put the example activities into the tool's library, the way an instructor's OLX import does.

    Done on every start, so edits to the example files show after a restart.
    """
    from .views.instructor import save_olx

    with tool_app.app_context():
        for example in examples:
            row, problems = save_olx(example.olx)
            if row is None:
                raise click.ClickException(f"The tool refused example {example.slug!r}: " + "; ".join(problems))


def start_demo(
    port: int = 8000,
    instance: str | Path = "instance/demo",
    examples_dir: str | Path = REPO_EXAMPLES,
    tool_config: dict[str, Any] | None = None,
    ssl_context: Any = None,
    lms_port: int | None = None,
) -> Demo:
    """Start the tool on 127.0.0.1:port and the demo LMS on localhost:lms_port (default port+1).

    port 0 picks free ports (for tests). Raises click.ClickException with a fix when a port is taken.
    """
    try:
        from .demo_lms import ServerThread, create_platform_app, lms_of
    except ImportError as exc:  # the demo LMS needs lti1p3platform, which the [lti] extra installs
        raise click.ClickException(
            f"The demo LMS cannot start: {exc}. Install the LTI extra: .venv/bin/pip install -e '.[lti]'"
        ) from exc
    from . import create_app, registry

    instance = Path(instance).absolute()
    instance.mkdir(parents=True, exist_ok=True)
    examples = read_examples(Path(examples_dir))
    examples += try_out_copies(examples)
    scheme = "https" if ssl_context else "http"

    # the embedded default, whatever DATABASE_URL or REDIS_URL the shell happens to export
    embedded = {"DATABASE_URL": f"sqlite:///{instance / 'ce_credit.db'}", "REDIS_URL": ""}
    tool_app = create_app({"INSTANCE_PATH": str(instance), **embedded, **(tool_config or {})})
    lms_app = create_platform_app(
        {"PRIVATE_KEY": platform_key(instance), "STATE_FILE": str(instance / "demo_lms_state.json")}
    )
    tool_server = None
    try:
        tool_server = ServerThread(tool_app, host="127.0.0.1", port=port, ssl_context=ssl_context)
        lms_server = ServerThread(
            lms_app,
            host="localhost",
            port=lms_port if lms_port is not None else (port + 1 if port else 0),
            ssl_context=ssl_context,
        )
    except OSError as exc:
        if tool_server is not None:
            tool_server.server.server_close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"Port {port} or {port + 1} is already in use. Stop whatever uses it, or pick other ports "
                f"with `ce-credit demo --port N` (the demo uses N and N+1)."
            ) from exc
        raise
    tool_url = f"{scheme}://127.0.0.1:{tool_server.port}"
    lms = lms_of(lms_app)
    lms.set_base_url(f"{scheme}://localhost:{lms_server.port}")
    lms.register_tool(client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID, tool_url=tool_url, name="CE Credit")
    registry.add_platform(
        tool_app,
        issuer=lms.issuer,
        client_id=CLIENT_ID,
        auth_login_url=f"{lms.issuer}/auth",
        auth_token_url=f"{lms.issuer}/token",
        keyset_url=f"{lms.issuer}/jwks",
        deployment_ids=[DEPLOYMENT_ID],
        name="Demo LMS",
    )
    load_library(tool_app, examples)
    # One course activity per example, so a learner can launch straight away; Deep link adds more.
    existing = {link.custom.get(ACTIVITY_PARAM) for link in lms.state.links.values()}
    for ex in examples:
        if ex.slug not in existing:
            lms.state.add_link(
                title=ex.title,
                custom={ACTIVITY_PARAM: ex.slug},
                line_item={
                    "label": ex.title,
                    "scoreMaximum": ex.score_maximum,
                    "resourceId": ex.slug,
                    "tag": "ce-credit",
                },
            )
    tool_server.start()
    lms_server.start()
    return Demo(tool_server, lms_server, tool_app, lms_app, examples)


@click.command("demo")
@click.option("--port", default=8000, show_default=True, help="Port of the tool; the demo LMS uses the next one.")
@click.option(
    "--open/--no-open", "open_browser", default=True, show_default=True, help="Open the demo LMS in a web browser."
)
@click.option(
    "--instance",
    default="instance/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the demo's database, keys and gradebook. Delete it to start afresh.",
)
@click.option(
    "--examples",
    "examples_dir",
    default=str(REPO_EXAMPLES),
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder of OLX activities to load into the tool's library.",
)
def demo(port: int, open_browser: bool, instance: str, examples_dir: str) -> None:
    """Try CE Credit in a browser: the LTI tool plus a small local LMS that launches it."""
    import logging

    # one line per HTTP request from two servers drowns the instructions printed below
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    running = start_demo(port=port, instance=instance, examples_dir=examples_dir)
    click.echo(f"CE Credit tool:  {running.tool_server.url}  (LTI 1.3 tool, {len(running.activities)} activities)")
    click.echo(f"Demo LMS:        {running.lms_server.url}  (a pretend Canvas/Moodle course)")
    click.echo("")
    click.echo(f"Open {running.url} in your browser, pick a learner and press 'Launch as learner'.")
    click.echo("Grades the tool sends back appear in the gradebook on that page. Press Ctrl+C to stop.")
    if any(ex.slug.endswith(TRY_OUT_SUFFIX) for ex in running.activities):
        click.echo(
            "The activities marked 'demo copy: no minimum time' reach the certificate in one sitting; "
            "the others keep their accreditor's minimum time, as a real course would."
        )
    if open_browser:
        webbrowser.open(running.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # `kill` stops it as cleanly as Ctrl+C
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nStopping the demo.")
        running.stop()


if __name__ == "__main__":  # `python -m lti_tool.demo` works before the ce-credit script knows the command
    demo()
