"""The demo LMS as a Flask app: launch buttons, OIDC auth, JWKS, token, AGS, NRPS, Deep Linking return.

`create_platform_app(config)` builds it; `lms_of(app)` gives the `DemoLMS` behind it, whose
`register_tool(...)`, `set_base_url(...)`, `set_failure_mode(...)` and `state` the demo command
and the end-to-end tests use. The platform's issuer is its own base URL.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, render_template_string, request, url_for
from lti1p3platform.exceptions import (
    LtiDeepLinkingResponseException,
    LtiException,
    LtiServiceException,
    MissingRequiredClaim,
    PreflightRequestValidationException,
    UnsupportedGrantType,
)
from lti1p3platform.registration import Registration
from lti1p3platform.response import generate_next_link

from . import templates
from .platform import (
    CLIENT_ASSERTION_TYPE,
    AGSService,
    FlaskRequest,
    MessageLaunch,
    NRPSService,
    OIDCLogin,
    PlatformConf,
    ReplayCache,
    ToolKeys,
    check_client_assertion,
)
from .state import DEFAULT_USERS, ROLE_URIS, LMSState, ResourceLink, ToolRegistration, User

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
FAILURE_MODES = (
    ("none", "Answer normally"),
    ("every-other", "Fail every other grade request with 503 Service Unavailable"),
    ("down", "Be down: answer every LTI request with 503"),
)
HINT_LIFETIME = 3600  # seconds a launch started from the page stays usable (the tool may retry login)
# The languages the page offers for the launch_presentation `locale` claim ("" sends no claim, so the
# tool falls back to the browser's Accept-Language). Any other BCP 47 tag works through /launch?locale=.
LOCALES = (
    ("", "The browser's language (no locale claim)"),
    ("en-US", "English (en-US)"),
    ("fr-CA", "Français (fr-CA)"),
    ("es", "Español (es)"),
    ("ar", "العربية (ar)"),
)
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class LaunchRefused(Exception):
    """A request in the launch flow the platform refuses; shown to the person as a 400 page."""


class DemoLMS:
    """One demo course with one registered tool."""

    def __init__(self, config: dict[str, Any]) -> None:
        users = tuple(User(**u) if isinstance(u, dict) else u for u in config.get("USERS", DEFAULT_USERS))
        self.state = LMSState(users=users, context=config.get("CONTEXT"), state_file=config.get("STATE_FILE"))
        self.base_url: str | None = (config.get("BASE_URL") or "").rstrip("/") or None
        self.name = config.get("PLATFORM_NAME", "Demo LMS")
        key_pem = config.get("PRIVATE_KEY")
        key = (
            serialization.load_pem_private_key(key_pem.encode() if isinstance(key_pem, str) else key_pem, None)
            if key_pem
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_key_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.private_key = key
        self.kid: str = Registration.get_jwk(self.public_key_pem)["kid"]
        self.tool: ToolRegistration | None = None
        if config.get("TOOL"):
            self.register_tool(**config["TOOL"])
        for link in config.get("LINKS", ()):
            if link.get("id") not in self.state.links:
                self.state.add_link(**{("link_id" if k == "id" else k): v for k, v in link.items()})
        self.tool_keys = ToolKeys()
        self.replay = ReplayCache()
        self.hints: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.failure_mode = "none"
        self._service_requests = 0
        self.refused: list[int] = []  # numbers of the service requests failed on purpose, for tests
        # seconds to hold the answer to a score POST after applying it: lets a test kill the
        # tool's worker between "the platform has the score" and "the worker knows it"
        self.score_delay = float(config.get("SCORE_DELAY", 0))

    # -- setup -------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        if not self.base_url:
            raise LtiException("The demo LMS has no base URL yet; call set_base_url() once its server listens")
        return self.base_url

    def set_base_url(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    def register_tool(
        self,
        client_id: str,
        deployment_id: str,
        login_url: str = "",
        launch_url: str = "",
        jwks_url: str = "",
        deep_link_url: str = "",
        tool_url: str = "",
        name: str = "CE Credit",
    ) -> ToolRegistration:
        """Register the tool. `tool_url` alone fills in CE Credit's fixed paths (/lti/login, ...)."""
        base = tool_url.rstrip("/")
        self.tool = ToolRegistration(
            client_id=client_id,
            deployment_id=deployment_id,
            login_url=login_url or f"{base}/lti/login",
            launch_url=launch_url or f"{base}/lti/launch",
            jwks_url=jwks_url or f"{base}/lti/jwks",
            deep_link_url=deep_link_url or launch_url or f"{base}/lti/launch",
            name=name,
        )
        if not all(u.startswith(("http://", "https://")) for u in (self.tool.login_url, self.tool.jwks_url)):
            raise ValueError(f"tool URLs {self.tool.login_url!r}, {self.tool.jwks_url!r} must be absolute http(s) URLs")
        return self.tool

    def tool_or_error(self) -> ToolRegistration:
        if self.tool is None:
            raise LaunchRefused("No tool is registered with this demo LMS; call register_tool() first.")
        return self.tool

    def set_failure_mode(self, mode: str) -> None:
        if mode not in dict(FAILURE_MODES):
            raise ValueError(f"failure mode {mode!r} must be one of {[m for m, _ in FAILURE_MODES]}")
        with self._lock:
            self.failure_mode = mode
            self._service_requests = 0

    def should_fail_service_request(self) -> bool:
        """Count an AGS request and say whether to fail it (every other one, starting with the first)."""
        with self._lock:
            self._service_requests += 1
            if self.failure_mode == "every-other" and self._service_requests % 2 == 1:
                self.refused.append(self._service_requests)
                return True
            return False

    # -- URLs --------------------------------------------------------------------------------
    def context_url(self) -> str:
        return f"{self.issuer}/api/lti/contexts/{self.state.context['id']}"

    def line_items_url(self) -> str:
        return f"{self.context_url()}/lineitems"

    def line_item_url(self, item_id: str) -> str:
        return f"{self.line_items_url()}/{item_id}"

    def memberships_url(self) -> str:
        return f"{self.context_url()}/memberships"

    def platform_conf(self) -> PlatformConf:
        conf = PlatformConf(lms=self)
        conf.get_registration()
        return conf

    # -- launches ----------------------------------------------------------------------------
    def start_launch(self, user_id: str, kind: str, link_id: str | None = None, locale: str | None = None) -> str:
        """Record a launch and return the tool's login-initiation URL to send the browser to.

        `locale` (a BCP 47 tag such as "fr-CA") goes in the launch_presentation claim's `locale`."""
        tool = self.tool_or_error()
        locale = (locale or "").strip()
        if locale and not _LOCALE_RE.match(locale):
            raise LaunchRefused(
                f"Locale {locale!r} is not a language tag; use e.g. fr, fr-CA or ar, or leave it empty."
            )
        if user_id not in self.state.users:
            raise LaunchRefused(f"User {user_id!r} is not in this course; pick one of {sorted(self.state.users)}.")
        if kind not in ("learner", "instructor", "deeplink"):
            raise LaunchRefused(f"Launch kind {kind!r} must be learner, instructor or deeplink.")
        link = None
        if kind != "deeplink":
            link = self.state.links.get(link_id or "")
            if link is None:
                raise LaunchRefused(
                    f"Course activity {link_id!r} does not exist. Press Deep link to add an activity, then launch it."
                )
        hint = secrets.token_urlsafe(16)
        now = time.time()
        with self._lock:
            self.hints = {k: v for k, v in self.hints.items() if v["created"] > now - HINT_LIFETIME}
            self.hints[hint] = {
                "user_id": user_id,
                "kind": kind,
                "link_id": link.id if link else None,
                "locale": locale,
                "created": now,
            }
        login = OIDCLogin(None, self.platform_conf())
        login.set_lti_message_hint(hint=hint)
        if kind == "deeplink":
            login.set_launch_url(tool.deep_link_url)
        elif link is not None and link.url:
            login.set_launch_url(link.url)
        return login.initiate_login(user_id)

    def launch_for_hint(self, hint: str) -> dict[str, Any]:
        with self._lock:
            found = self.hints.get(hint)
        if found is None or found["created"] < time.time() - HINT_LIFETIME:
            raise LaunchRefused(
                "This launch is unknown or older than an hour (lti_message_hint not recognised). "
                "Start it again from the course page."
            )
        return found

    def build_launch(self, params: dict[str, Any]) -> MessageLaunch:
        """Check the tool's authentication request (OIDC) and prepare the id_token's claims."""
        tool = self.tool_or_error()
        for key, expected in (("response_type", "id_token"), ("response_mode", "form_post"), ("prompt", "none")):
            if params.get(key) != expected:
                raise LaunchRefused(f"{key}={params.get(key)!r} in the authentication request must be {expected!r}.")
        if "openid" not in (params.get("scope") or "").split():
            raise LaunchRefused(f"scope={params.get('scope')!r} must include 'openid'.")
        if params.get("client_id") != tool.client_id:
            raise LaunchRefused(f"client_id={params.get('client_id')!r} is not the registered {tool.client_id!r}.")
        for key in ("nonce", "state"):
            if not params.get(key):
                raise LaunchRefused(f"The authentication request has no {key}; the tool must send one.")
        found = self.launch_for_hint(params.get("lti_message_hint") or "")
        if params.get("login_hint") != found["user_id"]:
            raise LaunchRefused(
                f"login_hint={params.get('login_hint')!r} does not match the user who started this launch."
            )
        link = self.state.links.get(found["link_id"] or "")
        allowed = tool.redirect_uris() | ({link.url} if link and link.url else set())
        if params.get("redirect_uri") not in allowed:
            raise LaunchRefused(
                f"redirect_uri={params.get('redirect_uri')!r} is not a registered launch URL ({sorted(allowed)})."
            )

        user = self.state.users[found["user_id"]]
        launch = MessageLaunch(FlaskRequest(request), self.platform_conf())
        role = "instructor" if found["kind"] in ("instructor", "deeplink") else "learner"
        launch.set_user_data(user.id, ROLE_URIS[role], full_name=user.name, email_address=user.email)
        launch.set_extra_claims({"given_name": user.given_name, "family_name": user.family_name})
        ctx = self.state.context
        launch.set_launch_context_claim(
            ctx["id"], ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"], ctx["title"], ctx["label"]
        )
        launch.set_launch_presentation_claim("iframe", return_url=f"{self.issuer}/")
        if found.get("locale"):
            # lti1p3platform's builder has no locale argument; the claim is a plain dict (LTI 1.3 §5.4.4).
            claim = launch.lti_claim_launch_presentation[
                "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
            ]
            claim["locale"] = found["locale"]
        launch.set_extra_claims(
            {
                "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
                    "guid": self.issuer,
                    "name": self.name,
                    "product_family_code": "ce-credit-demo-lms",
                }
            }
        )
        line_item_url = self.line_item_url(link.line_item_id) if link and link.line_item_id else None
        launch.set_ags(self.line_items_url(), line_item_url, allow_creating_lineitems=True)
        launch.set_nrps(self.memberships_url())
        if found["kind"] == "deeplink":
            launch.set_dl(
                f"{self.issuer}/deep_link_return",
                title=ctx["title"],
                accept_types={"ltiResourceLink"},
                extra_data=params["lti_message_hint"],
            )
            # required by LTI-DL 2.0 but missing from the library's claim
            launch._deep_linking_launch_data[DL_CLAIM].update(
                {"accept_presentation_document_targets": ["iframe", "window"], "accept_multiple": True}
            )
        else:
            assert link is not None
            launch.set_resource_link_claim(link.id, description=link.text or None, title=link.title)
            if link.url:
                launch.set_launch_url(link.url)
            if link.custom:
                launch.set_custom_parameters_claim(dict(link.custom))
        return launch

    def accept_deep_link(self, token: str) -> list[ResourceLink]:
        """Verify the tool's Deep Linking response and add its resource links to the course."""
        tool = self.tool_or_error()
        conf = self.platform_conf()
        items = conf.validate_deeplinking_resp({"JWT": token})
        claims = conf._jwt.get("body") or {}
        if claims.get("iss") != tool.client_id:
            raise LaunchRefused(f"Deep Linking response iss {claims.get('iss')!r} must be the client id.")
        aud = claims.get("aud")
        if self.issuer not in (aud if isinstance(aud, list) else [aud]):
            raise LaunchRefused(f"Deep Linking response aud {aud!r} must be this platform ({self.issuer}).")
        deployment = claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id")
        if deployment != tool.deployment_id:
            raise LaunchRefused(f"Deep Linking response deployment_id {deployment!r} is not {tool.deployment_id!r}.")
        data = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data")
        if data is not None:
            found = self.launch_for_hint(str(data))
            if found["kind"] != "deeplink":
                raise LaunchRefused("The Deep Linking response's data does not belong to a Deep Linking request.")
        added = []
        for item in items:
            if item.get("type") != "ltiResourceLink":
                continue
            added.append(
                self.state.add_link(
                    title=item.get("title") or "",
                    url=item.get("url") or "",
                    custom=item.get("custom") or {},
                    line_item=item.get("lineItem"),
                    text=item.get("text") or "",
                )
            )
        return added


