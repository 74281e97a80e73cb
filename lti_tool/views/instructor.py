"""The `instructor` blueprint: choose, import and edit activities (OLX), deep linking, and the report."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from ce_xblock.core import olx
from ce_xblock.core.activity import validate
from ce_xblock.core.locale import N_, Phrase, localize, sentences

from .. import launches, outbox, report
from ..app import tool_of
from ..launches import ACTIVITY_PARAM, LaunchContext
from ..store import SHARED_LIBRARY, ResourceLink, StoredActivity, activity_row, utcnow, visible_to

bp = Blueprint("instructor", __name__, url_prefix="/lti/instructor")


def _(message: str) -> str:
    """`message` in the request's language: the launch's (launches.load sets g.locale), else the browser's."""
    from flask import g

    from ce_xblock.core.locale import translator

    return translator(g.get("locale")).gettext(message)


def _context(launch_id: str) -> LaunchContext:
    try:
        lc = launches.load(tool_of(current_app).cache, launch_id)
    except launches.LaunchExpired:
        abort(401, _("This page's session has expired. Open the tool again from your course."))
    if not lc.is_instructor:
        abort(403, _("Only instructors can open this page."))
    return lc


def library(owner: int = SHARED_LIBRARY) -> list[StoredActivity]:
    """The activities `owner`'s instructors may choose: the shared library and their own, their own
    copy in place of a shared activity with the same id."""
    with tool_of(current_app).sessions() as s:
        rows = s.scalars(select(StoredActivity).where(visible_to(owner)).order_by(StoredActivity.owner_id))
        by_slug = {row.slug: row for row in rows}  # own rows (owner > 0) come last and win
    return sorted(by_slug.values(), key=lambda row: (row.title.casefold(), row.slug))


def save_olx(text: str, owner: int = SHARED_LIBRARY) -> tuple[StoredActivity | None, list[str]]:
    """Parse, validate and store an activity as `owner`'s (a registration's, or the shared library);
    returns the row or the problems, each as one line."""
    try:
        activity = olx.loads(text, filename="pasted.xml")
    except olx.OLXError as err:
        # English Phrases (the CLI prints them); the views show them with `localize(p, _)`.
        return None, [
            # Translators: %(line)s is a line number of the OLX; %(problem)s says what is wrong there.
            Phrase(N_("line %(line)s: %(problem)s"), line=p.line, problem=sentences(p.message, p.fix))
            for p in err.problems
        ]
    problems = validate(activity)
    if problems:
        return None, [
            Phrase(
                # Translators: %(path)s is where in the activity, such as questions/2; %(problem)s what is wrong there.
                N_("%(path)s: %(problem)s"),
                path="/".join(str(x) for x in p.path),
                problem=sentences(p.message, p.fix),
            )
            for p in problems
        ]
    canonical = olx.dumps(activity)
    with tool_of(current_app).sessions() as s:
        row = s.scalars(
            select(StoredActivity).where(StoredActivity.slug == activity.id, StoredActivity.owner_id == owner)
        ).first()
        if row is None:
            row = StoredActivity(slug=activity.id, owner_id=owner)
            s.add(row)
        row.title, row.version, row.olx, row.updated_at = activity.title, str(activity.version), canonical, utcnow()
        s.commit()
    from ..learning import forget_activity

    forget_activity(activity.id)  # this worker sees the edit at once; the others within ACTIVITY_TTL
    return row, []


def instructor_home(lc: LaunchContext, **extra: Any) -> Any:
    tool = tool_of(current_app)
    chosen = None
    if lc.activity_slug:
        with tool.sessions() as s:
            chosen = activity_row(s, lc.activity_slug, lc.registration_id)
    rows = report.build(tool, lc) if chosen else None
    extra = {**_accommodation_context(tool, lc, rows if chosen else None), **extra}
    return render_template(
        "instructor.html",
        lc=lc,
        activity=chosen,
        library=library(lc.registration_id),
        report=rows,
        passback_problems=outbox.PROBLEMS,
        roster_problems=report.ROSTER_PROBLEMS,
        **extra,
    )


