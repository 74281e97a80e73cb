"""The `ce-credit i18n` commands: extract, update, compile and check the translation catalogues."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import i18n


def _project(root: Path | None, languages: tuple[str, ...]) -> i18n.Project:
    return i18n.Project(root=(root or i18n.REPO_ROOT).resolve(), languages=languages or i18n.LANGUAGES)


def _show(report: i18n.Report, root: Path) -> None:
    for path in report.written:
        click.echo(f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}")
    for lang, stats in sorted(report.stats.items()):
        click.echo(f"{lang}: {stats}")
    for problem in report.problems:
        click.echo(problem, err=True)


_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The source checkout (with babel.cfg). Default: the one this package is installed from.",
)
_lang_option = click.option(
    "--lang",
    "languages",
    multiple=True,
    help=f"A language to create or keep (repeatable). Default: {', '.join(i18n.LANGUAGES)} and any in translations/.",
)


@click.group("i18n")
def i18n_group() -> None:
    """Translations: extract strings, update, compile and check the catalogues in translations/."""


def _run(action, root: Path | None, languages: tuple[str, ...] = (), **kwargs) -> i18n.Report:
    project = _project(root, languages)
    try:
        report = action(project, **kwargs)
    except i18n.I18nError as exc:
        raise click.ClickException(str(exc)) from None
    _show(report, project.root)
    return report


@i18n_group.command()
@_root_option
def extract(root: Path | None) -> None:
    """Write translations/en/LC_MESSAGES/text.po from the Python, template and JS sources."""
    _run(i18n.write_template, root)


@i18n_group.command()
@_root_option
@_lang_option
def update(root: Path | None, languages: tuple[str, ...]) -> None:
    """Merge new and changed strings into each language's text.po (changed ones come back fuzzy)."""
    _run(i18n.update, root, languages)


@i18n_group.command("compile")
@_root_option
@_lang_option
def compile_(root: Path | None, languages: tuple[str, ...]) -> None:
    """Write each language's text.mo and static/js/translations/<lang>/text.js."""
    report = _run(i18n.compile_catalogues, root, languages)
    if report.problems:
        sys.exit(1)


@i18n_group.command()
@_root_option
@_lang_option
@click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Accept untranslated and fuzzy strings (still fail when a catalogue is out of date).",
)
def check(root: Path | None, languages: tuple[str, ...], allow_incomplete: bool) -> None:
    """Fail when a catalogue is out of date with the sources, incomplete, or not compiled."""
    report = _run(i18n.check, root, languages, require_complete=not allow_incomplete)
    if report.problems:
        click.echo(
            f"{len(report.problems)} translation problem(s). Run `make translations`, translate, and commit.",
            err=True,
        )
        sys.exit(1)
    click.echo("Translations are up to date.")


def register(main: click.Group) -> None:
    """Add `ce-credit i18n` to the main command."""
    main.add_command(i18n_group)
