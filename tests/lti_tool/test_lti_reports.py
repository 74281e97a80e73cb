"""Records in the LTI tool: the instructor report (statistics, charts, exports), certificate revoke and
correct, the public verification page and JSON, retention purges and the `ce-credit records` commands.

Learners go through the real flow (real launches and tokens from the test platform, the real database);
only the retention test adds backdated certificates, signed with the tool's own key.
"""

import csv
import dataclasses
import io
import re
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from ce_xblock.cli import main as cli_main
from ce_xblock.core import certificate as cert
from ce_xblock.core import flow
from ce_xblock.core import records as rec_mod
from lti_tool import create_app, launches, learning, records_store, report
from lti_tool.app import tool_of
from lti_tool.store import CertificateStatusEntry, IssuedCertificate, LearnerRecord

from .test_lti_learner import answers, import_example, instructor_launch, learner_launch

BASE = "https://tool.test"
LEARNERS = [  # (sub, legal name, first attempt right?, Likert rating given)
    ("ada", "Ada Lovelace", True, 5),
    ("bo", "Bo Diddley", True, 4),
    ("cy", "Cy Young", False, 3),
]


def complete(tool, lti, activity, sub, name, first_right, rating, licence="PSY123"):
    """One learner through the whole flow: post-test (first attempt right or wrong), evaluation, certificate."""
    launch_id, _view, _ = learner_launch(lti, sub=sub, name=name)
    lc = launches.load(tool.cache, launch_id)
    t0 = datetime.now(UTC) - timedelta(hours=4)
    _, view = learning.run_action(tool, lc, "start", {}, now=t0)
    form = view["form"]
    _, view = learning.run_action(
        tool, lc, "submit", {"attempt": form["attempt"], "responses": answers(activity, form, first_right)}, now=t0
    )
    if not first_right:
        _, view = learning.run_action(tool, lc, "start", {}, now=t0)
        form = view["form"]
        _, view = learning.run_action(
            tool, lc, "submit", {"attempt": form["attempt"], "responses": answers(activity, form)}, now=t0
        )
    assert view["result"]["passed"]
    _, view = learning.run_action(tool, lc, "continue", {}, now=t0)
    ev = {i["id"]: (rating if i["type"] == "likert" else "Useful") for i in view["evaluation"]["items"]}
    status, view = learning.run_action(tool, lc, "evaluation", {"answers": ev}, now=t0)
    assert status == 200, view
    if view["step"] == "attestation":
        learning.run_action(tool, lc, "attest", {"confirm": True}, now=t0)
    details = {"legal_name": name, "license_number": licence, "license_state": "CA", "profession": "psychologist"}
    status, view = learning.run_action(tool, lc, "details", details, now=t0)
    assert status == 200, view
    status, view = learning.run_action(
        tool, lc, "certificate", {}, now=t0 + timedelta(minutes=activity.min_minutes + 1)
    )
    assert status == 200, view
    return launch_id, view["certificate"]["id"]


@pytest.fixture
def course(lti, client, launch_id_from, examples, app):
    """An instructor's link with the telehealth activity and three learners who earned certificates."""
    lid = instructor_launch(lti, launch_id_from)
    activity = import_example(client, lid, examples)
    tool = tool_of(app)
    certs = {}
    for sub, name, right, rating in LEARNERS:
        certs[sub] = complete(tool, lti, activity, sub, name, right, rating)
    return lid, activity, certs


def completion_dates(app):
    """The completion dates the stored certificates carry. The fixture's learners complete about an
    hour before now, so shortly after midnight that is yesterday: never the clock's date at the assert."""
    with tool_of(app).sessions() as s:
        rows = s.scalars(select(IssuedCertificate.record)).all()
    done = {cert.SignedRecord.from_dict(r).record.completion_date for r in rows}
    today = date.today()
    assert done and all(today - timedelta(days=1) <= d <= today for d in done), done
    return done


def get(client, path, **kw):
    return client.get(path, base_url=BASE, **kw)


