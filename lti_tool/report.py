"""The instructor report for one resource link: the NRPS roster joined with learner states and passback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select

from ce_xblock.core import flow
from ce_xblock.core.locale import N_, text_direction

from .launches import LaunchContext
from .lti.adapter import SCOPE_NRPS, ServiceError, is_instructor_roles
from .outbox import problem_of
from .store import LearnerRecord, OutboxScore

log = logging.getLogger("ce_credit.report")
ROSTER_TTL = 120
PREVIEW_PREFIX = "preview:"  # instructors' own preview state (see views.instructor.preview)


@dataclass
class ReportRow:
    user_sub: str
    name: str
    email: str
    status: str  # "not started" | "in progress" | "passed" | "certificate"
    attempts: int
    best_percent: float | None
    certificate_id: str
    passback: str  # "" | "pending" | "sent" | "failed"
    passback_error: str
    in_roster: bool
    passback_problem: str = ""  # outbox.PROBLEMS key of the last failed send


# Why the report has no roster, in words for the instructor (translated where shown); the keys
# past "no-roster" are the kinds of failed platform calls (outbox.problem_of).
ROSTER_PROBLEMS = {
    "no-roster": N_(
        "The platform did not offer the course roster (Names and Role Provisioning Services). An LMS "
        "administrator can enable it for the tool."
    ),
    "unreachable": N_("The course roster could not be read: the platform could not be reached. Reload the page later."),
    "access": N_(
        "The course roster could not be read: the platform refused the tool access to it. An LMS administrator "
        "should check that the tool's registration allows Names and Role Provisioning Services."
    ),
    "gone": N_("The course roster could not be read: the platform no longer knows this course or registration."),
    "busy": N_("The course roster could not be read: the platform was busy or failing. Reload the page later."),
    "rejected": N_("The course roster could not be read: the platform rejected the request."),
    "unexpected": N_("The course roster could not be read because of an unexpected error."),
}


def roster(tool: Any, lc: LaunchContext) -> tuple[list[dict[str, Any]], str, str]:
    """Learners in the course from Names and Role Provisioning Services: (members, problem,
    detail), the problem a ROSTER_PROBLEMS key ("" when the roster was read) and the detail the
    platform's own answer."""
    if not lc.nrps_url:
        return [], "no-roster", ""
    ck = f"nrps:{lc.registration_id}:{lc.nrps_url}"
    cached = tool.cache.get(ck)
    if cached is not None:
        return cached, "", ""
    platform = tool.platform(lc.registration_id)
    members: list[dict[str, Any]] = []
    url: str | None = lc.nrps_url
    try:
        for _ in range(100):  # bounded: 100 pages is far beyond any course
            if not url:
                break
            page = tool.adapter.service_request(
                platform, [SCOPE_NRPS], url, accept="application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            )
            members.extend(_members_of(page.body, url))
            url = page.next_url
    except ServiceError as err:
        log.warning("roster: %s", err)
        kind = problem_of(err)
        return [], kind if kind in ROSTER_PROBLEMS else "rejected", str(err)[:2000]
    except ValueError as err:  # an answer that is not a membership container
        log.warning("roster: %s", err)
        return [], "unexpected", str(err)[:2000]
    learners = [
        m for m in members if m.get("status", "Active") == "Active" and not is_instructor_roles(m.get("roles", []))
    ]
    tool.cache.set(ck, learners, ROSTER_TTL)
    return learners, "", ""


def _members_of(body: Any, url: str) -> list[dict[str, Any]]:
    """The members of one NRPS page; ValueError, naming what is wrong, for anything else."""
    if body is None:
        return []
    members = body.get("members", []) if isinstance(body, dict) else None
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise ValueError(
            f"GET {url}: the answer is not a membership container (an object whose members is a list of objects)"
        )
    return members


def build(tool: Any, lc: LaunchContext) -> dict[str, Any]:
    members, problem, detail = roster(tool, lc)
    with tool.sessions() as s:
        records = s.scalars(select(LearnerRecord).where(LearnerRecord.resource_link_pk == lc.resource_link_pk)).all()
        outbox = s.scalars(
            select(OutboxScore)
            .where(OutboxScore.resource_link_pk == lc.resource_link_pk, OutboxScore.status != "superseded")
            .order_by(OutboxScore.id)
        ).all()
    last_send = {o.user_sub: o for o in outbox}
    rows: dict[str, ReportRow] = {}
    for m in members:
        sub = str(m.get("user_id", ""))
        name = m.get("name") or " ".join(x for x in (m.get("given_name"), m.get("family_name")) if x)
        rows[sub] = ReportRow(sub, name or sub, m.get("email", ""), "not started", 0, None, "", "", "", True)
    for rec in records:
        if rec.user_sub.startswith(PREVIEW_PREFIX):
            continue
        state = flow.LearnerState.from_dict(rec.state)
        submitted = state.submitted
        best = max((a.score.percent for a in submitted), default=None)
        cert = state.certificate or {}
        cid = cert.get("id") or ""
        status = (
            "certificate"
            if cid
            else "passed"
            if state.passed
            else "in progress"
            if state.attempts or state.started_at
            else "not started"
        )
        row = rows.get(rec.user_sub) or ReportRow(
            rec.user_sub, rec.name or rec.user_sub, rec.email, status, 0, None, "", "", "", False
        )
        row.status, row.attempts, row.best_percent, row.certificate_id = status, len(submitted), best, cid
        row.name = row.name or rec.name
        rows[rec.user_sub] = row
    for sub, o in last_send.items():
        if sub in rows:
            rows[sub].passback, rows[sub].passback_error = o.status, o.last_error
            rows[sub].passback_problem = o.last_problem
    order = {"certificate": 0, "passed": 1, "in progress": 2, "not started": 3}
    ordered = sorted(rows.values(), key=lambda r: (order[r.status], r.name.lower()))
    counts = {k: sum(1 for r in ordered if r.status == k) for k in order}
    return {"rows": ordered, "counts": counts, "roster_problem": problem, "roster_error": detail}


# --- records: statistics, charts and streamed exports ---------------------------------------------
#
# The numbers come from the engine (ce_xblock.core.records) over the stored learner states and the
# signed certificate records; this module only chooses the rows and shapes the output.

EXPORT_KINDS = {
    # kind -> (file name stem, media types by format)
    "completions": ("completions", ("csv",)),
    "attendance": ("attendance", ("csv",)),
    "roster": ("ce-broker-roster", ("xlsx", "csv")),
    "evaluation": ("evaluation-summary", ("csv",)),
    "items": ("item-statistics", ("csv",)),
}


@dataclass
class Analytics:
    """The statistics part of the report for one activity over some links and a date range."""

    stats: list[Any]
    summary: Any
    item_charts: str
    evaluation_charts: str
    scores: int


def analytics(
    tool: Any,
    activity: Any,
    link_pks: list[int],
    start: Any = None,
    end: Any = None,
    gettext: Any = None,
    direction: str | None = None,
) -> Analytics:
    """Item statistics (first attempts) and the evaluation summary, with their accessible charts.

    `gettext` gives the charts' words in the instructor's language (English without one); the
    charts mirror when `direction` (by default the request's language's) is "rtl"."""
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    from . import records_store as rs  # noqa: PLC0415

    counted = [0]

    def scores() -> Any:  # one pass, counted on the way: no list of every learner's attempt
        for sc in rs.first_scores(rs.iter_states(tool.sessions, link_pks), start, end):
            counted[0] += 1
            yield sc

    stats = rec_mod.item_statistics(activity, scores())
    summary = rec_mod.evaluation_summary(activity, rs.evaluations(rs.iter_states(tool.sessions, link_pks), start, end))
    words: dict[str, Any] = {"gettext": gettext} if gettext is not None else {}
    if direction is None and has_request_context():  # the page's own direction (base.html's dir)
        direction = text_direction(g.get("locale"))
    if direction is not None:
        words["direction"] = direction
    item_charts = rec_mod.item_statistics_charts(stats, **words) if stats else ""
    eval_charts = (
        rec_mod.evaluation_chart(summary, **words) + rec_mod.objectives_chart(activity, summary, **words)
        if summary.respondents
        else ""
    )
    return Analytics(stats, summary, item_charts, eval_charts, counted[0])


def completion_csv(records: Any, **filters: Any) -> Any:
    """The completion list (one row per current certificate) as CSV lines."""
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    return rec_mod.csv_lines(rec_mod.completion_rows(records, **filters), rec_mod.COMPLETION_COLUMNS)


def attendance_csv(participations: Any, **filters: Any) -> Any:
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    return rec_mod.csv_lines(rec_mod.attendance_rows(participations, **filters), rec_mod.ATTENDANCE_COLUMNS)


def roster_csv(rows: Any) -> Any:
    """CE Broker roster rows as CSV lines: no header, dates M/D/YYYY (CE Broker's upload)."""
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    def us(v: Any) -> Any:
        return f"{v.month}/{v.day}/{v.year}" if hasattr(v, "month") else v

    return rec_mod.csv_lines([us(v) for v in row] for row in rows)


def roster_xlsx_chunks(rows: Any, chunk: int = 64 * 1024) -> Any:
    """The roster workbook in chunks. openpyxl's write-only mode writes rows to a temporary file on disk as
    it goes, so memory stays flat; the finished file is then streamed and removed."""
    import tempfile  # noqa: PLC0415

    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    with tempfile.TemporaryFile() as f:
        rec_mod.write_roster_xlsx(rows, f)
        f.seek(0)
        while True:
            block = f.read(chunk)
            if not block:
                break
            yield block


EVALUATION_COLUMNS = ("kind", "id", "text", "objective", "responses", "mean", "1", "2", "3", "4", "5")


def evaluation_csv(activity: Any, summary: Any) -> Any:
    """The evaluation summary: one row per Likert item, one per learning objective, one per text item."""
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    def rows() -> Any:
        yield ("respondents", "", "", "", summary.respondents, "", "", "", "", "", "")
        for i in summary.items:
            counts = [i.counts.get(v, 0) for v in range(1, 6)]
            yield ("item", i.item_id, i.prompt, i.objective, i.n, _num(i.mean), *counts)
        for o in activity.objectives:
            n, mean = summary.objectives.get(o.id, (0, None))
            yield ("objective", o.id, o.text, o.id, n, _num(mean), "", "", "", "", "")
        for tid, n in summary.text_responses.items():
            yield ("text", tid, "", "", n, "", "", "", "", "", "")

    return rec_mod.csv_lines(rows(), EVALUATION_COLUMNS)


ITEM_COLUMNS = (
    "question_id",
    "responses",
    "p_value",
    "point_biserial",
    "point_biserial_corrected",
    "omitted",
    "choice_id",
    "correct",
    "times_chosen",
)


def item_statistics_csv(stats: Any) -> Any:
    """Item statistics in long form: one row per question and choice (the distractor analysis)."""
    from ce_xblock.core import records as rec_mod  # noqa: PLC0415

    def rows() -> Any:
        for s in stats:
            head = (s.question_id, s.n, _num(s.p_value), _num(s.point_biserial), _num(s.point_biserial_rest), s.omitted)
            for cid, times in s.choices.items():
                yield (*head, cid, "yes" if cid in s.correct_choices else "no", times)
            if not s.choices:
                yield (*head, "", "", "")

    return rec_mod.csv_lines(rows(), ITEM_COLUMNS)


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"
