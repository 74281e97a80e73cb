"""The `verify` blueprint: public certificate verification, /verify/<cert_id> (page) and /verify/<cert_id>.json.

The page speaks the visitor's language (`?lang=`, then Accept-Language); the JSON is language-neutral.

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


# An explicit `?lang=` longer than this is not a language tag (and is not worth negotiating).
MAX_LANG = 35


def _page_locale() -> tuple[str, dict[str, str]]:
    """The page's language, and the form fields that keep it for the next id typed.

    An explicit `?lang=` comes first (a provider may link to the page in the certificate's
    language), then the browser's Accept-Language, as `locale.negotiate` orders them: "fr-CA" gets
    French, a language with no catalogue is skipped. `g.locale` follows, so error pages match.
    """
    from flask import g

    from ..launches import negotiate_locale

    asked = request.args.get("lang", "").strip()
    asked = asked if 0 < len(asked) <= MAX_LANG else ""
    loc = negotiate_locale(asked or None, request.headers.get("Accept-Language"))
    g.locale = loc
    honoured = bool(asked) and negotiate_locale(asked, None) == loc
    if loc == "en" and not asked.lower().startswith("en"):
        honoured = False  # an unknown ?lang= fell back to English: nothing to keep
    return loc, ({"lang": loc} if honoured else {})


def _respond(cert_id: str, as_json: bool) -> Any:
    from ce_xblock.core import verify as ver

    from ..records_store import verify_id

    result = verify_id(tool_of(current_app), cert_id)
    body = ver.as_json(result)
    code = HTTP_STATUS[body["status"]]
    if code == 409 and not _is_id(cert_id):
        code = 400  # a mistyped id, not a stored record that fails its check
    if as_json:
        resp = jsonify(body)  # language-neutral: status codes and the engine's English texts
        vary = "Accept"
    else:
        loc, keep = _page_locale()
        page = ver.render_html(result, lang=loc, form_action=url_for("verify.verify"), hidden=keep)
        resp = current_app.response_class(page, mimetype="text/html")
        vary = "Accept, Accept-Language"
    resp.status_code = code
    # The status can change (a revocation): caches must ask again.
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Vary"] = vary
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

    `.json` after the id, or `Accept: application/json`, gives the JSON a board's system can read.
    The page is in the language of `?lang=`, else of the browser (see `_page_locale`)."""
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
    loc, keep = _page_locale()
    resp = current_app.response_class(
        ver.render_lookup_page(url_for("verify.verify"), lang=loc, hidden=keep), mimetype="text/html"
    )
    resp.headers["Vary"] = "Accept, Accept-Language"
    return resp


@bp.route("/verify/<cert_id>.json")
def verify_json(cert_id: str) -> Any:
    return _respond(cert_id, True)