def deep_link_page(lc: LaunchContext, **extra: Any) -> Any:
    return render_template("deeplink.html", lc=lc, library=library(lc.registration_id), **extra)


@bp.route("/<launch_id>")
def home(launch_id: str) -> Any:
    return instructor_home(_context(launch_id))


@bp.route("/<launch_id>/choose", methods=["POST"])
def choose(launch_id: str) -> Any:
    lc = _context(launch_id)
    slug = request.form.get("activity", "")
    tool = tool_of(current_app)
    with tool.sessions() as s:
        if activity_row(s, slug, lc.registration_id) is None:
            return instructor_home(
                lc, problems=[_("There is no activity %(slug)s in the library.") % {"slug": repr(slug)}]
            ), 400
        rl = s.get(ResourceLink, lc.resource_link_pk)
        if rl is None:
            abort(400, _("This launch has no resource link."))
        rl.activity_slug = slug
        s.commit()
    lc.activity_slug = slug
    launches.save(tool.cache, lc)
    return redirect(url_for("instructor.home", launch_id=launch_id))


@bp.route("/<launch_id>/olx", methods=["POST"])
def import_olx(launch_id: str) -> Any:
    """Import (upload or paste) or edit an activity's OLX. For a resource link, it becomes the link's activity."""
    lc = _context(launch_id)
    upload = request.files.get("file")
    text = upload.read().decode("utf-8", "replace") if upload and upload.filename else request.form.get("olx", "")
    row, problems = save_olx(text, owner=lc.registration_id)
    page = deep_link_page if lc.message_type == "LtiDeepLinkingRequest" else instructor_home
    if row is None:
        return page(lc, problems=[localize(p, _) for p in problems], olx_text=text), 422
    if lc.message_type == "LtiDeepLinkingRequest":
        return page(lc, saved=row.slug)
    tool = tool_of(current_app)
    with tool.sessions() as s:
        rl = s.get(ResourceLink, lc.resource_link_pk)
        if rl is not None and not rl.activity_slug:
            rl.activity_slug = row.slug
            s.commit()
            lc.activity_slug = row.slug
            launches.save(tool.cache, lc)
    return instructor_home(lc, saved=row.slug)


@bp.route("/<launch_id>/deeplink", methods=["POST"])
def deep_link_return(launch_id: str) -> Any:
    """Send the chosen activity back to the platform as an ltiResourceLink with a line item."""
    lc = _context(launch_id)
    if lc.message_type != "LtiDeepLinkingRequest":
        abort(400, _("This launch is not a deep-linking request."))
    slug = request.form.get("activity", "")
    tool = tool_of(current_app)
    with tool.sessions() as s:
        row = activity_row(s, slug, lc.registration_id)
    if row is None:
        return deep_link_page(
            lc, problems=[_("There is no activity %(slug)s in the library.") % {"slug": repr(slug)}]
        ), 400
    from ..learning import activity_for

    activity = activity_for(tool, slug, lc.registration_id)
    assert activity is not None
    item = deep_link_item(url_for("lti.launch", _external=True), activity)
    platform = tool.platform(lc.registration_id)
    assert platform is not None
    token, return_url = tool.adapter.deep_link_response(platform, lc.deployment_id, lc.deep_linking_settings, [item])
    return render_template("autopost.html", action=return_url, fields={"JWT": token}, title=activity.title)


def deep_link_item(launch_url: str, activity: Any) -> dict[str, Any]:
    """The content item for an activity: its launch URL, a line item, and the custom parameter naming it."""
    return {
        "type": "ltiResourceLink",
        "url": launch_url,
        "title": activity.title,
        "custom": {ACTIVITY_PARAM: activity.id},
        "lineItem": {
            "scoreMaximum": activity.form_size,
            "label": activity.title,
            "resourceId": activity.id,
            "tag": "ce-credit",
        },
    }


