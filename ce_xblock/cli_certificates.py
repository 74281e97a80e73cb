"""`ce-credit verify` and `ce-credit records`: offline certificate verification, exports and retention.

The offline store is a JSON Lines file of signed records (one `SignedRecord.to_json()` per line)
and, optionally, a JSON Lines status log (one `StatusEvent.to_dict()` per line). The LTI tool and
the XBlock use the same engine functions on their own storage.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click

from ce_xblock.core import records as rec_mod
from ce_xblock.core import verify as ver
from ce_xblock.core.certificate import (
    CertificateIdError,
    SignedRecord,
    StatusEvent,
    normalize_certificate_id,
)


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as e:
                raise click.ClickException(
                    f"{path}:{n}: not a JSON line ({e}). Each line must be one signed record."
                ) from e


def _keys(paths: tuple[Path, ...]) -> list[bytes]:
    keys = [p.read_bytes() for p in paths]
    env = os.environ.get("CE_CREDIT_PUBLIC_KEY_FILE")
    if not keys and env:
        keys = [Path(env).read_bytes()]
    if not keys:
        raise click.UsageError(
            "Give the provider's public key: --key provider-public.pem (or set CE_CREDIT_PUBLIC_KEY_FILE)."
        )
    return keys


def _log(path: Path | None) -> list[StatusEvent] | None:
    if path is None:
        return None
    return [StatusEvent.from_dict(d) for d in _read_jsonl(path)]


@click.command("verify")
@click.argument("target")
@click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The provider's Ed25519 public key (PEM). Repeat for old and new keys.",
)
@click.option(
    "--records",
    "records_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Lines file of signed records, to look up an id.",
)
@click.option(
    "--status-log",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Lines status log (revocations and corrections).",
)
@click.option(
    "--logo",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The provider's logo, to match a PDF page exactly.",
)
@click.option(
    "--signature-image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signature image used on the PDF.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(target: str, key_files, records_file, status_log, logo, signature_image, as_json: bool) -> None:
    """Check a certificate offline: FILE.pdf, a signed record or credential (.json / .jwt), or an ID.

    Exit status: 0 verified; 1 not verified (bad signature, revoked, superseded, unknown); 2 an ID
    without --records, which cannot be checked offline; 3 the record is authentic but a PDF page
    could not be matched to it.
    """
    keys = _keys(key_files)
    log = _log(status_log)
    path = Path(target)
    if path.is_file():
        options = {}
        if logo:
            options["logo"] = logo.read_bytes()
        if signature_image:
            options["signature_image"] = signature_image.read_bytes()
        if records_file and log is None:
            log = []
        result = ver.verify_file(path, keys, log, **options)
    else:
        try:
            cid = normalize_certificate_id(target)
        except CertificateIdError as e:
            raise click.ClickException(f"{target!r} is neither a file nor a certificate id. {e}") from e
        if records_file is None:
            # A well-formed id proves nothing about the certificate: not verified, so not exit 0.
            click.echo(
                f"{cid} is a well-formed certificate id (its check symbol matches), but it was not verified: "
                "pass --records FILE.jsonl to check its status offline, or open the provider's verification "
                "page for it.",
                err=True,
            )
            sys.exit(2)
        found = None
        for d in _read_jsonl(records_file):
            if d.get("record", {}).get("certificate_id") == cid:
                found = SignedRecord.from_dict(d)
                break
        result = ver.verify_stored(cid, found, keys, log or [])
    if as_json:
        click.echo(json.dumps(ver.as_json(result), ensure_ascii=False, indent=2))
    else:
        click.echo(result.summary())
        if result.record is not None and result.authentic:
            r = result.record
            click.echo(f"  Name: {r.legal_name}")
            click.echo(f"  Activity: {r.activity_title} (version {r.activity_version}), completed {r.completion_date}")
            for a in r.accreditations:
                click.echo(f"  {a.body_name}: {a.credits} {a.credit_type} (provider {a.provider_number or '-'})")
        for note in result.notes:
            click.echo(f"  Note: {note}")
    if not result.ok:
        sys.exit(1)
    if result.kind == "pdf" and not any("matches the signed record exactly" in n for n in result.notes):
        sys.exit(3)


# Sponsors must keep participation records for years (five is the floor in the state rules we read; the default is 7).
MIN_RETENTION_YEARS = 5


@click.group("records")
def records() -> None:
    """Exports and retention of certificate records (JSON Lines store)."""


def _store_option(f):
    return click.option(
        "--store",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON Lines file of signed records.",
    )(f)


def _filters(f):
    f = click.option("--activity", "activity_id", default=None, help="Only this activity id.")(f)
    f = click.option(
        "--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First completion date (YYYY-MM-DD)."
    )(f)
    f = click.option(
        "--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last completion date (YYYY-MM-DD)."
    )(f)
    f = click.option(
        "--status-log",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Leave out revoked and superseded certificates listed here.",
    )(f)
    return f


def _filter_kwargs(activity_id, start, end, status_log) -> dict:
    exclude = {e.certificate_id for e in (_log(status_log) or [])}
    return {
        "activity_id": activity_id,
        "start": start.date() if start else None,
        "end": end.date() if end else None,
        "exclude": exclude,
    }


@records.command("purge")
@_store_option
@click.option(
    "--before",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Remove records whose retention ended before this date.",
)
@click.option(
    "--years",
    default=rec_mod.DEFAULT_RETENTION_YEARS,
    show_default=True,
    type=click.IntRange(min=MIN_RETENTION_YEARS),
    help=f"Retention period in years; at least {MIN_RETENTION_YEARS}, as boards audit CE records that far back.",
)
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
def purge(store: Path, before, years: int, dry_run: bool) -> None:
    """Remove only records past retention (completion date + YEARS < BEFORE) and list what was removed."""
    cutoff = before.date()
    if cutoff > date.today():
        raise click.ClickException(f"--before {cutoff} is in the future. Use today's date or earlier.")
    doomed = {r.certificate_id for r in rec_mod.past_retention(_read_jsonl(store), cutoff, years)}
    kept = 0
    if not dry_run and doomed:
        fd, tmp = tempfile.mkstemp(dir=store.parent, prefix=".purge-", suffix=".jsonl")
        with os.fdopen(fd, "w", encoding="utf-8") as out, store.open(encoding="utf-8") as src:
            for line in src:
                if not line.strip():
                    continue
                if json.loads(line).get("record", {}).get("certificate_id") in doomed:
                    continue
                out.write(line if line.endswith("\n") else line + "\n")
                kept += 1
        os.replace(tmp, store)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(
        f"{verb} {len(doomed)} record(s) past {years}-year retention before {cutoff}"
        + ("" if dry_run else f"; kept {kept}")
        + "."
    )
    for cid in sorted(doomed):
        click.echo(f"  {cid}")


@records.command("roster")
@_store_option
@_filters
@click.option("--provider", "provider_tracking", required=True, help="CE Broker provider tracking number (50-...).")
@click.option("--course", "course_number", required=True, help="CE Broker course number (20-...).")
@click.option("--state", "states", multiple=True, help="Only licences of this state (repeatable).")
@click.option(
    "--profession-code", "codes", multiple=True, help="PROFESSION=CODE, e.g. 'Social Worker=SW' (repeatable)."
)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def roster(
    store, activity_id, start, end, status_log, provider_tracking, course_number, states, codes, fmt, output
) -> None:
    """Write a CE Broker roster upload file (Excel or CSV)."""
    mapping = {}
    for c in codes:
        if "=" not in c:
            raise click.UsageError(f"--profession-code {c!r} must look like 'Social Worker=SW'.")
        k, v = c.split("=", 1)
        mapping[k] = v
    report = rec_mod.RosterReport()
    rows = rec_mod.roster_rows(
        _read_jsonl(store),
        provider_tracking=provider_tracking,
        course_number=course_number,
        profession_codes=mapping,
        states={s.upper() for s in states} or None,
        report=report,
        **_filter_kwargs(activity_id, start, end, status_log),
    )
    if fmt == "xlsx":
        rec_mod.write_roster_xlsx(rows, output)
    else:
        with output.open("w", encoding="utf-8", newline="") as f:
            rec_mod.write_roster_csv(rows, f)
    click.echo(f"Wrote {report.written} roster row(s) to {output}; skipped {len(report.skipped)}.")
    for cid, why in report.skipped[:50]:
        click.echo(f"  skipped {cid}: {why}")


@records.command("completions")
@_store_option
@_filters
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="CSV file (default: stdout)."
)
def completions(store, activity_id, start, end, status_log, output) -> None:
    """Write the completion list (one row per certificate) as CSV."""
    rows = rec_mod.completion_rows(_read_jsonl(store), **_filter_kwargs(activity_id, start, end, status_log))
    if output is None:
        rec_mod.write_csv(rows, sys.stdout, rec_mod.COMPLETION_COLUMNS)
    else:
        with output.open("w", encoding="utf-8", newline="") as f:
            n = rec_mod.write_csv(rows, f, rec_mod.COMPLETION_COLUMNS)
        click.echo(f"Wrote {n} completion(s) to {output}.")


@records.command("annual")
@_store_option
@click.option("--status-log", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
def annual(store, status_log) -> None:
    """Print the annual summary: certificates and credits per year and activity."""
    exclude = {e.certificate_id for e in (_log(status_log) or [])}
    for line in rec_mod.annual_summary(_read_jsonl(store), exclude=exclude):
        credits = ", ".join(f"{k} {v}" for k, v in sorted(line.credits.items()))
        click.echo(f"{line.year}  {line.activity_id}  {line.completions} certificate(s)  {credits}")


def register(main: click.Group) -> None:
    """Called by ce_xblock.cli to add these commands to `ce-credit`."""
    main.add_command(verify)
    main.add_command(records)
