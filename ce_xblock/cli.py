"""The `ce-credit` command: validate and create activities; the LTI tool and records add their own commands."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click

from .core import olx
from .core.activity import (
    Accreditation,
    Accreditor,
    Activity,
    Choice,
    CreditType,
    Disclosures,
    Evaluation,
    EvaluationItem,
    EvaluationItemType,
    Instructor,
    LearnerDetail,
    LearningObjective,
    Level,
    PostTestPolicy,
    Question,
    QuestionType,
    Sponsor,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ce-credit")
def main() -> None:
    """CE Credit: continuing-education post-tests, evaluations and certificates."""


def summary(activity: Activity) -> str:
    bodies = ", ".join(f"{a.body_name or a.body.value.upper()} {a.credits}" for a in activity.accreditations)
    return (
        f'"{activity.title}" v{activity.version}: {bodies} credits; {len(activity.questions)} questions, '
        f"form of {activity.form_size}, pass mark {activity.policy.pass_mark}%"
    )


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check <ce_credit> OLX FILES; print FILE:LINE: problem for each problem found."""
    failed = False
    for path in files:
        try:
            activity = olx.load(path)
        except FileNotFoundError:
            click.echo(f"{path}:0: No such file.", err=False)
            failed = True
        except OSError as exc:
            click.echo(f"{path}:0: Cannot read the file: {exc.strerror}.")
            failed = True
        except olx.OLXError as exc:
            for problem in exc.problems:
                click.echo(str(problem))
            failed = True
        else:
            click.echo(f"{path}: OK {summary(activity)}")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), default="activity.xml")
@click.option("--id", "activity_id", default="my-activity", show_default=True, help="The activity id.")
@click.option("--title", default="My CE Activity", show_default=True, help="The activity title.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def new(file: Path, activity_id: str, title: str, force: bool) -> None:
    """Write a starter activity to FILE (default activity.xml) to edit and validate."""
    if file.exists() and not force:
        raise click.ClickException(f"{file} already exists. Choose another name or pass --force to overwrite it.")
    activity = starter_activity(activity_id, title, today=date.today())
    problems = olx.validate(activity)
    if problems:  # the starter must always be valid; this guards the template itself
        raise click.ClickException("The starter activity is invalid: " + "; ".join(map(str, problems)))
    olx.dump(activity, file)
    click.echo(f"Wrote {file}. Edit it, then run: ce-credit validate {file}")


@main.command()
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/workbench-home"),
    show_default=True,
    help="Working directory: the workbench keeps var/workbench.db and var/workbench.log here.",
)
def workbench(port: int, home: Path) -> None:
    """Run the XBlock SDK workbench with the ce_credit scenarios (needs ce-credit[dev])."""
    import os
    import shutil
    import subprocess

    try:
        import workbench as _workbench  # noqa: F401  (xblock-sdk)
    except ModuleNotFoundError:
        raise click.ClickException(
            "The workbench comes with xblock-sdk. Install it with: pip install 'ce-credit[dev]'"
        ) from None
    django_admin = shutil.which("django-admin", path=str(Path(sys.executable).parent)) or "django-admin"
    (home / "var").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, EXCLUDE_SAMPLE_XBLOCKS="yes")
    settings = "--settings=workbench.settings"
    subprocess.run([django_admin, "migrate", "--run-syncdb", settings, "-v", "0"], cwd=home, env=env, check=True)
    click.echo(f"Workbench: http://127.0.0.1:{port}/  (pick a 'CE Credit' scenario; ?student=NAME picks the learner)")
    result = subprocess.run([django_admin, "runserver", f"127.0.0.1:{port}", "--noreload", settings], cwd=home, env=env)
    sys.exit(result.returncode)


def starter_activity(activity_id: str, title: str, today: date) -> Activity:
    """A small, valid activity with every part filled in, for authors to edit."""
    objectives = (
        LearningObjective("lo1", "Describe the first key concept of this activity."),
        LearningObjective("lo2", "Apply the second key concept to a case."),
    )
    questions = (
        Question(
            id="q1",
            objective="lo1",
            prompt="<p>Replace this with your first question.</p>",
            choices=(
                Choice("a", "The correct answer", correct=True),
                Choice("b", "A plausible wrong answer", feedback="Explain why this is wrong."),
                Choice("c", "Another wrong answer"),
                Choice("d", "A third wrong answer"),
            ),
            explanation="Explain why the correct answer is right.",
        ),
        Question(
            id="q2",
            objective="lo2",
            type=QuestionType.MULTIPLE,
            prompt="<p>Replace this with a question that has two right answers. Select all that apply.</p>",
            choices=(
                Choice("a", "A right answer", correct=True),
                Choice("b", "Another right answer", correct=True),
                Choice("c", "A wrong answer"),
                Choice("d", "Another wrong answer"),
            ),
            explanation="Explain the right answers.",
        ),
    )
    return Activity(
        id=activity_id,
        title=title,
        version="1",
        description="<p>Describe the activity: what it covers and how it is delivered.</p>",
        level=Level.INTRODUCTORY,
        audience="Psychologists, social workers and counsellors",
        duration_minutes=60,
        min_minutes=60,
        objectives=objectives,
        instructors=(Instructor("Instructor Name", "PhD", "<p>A short biography.</p>"),),
        disclosures=Disclosures(
            commercial_support="<p>This activity received no commercial support.</p>",
            conflicts_of_interest="<p>The instructor has no relevant financial relationships to disclose.</p>",
            accommodations_contact="<p>For accommodations, contact the CE office.</p>",
            refund_policy="<p>Describe your refund and cancellation policy.</p>",
        ),
        references=("Author, A. (2024). <em>Title of a source</em>. Publisher.",),
        sponsor=Sponsor("Your CE Organization", "Signatory Name", "Director of Continuing Education"),
        accreditations=(
            Accreditation(
                body=Accreditor.APA,
                provider_number="0000",
                credits=Decimal("1"),
                credit_type=CreditType.GENERAL,
                approval_start=today.replace(month=1, day=1),
                approval_end=today.replace(year=today.year + 1, month=12, day=31),
                required_details=(LearnerDetail.LEGAL_NAME,),
            ),
        ),
        questions=questions,
        policy=PostTestPolicy(form_size=None, pass_mark=75, max_attempts=3),
        evaluation=Evaluation(
            items=(
                EvaluationItem("relevance", "The content was relevant to my practice."),
                EvaluationItem("comments", "Comments or suggestions", type=EvaluationItemType.TEXT, required=False),
            )
        ),
        attestation="<p>I attest that I completed this activity in full, myself.</p>",
    )


def _register_optional_commands() -> None:
    """Add the commands of parts whose dependencies may not be installed (the LTI tool needs `[lti]`)."""
    for module_name in ("ce_xblock.cli_certificates", "ce_xblock.cli_i18n", "lti_tool.cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
                continue  # that part is not there
            _missing.append((module_name, exc.name or str(exc)))
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(main)


_missing: list[tuple[str, str]] = []
_register_optional_commands()
