"""`ce-credit records` against the LTI tool's database: completions, roster, annual, purge, revoke, correct.

The JSON Lines commands of ce_xblock.cli_certificates stay as they are (`--store FILE`); this module
gives each of them a `--database URL` source (the default when no `--store` is given is the tool's
configured database) and adds `revoke` and `correct`. One `records` group, no duplicate names.
"""

from __future__ import annotations

import copy
import sys
from datetime import UTC, date, datetime
from typing import Any

import click

from ce_xblock import cli_certificates as jsonl
from ce_xblock.core import records as rec_mod

DATABASE_HELP = "The LTI tool's database URL (default: the tool's configured DATABASE_URL) when no --store is given."


def _tool(database: str | None) -> Any:
    from . import create_app  # noqa: PLC0415
    from .app import tool_of  # noqa: PLC0415

    over: dict[str, Any] = {"OUTBOX_THREAD": False}
    if database:
        over["DATABASE_URL"] = database
    return tool_of(create_app(over))


def _exclude(tool: Any, status_log: Any) -> set[str]:
    from . import records_store as rs  # noqa: PLC0415

    with tool.sessions() as s:
        ids = rs.replaced_or_revoked(s)
    if status_log:
        ids |= {e.certificate_id for e in jsonl._log(status_log) or []}
    return ids


def _db_completions(tool: Any, kw: dict[str, Any]) -> None:
    from . import records_store as rs  # noqa: PLC0415

    filters = jsonl._filter_kwargs(kw["activity_id"], kw["start"], kw["end"], None)
    filters["exclude"] = _exclude(tool, kw["status_log"])
    rows = rec_mod.completion_rows(rs.iter_signed(tool.sessions), **filters)
    if kw["output"] is None:
        rec_mod.write_csv(rows, sys.stdout, rec_mod.COMPLETION_COLUMNS)
        return
    with kw["output"].open("w", encoding="utf-8", newline="") as f:
        n = rec_mod.write_csv(rows, f, rec_mod.COMPLETION_COLUMNS)
    click.echo(f"Wrote {n} completion(s) to {kw['output']}.")


def _db_roster(tool: Any, kw: dict[str, Any]) -> None:
    from . import records_store as rs  # noqa: PLC0415

    mapping = {}
    for c in kw["codes"]:
        if "=" not in c:
            raise click.UsageError(f"--profession-code {c!r} must look like 'Social Worker=SW'.")
        k, v = c.split("=", 1)
        mapping[k] = v
    filters = jsonl._filter_kwargs(kw["activity_id"], kw["start"], kw["end"], None)
    filters["exclude"] = _exclude(tool, kw["status_log"])
    report = rec_mod.RosterReport()
    rows = rec_mod.roster_rows(
        rs.iter_signed(tool.sessions),
        provider_tracking=kw["provider_tracking"],
        course_number=kw["course_number"],
        profession_codes=mapping,
        states={s.upper() for s in kw["states"]} or None,
        report=report,
        **filters,
    )
    out = kw["output"]
    if kw["fmt"] == "xlsx":
        rec_mod.write_roster_xlsx(rows, out)
    else:
        with out.open("w", encoding="utf-8", newline="") as f:
            rec_mod.write_roster_csv(rows, f)
    click.echo(f"Wrote {report.written} roster row(s) to {out}; skipped {len(report.skipped)}.")
    for cid, why in report.skipped[:50]:
        click.echo(f"  skipped {cid}: {why}")


def _db_annual(tool: Any, kw: dict[str, Any]) -> None:
    from . import records_store as rs  # noqa: PLC0415

    for line in rec_mod.annual_summary(rs.iter_signed(tool.sessions), exclude=_exclude(tool, kw["status_log"])):
        credits = ", ".join(f"{k} {v}" for k, v in sorted(line.credits.items()))
        click.echo(f"{line.year}  {line.activity_id}  {line.completions} certificate(s)  {credits}")


