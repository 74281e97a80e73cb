"""Records and reports: CE Broker roster, completion list, evaluation means, item statistics, retention, charts."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tracemalloc
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from certhelpers import make_activity
from click.testing import CliRunner
from openpyxl import load_workbook

from ce_xblock.cli import main
from ce_xblock.core import records as R
from ce_xblock.core.activity import (
    Choice,
    Evaluation,
    EvaluationItem,
    EvaluationItemType,
    LearningObjective,
    Question,
)
from ce_xblock.core.attempts import ItemResult, Score


def variant(signed, n: int, **changes):
    """A record like the fixture's, with a different id and changes (unsigned: exports read records only)."""
    return dataclasses.replace(signed.record, certificate_id=f"CE-TEST-{n:04d}", **changes)


# --- CE Broker roster ---------------------------------------------------------------------------


@pytest.fixture
def roster_records(signed):
    return [
        signed,  # a SignedRecord
        variant(
            signed,
            2,
            legal_name="Ana Ruiz",
            license_number="PY-0042",
            license_state="fl",
            profession="Psychologist",
            completion_date=date(2026, 1, 2),
        ),
        variant(signed, 3, license_number="", license_state=""),  # no licence: left out
        variant(signed, 4, activity_id="other-activity"),  # another activity: filtered out
        json.loads(signed.to_json())
        | {
            "record": json.loads(signed.to_json())["record"]
            | {"certificate_id": "CE-TEST-0005", "completion_date": "2025-12-31"}
        },
    ]


def test_the_roster_has_ce_brokers_columns(roster_records, tmp_path):
    report = R.RosterReport()
    rows = list(
        R.roster_rows(
            roster_records,
            provider_tracking="50-12345",
            course_number="20-987654",
            profession_codes={"social worker": "SW", "Psychologist": "PSY"},
            report=report,
            activity_id="ethics-telehealth",
            start=date(2026, 1, 1),
        )
    )
    assert rows == [
        ("12345", "987654", "", "", "LCSW-12345", date(2026, 3, 3), "State=TX", "Profession=SW"),
        ("12345", "987654", "", "", "PY-0042", date(2026, 1, 2), "State=FL", "Profession=PSY"),
    ]
    assert report.written == 2 and report.skipped == [("CE-TEST-0003", "no licence number")]

    out = tmp_path / "roster.xlsx"
    assert R.write_roster_xlsx(rows, out) == 2
    ws = load_workbook(out).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert len(values) == 2 and all(len(v) == 8 for v in values)  # no header row, columns A-H
    assert values[0][:2] == ["12345", "987654"] and values[0][4] == "LCSW-12345"
    assert values[0][5] == datetime(2026, 3, 3) and ws["F1"].number_format == "m/d/yyyy"
    assert values[1][6:] == ["State=FL", "Profession=PSY"]

    buf = io.StringIO()
    R.write_roster_csv(rows, buf)
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [
        ["12345", "987654", "", "", "LCSW-12345", "3/3/2026", "State=TX", "Profession=SW"],
        ["12345", "987654", "", "", "PY-0042", "1/2/2026", "State=FL", "Profession=PSY"],
    ]


def test_the_roster_can_be_limited_to_one_state_and_leaves_out_revoked(roster_records, signed):
    report = R.RosterReport()
    rows = list(
        R.roster_rows(
            roster_records,
            provider_tracking="12345",
            course_number="1",
            states={"FL"},
            report=report,
            exclude={"CE-TEST-0005"},
        )
    )
    assert [r[4] for r in rows] == ["PY-0042"]
    assert ("CE-TEST-0005", "licence state TX not in this roster") not in report.skipped
    assert (signed.certificate_id, "licence state TX not in this roster") in report.skipped


def test_csv_cells_cannot_become_formulas(signed):
    rows = R.completion_rows([variant(signed, 9, legal_name='=HYPERLINK("http://x")')])
    buf = io.StringIO()
    R.write_csv(rows, buf, R.COMPLETION_COLUMNS)
    assert "'=HYPERLINK" in buf.getvalue()


