"""The `learner` blueprint: the learner page (the shared front end from static/) and its JSON API."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request

from ce_xblock.core.locale import translator

from .. import launches, learning
from ..app import tool_of
from ..launches import LaunchContext

bp = Blueprint("learner", __name__, url_prefix="/lti")


def _(message: str) -> str:
    """`message` in the request's language: the launch's (launches.load sets g.locale), else the browser's."""
    return translator(g.get("locale")).gettext(message)


def learner_page(lc: LaunchContext, status: int = 200, learner: tuple[Any, Any, Any] | None = None) -> Any:
    """The learner page with its initial view; `learner` is the user's stored state and
    accommodation when the caller has just read them (launches.ResolvedLink.learner)."""
    tool = tool_of(current_app)
    activity = learning.activity_for(tool, lc.activity_slug, lc.registration_id) if lc.activity_slug else None
    if activity is None:
        return (
            render_template(
                "error.html",
                code="no-activity",
                message=_("This link does not have a CE activity yet."),
                fix=_("Ask your instructor to choose the activity for this link (launch it as an instructor)."),
                retry_url="",
            ),
            404,
        )
    view = learning.current_view(tool, lc, activity, stored=learner)
    before_api, before_id, before_view, after_view = _page_shell(activity, lc)
    launch_id = lc.launch_id
    return before_api + launch_id + before_id + launch_id + before_view + view_script_json(view) + after_view, status


# The learner page is the same for every launch of an activity in a language, except for the
# launch id and the initial view: it is rendered once per (title, languages, preview) and those
# two are put in their places, which makes the busiest page about three times cheaper.
_SHELL_ID = "ceShellLaunchId0"  # letters and digits only: autoescaping leaves them as they are
_SHELL_VIEW = "ceShellInitialView0"


def _page_shell(activity: Any, lc: LaunchContext) -> tuple[str, str, str, str]:
    """learner.html split around its api URL's launch id, data-launch-id and initial view."""
    shells = _shells(tool_of(current_app))
    key = (activity.title, g.get("locale"), lc.locale, lc.preview, request.script_root)
    shell = shells.get(key)
    if shell is None:
        page = render_template(
            "learner.html",
            lc=replace(lc, launch_id=_SHELL_ID),
            activity=activity,
            initial_view=_SHELL_VIEW,
            api_url=f"/lti/api/{_SHELL_ID}",
            locale=lc.locale,
        )
        head, view, tail = page.partition(_SHELL_VIEW)
        parts = head.split(_SHELL_ID)
        if not view or len(parts) != 3 or _SHELL_ID in tail or _SHELL_VIEW in tail:
            raise RuntimeError("learner.html must hold the api URL and the launch id, then the initial view, once each")
        shell = (parts[0], parts[1], parts[2], tail)
        if len(shells) >= 512:  # titles x languages: a bound, not an eviction policy
            shells.clear()
        shells[key] = shell
    return shell


def _shells(tool: Any) -> dict[tuple[Any, ...], tuple[str, str, str, str]]:
    shells = getattr(tool, "_page_shells", None)
    if shells is None:
        shells = tool._page_shells = {}
    return shells


@bp.route("/api/<launch_id>", methods=["POST"])
def api(launch_id: str) -> Any:
    tool = tool_of(current_app)
    try:
        lc = launches.load(tool.cache, launch_id)
    except launches.LaunchExpired:
        return jsonify(
            {
                "error": "launch-expired",
                "message": _("This page's session has expired. Open the activity again from your course."),
                "field": None,
            }
        ), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return jsonify(
            {"error": "bad-request", "message": _('Send JSON {"action": ..., "payload": {...}}.'), "field": None}
        ), 400
    status, view = learning.run_action(tool, lc, body["action"], body.get("payload") or {})
    if tool.outbox_thread is not None and body["action"] in ("submit", "certificate", "evaluation"):
        tool.outbox_thread.wake.set()  # send the grade now rather than at the next poll
    body = view_json(view, _api_dumps) + "\n"  # what jsonify sends, with the info serialised once
    return current_app.response_class(body, mimetype="application/json"), status


@bp.route("/api/<launch_id>/certificate.pdf")
def certificate_pdf(launch_id: str) -> Any:
    """The learner's certificate PDF as stored at issue (the same bytes every time)."""
    signed = _signed_or_404(launch_id)
    return current_app.response_class(
        learning.certificate_pdf(tool_of(current_app), signed),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{signed.certificate_id}.pdf"'},
    )


@bp.route("/api/<launch_id>/credential.json")
def certificate_credential(launch_id: str) -> Any:
    """The learner's certificate as an Open Badges 3.0 credential (a VC-JWT in its JSON envelope)."""
    from ce_xblock.core import credential

    signed = _signed_or_404(launch_id)
    key = learning.certificate_signing_key(tool_of(current_app))
    resp = jsonify(credential.envelope(credential.issue_credential(signed, key)))
    resp.headers["Content-Disposition"] = f'attachment; filename="{signed.certificate_id}.json"'
    return resp


def _signed_or_404(launch_id: str) -> Any:
    from flask import abort

    tool = tool_of(current_app)
    try:
        lc = launches.load(tool.cache, launch_id)
    except launches.LaunchExpired:
        abort(401, _("This page's session has expired. Open the activity again from your course."))
    signed = learning.signed_certificate(tool, lc)
    if signed is None:
        abort(404, _("You have no certificate for this activity yet."))
    return signed


def script_json(value: object) -> str:
    """JSON safe inside a <script> element: <, > and & are escaped, so author or platform text
    containing "</script>" or "<!--" cannot end the element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# A view's "info" (the activity's description, objectives, instructors, disclosures...) is the
# same object for every view of an activity (ce_xblock.core.flow memoises it) and ~95 % of a
# view's bytes. It is serialised once per activity and serialiser and put in place of a mark.
_INFO_MARK = "ce-info-" + secrets.token_hex(12)
_info_json: dict[tuple[int, Any], tuple[Any, str]] = {}


def view_json(view: Any, dumps: Callable[[Any], str] = json.dumps) -> str:
    """`dumps(view)`, byte for byte, with the view's info serialised once per activity."""
    info = view.get("info") if isinstance(view, dict) else None
    if not isinstance(info, dict):
        return dumps(view)
    key = (id(info), dumps)
    hit = _info_json.get(key)
    if hit is None or hit[0] is not info:
        if len(_info_json) >= 256:  # activities x serialisers: a bound, not an eviction policy
            _info_json.clear()
        # The entry holds the info itself, so its id cannot be reused while the entry lives.
        hit = _info_json[key] = (info, dumps(info))
    return dumps({**view, "info": _INFO_MARK}).replace(dumps(_INFO_MARK), hit[1], 1)


def _api_dumps(value: Any) -> str:
    """The app's JSON, compact as jsonify writes it outside debug mode."""
    return current_app.json.dumps(value, separators=(",", ":"))


def view_script_json(view: Any) -> str:
    """script_json(view), with the info serialised and escaped once per activity (view_json)."""
    return view_json(view, script_json)
