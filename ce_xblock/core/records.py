"""Records and reports for CE administrators: completion lists, CE Broker rosters, evaluation summaries,
post-test item statistics, annual summaries, retention, and accessible SVG bar charts.

Everything takes iterables and streams: rows are generated one at a time, statistics are running
sums, and files are written row by row (openpyxl's write-only mode for Excel), so an export of
100,000 records stays flat in memory. Inputs are plain values the homes already store: signed
certificate records (`SignedRecord`, `CertificateRecord` or their dicts), `Participation` rows,
evaluation responses as mappings, and post-test `Score`s (anything with `.items` and `.points`).
"""

from __future__ import annotations

import csv
import html
import io
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from ce_xblock.core.activity import Activity, EvaluationItemType
from ce_xblock.core.certificate import CertificateRecord, SignedRecord
from ce_xblock.core.locale import localize

DEFAULT_RETENTION_YEARS = 7

RecordLike = SignedRecord | CertificateRecord | Mapping[str, Any]


def as_record(r: RecordLike) -> CertificateRecord:
    """A CertificateRecord from a record, a signed record, or either's dict form."""
    if isinstance(r, CertificateRecord):
        return r
    if isinstance(r, SignedRecord):
        return r.record
    if "record" in r:
        return CertificateRecord.from_dict(r["record"])
    return CertificateRecord.from_dict(r)


def in_range(d: date, start: date | None, end: date | None) -> bool:
    """Both ends inclusive; None is open."""
    return (start is None or d >= start) and (end is None or d <= end)


def select(
    records: Iterable[RecordLike],
    *,
    activity_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    exclude: Container[str] = (),
) -> Iterator[CertificateRecord]:
    """Certificate records of one activity (or all) completed in [start, end], minus excluded ids
    (pass the revoked and superseded ids so they are not reported)."""
    for r in records:
        rec = as_record(r)
        if activity_id is not None and rec.activity_id != activity_id:
            continue
        if not in_range(rec.completion_date, start, end) or rec.certificate_id in exclude:
            continue
        yield rec


# ---------------------------------------------------------------------------------------------
# Attendance and completion list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Participation:
    """One learner's progress in one activity, as a home stores it."""

    activity_id: str
    learner_id: str
    learner_name: str
    started_at: datetime
    completed_at: datetime | None = None  # certificate issued
    passed: bool | None = None  # None: no post-test submitted
    attempts: int = 0
    evaluation_submitted: bool = False
    certificate_id: str = ""
    credits: str = ""  # e.g. "APA 2; NBCC 2"


ATTENDANCE_COLUMNS = (
    "activity_id",
    "learner_id",
    "learner_name",
    "started",
    "post_test",
    "attempts",
    "evaluation",
    "completed",
    "certificate_id",
    "credits",
)