def lms_of(app: Flask) -> DemoLMS:
    """The DemoLMS behind an app made by create_platform_app."""
    return app.extensions["demo_lms"]


bp = Blueprint("demo_lms", __name__)


def _lms() -> DemoLMS:
    return lms_of(current_app)  # type: ignore[arg-type]


def _refusal(message: str, status: int = 400) -> Response:
    page = render_template_string(
        templates.MESSAGE, title="The demo LMS refused this request", paragraphs=[message], items=[]
    )
    return Response(page, status=status, mimetype="text/html")


def _service_response(resp: Any) -> Response:
    """lti1p3platform's Response as a Flask response (what its Django wrap_json_resp does)."""
    if 200 <= resp.code < 300:
        if resp.result is None:
            return Response(status=resp.code if resp.code != 200 else 200)
        data = resp.result["content"] if isinstance(resp.result, dict) and "content" in resp.result else resp.result
        out = jsonify(data)
        out.status_code = resp.code
        out.mimetype = resp.media_type
        if isinstance(resp.result, dict) and resp.result.get("next"):
            out.headers["Link"] = generate_next_link(resp.result["next"])
        return out
    out = jsonify({"error": resp.message})
    out.status_code = resp.code
    return out


@bp.before_request
def _failure_switch() -> Response | None:
    lms = _lms()
    if request.endpoint in ("demo_lms.index", "demo_lms.control", "demo_lms.state_json", "demo_lms.gradebook_fragment"):
        return None
    if lms.failure_mode == "down":
        return Response("The demo LMS is down (switched off on purpose).", status=503, headers={"Retry-After": "1"})
    ags = ("demo_lms.line_items", "demo_lms.line_item", "demo_lms.scores", "demo_lms.results")
    if request.endpoint in ags and lms.should_fail_service_request():
        return Response("Temporarily unavailable (failing every other request on purpose).", status=503)
    return None


