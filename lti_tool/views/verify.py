"""The `verify` blueprint: public certificate verification, /verify/<cert_id> (page) and /verify/<cert_id>.json.

The page and the JSON come from the engine (ce_xblock.core.verify) over the stored signed record and
the status log, so the tool shows exactly what `ce-credit verify` and the XBlock's page show.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for

from ..app import tool_of

bp = Blueprint("verify", __name__)

# HTTP status per result: a board's script can tell the cases apart without parsing the body
# (409: the stored record fails its signature check; a mistyped id gets 400).
HTTP_STATUS = {"valid": 200, "superseded": 200, "revoked": 200, "unknown": 404, "invalid": 409}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes["application/json"] > request.accept_mimetypes["text/html"]
    )


def _respond(cert_id: str, as_json: bool) -> Any:
    from ce_xblock.core import verify as ver

    from ..records_store import verify_id

    result = verify_id(tool_of(current_app), cert_id)
    body = ver.as_json(result)
    code = HTTP_STATUS[body["status"]]
    if code == 409 and not _is_id(cert_id):
        code = 400  # a mistyped id, not a stored record that fails its check
    if as_json:
        resp = jsonify(body)
    else:
        resp = current_app.response_class(
            ver.render_html(result, form_action=url_for("verify.verify")), mimetype="text/html"
        )
    resp.status_code = code
    # The status can change (a revocation): caches must ask again.
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Vary"] = "Accept"
    return resp


def _is_id(text: str) -> bool:
    from ce_xblock.core import certificate

    try:
        certificate.normalize_certificate_id(text)
    except certificate.CertificateIdError:
        return False
    return True


@bp.route("/verify", defaults={"cert_id": ""}, strict_slashes=False)  # /verify and /verify/ alike
@bp.route("/verify/<cert_id>")
def verify(cert_id: str) -> Any:
    """The lookup form; the result for an id in the path (the QR code's link) or typed into ?id=.

    `.json` after the id, or `Accept: application/json`, gives the JSON a board's system can read."""
    from ce_xblock.core import verify as ver

    typed = (cert_id or request.args.get("id") or "").strip()
    if typed.lower().endswith(".json"):
        return _respond(typed[:-5], True)
    if typed:
        return _respond(typed, _wants_json())
    if _wants_json():
        from flask import g

        from ce_xblock.core.locale import translator

        message = translator(g.get("locale")).gettext(
            "Give a certificate id: /verify/CE-XXXX-XXXX.json or /verify?id=CE-XXXX-XXXX."
        )
        return jsonify({"error": message}), 400
    return current_app.response_class(ver.render_lookup_page(url_for("verify.verify")), mimetype="text/html")


@bp.route("/verify/<cert_id>.json")
def verify_json(cert_id: str) -> Any:
    return _respond(cert_id, True)