def expected_item_stats(app):
    """Difficulty per question counted straight from the stored first attempts (not through records)."""
    right, seen = {}, {}
    with tool_of(app).sessions() as s:
        for row in s.scalars(select(LearnerRecord)):
            first = flow.LearnerState.from_dict(row.state).submitted[0]
            for it in first.score.items:
                seen[it.question_id] = seen.get(it.question_id, 0) + 1
                right[it.question_id] = right.get(it.question_id, 0) + (1 if it.correct else 0)
    return {q: right[q] / seen[q] for q in seen}, seen


def test_report_shows_known_statistics_as_charts_with_tables(course, client, app):
    lid, activity, _certs = course
    page = get(client, f"/lti/instructor/{lid}/records").get_data(as_text=True)
    assert page.count("<h1") == 1
    # Charts: accessible SVG with a title, each followed by a data table.
    titles = re.findall(r'<svg[^>]*role="img"[^>]*>\s*<title id="([^"]+)">([^<]+)</title>', page)
    assert {t for _, t in titles} >= {
        "Post-test item difficulty (share correct)",
        "Post-test item discrimination (point-biserial)",
        "Evaluation: mean rating per learning objective (1-5)",
    }
    for chart_id, _ in titles:
        assert f'id="{chart_id.removesuffix("-title")}-data"' in page
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert all(f'for="{x}"' in page for x in ("scope", "from", "to", "revoke-id", "revoke-reason", "correct-reason"))
    # Difficulty: two of three learners answered every question of their first form right.
    p_values, seen = expected_item_stats(app)
    for qid, p in p_values.items():
        row = re.search(rf'<tr data-question="{qid}">(.*?)</tr>', page, re.S).group(1)
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        assert cells[0] == str(seen[qid]) and cells[1] == f"{p:.2f}"
    # Everyone rated 5, 4 and 3: the mean of every objective is 4.00.
    for o in activity.objectives:
        row = re.search(rf'<tr data-objective="{o.id}">(.*?)</tr>', page, re.S).group(1)
        assert re.findall(r"<td>(.*?)</td>", row) == ["3", "4.00"]
    assert page.count('data-status="valid"') == 3


def test_exports_have_the_documented_shapes(course, client, app):
    lid, activity, certs = course
    base = f"/lti/instructor/{lid}/export"
    resp = get(client, f"{base}/completions.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and resp.is_streamed
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert tuple(rows[0]) == rec_mod.COMPLETION_COLUMNS
    assert sorted(r[0] for r in rows[1:]) == sorted(c for _, c in certs.values())
    assert {r[2] for r in rows[1:]} == {n for _, n, _, _ in LEARNERS}
    # A date range with nobody in it gives the header only.
    empty = get(client, f"{base}/completions.csv?from=2001-01-01&to=2001-12-31").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(empty)))) == 1
    assert get(client, f"{base}/completions.csv?from=31/01/2026").status_code == 400

    att = list(csv.reader(io.StringIO(get(client, f"{base}/attendance.csv").get_data(as_text=True))))
    assert tuple(att[0]) == rec_mod.ATTENDANCE_COLUMNS and len(att) == 4
    assert {r[1]: r[5] for r in att[1:]} == {"ada": "1", "bo": "1", "cy": "2"}

    q = "provider=50-1234&course=20-5678"
    roster = list(csv.reader(io.StringIO(get(client, f"{base}/roster.csv?{q}").get_data(as_text=True))))
    assert len(roster) == 3 and all(len(r) == 8 for r in roster)  # no header row: CE Broker's upload
    done = completion_dates(app)
    assert {tuple(r[:2] + r[4:]) for r in roster} == {
        ("1234", "5678", "PSY123", f"{d.month}/{d.day}/{d.year}", "State=CA", "Profession=psychologist") for d in done
    }
    xlsx = get(client, f"{base}/roster.xlsx?{q}")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    cells = list(ws.iter_rows(values_only=True))
    assert len(cells) == 3 and cells[0][0] == "1234" and cells[0][5].date() in done
    assert get(client, f"{base}/roster.xlsx").status_code == 400  # no provider number: says what to fill in

    ev = list(csv.reader(io.StringIO(get(client, f"{base}/evaluation.csv").get_data(as_text=True))))
    assert tuple(ev[0]) == report.EVALUATION_COLUMNS and ev[1][4] == "3"
    objectives = [r for r in ev if r[0] == "objective"]
    assert len(objectives) == len(activity.objectives) and {r[5] for r in objectives} == {"4.0000"}
    items = [r for r in ev if r[0] == "item"]
    assert all(r[6:] == ["0", "0", "1", "1", "1"] for r in items)

    it = list(csv.reader(io.StringIO(get(client, f"{base}/items.csv").get_data(as_text=True))))
    assert tuple(it[0]) == report.ITEM_COLUMNS
    # One row per question and choice; each question's correct choices are marked.
    for r in it[1:]:
        q_ = activity.question(r[0])
        assert (r[7] == "yes") == (r[6] in q_.correct_ids)
    assert get(client, f"{base}/items.pdf").status_code == 404


