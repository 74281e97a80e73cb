"""The tool's only contact with pylti1p3: OIDC login, launch validation, deep linking, service calls.

Everything else in lti_tool talks to `LtiAdapter`, `LaunchResult` and `LaunchError`, so the library
can be swapped by rewriting this module. Over pylti1p3 it adds what a multi-worker tool needs:
- state, nonces and platform keys in the shared cache (Redis or the database), never in process memory;
- a nonce is consumed by the first launch that uses it, so a replayed id_token is refused;
- parsed platform keys and the tool's private key are cached as key objects (pylti1p3 re-parses
  PEM on every launch and every access-token request);
- access tokens are cached in the shared cache until shortly before they expire;
- a small clock skew is allowed, the audience is checked, and each failure becomes a LaunchError
  that says what is wrong and how to fix it.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from flask import Request as FlaskHttpRequest
from flask import Response, make_response
from jwt.utils import base64url_decode, base64url_encode
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.deployment import Deployment as LibDeployment
from pylti1p3.exception import LtiServiceException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.lineitem import LineItem
from pylti1p3.registration import Registration as LibRegistration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.session import SessionService
from pylti1p3.tool_config.abstract import ToolConfAbstract
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from ce_xblock.core.locale import N_

from ..cache import Cache
from ..keys import KeyRing, SigningKey

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

STATE_TTL = 600  # seconds between OIDC login and launch
JWKS_TTL = 300  # platform key sets are re-read this often (and at once on an unknown kid)...
JWKS_TTL_MIN = 10  # ...or as the JWKS response's Cache-Control max-age says, bounded to these
JWKS_TTL_MAX = 3600  # so a withdrawn key is trusted at most an hour after the platform drops it


class LaunchError(Exception):
    """A launch or login the tool refuses, with a code for tests and words for people.

    `message` and `fix` are `N_`-marked templates filled with `params` ("%(name)s"); `.message`
    and `.fix` are the English text, `translated(gettext)` the text in the person's language.
    """

    def __init__(
        self,
        code: str,
        message: str,
        fix: str = "",
        status: int = 400,
        *,
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.params = dict(params or {})
        self.templates = (message, fix)
        self.message = _fill(message, self.params) or message
        self.fix = _fill(fix, self.params) or fix
        super().__init__(f"{self.message} {self.fix}".strip())
        self.code = code
        self.status = status
        self.extra = extra

    def translated(self, gettext: Callable[[str], str]) -> tuple[str, str]:
        """(message, fix) through `gettext` (e.g. `translator("fr").gettext`); English where the
        catalogue has no translation or a broken one."""
        english = (self.message, self.fix)
        out = [_fill(gettext(t), self.params) if t else "" for t in self.templates]
        return out[0] or english[0], (out[1] or english[1]) if self.templates[1] else ""


def _fill(template: str, params: Mapping[str, Any]) -> str:
    """`template % params`, or "" when a (translated) template does not fit the params."""
    if not params:
        return template
    try:
        return template % params
    except (KeyError, ValueError, TypeError):
        return ""


@dataclass(frozen=True)
class PlatformConfig:
    """What the adapter needs to know about one registration."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    keyset_url: str
    auth_audience: str = ""


@dataclass
class LaunchResult:
    """A validated launch: the claims, plus the registration it came through."""

    platform: PlatformConfig
    claims: dict[str, Any]
    login_params: dict[str, Any] = field(default_factory=dict)

    @property
    def message_type(self) -> str:
        return self.claims.get(CLAIM + "message_type", "")

    @property
    def deployment_id(self) -> str:
        return self.claims.get(CLAIM + "deployment_id", "")

    @property
    def roles(self) -> list[str]:
        return list(self.claims.get(CLAIM + "roles", []) or [])

    @property
    def is_instructor(self) -> bool:
        return is_instructor_roles(self.roles)

    @property
    def resource_link(self) -> dict[str, Any]:
        return self.claims.get(CLAIM + "resource_link", {}) or {}

    @property
    def context(self) -> dict[str, Any]:
        return self.claims.get(CLAIM + "context", {}) or {}

    @property
    def custom(self) -> dict[str, str]:
        return dict(self.claims.get(CLAIM + "custom", {}) or {})

    @property
    def ags(self) -> dict[str, Any]:
        return self.claims.get(AGS_CLAIM, {}) or {}

    @property
    def nrps(self) -> dict[str, Any]:
        return self.claims.get(NRPS_CLAIM, {}) or {}

    @property
    def deep_linking_settings(self) -> dict[str, Any]:
        return self.claims.get(DL_CLAIM, {}) or {}


LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
# Context (membership) roles that may author and see reports for the resource link.
CONTEXT_STAFF_ROLES = ("Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant")
# Institution and system roles: only administrators. An institution "Instructor" (Canvas sends it for
# every teacher) may be taking a CE course as a learner, so it grants nothing on its own.
ADMIN_ROLES = (
    LIS + "institution/person#Administrator",
    LIS + "system/person#Administrator",
    LIS + "system/person#SysAdmin",
)


def is_instructor_roles(roles: Sequence[str]) -> bool:
    """Instructor, administrator, content developer or TA in the context; or an institution/system administrator.

    Mentors, and institution roles other than Administrator, are learners here. Short role names
    ("Instructor") are accepted too: LTI 1.3 deprecates them but some platforms send them, and they
    are context roles.
    """
    for role in roles:
        if role in ADMIN_ROLES or role in CONTEXT_STAFF_ROLES:
            return True
        if role.startswith(LIS + "membership#"):
            if role.rsplit("#", 1)[1] in CONTEXT_STAFF_ROLES:
                return True
        elif role.startswith(LIS + "membership/"):
            # Sub-roles such as membership/Instructor#TeachingAssistant.
            principal = role[len(LIS + "membership/") :].split("#", 1)[0]
            if principal in CONTEXT_STAFF_ROLES:
                return True
    return False


# --- PyJWT ---------------------------------------------------------------------------------------

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class _FastJWS(jwt.PyJWS):
    """PyJWT's JWS with its base64url check done in C.

    PyJWT 2.14 and later refuse non-alphabet characters in a token by testing each character in a
    Python generator, about 100 us a launch for a 1.5 kB id_token. This is the same check, the same
    rules and the same errors (tests/lti_tool/test_lti_perf.py compares the two), with
    bytes.translate finding any character outside the alphabet.
    """

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        padding = 0
        stripped = segment
        while stripped.endswith(b"="):
            stripped = stripped[:-1]
            padding += 1
            if padding > 2:
                raise jwt.DecodeError(f"Invalid {name} padding")
        if padding and len(segment) % 4 != 0:
            raise jwt.DecodeError(f"Invalid {name} padding")
        if len(stripped) % 4 == 1 or stripped.translate(None, _B64URL_ALPHABET):
            raise jwt.DecodeError(f"Invalid {name} padding")
        try:
            decoded = base64url_decode(stripped)
        except (TypeError, binascii.Error) as err:
            raise jwt.DecodeError(f"Invalid {name} padding") from err
        if base64url_encode(decoded) != stripped:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


def _fast_jwt() -> Any:
    """A PyJWT decoder over _FastJWS; PyJWT's own where its internals differ from the version checked."""
    decoder = jwt.PyJWT()
    if callable(getattr(jwt.PyJWS, "_decode_base64url_segment", None)) and hasattr(decoder, "_jws"):
        decoder._jws = _FastJWS(options=decoder._get_sig_options())
    return decoder


_JWT = _fast_jwt()


# --- pylti1p3 plumbing ---------------------------------------------------------------------------


class _ToolRegistration(LibRegistration):
    """A pylti1p3 Registration that signs with a cached key object instead of a PEM string."""

    def __init__(self, platform: PlatformConfig, key: SigningKey) -> None:
        self.platform = platform
        self.signing_key = key
        self.set_issuer(platform.issuer).set_client_id(platform.client_id)
        self.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
        self.set_key_set_url(platform.keyset_url).set_tool_private_key(key.private_pem)
        if platform.auth_audience:
            self.set_auth_audience(platform.auth_audience)

    def get_kid(self) -> str:
        return self.signing_key.kid