def test_the_completion_list_and_attendance_list(signed):
    lines = list(R.csv_lines(R.completion_rows([signed]), R.COMPLETION_COLUMNS))
    assert lines[0].startswith("certificate_id,completion_date,legal_name")
    assert signed.certificate_id in lines[1] and "American Psychological Association 2 ethics" in lines[1]
    people = [
        R.Participation(
            "a",
            "u1",
            "Ana",
            datetime(2026, 3, 1, 9, tzinfo=UTC),
            datetime(2026, 3, 1, 11, tzinfo=UTC),
            True,
            1,
            True,
            "CE-1",
            "APA 2",
        ),
        R.Participation("a", "u2", "Ben", datetime(2026, 3, 2, 9, tzinfo=UTC), None, False, 3),
        R.Participation("a", "u3", "Cy", datetime(2026, 4, 2, 9, tzinfo=UTC)),
        R.Participation("b", "u4", "Di", datetime(2026, 3, 2, 9, tzinfo=UTC)),
    ]
    rows = list(R.attendance_rows(people, activity_id="a", start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert [r[2] for r in rows] == ["Ana", "Ben"]
    assert rows[1][4:8] == ("not passed", "3", "not submitted", "")
    assert rows[0][7] == "2026-03-01T11:00+00:00"


# --- evaluation summary -------------------------------------------------------------------------


def test_evaluation_means_per_item_and_per_objective():
    activity = make_activity(
        objectives=(LearningObjective("lo1", "One"), LearningObjective("lo2", "Two")),
        evaluation=Evaluation(
            items=(
                EvaluationItem("relevance", "Relevant to my practice", objective="lo2"),
                EvaluationItem("apply", "What will you apply?", type=EvaluationItemType.TEXT, required=False),
            )
        ),
    )
    evaluations = [
        {"objective-lo1": 5, "objective-lo2": 4, "relevance": 4, "apply": "good"},
        {"objective-lo1": "4", "objective-lo2": 2, "relevance": 4, "apply": ""},
        {"objective-lo1": 3, "objective-lo2": 3, "relevance": 5, "apply": "ok"},
        {"objective-lo2": "9", "relevance": "x"},  # missing, out of scale, not a number: not counted
    ]
    s = R.evaluation_summary(activity, iter(evaluations))
    means = {i.item_id: (i.n, i.mean) for i in s.items}
    assert s.respondents == 4
    assert means["objective-lo1"] == (3, 4.0)  # (5 + 4 + 3) / 3
    assert means["objective-lo2"] == (3, 3.0)  # (4 + 2 + 3) / 3
    assert means["relevance"][0] == 3 and means["relevance"][1] == pytest.approx(13 / 3)
    assert s.objectives["lo1"] == (3, 4.0)
    assert s.objectives["lo2"][0] == 6 and s.objectives["lo2"][1] == pytest.approx(22 / 6)  # (9 + 13) / 6
    assert s.text_responses == {"apply": 2}
    chart = R.evaluation_chart(s)
    assert "Relevant to my practice" in chart and "4.33" in chart


# --- item statistics on a known data set --------------------------------------------------------

BANK = (
    Question("q1", "One", (Choice("a", "A", True), Choice("b", "B"), Choice("c", "C"))),
    Question("q2", "Two", (Choice("a", "A"), Choice("b", "B", True), Choice("c", "C"))),
    Question("q3", "Three", (Choice("a", "A", True), Choice("b", "B"))),
)
KEY = {"q1": "a", "q2": "b", "q3": "a"}
ANSWERS = [  # five first attempts; totals 3, 2, 1, 1, 0
    {"q1": "a", "q2": "b", "q3": "a"},
    {"q1": "a", "q2": "a", "q3": "a"},
    {"q1": "b", "q2": "b", "q3": "b"},
    {"q1": "a", "q2": "c", "q3": "b"},
    {"q1": "c", "q2": "a", "q3": "b"},
]


def scores():
    for answers in ANSWERS:
        items = tuple(ItemResult(q, (c,), c == KEY[q], 1.0 if c == KEY[q] else 0.0) for q, c in answers.items())
        pts = sum(i.points for i in items)
        yield Score(items, pts, 3, 100 * pts / 3, pts >= 2)


def test_item_statistics_match_hand_computed_values():
    stats = {s.question_id: s for s in R.item_statistics(make_activity(questions=BANK), scores())}
    # Totals y = 3, 2, 1, 1, 0: mean 1.4, population variance 3 - 1.96 = 1.04.
    # q1: x = 1,1,0,1,0; p = .6; mean total of the right 2, of the wrong .5:
    #     r = (2 - .5) * sqrt(.6 * .4) / sqrt(1.04) = 1.5 * sqrt(.24 / 1.04) = 0.720577
    # q2: x = 1,0,1,0,0; p = .4; means 2 and 1: r = 1 * sqrt(.24 / 1.04) = 0.480384
    # q3: x = 1,1,0,0,0; p = .4; means 2.5 and 2/3: r = (11/6) * sqrt(.24 / 1.04) = 0.880705
    # q1 corrected (total without q1: 2,1,1,0,0; variance 1.2 - .64 = .56; means 1 and .5):
    #     r = .5 * sqrt(.24 / .56) = 0.327327
    assert [stats[q].p_value for q in ("q1", "q2", "q3")] == [0.6, 0.4, 0.4]
    assert stats["q1"].point_biserial == pytest.approx(0.720577, abs=1e-6)
    assert stats["q2"].point_biserial == pytest.approx(0.480384, abs=1e-6)
    assert stats["q3"].point_biserial == pytest.approx(0.880705, abs=1e-6)
    assert stats["q1"].point_biserial_rest == pytest.approx(0.327327, abs=1e-6)
    assert stats["q1"].choices == {"a": 3, "b": 1, "c": 1}
    assert stats["q2"].choices == {"a": 2, "b": 2, "c": 1}
    assert stats["q3"].choices == {"a": 2, "b": 3}
    assert stats["q2"].correct_choices == ("b",)
    assert all(s.n == 5 and s.omitted == 0 for s in stats.values())


def test_an_item_everyone_got_right_has_no_discrimination():
    s = Score((ItemResult("q1", ("a",), True, 1.0),), 1.0, 1, 100.0, True)
    (stat,) = R.item_statistics(None, [s, s, s])
    assert stat.p_value == 1.0 and stat.point_biserial is None


def test_item_charts_are_accessible_svg_with_a_data_table():
    stats = R.item_statistics(make_activity(questions=BANK), scores())
    html = R.item_statistics_charts(stats)
    assert html.count("<svg") == 2 and html.count("<table") == 2
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.find(f"{ns}title").text.startswith("Post-test item difficulty")
    assert "q1 0.60" in root.find(f"{ns}desc").text
    assert len(root.findall(f"{ns}rect")) == 3


def test_chart_labels_are_escaped():
    out = R.svg_bar_chart("T <x>", ["<script>alert(1)</script>"], [1.0], max_value=2)
    assert "<script>" not in out and "&lt;script&gt;" in out
    ET.fromstring(out[out.index("<svg") : out.index("</svg>") + 6])


LONG_LABELS = [
    "The content was well organized, accurate and current.",
    "This activity met its objective: Explain licensure and jurisdiction requirements for telehealth "
    "across state lines, including the role of interstate compacts.",
    "q01",
]


def _chart_geometry(out: str) -> tuple[ET.Element, float, list[tuple[ET.Element, list[str]]]]:
    """The parsed SVG, the axis's x and each label (its element and the lines it shows)."""
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(out[out.index("<svg") : out.index("</svg>") + 6])
    axis = float(root.find(f"{ns}line").get("x1"))
    labels = []
    for t in root.findall(f"{ns}text"):
        if t.get("class") == "ce-chart-label":
            spans = t.findall(f"{ns}tspan")
            labels.append((t, [sp.text for sp in spans] if spans else [t.text]))
    return root, axis, labels


@pytest.mark.parametrize("direction", ["ltr", "rtl"])
def test_long_chart_labels_wrap_inside_the_chart_and_keep_their_full_text(direction):
    """A label wraps onto up to three lines that fit the label column beside the axis (no line starts
    left of the chart, none crosses the axis); one too long for three lines ends in "…" and keeps
    its full text in a <title>, the description and the table. "rtl" mirrors the chart."""
    out = R.svg_bar_chart("Ratings", LONG_LABELS, [4.5, None, 1.0], max_value=5, direction=direction)
    root, axis, labels = _chart_geometry(out)
    width = float(root.get("viewBox").split()[2])
    assert root.get("direction") == direction and len(labels) == 3
    (_, organized), (long_t, objective), (_, q01) = labels
    assert " ".join(organized) == LONG_LABELS[0] and len(organized) == 2  # whole, on two lines
    assert q01 == ["q01"]
    assert len(objective) == 3 and objective[-1].endswith("…")
    assert LONG_LABELS[1].startswith(" ".join(objective).removesuffix("…").rstrip())
    ns = "{http://www.w3.org/2000/svg}"
    assert long_t.find(f"{ns}title").text == LONG_LABELS[1]
    assert LONG_LABELS[1] in root.find(f"{ns}desc").text and f'<th scope="row">{LONG_LABELS[1]}</th>' in out
    column = axis if direction == "ltr" else width - axis
    for t, lines in labels:
        x = float(t.get("x"))
        assert 0 <= x <= width
        room = abs(axis - x)  # from the axis side of the label to the chart's edge
        assert all(R._text_width(line, 12) <= column - room - 1 for line in lines), lines
        assert (x < axis) == (direction == "ltr")  # labels on the start side of the axis
    for rect in root.findall(f"{ns}rect"):  # bars start at the axis and grow to the end side
        x, w = float(rect.get("x")), float(rect.get("width"))
        assert (x == axis) if direction == "ltr" else (abs(x + w - axis) < 0.1 and x >= 0)


def test_wrap_label_breaks_at_spaces_then_inside_a_word_too_long_for_a_line():
    assert R.wrap_label("short", 100) == ["short"]
    assert R.wrap_label("one two three four", R._text_width("three four", 12)) == ["one two", "three four"]
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
    lines = R.wrap_label(word, 120)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(R._text_width(line, 12) <= 120 for line in lines)


# --- annual summary and retention ---------------------------------------------------------------


def test_annual_summary_counts_certificates_and_credits(signed):
    recs = [
        signed,
        variant(signed, 2),
        variant(signed, 3, completion_date=date(2025, 6, 1)),
        variant(signed, 4, activity_id="b", activity_title="B"),
        variant(signed, 5),
    ]
    lines = R.annual_summary(recs, exclude={"CE-TEST-0005"})
    assert [(ln.year, ln.activity_id, ln.completions) for ln in lines] == [
        (2025, "ethics-telehealth", 1),
        (2026, "b", 1),
        (2026, "ethics-telehealth", 2),
    ]
    assert lines[2].credits["American Psychological Association"] == Decimal("4")


def test_only_records_past_retention_are_selected(signed):
    old = variant(signed, 1, completion_date=date(2015, 5, 1))
    edge = variant(signed, 2, completion_date=date(2019, 1, 1))  # retention ends 2026-01-01
    leap = variant(signed, 3, completion_date=date(2016, 2, 29))
    ids = {r.certificate_id for r in R.past_retention([old, edge, leap, signed], date(2026, 1, 1))}
    assert ids == {"CE-TEST-0001", "CE-TEST-0003"}
    assert R.retention_ends(leap) == date(2023, 2, 28)
    assert {r.certificate_id for r in R.past_retention([edge], date(2026, 1, 2))} == {"CE-TEST-0002"}
    assert not list(R.past_retention([old], date(2026, 1, 1), years=20))


def test_purge_removes_only_what_is_past_retention_and_reports_it(signed, tmp_path):
    store = tmp_path / "records.jsonl"
    old = dict(json.loads(signed.to_json()))
    old["record"] = old["record"] | {"certificate_id": "CE-OLD1-0000", "completion_date": "2015-05-01"}
    store.write_text(json.dumps(old) + "\n" + signed.to_json() + "\n")
    r = CliRunner().invoke(main, ["records", "purge", "--store", str(store), "--before", "2026-01-01", "--dry-run"])
    assert r.exit_code == 0 and "Would remove 1 record" in r.output and "CE-OLD1-0000" in r.output
    assert len(store.read_text().splitlines()) == 2
    r = CliRunner().invoke(main, ["records", "purge", "--store", str(store), "--before", "2026-01-01"])
    assert r.exit_code == 0 and "Removed 1 record" in r.output and "kept 1" in r.output
    assert [json.loads(x)["record"]["certificate_id"] for x in store.read_text().splitlines()] == [
        signed.certificate_id
    ]
    r = CliRunner().invoke(main, ["records", "purge", "--store", str(store), "--before", "2999-01-01"])
    assert r.exit_code != 0 and "in the future" in r.output
    for years in ("0", "4", "-1"):  # a typo must not wipe records boards may still audit
        args = ["records", "purge", "--store", str(store), "--before", "2026-01-01", "--years", years]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2 and "--years" in r.output and ">=5" in r.output.replace(" ", ""), r.output
    assert [json.loads(x)["record"]["certificate_id"] for x in store.read_text().splitlines()] == [
        signed.certificate_id
    ]


def test_the_roster_and_completions_commands_write_files(signed, tmp_path):
    store = tmp_path / "records.jsonl"
    store.write_text(signed.to_json() + "\n")
    out = tmp_path / "r.csv"
    r = CliRunner().invoke(
        main,
        [
            "records",
            "roster",
            "--store",
            str(store),
            "--provider",
            "50-1",
            "--course",
            "20-2",
            "--profession-code",
            "Social Worker=SW",
            "--format",
            "csv",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert out.read_text().strip() == "1,2,,,LCSW-12345,3/3/2026,State=TX,Profession=SW"
    r = CliRunner().invoke(main, ["records", "completions", "--store", str(store)])
    assert r.exit_code == 0 and signed.certificate_id in r.output
    r = CliRunner().invoke(main, ["records", "annual", "--store", str(store)])
    assert "2026  ethics-telehealth  1 certificate(s)" in r.output


# --- streaming ----------------------------------------------------------------------------------


def _many(signed, n):
    for i in range(n):
        yield variant(signed, i % 10000, license_number=f"L{i}")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_exports_stay_flat_in_memory(signed, tmp_path, kind):
    def peak(n):
        tracemalloc.start()
        rows = R.roster_rows(_many(signed, n), provider_tracking="1", course_number="2")
        if kind == "csv":
            with (tmp_path / "r.csv").open("w", newline="") as f:
                R.write_roster_csv(rows, f)
        else:
            R.write_roster_xlsx(rows, tmp_path / "r.xlsx")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(500), peak(5_000)
    assert large < small * 2 + 1_000_000  # ten times the rows, not ten times the memory