def test_learners_get_403_on_every_instructor_records_route(course, lti, client):
    lid, _activity, certs = course
    learner_lid = certs["ada"][0]
    for path in ("records", "export/completions.csv", "export/roster.xlsx?provider=1&course=2"):
        assert get(client, f"/lti/instructor/{learner_lid}/{path}").status_code == 403
    for action in ("revoke", "correct"):
        resp = client.post(
            f"/lti/instructor/{learner_lid}/certificates/{action}",
            data={"certificate_id": certs["ada"][1], "reason": "x", "legal_name": "Y"},
            base_url=BASE,
        )
        assert resp.status_code == 403
    body = get(client, f"/verify/{certs['ada'][1]}.json").get_json()
    assert body["status"] == "valid", body


def test_correct_and_revoke_show_on_the_verify_page_and_json(course, client, app):
    lid, _activity, certs = course
    learner_lid, old = certs["bo"]
    post = f"/lti/instructor/{lid}/certificates"
    missing = client.post(f"{post}/correct", data={"certificate_id": old, "legal_name": "Bo Diddly"}, base_url=BASE)
    assert missing.status_code == 422 and "needs a reason" in missing.get_data(as_text=True)
    resp = client.post(
        f"{post}/correct",
        data={"certificate_id": old.lower(), "legal_name": "Bo Didley Jr.", "reason": "Legal name misspelled"},
        base_url=BASE,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    new = re.search(r"is replaced by (CE-[0-9A-Z]{4}-[0-9A-Z]{4})", resp.get_data(as_text=True)).group(1)
    old_json = get(client, f"/verify/{old}.json").get_json()
    assert old_json["status"] == "superseded" and old_json["replaced_by"] == new
    assert old_json["reason"] == "Legal name misspelled"
    assert old_json["certificate"]["legal_name"] == "Bo Diddley"  # the old record stays as issued
    new_json = get(client, f"/verify/{new}", headers={"Accept": "application/json"}).get_json()
    assert new_json["status"] == "valid" and new_json["verified"]
    assert new_json["certificate"]["legal_name"] == "Bo Didley Jr." and new_json["certificate"]["supersedes"] == old
    page = get(client, "/verify", query_string={"id": new.lower().replace("-", " ")})
    assert page.status_code == 200 and "Valid certificate" in page.get_data(as_text=True)
    assert page.get_data(as_text=True).count("<h1") == 1
    # The learner's own copy moved to the corrected record.
    tool = tool_of(app)
    lc = launches.load(tool.cache, learner_lid)
    assert learning.signed_certificate(tool, lc).certificate_id == new
    # Correcting the replaced one again is refused with the way forward.
    again = client.post(
        f"{post}/correct", data={"certificate_id": old, "legal_name": "X", "reason": "r"}, base_url=BASE
    )
    assert again.status_code == 422 and f"Revoke or correct {new}" in again.get_data(as_text=True)

    resp = client.post(f"{post}/revoke", data={"certificate_id": new, "reason": "Issued in error"}, base_url=BASE)
    assert resp.status_code == 200 and f"Certificate {new} is revoked" in resp.get_data(as_text=True)
    revoked = get(client, f"/verify/{new}")
    assert revoked.status_code == 200 and "Revoked" in revoked.get_data(as_text=True)
    assert "Issued in error" in revoked.get_data(as_text=True)
    assert get(client, f"/verify/{new}.json").get_json()["status"] == "revoked"
    records_page = get(client, f"/lti/instructor/{lid}/records").get_data(as_text=True)
    assert f'data-certificate="{old}" data-status="superseded"' in records_page
    assert f'data-certificate="{new}" data-status="revoked"' in records_page
    assert "Issued in error" in records_page and "Legal name misspelled" in records_page
    # Revoked and superseded certificates leave the completion export.
    done = get(client, f"/lti/instructor/{lid}/export/completions.csv").get_data(as_text=True)
    assert old not in done and new not in done and certs["ada"][1] in done
    with tool.sessions() as s:
        assert s.get(IssuedCertificate, old) is not None  # kept
        assert [e.status for e in s.scalars(select(CertificateStatusEntry))] == ["superseded", "revoked"]


def test_unknown_and_tampered_ids_fail_verification(course, client, app):
    _lid, _activity, certs = course
    unknown = cert.new_certificate_id(b"\x00\x01\x02\x03\x04")
    resp = get(client, f"/verify/{unknown}")
    assert resp.status_code == 404 and "Unknown certificate" in resp.get_data(as_text=True)
    assert get(client, f"/verify/{unknown}.json").get_json()["status"] == "unknown"
    typo = get(client, "/verify/not-an-id.json")
    assert typo.status_code == 400 and typo.get_json()["status"] == "invalid"
    cid = certs["cy"][1]
    with tool_of(app).sessions() as s:
        row = s.get(IssuedCertificate, cid)
        data = dict(row.record)
        data["record"] = {**data["record"], "legal_name": "Someone Else"}
        row.record = data
        s.commit()
    body = get(client, f"/verify/{cid}.json")
    assert body.status_code == 409 and body.get_json()["status"] == "invalid" and not body.get_json()["verified"]
    assert "Someone Else" not in get(client, f"/verify/{cid}").get_data(as_text=True)
    assert "Certificate ID" in get(client, "/verify").get_data(as_text=True)  # the lookup form


def _synthetic_records(signed: cert.SignedRecord, n: int):
    """n records of 2020-2024 built from one real one (the export reads nothing else from them)."""
    start = date(2020, 1, 1)
    for i in range(n):
        yield dataclasses.replace(
            signed.record, legal_name=f"Learner {i}", completion_date=start + timedelta(days=i % 1500)
        )


@pytest.mark.slow
def test_exports_stream_100000_records_in_flat_memory(course, app):
    _lid, _activity, certs = course
    with tool_of(app).sessions() as s:
        signed = cert.SignedRecord.from_dict(s.get(IssuedCertificate, certs["ada"][1]).record)
    n_bytes = rows = 0
    tracemalloc.start()
    try:
        # The completion export's generator, as the endpoint streams it, over 100,000 records.
        for line in report.completion_csv(_synthetic_records(signed, 100_000), activity_id=signed.record.activity_id):
            n_bytes += len(line)
            rows += 1
        _, peak_csv = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        # The Excel roster is written row by row to a temporary file (20,000 rows: tracing openpyxl is slow).
        roster = rec_mod.roster_rows(_synthetic_records(signed, 20_000), provider_tracking="50-1", course_number="20-2")
        xlsx_bytes = sum(len(b) for b in report.roster_xlsx_chunks(roster))
        _, peak_xlsx = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 100_001 and n_bytes > 100_000 * 100  # every record went through (about 20 MB of CSV)
    assert peak_csv < 1024 * 1024, f"CSV export peak {peak_csv} bytes"
    assert xlsx_bytes > 200_000 and peak_xlsx < 4 * 1024 * 1024, f"Excel export peak {peak_xlsx} bytes"


def _backdated(tool, signed, completion: date) -> str:
    """A certificate completed on `completion`, signed with the tool's key (as if issued back then)."""
    cid = cert.new_certificate_id(f"{completion:%Y%m%d}".encode()[-5:])
    rec = dataclasses.replace(
        signed.record,
        certificate_id=cid,
        completion_date=completion,
        issued_at=datetime(completion.year, completion.month, completion.day, 12, tzinfo=UTC),
    )
    new = cert.sign(rec, learning.certificate_signing_key(tool))
    with tool.sessions() as s:
        s.add(IssuedCertificate(cert_id=cid, learner_pk=None, record=new.to_dict()))
        s.commit()
    return cid


def test_cli_purge_removes_only_past_retention_and_reports_it(course, app, app_config):
    _lid, _activity, certs = course
    tool = tool_of(app)
    with tool.sessions() as s:
        signed = cert.SignedRecord.from_dict(s.get(IssuedCertificate, certs["ada"][1]).record)
    today = date.today()
    old = _backdated(tool, signed, today.replace(year=today.year - 9))
    edge = _backdated(tool, signed, today.replace(year=today.year - 7) + timedelta(days=5))  # not yet due
    records_store.revoke(tool, old, "Issued in error", now=datetime.now(UTC), actor="test")
    runner = CliRunner()
    db = ["--database", app_config["DATABASE_URL"]]
    dry = runner.invoke(cli_main, ["records", "purge", *db, "--before", today.isoformat(), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove 1 certificate(s), 1 status-log" in dry.output and old in dry.output
    with tool.sessions() as s:
        assert s.get(IssuedCertificate, old) is not None
    future = runner.invoke(cli_main, ["records", "purge", *db, "--before", (today + timedelta(days=1)).isoformat()])
    assert future.exit_code != 0 and "in the future" in future.output
    done = runner.invoke(cli_main, ["records", "purge", *db, "--before", today.isoformat()])
    assert done.exit_code == 0 and "Removed 1 certificate(s)" in done.output and old in done.output
    with tool.sessions() as s:
        left = set(s.scalars(select(IssuedCertificate.cert_id)))
        assert s.scalars(select(CertificateStatusEntry)).first() is None
        assert s.scalars(select(LearnerRecord)).first() is not None  # recent learners stay
    assert left == {edge, *(c for _, c in certs.values())}


def test_cli_records_commands_read_the_tools_database(course, app, app_config, tmp_path):
    _lid, _activity, certs = course
    runner = CliRunner()
    db = ["--database", app_config["DATABASE_URL"]]
    out = runner.invoke(cli_main, ["records", "completions", *db])
    assert out.exit_code == 0, out.output
    assert sorted(r[0] for r in list(csv.reader(io.StringIO(out.output)))[1:]) == sorted(c for _, c in certs.values())
    xlsx = tmp_path / "roster.xlsx"
    out = runner.invoke(cli_main, ["records", "roster", *db, "--provider", "50-9", "--course", "20-8", "-o", str(xlsx)])
    assert out.exit_code == 0 and "Wrote 3 roster row(s)" in out.output
    assert len(list(load_workbook(xlsx).active.iter_rows())) == 3
    out = runner.invoke(cli_main, ["records", "annual", *db])
    (year,) = {d.year for d in completion_dates(app)}
    assert out.exit_code == 0 and f"{year}  telehealth-ethics  3 certificate(s)" in out.output
    cid = certs["ada"][1]
    out = runner.invoke(cli_main, ["records", "correct", cid, *db, "--legal-name", "Ada King", "--reason", "Married"])
    assert out.exit_code == 0 and f"supersedes {cid}" in out.output
    new = re.search(r"Issued (CE-[0-9A-Z]{4}-[0-9A-Z]{4})", out.output).group(1)
    out = runner.invoke(cli_main, ["records", "revoke", new, *db, "--reason", "Withdrawn"])
    assert out.exit_code == 0 and f"Revoked {new}" in out.output
    out = runner.invoke(cli_main, ["records", "revoke", new, *db, "--reason", "Again"])
    assert out.exit_code != 0 and "already revoked" in out.output
    out = runner.invoke(cli_main, ["records", "revoke", cid, *db])
    assert out.exit_code != 0 and "--reason" in out.output
    result = records_store.verify_id(tool_of(app), cid)
    assert result.status is cert.Status.SUPERSEDED and result.replacement_id == new


@pytest.mark.postgres
def test_records_on_postgresql(pg_url, tmp_path):
    """Revoke, correct, verify and purge on PostgreSQL (skipped when no server is reachable)."""
    from ce_xblock.core import olx

    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "DATABASE_URL": pg_url, "OUTBOX_THREAD": False})
    tool = tool_of(app)
    try:
        activity = olx.load(__import__("pathlib").Path(__file__).parents[2] / "examples" / "telehealth-ethics.xml")
        from ce_xblock.core.credit import Completion, LearnerDetails  # noqa: PLC0415

        cid = cert.new_certificate_id(b"pg-01")
        done = datetime.now(UTC) - timedelta(days=2)
        comp = Completion(
            learner=LearnerDetails("Pat Postgres", "LMSW1", "CA", "social worker"),
            started_at=done - timedelta(hours=4),
            completed_at=done,
            passed=True,
            evaluation_submitted=True,
            attested=True,
        )
        signed = cert.issue(
            activity,
            comp,
            certificate_id=cid,
            issued_at=datetime.now(UTC),
            private_key=learning.certificate_signing_key(tool),
            verification_base_url="https://tool.test/verify",
        )
        with tool.sessions() as s:
            s.add(IssuedCertificate(cert_id=cid, learner_pk=None, record=signed.to_dict()))
            s.commit()
        assert records_store.verify_id(tool, cid).status is cert.Status.VALID
        new = records_store.correct(
            tool, cid, {"legal_name": "Pat Postgresql"}, "Typo", now=datetime.now(UTC), actor="test"
        )
        assert records_store.verify_id(tool, cid).status is cert.Status.SUPERSEDED
        records_store.revoke(tool, new.certificate_id, "Withdrawn", now=datetime.now(UTC), actor="test")
        assert records_store.verify_id(tool, new.certificate_id).status is cert.Status.REVOKED
        assert app.test_client().get(f"/verify/{cid}.json").get_json()["replaced_by"] == new.certificate_id
        report_ = records_store.purge(tool, before=date.today(), years=7, today=date.today())
        assert report_.certificate_ids == []
        report_ = records_store.purge(tool, before=date.today(), years=0, today=date.today())
        assert sorted(report_.certificate_ids) == sorted([cid, new.certificate_id]) and report_.status_entries == 2
    finally:
        tool.engine.dispose()


@pytest.mark.browser
def test_records_and_verify_pages_have_no_axe_violations(course, app):
    """axe-core (WCAG 2.x A/AA) on the records page with charts, and on the verification page, in chromium."""
    import sys
    import threading
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "a11y"))
    import a11yhelpers

    a11yhelpers.need_browser()
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    lid, _activity, certs = course
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a11yhelpers.CHROMIUM, args=a11yhelpers.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log = a11yhelpers.AxeLog()
            page.goto(f"{base}/lti/instructor/{lid}/records")
            assert page.locator("svg[role=img] title").count() >= 3
            log.check(page, "lti-records")
            page.goto(f"{base}/lti/instructor/{lid}")
            log.check(page, "lti-instructor")
            page.goto(f"{base}/verify/{certs['ada'][1]}")
            log.check(page, "lti-verify-valid")
            page.goto(f"{base}/verify")
            log.check(page, "lti-verify-lookup")
            browser.close()
        log.assert_clean()
    finally:
        srv.shutdown()