class _SharedStorage(LaunchDataStorage):
    """pylti1p3 launch storage over the shared cache, with no session-id cookie.

    The session-id cookie is what fails in cross-site iframes ("Missing session-id cookie");
    the state cookie and the single-use nonce already bind a launch to its login.
    """

    def __init__(self, cache: Cache) -> None:
        super().__init__()
        self.cache = cache

    def get_session_cookie_name(self) -> None:
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        return self.cache.get(self._prepare_key(key))

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        self.cache.set(self._prepare_key(key), value, exp or STATE_TTL)

    def check_value(self, key: str) -> bool:
        return self.cache.get(self._prepare_key(key)) is not None

    def pop_value(self, key: str) -> Any:
        return self.cache.pop(self._prepare_key(key))


class _SessionService(SessionService):
    _launch_data_lifetime = STATE_TTL

    def __init__(self, request: Any, storage: _SharedStorage) -> None:
        super().__init__(request)
        self.set_data_storage(storage)
        self._pending_nonce: str | None = None
        self.login_entry: dict[str, Any] = {}

    # One cache write per login: the nonce entry also holds the state and the login parameters
    # (pylti1p3 would write the nonce and the state parameters separately).
    def save_nonce(self, nonce: str) -> None:
        self._pending_nonce = nonce

    def save_state_params(self, state: str, params: dict[str, object]) -> None:
        assert self._pending_nonce, "save_nonce comes first in pylti1p3's login"
        self._set_value(self._get_key("nonce", self._pending_nonce), {"state": state, "params": params})
        self._pending_nonce = None

    def flush(self) -> None:
        if self._pending_nonce:
            self._set_value(self._get_key("nonce", self._pending_nonce), {"state": "", "params": {}})
            self._pending_nonce = None

    def check_nonce(self, nonce: str) -> bool:
        # pylti1p3 only checks that the nonce exists, so the same id_token could be posted twice:
        # here the first launch consumes it, atomically, whichever worker serves it.
        storage = self.data_storage
        assert isinstance(storage, _SharedStorage)
        entry = storage.pop_value(self._get_key("nonce", nonce))
        if entry is None:
            return False
        self.login_entry = entry if isinstance(entry, dict) else {}
        return True

    def peek_nonce(self, nonce: str) -> dict[str, Any]:
        storage = self.data_storage
        assert isinstance(storage, _SharedStorage)
        entry = storage.get_value(self._get_key("nonce", nonce))
        return entry if isinstance(entry, dict) else {}


class _CookieService(FlaskCookieService):
    """State cookies for cross-site iframes: Secure; SameSite=None; Partitioned (CHIPS)."""

    def __init__(self, request: Any, secure: bool) -> None:
        super().__init__(request)
        self.secure = secure

    def update_response(self, response: Response) -> None:
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(
                key,
                str(data["value"]),
                max_age=data["exp"],
                path="/",
                httponly=True,
                secure=self.secure,
                samesite="None" if self.secure else "Lax",
                partitioned=self.secure,
            )


class _ToolConf(ToolConfAbstract):
    def __init__(self, adapter: LtiAdapter) -> None:
        self.adapter = adapter
        self.issuers_relation_types = {}

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> _ToolRegistration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> _ToolRegistration | None:
        platform = self.adapter.find_platform(iss, client_id)
        if platform is None:
            return None
        return _ToolRegistration(platform, self.adapter.keyring.current())

    def find_deployment(self, iss: str, deployment_id: str) -> LibDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> LibDeployment | None:
        platform = self.adapter.find_platform(iss, client_id)
        if platform is None:
            return None
        self.adapter.on_deployment(platform, deployment_id)
        return LibDeployment().set_deployment_id(deployment_id)


class _Login(FlaskOIDCLogin):
    """pylti1p3's login with a nonce of 256 random bits: its own ends in a uuid1, which carries the
    host's MAC address and the time, and asks the kernel for the clock on every login."""

    def _generate_nonce(self) -> str:
        return secrets.token_hex(32)