@bp.route("/")
def index() -> str:
    lms = _lms()
    return render_template_string(
        templates.PAGE,
        state=lms.state.snapshot(),
        gradebook=_gradebook_html(lms),
        issuer=lms.base_url or request.url_root.rstrip("/"),
        tool=lms.tool,
        modes=FAILURE_MODES,
        mode=lms.failure_mode,
        locales=LOCALES,
    )


def _gradebook_html(lms: DemoLMS) -> str:
    with lms.state.lock:
        log = list(lms.state.score_log)
        return render_template_string(
            templates.GRADEBOOK,
            users=[u for u in lms.state.users.values() if u.role == "learner"],
            line_items=list(lms.state.line_items.values()),
            results=dict(lms.state.results),
            log_count=len(log),
            duplicates=sum(1 for e in log if e["outcome"] == "duplicate"),
        )


@bp.route("/gradebook.json")
def gradebook_fragment() -> Response:
    lms = _lms()
    snap = lms.state.snapshot()
    scores = ";".join(f"{r['line_item_id']}:{r['userId']}:{r['timestamp']}" for r in snap["results"])
    return jsonify(html=_gradebook_html(lms), links=snap["links"], scores=scores)


@bp.route("/state.json")
def state_json() -> Response:
    lms = _lms()
    return jsonify({**lms.state.snapshot(), "failure_mode": lms.failure_mode, "refused": list(lms.refused)})