def _db_purge(tool: Any, kw: dict[str, Any]) -> None:
    from . import records_store as rs  # noqa: PLC0415

    try:
        report = rs.purge(
            tool, before=kw["before"].date(), years=kw["years"], today=date.today(), dry_run=kw["dry_run"]
        )
    except rs.RecordsError as err:
        raise click.ClickException(str(err)) from err
    verb = "Would remove" if report.dry_run else "Removed"
    click.echo(
        f"{verb} {len(report.certificate_ids)} certificate(s), {report.status_entries} status-log entr(y/ies) and "
        f"{report.learner_records} learner record(s) past {report.years}-year retention before {report.before}."
    )
    for cid in report.certificate_ids:
        click.echo(f"  {cid}")


DB_IMPL = {"completions": _db_completions, "roster": _db_roster, "annual": _db_annual, "purge": _db_purge}


def _with_database(old: click.Command, impl: Any) -> click.Command:
    """The JSON Lines command `old` with a --database source: --store FILE keeps the old behaviour."""
    params = []
    for p in old.params:
        p = copy.copy(p)
        if p.name == "store":
            p.required = False
            p.help = "JSON Lines file of signed records (instead of the tool's database)."
        params.append(p)
    params.append(click.Option(["--database"], default=None, help=DATABASE_HELP))

    def callback(database: str | None, **kw: Any) -> None:
        if kw.get("store") is not None:
            if database:
                raise click.UsageError("Give --store FILE or --database URL, not both.")
            return old.callback(**kw)
        return impl(_tool(database), kw)

    return click.Command(
        old.name,
        params=params,
        callback=callback,
        help=(old.help or "") + "\n\nSource: the LTI tool's database (--database URL, default the configured one), "
        "or a JSON Lines file with --store.",
        short_help=old.short_help,
    )


@click.command("revoke")
@click.argument("certificate_id")
@click.option("--reason", required=True, help="Why (shown on the verification page), e.g. 'Issued in error'.")
@click.option("--database", default=None, help=DATABASE_HELP)
def revoke(certificate_id: str, reason: str, database: str | None) -> None:
    """Revoke a certificate issued by the LTI tool. The record stays; the status log keeps the reason."""
    from . import records_store as rs  # noqa: PLC0415

    try:
        event = rs.revoke(_tool(database), certificate_id, reason, now=datetime.now(UTC), actor="cli")
    except rs.RecordsError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Revoked {event.certificate_id}: {event.reason}")


@click.command("correct")
@click.argument("certificate_id")
@click.option("--reason", required=True, help="Why (shown on the verification page), e.g. 'Legal name misspelled'.")
@click.option("--legal-name", default=None, help="The corrected legal name.")
@click.option("--license-number", default=None, help="The corrected licence number.")
@click.option("--license-state", default=None, help="The corrected licence state (e.g. CA).")
@click.option("--profession", default=None, help="The corrected profession.")
@click.option("--database", default=None, help=DATABASE_HELP)
def correct(certificate_id: str, reason: str, database: str | None, **fields: str | None) -> None:
    """Correct a certificate: issue a new one that supersedes it (the old record stays) and print the new id."""
    from . import records_store as rs  # noqa: PLC0415

    changes = {k: v for k, v in fields.items() if v}
    if not changes:
        raise click.UsageError("Say what to correct, e.g. --legal-name 'Zoë Ng'.")
    try:
        new = rs.correct(_tool(database), certificate_id, changes, reason, now=datetime.now(UTC), actor="cli")
    except rs.RecordsError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Issued {new.certificate_id}, which supersedes {new.record.supersedes}: {new.record.supersede_reason}")


def build_group() -> click.Group:
    """The one `records` group: the JSON Lines commands with a database source, plus revoke and correct."""
    group = click.Group(
        "records",
        help="Exports, retention and certificate administration: the LTI tool's database (default) or a JSON "
        "Lines store (--store FILE).",
    )
    for name, cmd in jsonl.records.commands.items():
        group.add_command(_with_database(cmd, DB_IMPL[name]) if name in DB_IMPL else cmd)
    group.add_command(revoke)
    group.add_command(correct)
    return group


def register(main: click.Group) -> None:
    """Replace the JSON Lines-only `records` group with the one that also reads the tool's database."""
    main.add_command(build_group())