def test_completion_export_streams_from_the_database(course, app, client):
    """The endpoint reads the table in batches: memory stays well below the size of the rows it sends."""
    from sqlalchemy import insert

    lid, _activity, certs = course
    tool = tool_of(app)
    with tool.sessions() as s:
        base = s.get(IssuedCertificate, certs["ada"][1])
        data, learner_pk = base.record, base.learner_pk
        rows = []
        for i in range(4000):
            cid = cert.new_certificate_id(((i + 1) << 16).to_bytes(5, "big"))
            rows.append(
                {
                    "cert_id": cid,
                    "learner_pk": learner_pk,
                    "record": {**data, "record": {**data["record"], "certificate_id": cid, "legal_name": f"L{i}"}},
                    "revoked": False,
                    "revoked_reason": "",
                    "created_at": datetime.now(UTC),
                }
            )
        s.execute(insert(IssuedCertificate), rows)
        s.commit()
    del rows
    resp = get(client, f"/lti/instructor/{lid}/export/completions.csv")
    assert resp.is_streamed
    sent = lines = 0
    tracemalloc.start()
    try:
        for chunk in resp.response:
            sent += len(chunk)
            lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        resp.close()
    assert lines == 1 + 4000 + len(certs)
    stored = 4000 * len(__import__("json").dumps(data))
    assert peak < stored / 4, f"peak {peak} bytes while streaming {sent} bytes from {stored} bytes of records"