@bp.route("/frame")
def frame_placeholder() -> str:
    return templates.FRAME_PLACEHOLDER


@bp.route("/control", methods=["POST"])
def control() -> Any:
    lms = _lms()
    data = request.get_json(silent=True) or request.form
    try:
        lms.set_failure_mode(data.get("mode", lms.failure_mode))
        lms.score_delay = float(data.get("score_delay", lms.score_delay))
    except ValueError as exc:
        return _refusal(str(exc))
    if request.is_json:
        return jsonify(failure_mode=lms.failure_mode, score_delay=lms.score_delay)
    return redirect(url_for("demo_lms.index"), code=303)


@bp.route("/launch", methods=["GET", "POST"])
def launch() -> Any:
    values = request.values
    try:
        url = _lms().start_launch(
            values.get("user", ""), values.get("kind", "learner"), values.get("link"), values.get("locale")
        )
    except LaunchRefused as exc:
        return _refusal(str(exc))
    return redirect(url, code=302)


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> Any:
    lms = _lms()
    params = request.values.to_dict()
    try:
        message = lms.build_launch(params)
        return message.lti_launch(title=lms.tool_or_error().name)
    except (LaunchRefused, PreflightRequestValidationException) as exc:
        return _refusal(str(exc) or "The authentication request is missing nonce, state, redirect_uri or client_id.")