@bp.route("/<launch_id>/olx/<slug>")
def export_olx(launch_id: str, slug: str) -> Any:
    lc = _context(launch_id)
    with tool_of(current_app).sessions() as s:
        row = activity_row(s, slug, lc.registration_id)
    if row is None:
        abort(404)
    return current_app.response_class(
        row.olx, mimetype="application/xml", headers={"Content-Disposition": f'attachment; filename="{slug}.xml"'}
    )


@bp.route("/<launch_id>/preview")
def preview(launch_id: str) -> Any:
    """The learner flow as a learner sees it, with the instructor's own state and no grade passback."""
    import dataclasses
    import secrets

    from .learner import learner_page

    lc = _context(launch_id)
    view_lc = dataclasses.replace(
        lc, launch_id=secrets.token_urlsafe(24), sub=report.PREVIEW_PREFIX + lc.sub, is_instructor=False, preview=True
    )
    launches.save(tool_of(current_app).cache, view_lc)
    return learner_page(view_lc)


@bp.route("/<launch_id>/resend", methods=["POST"])
def resend(launch_id: str) -> Any:
    lc = _context(launch_id)
    from ..outbox import resend as queue_again

    tool = tool_of(current_app)
    ok = queue_again(tool, lc.resource_link_pk, request.form.get("user", ""))
    if tool.outbox_thread is not None:
        tool.outbox_thread.wake.set()
    return instructor_home(lc, resent=request.form.get("user", "") if ok else None)


# --- accommodations: extra attempts and extra minutes for one learner ------------------------------


def _accommodation_context(tool: Any, lc: LaunchContext, rows: Any) -> dict[str, Any]:
    """The template's accommodation table (the link's grants, named as the report names the
    learner) and the form's bounds."""
    from .. import accommodations as acc

    limits = {"extra_attempts": acc.MAX_EXTRA_ATTEMPTS, "extra_minutes": acc.MAX_EXTRA_MINUTES}
    if rows is None:
        return {"accommodations": [], "acc_max": limits}
    names = {r.user_sub: r.name for r in rows.get("rows", [])}
    out = [
        {
            "user_sub": a.user_sub,
            "label": names.get(a.user_sub) or a.learner_name or a.user_sub,
            "extra_attempts": a.extra_attempts,
            "extra_minutes": a.extra_minutes,
            "reason": a.reason,
            "granted_by": a.granted_by,
            "granted_at": a.granted_at,
        }
        for a in acc.for_link(tool, lc.resource_link_pk)
    ]
    return {"accommodations": sorted(out, key=lambda r: str(r["label"]).lower()), "acc_max": limits}


@bp.route("/<launch_id>/accommodations", methods=["POST"])
def accommodations(launch_id: str) -> Any:
    """Give, change or remove one learner's accommodation (form: learner, extra_attempts,
    extra_minutes, reason; action=remove, or 0 and 0, removes). Bad input: 400, naming the field."""
    from datetime import UTC, datetime

    from flask import g

    from ce_xblock.core.locale import translator

    from .. import accommodations as acc

    lc = _context(launch_id)  # 403 for anyone but instructors
    locale = g.get("locale") or lc.locale
    _ = translator(locale).gettext
    if lc.resource_link_pk is None or not lc.activity_slug:
        abort(400, _("This link has no activity yet. Choose one on the instructor page first."))
    tool = tool_of(current_app)
    rows = report.build(tool, lc)
    learners = {r.user_sub: r.name for r in rows["rows"]}
    for a in acc.for_link(tool, lc.resource_link_pk):  # also those no longer in the roster
        learners.setdefault(a.user_sub, a.learner_name or a.user_sub)
    req, errors = acc.parse(request.form, learners, locale)
    if req is None:
        return instructor_home(lc, acc_errors=errors, acc_form=request.form.to_dict()), 400
    acc.save(tool, lc, req, datetime.now(UTC))
    if req.removes:
        done = _("{learner} has no accommodation now.").format(learner=req.learner_name)
    else:
        done = _("Saved for {learner}: extra attempts {attempts}, extra minutes {minutes}.").format(
            learner=req.learner_name, attempts=req.extra_attempts, minutes=req.extra_minutes
        )
    return instructor_home(lc, acc_done=done)


