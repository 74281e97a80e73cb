"""The `lti` blueprint: OIDC login, launch, JWKS, Canvas JSON configuration and dynamic registration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from ce_xblock.core.locale import N_, translator

from .. import launches
from ..app import tool_of
from ..keys import JWKS_MAX_AGE
from ..lti.adapter import LaunchError, new_window_login_url

bp = Blueprint("lti", __name__, url_prefix="/lti")

DEEP_LINKING = "LtiDeepLinkingRequest"
RESOURCE_LINK = "LtiResourceLinkRequest"


def error_page(err: LaunchError) -> Any:
    """A 4xx page that says what is wrong and what to do; never a stack trace."""
    retry_url = ""
    if err.code == "state-mismatch" and err.extra.get("state"):
        params = tool_of(current_app).adapter.login_params_for(err.extra["state"], err.extra.get("id_token", ""))
        if params.get("iss") and params.get("login_hint"):
            retry_url = new_window_login_url(url_for("lti.login", _external=True), params)
    # In the launch's language when the launch got that far, else the browser's (app.before_request).
    message, fix = err.translated(translator(g.get("locale")).gettext)
    return (
        render_template("error.html", code=err.code, message=message, fix=fix, retry_url=retry_url),
        err.status,
    )


@bp.errorhandler(LaunchError)
def _launch_error(err: LaunchError) -> Any:
    return error_page(err)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    tool = tool_of(current_app)
    launch_url = request.values.get("target_link_uri") or url_for("lti.launch", _external=True)
    # Only our own launch URL is a valid redirect_uri: never bounce the id_token to another host.
    ours = url_for("lti.launch", _external=True)
    if launch_url.split("?", 1)[0] != ours:
        launch_url = ours
    return tool.adapter.login(request, launch_url)


@bp.route("/launch", methods=["POST"])
def launch() -> Any:
    tool = tool_of(current_app)
    result = tool.adapter.launch(request)
    lc = launches.use_locale(launches.context_from(result))
    if result.message_type == DEEP_LINKING:
        launches.save(tool.cache, lc)
        from .instructor import deep_link_page

        return deep_link_page(lc)
    if result.message_type != RESOURCE_LINK:
        raise LaunchError(
            "message-type",
            N_("The tool does not handle %(type)s messages."),
            N_("Place the tool as a resource link or use deep linking."),
            params={"type": repr(result.message_type)},
        )
    if not lc.resource_link_id:
        raise LaunchError("resource-link", N_("The launch has no resource_link id."), N_("The platform must send one."))
    link = launches.resolve_resource_link(tool.reader, tool.sessions, lc)
    lc.resource_link_pk, lc.activity_slug, lc.lineitem_url = link.id, link.activity_slug, link.lineitem_url
    launches.save(tool.cache, lc)
    if lc.is_instructor:
        from .instructor import instructor_home

        return instructor_home(lc)
    from .learner import learner_page

    return learner_page(lc, learner=link.learner)


@bp.route("/jwks")
def jwks() -> Any:
    resp = jsonify(tool_of(current_app).keyring.jwks())
    # Platforms cache this; a rotated key starts signing only after this long (keys.JWKS_MAX_AGE).
    resp.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return resp


@bp.route("/config.json")
def canvas_config() -> Any:
    """The Canvas developer-key JSON (Developer Keys > + LTI Key > Paste JSON)."""
    title = current_app.config["TOOL_TITLE"]
    launch_url = url_for("lti.launch", _external=True)
    domain = request.host.split(":")[0]
    return jsonify(
        {
            "title": title,
            # The platform's administrator reads this in the platform's settings: kept in English.
            "description": "Continuing-education post-test, evaluation and certificates.",
            "oidc_initiation_url": url_for("lti.login", _external=True),
            "target_link_uri": launch_url,
            "public_jwk_url": url_for("lti.jwks", _external=True),
            "scopes": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            ],
            "extensions": [
                {
                    "domain": domain,
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",
                    "settings": {
                        "text": title,
                        "placements": [
                            {
                                "placement": "assignment_selection",
                                "message_type": DEEP_LINKING,
                                "target_link_uri": launch_url,
                            },
                            {
                                "placement": "link_selection",
                                "message_type": DEEP_LINKING,
                                "target_link_uri": launch_url,
                            },
                            {
                                "placement": "course_navigation",
                                "message_type": RESOURCE_LINK,
                                "target_link_uri": launch_url,
                                "default": "disabled",
                                "visibility": "admins",
                            },
                        ],
                    },
                }
            ],
            "custom_fields": {},
        }
    )


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    from ..dynreg import handle

    return handle()