@bp.route("/jwks")
@bp.route("/.well-known/jwks.json")
def jwks() -> Response:
    # the key set does not depend on a tool being registered yet
    return jsonify({"keys": [Registration.get_jwk(_lms().public_key_pem)]})


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    out = jsonify(error=error, error_description=description)
    out.status_code = status
    return out


@bp.route("/token", methods=["POST"])
def token() -> Response:
    lms = _lms()
    data = request.form.to_dict()
    if data.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        return _oauth_error("invalid_client", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE!r}")
    conf = lms.platform_conf()
    try:
        answer = conf.get_access_token(data)
        check_client_assertion(conf._jwt["body"], lms.tool_or_error().client_id, f"{lms.issuer}/token", lms.replay)
    except (MissingRequiredClaim, UnsupportedGrantType) as exc:
        return _oauth_error("invalid_request", str(exc) or "grant_type must be client_credentials")
    except LaunchRefused as exc:
        return _oauth_error("invalid_client", str(exc), 401)
    except Exception as exc:  # any failure to verify the assertion (bad signature, expired, unknown key)
        return _oauth_error("invalid_client", f"client_assertion refused: {exc}", 401)
    if not answer["scope"]:
        return _oauth_error("invalid_scope", f"none of the requested scopes {data.get('scope')!r} is offered")
    return jsonify(answer)


def _ags(line_item_id: str | None = None) -> AGSService:
    lms = _lms()
    service = AGSService(
        FlaskRequest(request),
        lms.platform_conf(),
        lms.line_items_url(),
        lms.line_item_url(line_item_id) if line_item_id else None,
    )
    service.lms = lms
    return service


def _check_context(context_id: str) -> None:
    if context_id != _lms().state.context["id"]:
        raise LtiServiceException(f"Context {context_id!r} is not a course of this platform", 404)


def _serve(call: Any) -> Response:
    try:
        return _service_response(call())
    except LtiServiceException as exc:
        return _service_response(type("R", (), {"code": exc.status_code, "message": exc.message, "result": None})())