# --- records: the report page, exports and certificate administration -----------------------------


def _dates() -> tuple[Any, Any]:
    """The report's date range from ?from=&to= (YYYY-MM-DD, both inclusive, either may be empty)."""
    from datetime import date

    out = []
    for name in ("from", "to"):
        raw = (request.values.get(name) or "").strip()
        if not raw:
            out.append(None)
            continue
        try:
            out.append(date.fromisoformat(raw))
        except ValueError:
            abort(
                400,
                _("The %(name)s date %(value)s is not a date. Use YYYY-MM-DD, for example 2026-01-31.")
                % {"name": repr(name), "value": repr(raw)},
            )
    if out[0] and out[1] and out[0] > out[1]:
        abort(
            400,
            _("The range starts (%(start)s) after it ends (%(end)s). Swap the two dates.")
            % {"start": out[0], "end": out[1]},
        )
    return out[0], out[1]


def _scope(lc: LaunchContext) -> tuple[str, list[int], Any]:
    """('link' | 'activity', the links covered, the activity) for this launch's report."""
    from .. import records_store as rs
    from ..learning import activity_for

    if not lc.activity_slug:
        abort(404, _("This link has no activity yet. Choose one on the instructor page first."))
    activity = activity_for(tool_of(current_app), lc.activity_slug, lc.registration_id)
    if activity is None:
        abort(404, _("The activity %(slug)s is no longer in the library.") % {"slug": repr(lc.activity_slug)})
    scope = request.values.get("scope", "link")
    if scope not in ("link", "activity"):
        abort(
            400,
            _("The report scope %(scope)s is not known. Use 'link' (this placement) or 'activity'.")
            % {"scope": repr(scope)},
        )
    pks = rs.link_pks(
        tool_of(current_app),
        registration_id=lc.registration_id,
        resource_link_pk=lc.resource_link_pk if scope == "link" else None,
        activity_slug=lc.activity_slug,
    )
    return scope, pks, activity


def records_page(lc: LaunchContext, status: int = 200, **extra: Any) -> Any:
    from ce_xblock.core import records as rec_mod

    from .. import records_store as rs

    tool = tool_of(current_app)
    scope, pks, activity = _scope(lc)
    start, end = _dates()
    stats = report.analytics(tool, activity, pks, start, end, gettext=_)
    with tool.sessions() as s:
        log = {e.certificate_id: e for e in rs.status_log(s)}
    certificates = []
    for rec in rec_mod.select(rs.iter_signed(tool.sessions, resource_link_pks=pks), start=start, end=end):
        ev = log.get(rec.certificate_id)
        certificates.append((rec, ev.status.value if ev else "valid", ev))
        if len(certificates) >= PAGE_ROWS:
            break
    attendance = []
    for p in rs.participations(rs.iter_states(tool.sessions, pks), activity.id):
        if rec_mod.in_range(p.started_at.date(), start, end):
            attendance.append(p)
        if len(attendance) >= PAGE_ROWS:
            break
    return render_template(
        "instructor_records.html",
        lc=lc,
        activity=activity,
        scope=scope,
        start=start,
        end=end,
        analytics=stats,
        certificates=certificates,
        attendance=attendance,
        page_rows=PAGE_ROWS,
        history=rs.history(tool, lc.registration_id),
        correctable=rs.CORRECTABLE,
        **extra,
    ), status


PAGE_ROWS = 500  # rows shown on the page; the exports have every row


@bp.route("/<launch_id>/records")
def records(launch_id: str) -> Any:
    return records_page(_context(launch_id))