class _Launch(FlaskMessageLaunch):
    """Validation in a safe order, each step's failure turned into a LaunchError."""

    adapter: LtiAdapter

    def validate(self) -> _Launch:
        self._validated = True
        # Signature before nonce: a forged token must not be able to burn a real learner's nonce.
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("state", self.validate_state),
            ("format", self.validate_jwt_format),
            ("registration", self.validate_registration),
            ("signature", self.validate_jwt_signature),
            ("nonce", self.validate_nonce),
            ("deployment", self.validate_deployment),
            ("message", self.validate_message),
        ]
        for name, step in steps:
            try:
                step()
            except LaunchError:
                self._validated = False
                raise
            except Exception as exc:  # pylti1p3 raises plain exceptions with terse messages
                self._validated = False
                raise self.adapter.explain(name, exc, self) from exc
        return self

    def validate_state(self) -> _Launch:
        state = self._get_request_param("state")
        if not state:
            raise LaunchError(
                "state-missing",
                N_("The launch has no state parameter."),
                N_("Start the activity again from the course page; the platform must send the state it was given."),
            )
        if self._cookie_service.get_cookie(state) != state:
            raise LaunchError(
                "state-mismatch",
                N_(
                    "This launch does not match a login started in this browser (the state cookie is "
                    "missing or different). Your browser may be blocking cookies in embedded pages."
                ),
                N_("Open the activity in a new window, or allow cookies for this site, and try again."),
                status=403,
                state=state,
                id_token=self._get_request_param("id_token") or "",
            )
        return self

    def validate_jwt_signature(self) -> _Launch:
        token = self._get_id_token()
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if alg not in ("RS256", "RS384", "RS512"):
            raise LaunchError(
                "algorithm",
                N_("The id_token is signed with %(alg)s, which LTI 1.3 does not allow."),
                N_("The platform must sign launches with RS256."),
                status=401,
                params={"alg": repr(alg)},
            )
        assert self._registration is not None
        key = self.adapter.platform_key(self._registration.get_key_set_url(), kid)
        try:
            _JWT.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._registration.get_client_id(),
                issuer=self._registration.get_issuer(),
                leeway=self.adapter.clock_skew,
                options={"require": ["exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchError(
                "expired",
                N_("The launch token has expired."),
                N_(
                    "Launch the activity again from the course page. If this keeps happening, check that "
                    "the platform's and the tool's clocks are right."
                ),
                status=401,
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchError(
                "not-yet-valid",
                N_("The launch token was issued in the future (its iat is ahead of the tool's clock)."),
                N_("Check that the platform's and the tool's clocks are synchronised (NTP)."),
                status=401,
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise LaunchError(
                "audience",
                N_("The launch token is not addressed to this tool's client id %(client_id)s."),
                N_("Check the client id registered for this platform (ce-credit platform list)."),
                status=401,
                params={"client_id": repr(self._registration.get_client_id())},
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise LaunchError(
                "signature",
                N_("The launch token's signature does not verify with the platform's published keys."),
                N_(
                    "The token was forged or altered, or the platform's keyset URL is wrong: check it "
                    "with ce-credit platform list."
                ),
                status=401,
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchError(
                "token",
                N_("The launch token is not valid: %(reason)s."),
                N_("Launch the activity again from the course page."),
                status=401,
                params={"reason": exc},
            ) from exc
        return self

    def validate_deployment(self) -> _Launch:
        if not self._get_jwt_body().get(CLAIM + "deployment_id"):
            raise LaunchError(
                "deployment-missing",
                N_("The launch has no deployment_id claim."),
                N_("The platform must send https://purl.imsglobal.org/spec/lti/claim/deployment_id."),
            )
        return super().validate_deployment()

    def save_launch_data(self) -> _Launch:
        # The tool keeps its own compact launch context (see lti_tool.launches); pylti1p3's copy
        # of the whole token would be a second write per launch that nothing reads.
        return self


class _TimeoutSession:
    """A requests session whose calls time out by default (pylti1p3 posts its token request without one)."""

    def __init__(self, session: requests.Session, timeout: float = 15.0) -> None:
        self._session = session
        self._timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class _ServiceConnector(ServiceConnector):
    """Access tokens in the shared cache; the client assertion signed with a cached key object."""

    cache: Cache | None = None

    def _scope_key(self, scopes) -> str:
        # pylti1p3 keys tokens by issuer and scopes only; two registrations with the same issuer
        # (every Canvas, hosted or self-hosted, uses https://canvas.instructure.com) would share one
        # institution's bearer token. Key by the client and its token endpoint too.
        reg = self._registration
        parts = [reg.get_issuer() or "", reg.get_client_id() or "", reg.get_auth_token_url() or "", *sorted(scopes)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        return self.cache.get("token:" + scope_key) if self.cache else None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        # Renew a little early so a token never expires between the check and the request.
        ttl = float(expires_in or 3600) - 30
        if self.cache and ttl > 0:
            self.cache.set("token:" + scope_key, access_token, ttl)

    def drop_cached_token(self, scopes: Sequence[str]) -> None:
        if self.cache:
            self.cache.delete("token:" + self._scope_key(sorted(scopes)))

    def encode_jwt(self, message: dict[str, Any], private_key: str, headers: dict[str, str]) -> str:
        reg = self._registration
        key = reg.signing_key.private_key if isinstance(reg, _ToolRegistration) else private_key
        return jwt.encode(message, key, algorithm="RS256", headers=headers)


class _DeepLink(DeepLink):
    def encode_jwt(self, message: dict[str, Any]) -> str:
        reg = self._registration
        assert isinstance(reg, _ToolRegistration)
        return jwt.encode(message, reg.signing_key.private_key, algorithm="RS256", headers={"kid": reg.signing_key.kid})


# --- the interface -------------------------------------------------------------------------------


@dataclass
class ServiceResponse:
    status: int
    body: Any
    headers: Mapping[str, str]
    next_url: str | None = None


class ServiceError(Exception):
    """A platform service call that failed; `retryable` says whether trying later may help."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None, problem: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.problem = problem  # a kind of failure the outbox names itself (outbox.PROBLEMS); "" to infer

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in (401, 408, 409, 425, 429) or self.status >= 500


def jwks_lifetime(cache_control: str | None) -> float:
    """Seconds a fetched platform key set may be used: its max-age (bounded), else JWKS_TTL."""
    # Directive names are case-insensitive (RFC 9111); werkzeug matches them as written.
    cc = parse_cache_control_header((cache_control or "").lower(), cls=ResponseCacheControl)
    if cc.no_store or cc.no_cache:
        return JWKS_TTL_MIN
    if cc.max_age is None:
        return JWKS_TTL
    return min(max(float(cc.max_age), JWKS_TTL_MIN), JWKS_TTL_MAX)


class LtiAdapter:
    """Login, launch, deep linking and platform services for a tool whose state lives in `cache`."""

    def __init__(
        self,
        *,
        cache: Cache,
        keyring: KeyRing,
        find_platform: Callable[[str, str | None], PlatformConfig | None],
        on_deployment: Callable[[PlatformConfig, str], None],
        clock_skew: float = 60.0,
        secure_cookies: bool = True,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        # Wall-clock seconds (shared with other hosts through the cache): when platform key sets expire.
        self.clock = clock
        self.keyring = keyring
        self._find_platform = find_platform
        self.on_deployment = on_deployment
        self.clock_skew = clock_skew
        self.secure_cookies = secure_cookies
        self.http = http or requests.Session()
        self.http.headers["User-Agent"] = "ce-credit-lti"
        self._platforms: dict[tuple[str, str | None], tuple[float, PlatformConfig | None]] = {}
        self._keys: dict[tuple[str, str], tuple[float, Any]] = {}  # (keyset URL, kid): (expires, parsed key)
        self._keys_lock = threading.Lock()

    # registrations are looked up on every launch; a few seconds of caching keeps that off the database
    PLATFORM_TTL = 5.0

    def find_platform(self, issuer: str, client_id: str | None) -> PlatformConfig | None:
        k = (issuer, client_id)
        hit = self._platforms.get(k)
        # The same injectable clock as platform-key expiry, so tests (and every decision) share one time.
        now = self.clock()
        if hit and hit[0] > now:
            return hit[1]
        platform = self._find_platform(issuer, client_id)
        self._platforms[k] = (now + self.PLATFORM_TTL, platform)
        return platform

    def forget_platforms(self) -> None:
        self._platforms.clear()

    def _request(self, req: FlaskHttpRequest, data: Mapping[str, Any] | None = None) -> FlaskRequest:
        params = dict(req.args.items())
        params.update(req.form.items())
        if data:
            params.update(data)
        return FlaskRequest(cookies=req.cookies, session={}, request_data=params, request_is_secure=req.is_secure)

    # --- login

    def login(self, req: FlaskHttpRequest, launch_url: str) -> Response:
        """Answer an OIDC third-party login initiation with the redirect to the platform."""
        lreq = self._request(req)
        for name in ("iss", "login_hint"):
            if not lreq.get_param(name):
                raise LaunchError(
                    "login-" + name,
                    N_("The login request has no %(name)s parameter."),
                    N_("Start the activity from the platform; its OIDC login initiation must send iss and login_hint."),
                    params={"name": name},
                )
        iss, client_id = lreq.get_param("iss"), lreq.get_param("client_id")
        if self.find_platform(iss, client_id) is None:
            raise unknown_platform(iss, client_id)
        storage = _SharedStorage(self.cache)
        cookies = _CookieService(lreq, self.secure_cookies)
        sessions = _SessionService(lreq, storage)
        oidc = _Login(lreq, _ToolConf(self), session_service=sessions, cookie_service=cookies)
        # Kept with the state so a launch whose cookie was blocked can offer a fresh login in a new window.
        keep = ("iss", "login_hint", "lti_message_hint", "client_id", "lti_deployment_id", "target_link_uri")
        oidc.pass_params_to_launch({k: lreq.get_param(k) for k in keep if lreq.get_param(k)})
        response = oidc.redirect(launch_url)
        sessions.flush()
        return response

    # --- launch

    def launch(self, req: FlaskHttpRequest) -> LaunchResult:
        lreq = self._request(req)
        if not lreq.get_param("id_token"):
            raise LaunchError(
                "id-token-missing",
                N_("The launch has no id_token."),
                N_("Open the activity from the course page: launches must be POSTed by the platform."),
            )
        storage = _SharedStorage(self.cache)
        sessions = _SessionService(lreq, storage)
        launch = _Launch(
            lreq,
            _ToolConf(self),
            session_service=sessions,
            cookie_service=_CookieService(lreq, self.secure_cookies),
            # pylti1p3 makes a requests.Session per launch otherwise (~50 µs), for a key set fetch
            # that the adapter's own key cache makes rare.
            requests_session=self.http,
            service_connector_cls=_ServiceConnector,
        )
        launch.adapter = self
        launch.validate()
        claims = dict(launch.get_launch_data())
        reg = launch._registration
        assert isinstance(reg, _ToolRegistration)
        return LaunchResult(platform=reg.platform, claims=claims, login_params=sessions.login_entry.get("params", {}))

    def login_params_for(self, state: str, id_token: str) -> dict[str, Any]:
        """The parameters of the login that issued this state, for a new-window retry after a blocked cookie.

        Read through the (unverified) token's nonce, and only if that login issued this very state.
        """
        try:
            nonce = jwt.decode(id_token, options={"verify_signature": False}).get("nonce", "")
        except jwt.InvalidTokenError:
            return {}
        if not nonce:
            return {}
        entry = _SessionService(
            FlaskRequest(cookies={}, session={}, request_data={"x": 1}, request_is_secure=True),
            _SharedStorage(self.cache),
        ).peek_nonce(nonce)
        return entry.get("params", {}) if entry.get("state") == state else {}

    def explain(self, step: str, exc: Exception, launch: _Launch) -> LaunchError:
        """A pylti1p3 failure at `step`, in words an LMS administrator can act on."""
        body = launch._jwt.get("body", {}) if launch._jwt else {}
        if step == "format":
            return LaunchError(
                "format",
                N_("The id_token is not a well-formed JWT."),
                N_("The platform must POST a signed JWT as id_token."),
            )
        if step == "registration":
            aud = body.get("aud")
            return unknown_platform(body.get("iss", ""), aud[0] if isinstance(aud, list) and aud else aud)
        if step == "nonce":
            return LaunchError(
                "nonce",
                N_("This launch was already used, or its login was never started here (unknown nonce)."),
                N_("Launch the activity again from the course page; a launch link works only once."),
                status=403,
            )
        if step == "deployment":
            return LaunchError(
                "deployment",
                N_("The deployment %(deployment)s could not be recorded: %(reason)s"),
                N_("Register it with ce-credit platform add --deployment ..."),
                params={"deployment": repr(body.get(CLAIM + "deployment_id")), "reason": exc},
            )
        if step == "message":
            mt = body.get(CLAIM + "message_type")
            return LaunchError(
                "message",
                N_("The launch message (%(type)s) is missing required claims: %(reason)s."),
                N_(
                    "The platform must send an LtiResourceLinkRequest or LtiDeepLinkingRequest with "
                    "version 1.3.0, roles, a resource_link id (or deep_linking_settings) and sub."
                ),
                params={"type": mt or "no message type", "reason": exc},
            )
        if step == "signature":
            return LaunchError(
                "platform-keys",
                N_("The platform's keys could not be used: %(reason)s."),
                N_("Check the platform's keyset URL (ce-credit platform list)."),
                status=401,
                params={"reason": exc},
            )
        return LaunchError(
            step,
            N_("The launch failed at the %(step)s check: %(reason)s."),
            N_("Launch again from the course page."),
            params={"step": step, "reason": exc},
        )

    # --- platform keys

    def platform_key(self, keyset_url: str | None, kid: str | None) -> Any:
        """The parsed public key for `kid` from the platform's JWKS; one re-fetch on an unknown kid.

        Parsed keys live as long as the key set they came from (its Cache-Control max-age, else
        JWKS_TTL, bounded), so a key the platform withdraws stops being trusted once that has passed.
        """
        if not keyset_url:
            raise LaunchError(
                "platform-keys", N_("The registration has no keyset URL."), N_("Set it with ce-credit platform add.")
            )
        if not kid:
            raise LaunchError(
                "kid", N_("The id_token header has no kid."), N_("The platform must name its signing key.")
            )
        hit = self._keys.get((keyset_url, kid))
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        for force in (False, True):
            jwks, expires, fresh = self._jwks(keyset_url, force)
            for jwk in jwks.get("keys", []):
                if jwk.get("kid") == kid:
                    try:
                        key = jwt.PyJWK(jwk, algorithm=jwk.get("alg", "RS256")).key
                    except jwt.PyJWKError as exc:
                        raise LaunchError(
                            "platform-keys",
                            N_("The platform's key %(kid)s cannot be read: %(reason)s."),
                            N_("Fix the platform JWKS."),
                            params={"kid": repr(kid), "reason": exc},
                        ) from exc
                    with self._keys_lock:
                        self._keys[(keyset_url, kid)] = (expires, key)
                    return key
            if fresh:
                break  # just fetched from the platform: fetching again would not find the kid either
        raise LaunchError(
            "signature",
            N_("The launch token is signed with key %(kid)s, which is not in the platform's key set at %(url)s."),
            N_("The token was forged, or the registered keyset URL is wrong: check it with ce-credit platform list."),
            status=401,
            params={"kid": repr(kid), "url": keyset_url},
        )

    def _jwks(self, url: str, force: bool) -> tuple[dict[str, Any], float, bool]:
        """The platform's key set, when it expires, and whether it was fetched just now."""
        ck = "jwks2:" + hashlib.sha256(url.encode()).hexdigest()
        now = self.clock()
        if not force:
            cached = self.cache.get(ck)
            if isinstance(cached, dict) and cached.get("expires", 0) > now and isinstance(cached.get("jwks"), dict):
                return cached["jwks"], cached["expires"], False
        try:
            r = self.http.get(url, timeout=10)
            r.raise_for_status()
            data = r.json()
        except (requests.RequestException, ValueError) as exc:
            raise LaunchError(
                "platform-keys",
                N_("The platform's key set at %(url)s could not be read: %(reason)s."),
                N_("Check the keyset URL and that the platform is reachable from the tool."),
                status=502,
                params={"url": url, "reason": exc},
            ) from exc
        if not isinstance(data, dict):
            raise LaunchError(
                "platform-keys",
                N_("The platform's key set at %(url)s could not be read: %(reason)s."),
                N_("Check the keyset URL and that the platform is reachable from the tool."),
                status=502,
                params={"url": url, "reason": "not a JSON object"},
            )
        ttl = jwks_lifetime(r.headers.get("Cache-Control"))
        expires = now + ttl
        self.cache.set(ck, {"jwks": data, "expires": expires}, ttl)
        return data, expires, True

    # --- deep linking

    def deep_link_response(
        self,
        platform: PlatformConfig,
        deployment_id: str,
        settings: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
    ) -> tuple[str, str]:
        """The signed LtiDeepLinkingResponse JWT and the URL it is posted to."""
        reg = _ToolRegistration(platform, self.keyring.current())
        resources = []
        for item in items:
            res = DeepLinkResource().set_url(item["url"]).set_title(item.get("title", ""))
            if item.get("custom"):
                res.set_custom_params(dict(item["custom"]))
            li = item.get("lineItem")
            if li:
                line = LineItem().set_score_maximum(li["scoreMaximum"]).set_label(li.get("label", ""))
                if li.get("resourceId"):
                    line.set_resource_id(li["resourceId"])
                if li.get("tag"):
                    line.set_tag(li["tag"])
                res.set_lineitem(line)
            resources.append(res)
        dl = _DeepLink(reg, deployment_id, dict(settings))
        return dl.get_response_jwt(resources), settings["deep_link_return_url"]

    # --- services (AGS, NRPS)

    def connector(self, platform: PlatformConfig) -> _ServiceConnector:
        conn = _ServiceConnector(_ToolRegistration(platform, self.keyring.current()), _TimeoutSession(self.http))
        conn.cache = self.cache
        return conn

    def service_request(
        self,
        platform: PlatformConfig,
        scopes: Sequence[str],
        url: str,
        *,
        method: str = "GET",
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = 15.0,
        retries: int = 1,
    ) -> ServiceResponse:
        """One authorised call to a platform service, retried `retries` times at once on a transient failure.

        The quick retry lets a multi-step send (token, line item, score) get through a platform
        that drops a single request; longer outages are the outbox's job. Raises ServiceError.
        """
        for attempt in range(retries + 1):
            try:
                return self._service_request_once(platform, scopes, url, method, body, content_type, accept, timeout)
            except ServiceError as err:
                if attempt >= retries or not err.retryable:
                    raise
                time.sleep(min(err.retry_after if err.retry_after is not None else 0.2, 2.0))
        raise AssertionError("unreachable")

    def _service_request_once(
        self,
        platform: PlatformConfig,
        scopes: Sequence[str],
        url: str,
        method: str,
        body: Any,
        content_type: str,
        accept: str,
        timeout: float,
    ) -> ServiceResponse:
        conn = self.connector(platform)
        try:
            token = conn.get_access_token(list(scopes))
        except LtiServiceException as exc:
            resp = getattr(exc, "response", None)
            status = getattr(resp, "status_code", None)
            raise ServiceError(f"The platform refused an access token: {exc}", status, _retry_after(resp)) from exc
        except requests.RequestException as exc:
            raise ServiceError(f"The platform's token endpoint could not be reached: {exc}") from exc
        headers = {"Authorization": "Bearer " + token, "Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        try:
            r = self.http.request(method, url, data=data, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise ServiceError(f"{url} could not be reached: {exc}") from exc
        if r.status_code == 401:
            # The platform may have revoked or expired the token early: drop it so the retry gets a new one.
            conn.drop_cached_token(list(scopes))
        if not r.ok:
            raise ServiceError(
                f"{method} {url} answered {r.status_code}: {r.text[:300]}", r.status_code, _retry_after(r)
            )
        next_url = r.links.get("next", {}).get("url")
        try:
            parsed = r.json() if r.content else None
        except ValueError:
            parsed = r.text
        return ServiceResponse(r.status_code, parsed, r.headers, next_url)


def _retry_after(resp: Any) -> float | None:
    value = getattr(resp, "headers", {}).get("Retry-After") if resp is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def unknown_platform(issuer: str, client_id: str | None) -> LaunchError:
    if client_id:
        message = N_("No platform is registered with issuer %(issuer)s and client id %(client_id)s.")
    else:
        message = N_("No platform is registered with issuer %(issuer)s.")
    return LaunchError(
        "unknown-platform",
        message,
        N_(
            "Register it: ce-credit platform add --issuer ... --client-id ... (see docs/lti.md), "
            "or use dynamic registration."
        ),
        status=403,
        params={"issuer": repr(issuer), "client_id": repr(client_id)},
    )


def new_window_login_url(login_url: str, params: Mapping[str, Any]) -> str:
    """A login URL that restarts the launch in a top-level window, where cookies are first-party."""
    return login_url + "?" + urlencode({**{k: v for k, v in params.items() if v}, "lti1p3_new_window": "1"})


def make_html_response(html: str, status: int = 200) -> Response:
    resp = make_response(html, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp


def random_id() -> str:
    return uuid.uuid4().hex