@bp.route("/api/lti/contexts/<context_id>/lineitems", methods=["GET", "POST"])
def line_items(context_id: str) -> Response:
    def call() -> Any:
        _check_context(context_id)
        service = _ags()
        handler = service.handle_get_lineitems if request.method == "GET" else service.handle_create_lineitem
        return service.handle_resp(handler)

    return _serve(call)


@bp.route("/api/lti/contexts/<context_id>/lineitems/<item_id>", methods=["GET", "PUT", "DELETE"])
def line_item(context_id: str, item_id: str) -> Response:
    def call() -> Any:
        _check_context(context_id)
        service = _ags(item_id)
        handler = {
            "GET": service.handle_get_lineitem,
            "PUT": service.handle_update_lineitem,
            "DELETE": service.handle_delete_lineitem,
        }[request.method]
        return service.handle_resp(handler, line_item_id=item_id)

    return _serve(call)


@bp.route("/api/lti/contexts/<context_id>/lineitems/<item_id>/scores", methods=["POST"])
def scores(context_id: str, item_id: str) -> Response:
    def call() -> Any:
        _check_context(context_id)
        service = _ags(item_id)
        return service.handle_resp(service.handle_update_score, line_item_id=item_id)

    resp = _serve(call)
    if _lms().score_delay:
        time.sleep(_lms().score_delay)
    return resp


@bp.route("/api/lti/contexts/<context_id>/lineitems/<item_id>/results", methods=["GET"])
def results(context_id: str, item_id: str) -> Response:
    def call() -> Any:
        _check_context(context_id)
        service = _ags(item_id)
        return service.handle_resp(service.handle_get_results, line_item_id=item_id)

    return _serve(call)


@bp.route("/api/lti/contexts/<context_id>/memberships", methods=["GET"])
def memberships(context_id: str) -> Response:
    def call() -> Any:
        _check_context(context_id)
        lms = _lms()
        service = NRPSService(FlaskRequest(request), lms.platform_conf(), lms.memberships_url())
        service.lms = lms
        return service.handle_resp(service.handle_get_members)

    return _serve(call)


@bp.route("/deep_link_return", methods=["POST"])
def deep_link_return() -> Any:
    lms = _lms()
    token = request.form.get("JWT")
    if not token:
        return _refusal("The Deep Linking response has no JWT form field; the tool must POST one.")
    try:
        added = lms.accept_deep_link(token)
    except (LaunchRefused, LtiException, LtiDeepLinkingResponseException) as exc:
        return _refusal(f"The Deep Linking response was refused: {exc}")
    except Exception as exc:  # a forged or expired JWT: PyJWT's errors
        return _refusal(f"The Deep Linking response's JWT could not be verified: {exc}")
    paragraphs = (
        ["Added to the course. Choose it under Course activity and press Launch as learner."]
        if added
        else ["The tool returned no activity, so nothing was added."]
    )
    return render_template_string(
        templates.MESSAGE,
        title="Deep linking done",
        paragraphs=paragraphs,
        items=[f"{link.title} (resource link {link.id})" for link in added],
    )


def create_platform_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the demo LMS.

    config keys (all optional): BASE_URL (the issuer; else call `lms_of(app).set_base_url()` once
    the server listens), TOOL (kwargs of `DemoLMS.register_tool`), PRIVATE_KEY (PEM; else a new
    RSA key), STATE_FILE (JSON file that keeps links and the gradebook across restarts), LINKS
    (resource links to start with: dicts of id, title, url, custom, line_item), USERS, CONTEXT,
    PLATFORM_NAME, SECRET_KEY.
    """
    config = dict(config or {})
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config.get("SECRET_KEY") or secrets.token_hex(16)
    app.extensions["demo_lms"] = DemoLMS(config)
    app.register_blueprint(bp)
    app.register_error_handler(LaunchRefused, lambda exc: _refusal(str(exc)))
    return app


def launch_url(base: str, user: str, kind: str, link: str | None = None) -> str:
    """The URL that starts a launch, as the page's buttons do (handy for tests and scripts)."""
    params = {"user": user, "kind": kind}
    if link:
        params["link"] = link
    return f"{base.rstrip('/')}/launch?{urlencode(params)}"