@bp.route("/<launch_id>/export/<kind>.<fmt>")
def export(launch_id: str, kind: str, fmt: str) -> Any:
    """A streamed export of the report (CSV, or the CE Broker roster as Excel) for the scope and dates."""
    from flask import stream_with_context

    from ce_xblock.core import records as rec_mod

    from .. import records_store as rs

    lc = _context(launch_id)
    if kind not in report.EXPORT_KINDS or fmt not in report.EXPORT_KINDS[kind][1]:
        abort(
            404,
            _(
                "There is no %(export)s export. Exports: completions, attendance, evaluation and items as csv; "
                "roster as xlsx or csv."
            )
            % {"export": f"{kind}.{fmt}"},
        )
    tool = tool_of(current_app)
    scope, pks, activity = _scope(lc)
    start, end = _dates()
    filters = {"activity_id": activity.id, "start": start, "end": end}
    with tool.sessions() as s:
        exclude = rs.replaced_or_revoked(s)
    if kind == "completions":
        body = report.completion_csv(rs.iter_signed(tool.sessions, resource_link_pks=pks), exclude=exclude, **filters)
    elif kind == "attendance":
        body = report.attendance_csv(rs.participations(rs.iter_states(tool.sessions, pks), activity.id), **filters)
    elif kind == "roster":
        provider = (request.args.get("provider") or "").strip()
        course = (request.args.get("course") or "").strip()
        if not provider or not course:
            abort(
                400,
                _(
                    "The CE Broker roster needs your provider tracking number (50-...) and the course number "
                    "(20-...). Fill both in on the report page."
                ),
            )
        codes = {}
        for pair in request.args.getlist("profession_code"):
            if "=" in pair:
                k, v = pair.split("=", 1)
                codes[k.strip()] = v.strip()
        states = {x.strip().upper() for x in request.args.getlist("state") if x.strip()} or None
        rows = rec_mod.roster_rows(
            rs.iter_signed(tool.sessions, resource_link_pks=pks),
            provider_tracking=provider,
            course_number=course,
            profession_codes=codes,
            states=states,
            exclude=exclude,
            **filters,
        )
        body = report.roster_xlsx_chunks(rows) if fmt == "xlsx" else report.roster_csv(rows)
    elif kind == "evaluation":
        body = report.evaluation_csv(activity, report.analytics(tool, activity, pks, start, end).summary)
    else:
        body = report.item_statistics_csv(report.analytics(tool, activity, pks, start, end).stats)
    stem = report.EXPORT_KINDS[kind][0]
    span = f"-{start or 'start'}-to-{end or 'now'}" if (start or end) else ""
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx" else "text/csv"
    return current_app.response_class(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{activity.id}-{stem}{span}.{fmt}"'},
    )


@bp.route("/<launch_id>/certificates/revoke", methods=["POST"])
def revoke_certificate(launch_id: str) -> Any:
    from datetime import UTC, datetime

    from .. import records_store as rs

    lc = _context(launch_id)
    cid = request.form.get("certificate_id", "")
    try:
        event = rs.revoke(
            tool_of(current_app),
            cid,
            request.form.get("reason", ""),
            now=datetime.now(UTC),
            actor=lc.name or lc.sub,
            registration_id=lc.registration_id,
        )
    except rs.RecordsError as err:
        return records_page(lc, 422, admin_problem=str(err))
    return records_page(
        lc,
        admin_done=_("Certificate %(id)s is revoked: %(reason)s")
        % {"id": event.certificate_id, "reason": event.reason},
    )


@bp.route("/<launch_id>/certificates/correct", methods=["POST"])
def correct_certificate(launch_id: str) -> Any:
    from datetime import UTC, datetime

    from .. import records_store as rs

    lc = _context(launch_id)
    cid = request.form.get("certificate_id", "")
    changes = {k: request.form.get(k, "") for k in rs.CORRECTABLE}
    try:
        new = rs.correct(
            tool_of(current_app),
            cid,
            changes,
            request.form.get("reason", ""),
            now=datetime.now(UTC),
            actor=lc.name or lc.sub,
            registration_id=lc.registration_id,
        )
    except rs.RecordsError as err:
        return records_page(lc, 422, admin_problem=str(err))
    return records_page(
        lc,
        admin_done=_("Certificate %(old)s is replaced by %(new)s: %(reason)s")
        % {"old": new.record.supersedes, "new": new.certificate_id, "reason": new.record.supersede_reason},
    )