def attendance_rows(
    participations: Iterable[Participation],
    *,
    activity_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Iterator[tuple[str, ...]]:
    """The attendance and completion list: everyone who started in [start, end], completed or not."""
    for p in participations:
        if activity_id is not None and p.activity_id != activity_id:
            continue
        if not in_range(p.started_at.date(), start, end):
            continue
        yield (
            p.activity_id,
            p.learner_id,
            p.learner_name,
            p.started_at.isoformat(timespec="minutes"),
            {None: "not taken", True: "passed", False: "not passed"}[p.passed],
            str(p.attempts),
            "submitted" if p.evaluation_submitted else "not submitted",
            p.completed_at.isoformat(timespec="minutes") if p.completed_at else "",
            p.certificate_id,
            p.credits,
        )


def participation_of(state: Any, *, activity_id: str, learner_id: str, learner_name: str = "") -> Participation | None:
    """One learner's attendance line from their flow.LearnerState (None if they have not started).

    The name is the legal name they confirmed for the certificate, else the one the home knows.
    """
    if state.started_at is None and not state.attempts:
        return None
    started = state.started_at or state.attempts[0].started_at
    c = state.certificate or {}
    accs = ((c.get("signed") or {}).get("record") or {}).get("accreditations") or []
    issued = c.get("issued_at")
    return Participation(
        activity_id=activity_id,
        learner_id=learner_id,
        learner_name=(state.details or {}).get("legal_name") or learner_name,
        started_at=as_aware(started),
        completed_at=as_aware(datetime.fromisoformat(issued.replace("Z", "+00:00"))) if issued else None,
        passed=state.passed if state.submitted else None,
        attempts=len(state.submitted),
        evaluation_submitted=state.evaluation_submitted_at is not None,
        certificate_id=c.get("id", ""),
        credits="; ".join(f"{a.get('body_name', '')} {a.get('credits', '')}" for a in accs),
    )


def as_aware(d: datetime) -> datetime:
    """A stored time without a zone is UTC."""
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def participation_to_dict(p: Participation) -> dict[str, Any]:
    """JSON-safe, for a home that keeps the attendance list itself (the XBlock)."""
    d = {f: getattr(p, f) for f in Participation.__dataclass_fields__}
    d["started_at"] = p.started_at.isoformat()
    d["completed_at"] = p.completed_at.isoformat() if p.completed_at else None
    return d


def participation_from_dict(d: Mapping[str, Any]) -> Participation:
    return Participation(
        **{
            **d,
            "started_at": datetime.fromisoformat(d["started_at"]),
            "completed_at": datetime.fromisoformat(d["completed_at"]) if d.get("completed_at") else None,
        }
    )


COMPLETION_COLUMNS = (
    "certificate_id",
    "completion_date",
    "legal_name",
    "license_number",
    "license_state",
    "profession",
    "activity_id",
    "activity_title",
    "activity_version",
    "credits",
    "issued_at",
    "supersedes",
)


def completion_rows(records: Iterable[RecordLike], **filters: Any) -> Iterator[tuple[str, ...]]:
    """One row per certificate: what a board audit asks for."""
    for rec in select(records, **filters):
        yield (
            rec.certificate_id,
            rec.completion_date.isoformat(),
            rec.legal_name,
            rec.license_number,
            rec.license_state,
            rec.profession,
            rec.activity_id,
            rec.activity_title,
            rec.activity_version,
            "; ".join(f"{a.body_name} {a.credits} {a.credit_type}" for a in rec.accreditations),
            rec.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            rec.supersedes,
        )


def write_csv(rows: Iterable[Sequence[Any]], out: IO[str], header: Sequence[str] | None = None) -> int:
    """Write rows to a text stream as CSV (spreadsheet formulas neutralised); return the row count."""
    w = csv.writer(out, lineterminator="\r\n")
    if header:
        w.writerow(header)
    n = 0
    for row in rows:
        w.writerow([_cell_text(v) for v in row])
        n += 1
    return n


def csv_lines(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> Iterator[str]:
    """CSV as a generator of lines, for a streaming HTTP response."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if header:
        w.writerow(header)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    for row in rows:
        w.writerow([_cell_text(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _cell_text(v: Any) -> Any:
    # A learner-typed name like "=HYPERLINK(...)" must not become a formula in Excel (CSV injection).
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") and not _looks_numeric(v):
        return "'" + v
    return v


def _looks_numeric(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# CE Broker roster
# ---------------------------------------------------------------------------------------------

# CE Broker's Excel upload (full credit): A provider tracking # (without "50-"), B course # (without
# "20-"), C own course id, D publishing #, E licence #, F completion date, G "State=XX",
# H "Profession=CODE". The file has no header row.
ROSTER_COLUMNS = (
    "Provider tracking #",
    "Course #",
    "Course ID",
    "Publishing #",
    "License #",
    "Date completed",
    "State",
    "Profession",
)


@dataclass
class RosterReport:
    """What a roster export wrote and what it left out (and why)."""

    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (certificate id, reason)


def _strip_prefix(value: str, prefix: str) -> str:
    value = value.strip()
    return value[len(prefix) :] if value.startswith(prefix) else value


def roster_rows(
    records: Iterable[RecordLike],
    *,
    provider_tracking: str,
    course_number: str,
    profession_codes: Mapping[str, str] | None = None,
    states: Container[str] | None = None,
    report: RosterReport | None = None,
    **filters: Any,
) -> Iterator[tuple[Any, ...]]:
    """CE Broker roster rows (completion date as a `date`) for certificates with a licence number.

    `profession_codes` maps the profession a learner typed (case-insensitive) to CE Broker's code;
    without a mapping the profession is used as typed. `states` keeps only those licence states.
    """
    provider = _strip_prefix(provider_tracking, "50-")
    course = _strip_prefix(course_number, "20-")
    codes = {k.strip().lower(): v for k, v in (profession_codes or {}).items()}
    report = report if report is not None else RosterReport()
    for rec in select(records, **filters):
        if not rec.license_number:
            report.skipped.append((rec.certificate_id, "no licence number"))
            continue
        state = rec.license_state.strip().upper()
        if states is not None and state not in states:
            report.skipped.append((rec.certificate_id, f"licence state {state or '(none)'} not in this roster"))
            continue
        profession = codes.get(rec.profession.strip().lower(), rec.profession.strip())
        report.written += 1
        yield (
            provider,
            course,
            "",
            "",
            rec.license_number,
            rec.completion_date,
            f"State={state}",
            f"Profession={profession}",
        )


def write_roster_csv(rows: Iterable[Sequence[Any]], out: IO[str]) -> int:
    """The roster as CSV; dates as M/D/YYYY, no header row (as CE Broker's upload expects)."""
    return write_csv(([_us(v) for v in row] for row in rows), out)


def _us(v: Any) -> Any:
    return f"{v.month}/{v.day}/{v.year}" if isinstance(v, date) else v


def write_roster_xlsx(rows: Iterable[Sequence[Any]], out: Any) -> int:
    """The roster as an Excel workbook (path or binary file), streamed with openpyxl's write-only mode.

    Column F holds real Excel dates (format m/d/yyyy); tracking and licence numbers are written as
    text, so leading zeros survive. Only the date cell carries a style: plain values keep the
    write-only path fast.
    """
    from openpyxl import Workbook  # noqa: PLC0415 - only the Excel export needs it
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Roster")
    n = 0
    for row in rows:
        cells: list[Any] = []
        for v in row:
            if isinstance(v, date):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = "m/d/yyyy"
                cells.append(cell)
            else:
                cells.append(None if v == "" else str(v))
        ws.append(cells)
        n += 1
    wb.save(out)
    return n


# ---------------------------------------------------------------------------------------------
# Evaluation summary
# ---------------------------------------------------------------------------------------------


@dataclass
class ItemMean:
    item_id: str
    prompt: str
    objective: str
    n: int
    mean: float | None
    counts: dict[int, int]  # Likert value -> responses


@dataclass
class EvaluationSummary:
    respondents: int
    items: list[ItemMean]
    objectives: dict[str, tuple[int, float | None]]  # objective id -> (responses, mean)
    text_responses: dict[str, int]  # text item id -> non-empty answers


def evaluation_summary(activity: Activity, evaluations: Iterable[Mapping[str, Any]]) -> EvaluationSummary:
    """Mean of each Likert item (1-5) and of each learning objective (all Likert items that name it).

    Each evaluation maps item ids to answers; missing or out-of-scale answers are not counted.
    """
    items = activity.evaluation_items()
    likert = [i for i in items if i.type is EvaluationItemType.LIKERT]
    counts = {i.id: defaultdict(int) for i in likert}
    text = {i.id: 0 for i in items if i.type is EvaluationItemType.TEXT}
    respondents = 0
    for ev in evaluations:
        respondents += 1
        for i in likert:
            v = ev.get(i.id)
            try:
                v = int(v)
            except (TypeError, ValueError):
                continue
            if 1 <= v <= 5:
                counts[i.id][v] += 1
        for tid in text:
            if str(ev.get(tid) or "").strip():
                text[tid] += 1
    out_items = []
    obj_sum: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for i in likert:
        c = counts[i.id]
        n = sum(c.values())
        total = sum(k * v for k, v in c.items())
        out_items.append(ItemMean(i.id, i.prompt, i.objective, n, total / n if n else None, dict(sorted(c.items()))))
        if i.objective:
            obj_sum[i.objective][0] += n
            obj_sum[i.objective][1] += total
    objectives = {
        o.id: (int(obj_sum[o.id][0]), obj_sum[o.id][1] / obj_sum[o.id][0] if obj_sum[o.id][0] else None)
        for o in activity.objectives
    }
    return EvaluationSummary(respondents, out_items, objectives, text)


# ---------------------------------------------------------------------------------------------
# Post-test item statistics
# ---------------------------------------------------------------------------------------------


@dataclass
class ItemStatistics:
    question_id: str
    n: int  # attempts in which the item appeared
    p_value: float | None  # difficulty: share answering it fully correctly
    point_biserial: float | None  # item (0/1) against the attempt's total points
    point_biserial_rest: float | None  # item against total minus this item (corrected)
    choices: dict[str, int]  # choice id -> times chosen, in the bank's order
    correct_choices: tuple[str, ...]
    omitted: int  # appeared with nothing selected


class _Acc:
    __slots__ = ("n", "sx", "sy", "syy", "sxy", "sr", "srr", "sxr", "choices", "omitted")

    def __init__(self) -> None:
        self.n = 0
        self.sx = self.sy = self.syy = self.sxy = self.sr = self.srr = self.sxr = 0.0
        self.choices: dict[str, int] = defaultdict(int)
        self.omitted = 0


def _pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    if n < 2 or vx <= 0 or vy <= 0:
        return None  # everyone right (or wrong), or all totals equal: undefined
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


def item_statistics(activity: Activity | None, scores: Iterable[Any]) -> list[ItemStatistics]:
    """Difficulty, discrimination and distractor counts per question, in one pass over the scores.

    Each score is an `attempts.Score` (or anything with `.items` of `(question_id, selected,
    correct, points)` and `.points`). Pass first attempts only for the classical statistics.
    The point-biserial is Pearson's r between the 0/1 item score and the total points; the
    corrected one uses the total without this item.
    """
    acc: dict[str, _Acc] = {}
    for s in scores:
        total = float(s.points)
        for it in s.items:
            a = acc.get(it.question_id)
            if a is None:
                a = acc[it.question_id] = _Acc()
            x = 1.0 if it.correct else 0.0
            rest = total - float(it.points)
            a.n += 1
            a.sx += x
            a.sy += total
            a.syy += total * total
            a.sxy += x * total
            a.sr += rest
            a.srr += rest * rest
            a.sxr += x * rest
            if not it.selected:
                a.omitted += 1
            for c in it.selected:
                a.choices[c] += 1
    order = [q.id for q in activity.questions] if activity is not None else []
    order += sorted(set(acc) - set(order))
    out = []
    for qid in order:
        a = acc.get(qid)
        if a is None:
            continue
        choice_ids: list[str] = []
        correct: tuple[str, ...] = ()
        if activity is not None:
            try:
                q = activity.question(qid)
                choice_ids = [c.id for c in q.choices]
                correct = tuple(c.id for c in q.choices if c.correct)
            except KeyError:
                pass
        choice_ids += sorted(set(a.choices) - set(choice_ids))
        out.append(
            ItemStatistics(
                question_id=qid,
                n=a.n,
                p_value=a.sx / a.n if a.n else None,
                point_biserial=_pearson(a.n, a.sx, a.sy, a.sx, a.syy, a.sxy),  # x*x == x for 0/1
                point_biserial_rest=_pearson(a.n, a.sx, a.sr, a.sx, a.srr, a.sxr),
                choices={c: a.choices.get(c, 0) for c in choice_ids},
                correct_choices=correct,
                omitted=a.omitted,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Annual summary
# ---------------------------------------------------------------------------------------------


@dataclass
class AnnualLine:
    year: int
    activity_id: str
    activity_title: str
    completions: int
    credits: dict[str, Decimal]  # accreditor body name -> credits awarded in total


def annual_summary(
    records: Iterable[RecordLike],
    *,
    exclude: Container[str] = (),
    start: date | None = None,
    end: date | None = None,
) -> list[AnnualLine]:
    """Per calendar year and activity: certificates issued and credits awarded per accreditor."""
    lines: dict[tuple[int, str], AnnualLine] = {}
    for rec in select(records, exclude=exclude, start=start, end=end):
        k = (rec.completion_date.year, rec.activity_id)
        line = lines.get(k)
        if line is None:
            line = lines[k] = AnnualLine(k[0], rec.activity_id, rec.activity_title, 0, defaultdict(Decimal))
        line.completions += 1
        for a in rec.accreditations:
            line.credits[a.body_name] += a.credits
    return [lines[k] for k in sorted(lines)]


ANNUAL_COLUMNS = ("year", "activity_id", "activity_title", "certificates", "credits")


def annual_rows(records: Iterable[RecordLike], **filters: Any) -> Iterator[tuple[str, ...]]:
    """The annual summary as CSV rows; credits as "APA 8; NBCC 8" (accreditors in name order)."""
    for line in annual_summary(records, **filters):
        credits = "; ".join(f"{body} {amount}" for body, amount in sorted(line.credits.items()))
        yield (str(line.year), line.activity_id, line.activity_title, str(line.completions), credits)


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------


def retention_ends(rec: CertificateRecord, years: int = DEFAULT_RETENTION_YEARS) -> date:
    """The day after which a record may be removed: its completion date plus `years` (29 Feb -> 28 Feb)."""
    d = rec.completion_date
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def past_retention(
    records: Iterable[RecordLike], before: date, years: int = DEFAULT_RETENTION_YEARS
) -> Iterator[CertificateRecord]:
    """Records whose retention period ended before `before`: only these may be purged.

    The caller must not pass a `before` later than today (the CLI refuses one).
    """
    if years < 0:
        raise ValueError(f"The retention period must be 0 or more years, not {years}.")
    for r in records:
        rec = as_record(r)
        if retention_ends(rec, years) < before:
            yield rec


# ---------------------------------------------------------------------------------------------
# Accessible SVG bar chart
# ---------------------------------------------------------------------------------------------


def _untranslated(message: str) -> str:
    return message


# Advance widths in em of DejaVu Sans (the widest common sans-serif fallback, Debian's default), by
# kind of character, rounded up: `_text_width` is meant to overestimate a label in the fonts browsers
# pick for "sans-serif", so a label measured to fit its column fits it (the browser tests check it).
_NARROW_EM = dict.fromkeys(" ijlI.,:;'!|`", 0.32) | dict.fromkeys('frt()[]{}-/\\"', 0.42)
_WIDE_EM = dict.fromkeys("mwMW@%", 1.0)


def _text_width(text: str, size: float) -> float:
    """A safe (slightly generous) estimate of `text`'s drawn width in px at font size `size`."""
    em = 0.0
    for ch in text:
        if ch in _NARROW_EM:
            em += _NARROW_EM[ch]
        elif ch in _WIDE_EM:
            em += _WIDE_EM[ch]
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            em += 1.0
        elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Cf"):
            continue
        elif ch.isupper():
            em += 0.78
        else:
            em += 0.64
    return em * size


def _direction_of(text: str, default: str) -> str:
    """The direction of the first strong character, as HTML's dir="auto" (`default` without one)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return default


def _fit(text: str, room: float, size: float) -> str:
    """`text` cut to fit `room` px, ending in "…" when cut."""
    if _text_width(text, size) <= room:
        return text
    while text and _text_width(text.rstrip() + "…", size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap_label(text: str, room: float, size: float = 12, max_lines: int = 3) -> list[str]:
    """`text` broken at spaces into at most `max_lines` lines of at most `room` px each; a word too
    long for a line is broken inside, and what does not fit in the last line ends in "…"."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while _text_width(line, size) > room and len(lines) < max_lines - 1:  # one long word
            cut = max(len(_fit(line, room, size)) - 1, 1)  # the characters before the "…"
            lines.append(line[:cut])
            line = line[cut:]
        while words and _text_width(f"{line} {words[0]}", size) <= room:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words or (lines and _text_width(lines[-1], size) > room):
        lines[-1] = _fit(" ".join([lines[-1], *words]), room, size)
    return lines or [""]


def svg_bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    description: str = "",
    max_value: float | None = None,
    value_format: Callable[[float], str] = lambda v: f"{v:.2f}",
    unit: str = "",
    width: int = 720,
    bar_height: int = 22,
    chart_id: str = "chart",
    gettext: Callable[[str], str] = _untranslated,
    direction: str = "ltr",
) -> str:
    """A horizontal bar chart as an SVG string (role="img", <title>, <desc>), followed by a
    visually-hidden-ready HTML table of the same data for screen readers and for copying.

    `title` and `unit` are shown as given (translate them first); `gettext` translates the chart's
    own words ("no data", the table's headings, the generated description) for the viewer.
    `direction` is the page's: "rtl" mirrors the chart (labels on the right, bars growing to the
    left). Labels wrap onto up to three lines in a column as wide as the longest needs (up to 38 %
    of `width`); a label longer still is cut with "…" and keeps its full text in a <title> (and in
    the description and the table). Nothing is drawn outside the viewBox.
    Everything is escaped; no scripts, no external resources. Embed it in a report page as is.
    """
    e = html.escape
    rtl = direction == "rtl"
    size, line_h, pad = 12, 14, 6
    no_data = gettext("no data")
    vals = [v for v in values if v is not None]
    top = max_value if max_value is not None else (max(vals) if vals else 1.0)
    top = top or 1.0
    widest = max((_text_width(lab, size) for lab in labels), default=0.0)
    label_w = round(min(width * 0.38, max(widest, 40) + 2 * pad))  # 273 px of 720: whole on a 320 px screen
    plot_w = width - label_w - 70
    wrapped = [wrap_label(lab, label_w - 2 * pad, size) for lab in labels]
    rows_h = [max(bar_height, len(lines) * line_h + 8) for lines in wrapped]
    height = 30 + sum(rows_h) + 10

    def x_at(x: float) -> float:  # a distance from the start side of the chart, as an x coordinate
        return width - x if rtl else x

    def anchor(text: str, toward_axis: bool) -> str:
        """`direction` and `text-anchor` that put the edge of `text` nearest the axis (or, for a value
        beyond its bar, farthest from it) at the x given, whatever the text's own direction."""
        own = _direction_of(text, direction)
        ends_at_x = toward_axis != rtl  # the text's right edge is at x
        start = (own == "rtl") == ends_at_x
        return f'direction="{own}" text-anchor="{"start" if start else "end"}"'

    desc = description or (
        # Translators: the description of a bar chart for screen readers: its title, then each
        # bar as "label value unit", separated by semicolons.
        gettext("%(title)s: %(bars)s")
        % {
            "title": title,
            "bars": "; ".join(
                f"{lab} {value_format(v) + (' ' + unit if unit else '') if v is not None else no_data}"
                for lab, v in zip(labels, values, strict=True)
            ),
        }
    )
    font = f'font-size="{size}" font-family="sans-serif"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" direction="{"rtl" if rtl else "ltr"}" '
        f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc">',
        f'<title id="{e(chart_id)}-title">{e(title)}</title>',
        f'<desc id="{e(chart_id)}-desc">{e(desc)}</desc>',
        f'<line class="ce-chart-axis" x1="{x_at(label_w)}" y1="24" x2="{x_at(label_w)}" y2="{height - 8}" '
        'stroke="#57606a"/>',
    ]
    y = 28
    for lab, lines, row_h, v in zip(labels, wrapped, rows_h, values, strict=True):
        mid = y + row_h / 2
        baseline = mid + 4  # the middle of a 12 px line of text
        first = baseline - (len(lines) - 1) * line_h / 2
        lx = x_at(label_w - pad)
        full = " ".join(lab.split())
        tip = f"<title>{e(lab)}</title>" if " ".join(lines) != full else ""
        if len(lines) == 1:
            body = e(lines[0])
        else:
            body = "".join(
                f'<tspan x="{lx:.1f}" y="{first + n * line_h:.1f}">{e(line)}</tspan>' for n, line in enumerate(lines)
            )
        parts.append(
            f'<text class="ce-chart-label" x="{lx:.1f}" y="{first:.1f}" {anchor(lab, True)} {font} '
            f'fill="#1b2940">{tip}{body}</text>'
        )
        if v is None:
            parts.append(
                f'<text x="{x_at(label_w + pad):.1f}" y="{baseline:.1f}" {anchor(no_data, False)} {font} '
                f'fill="#57606a">{e(no_data)}</text>'
            )
        else:
            w = max(0.0, min(1.0, v / top)) * plot_w
            bar_x = width - label_w - w if rtl else label_w
            shown = value_format(v)
            parts.append(
                f'<rect x="{bar_x:.1f}" y="{mid - (bar_height - 6) / 2:.1f}" width="{w:.1f}" '
                f'height="{bar_height - 6}" fill="#1f4d85"/>'
            )
            parts.append(
                f'<text x="{x_at(label_w + w + pad):.1f}" y="{baseline:.1f}" {anchor(shown, False)} {font} '
                f'fill="#1b2940">{e(shown)}</text>'
            )
        y += row_h
    parts.append("</svg>")
    rows = "".join(
        f'<tr><th scope="row">{e(lab)}</th><td>{e(value_format(v)) if v is not None else e(no_data)}</td></tr>'
        for lab, v in zip(labels, values, strict=True)
    )
    table = (
        f'<table class="ce-chart-data" id="{e(chart_id)}-data"><caption>{e(title)}</caption>'
        f'<thead><tr><th scope="col">{e(gettext("Item"))}</th>'
        f'<th scope="col">{e(unit or gettext("Value"))}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return f'<figure class="ce-chart">{"".join(parts)}{table}</figure>'


def item_statistics_charts(
    stats: Sequence[ItemStatistics],
    *,
    id_prefix: str = "",
    gettext: Callable[[str], str] = _untranslated,
    direction: str = "ltr",
) -> str:
    """Difficulty and discrimination charts for the instructor and staff report.

    `id_prefix` keeps element ids unique when several reports share a page (one per block);
    `gettext` gives the charts' words in the viewer's language (English without one), and
    `direction` is that language's ("rtl" mirrors the charts)."""
    _ = gettext
    labels = [s.question_id for s in stats]
    return svg_bar_chart(
        _("Post-test item difficulty (share correct)"),
        labels,
        [s.p_value for s in stats],
        max_value=1.0,
        unit=_("p-value"),
        chart_id=id_prefix + "difficulty",
        gettext=gettext,
        direction=direction,
    ) + svg_bar_chart(
        _("Post-test item discrimination (point-biserial)"),
        labels,
        [s.point_biserial for s in stats],
        max_value=1.0,
        unit=_("point-biserial r (a negative r draws no bar)"),
        chart_id=id_prefix + "discrimination",
        gettext=gettext,
        direction=direction,
    )


def evaluation_chart(
    summary: EvaluationSummary,
    *,
    id_prefix: str = "",
    gettext: Callable[[str], str] = _untranslated,
    direction: str = "ltr",
) -> str:
    """Mean rating per evaluation item (1-5); generated prompts are translated with `gettext`."""
    _ = gettext
    return svg_bar_chart(
        _("Evaluation: mean rating per item (1 = strongly disagree, 5 = strongly agree)"),
        [localize(i.prompt, gettext) for i in summary.items],
        [i.mean for i in summary.items],
        max_value=5.0,
        unit=_("mean rating"),
        chart_id=id_prefix + "evaluation",
        gettext=gettext,
        direction=direction,
    )


# ---------------------------------------------------------------------------------------------
# Running sums: the same statistics from aggregates a home keeps as it goes
# ---------------------------------------------------------------------------------------------
#
# A home that cannot read every learner's data when it renders a report (an XBlock reads only the
# current learner's state) keeps these JSON-safe sums instead and adds each scored attempt and
# each evaluation once, when it is recorded. The sums are exactly the running sums of
# `item_statistics` and `evaluation_summary`, so both routes give the same numbers.

ITEM_SUM_KEYS = ("n", "sx", "sy", "syy", "sxy", "sr", "srr", "sxr", "omitted")


def add_score_to_sums(sums: Mapping[str, Any], score: Any) -> dict[str, Any]:
    """A copy of `sums` (question id -> running sums) with one scored attempt added.

    `score` is an `attempts.Score` (or anything with `.items` and `.points`). The result is
    JSON-safe: numbers and a `choices` map of choice id -> times chosen.
    """
    out = {qid: {**v, "choices": dict(v.get("choices") or {})} for qid, v in sums.items()}
    total = float(score.points)
    for it in score.items:
        a = out.setdefault(it.question_id, {**dict.fromkeys(ITEM_SUM_KEYS, 0), "choices": {}})
        x = 1.0 if it.correct else 0.0
        rest = total - float(it.points)
        a["n"] += 1
        a["sx"] += x
        a["sy"] += total
        a["syy"] += total * total
        a["sxy"] += x * total
        a["sr"] += rest
        a["srr"] += rest * rest
        a["sxr"] += x * rest
        if not it.selected:
            a["omitted"] += 1
        for c in it.selected:
            a["choices"][c] = a["choices"].get(c, 0) + 1
    return out


def item_statistics_from_sums(activity: Activity | None, sums: Mapping[str, Mapping[str, Any]]) -> list[ItemStatistics]:
    """`item_statistics` computed from the running sums `add_score_to_sums` keeps (same numbers)."""
    order = [q.id for q in activity.questions] if activity is not None else []
    order += sorted(set(sums) - set(order))
    out = []
    for qid in order:
        a = sums.get(qid)
        if not a or not a.get("n"):
            continue
        n = int(a["n"])
        g = {k: float(a.get(k) or 0) for k in ITEM_SUM_KEYS if k not in ("n", "omitted")}
        chosen = {str(k): int(v) for k, v in (a.get("choices") or {}).items()}
        choice_ids: list[str] = []
        correct: tuple[str, ...] = ()
        if activity is not None:
            try:
                q = activity.question(qid)
                choice_ids = [c.id for c in q.choices]
                correct = tuple(c.id for c in q.choices if c.correct)
            except KeyError:
                pass
        choice_ids += sorted(set(chosen) - set(choice_ids))
        out.append(
            ItemStatistics(
                question_id=qid,
                n=n,
                p_value=g["sx"] / n,
                point_biserial=_pearson(n, g["sx"], g["sy"], g["sx"], g["syy"], g["sxy"]),
                point_biserial_rest=_pearson(n, g["sx"], g["sr"], g["sx"], g["srr"], g["sxr"]),
                choices={c: chosen.get(c, 0) for c in choice_ids},
                correct_choices=correct,
                omitted=int(a.get("omitted") or 0),
            )
        )
    return out


def add_evaluation_to_sums(sums: Mapping[str, Any], activity: Activity, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the evaluation sums with one learner's evaluation added.

    The sums are `{"respondents": n, "items": {item id: {value: count}}, "text": {item id: n},
    "objectives": {objective id: {"n", "sum"}}}`, JSON-safe (values as strings). Answers outside
    1-5 are not counted, as in `evaluation_summary`.
    """
    out: dict[str, Any] = {
        "respondents": int(sums.get("respondents") or 0) + 1,
        "items": {k: dict(v) for k, v in (sums.get("items") or {}).items()},
        "text": dict(sums.get("text") or {}),
        "objectives": {k: dict(v) for k, v in (sums.get("objectives") or {}).items()},
    }
    for i in activity.evaluation_items():
        v = answers.get(i.id)
        if i.type is EvaluationItemType.TEXT:
            if str(v or "").strip():
                out["text"][i.id] = int(out["text"].get(i.id, 0)) + 1
            continue
        if i.type is not EvaluationItemType.LIKERT:
            continue
        try:
            v = int(v)
        except (TypeError, ValueError):
            continue
        if not 1 <= v <= 5:
            continue
        counts = out["items"].setdefault(i.id, {})
        counts[str(v)] = int(counts.get(str(v), 0)) + 1
        if i.objective:
            o = out["objectives"].setdefault(i.objective, {"n": 0, "sum": 0})
            o["n"] = int(o["n"]) + 1
            o["sum"] = int(o["sum"]) + v
    return out


def evaluation_summary_from_sums(activity: Activity, sums: Mapping[str, Any]) -> EvaluationSummary:
    """`evaluation_summary` computed from the sums `add_evaluation_to_sums` keeps (same numbers)."""
    items = activity.evaluation_items()
    stored = sums.get("items") or {}
    out_items = []
    for i in items:
        if i.type is not EvaluationItemType.LIKERT:
            continue
        c = {int(k): int(v) for k, v in (stored.get(i.id) or {}).items()}
        n = sum(c.values())
        total = sum(k * v for k, v in c.items())
        out_items.append(ItemMean(i.id, i.prompt, i.objective, n, total / n if n else None, dict(sorted(c.items()))))
    objs = sums.get("objectives") or {}
    objectives = {}
    for o in activity.objectives:
        n = int((objs.get(o.id) or {}).get("n") or 0)
        total = float((objs.get(o.id) or {}).get("sum") or 0)
        objectives[o.id] = (n, total / n if n else None)
    text = {i.id: int((sums.get("text") or {}).get(i.id, 0)) for i in items if i.type is EvaluationItemType.TEXT}
    return EvaluationSummary(int(sums.get("respondents") or 0), out_items, objectives, text)


def objectives_chart(
    activity: Activity,
    summary: EvaluationSummary,
    *,
    id_prefix: str = "",
    gettext: Callable[[str], str] = _untranslated,
    direction: str = "ltr",
) -> str:
    """Mean rating per learning objective (1-5), over the evaluation items that name it."""
    _ = gettext
    return svg_bar_chart(
        _("Evaluation: mean rating per learning objective (1-5)"),
        [o.text for o in activity.objectives],
        [summary.objectives.get(o.id, (0, None))[1] for o in activity.objectives],
        max_value=5.0,
        unit=_("mean rating"),
        chart_id=id_prefix + "objectives",
        gettext=gettext,
        direction=direction,
    )
