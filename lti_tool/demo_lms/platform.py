"""The lti1p3platform library bound to Flask and to the demo LMS state: registration, launch, AGS, NRPS.

lti1p3platform 0.1.8 has the protocol pieces but no server. Its Django/FastAPI adapters import
`pkg_resources` (gone from current setuptools), so this module is the Flask adapter: a request
wrapper, the platform configuration, the OIDC launch that renders our own auto-POST form, and the
AGS/NRPS services over `LMSState`. The library checks little (no `aud` or replay on the token
endpoint, no score validation), so the stricter checks a real LMS makes are added here.
"""

from __future__ import annotations

import html
import json
import threading
import time
from typing import Any

import jwt
import requests
from flask import Request as FlaskHTTPRequest
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException, LtiServiceException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService, TPage

from .state import LineItem, ScoreError, ToolRegistration

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class FlaskRequest(Request):
    """lti1p3platform's request view of a Flask request; paging parameters become ints."""

    def build_metadata(self, request: FlaskHTTPRequest) -> TRequest:
        get_data: dict[str, Any] = request.args.to_dict()
        for key in ("page", "limit"):
            if key in get_data:
                try:
                    get_data[key] = max(1, int(get_data[key]))
                except ValueError:
                    raise LtiServiceException(f"{key}={get_data[key]!r} must be a whole number", 400) from None
        return {
            "method": request.method,
            "form_data": request.form.to_dict(),
            "get_data": get_data,
            "headers": request.headers,
            "content_type": request.content_type,
            "path": request.path,
            "json": request.get_json(force=True, silent=True),
        }


class ToolKeys:
    """The tool's JWKS, fetched once and fetched again when a token names an unknown key (rotation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keyset: dict[str, Any] | None = None
        self._url: str | None = None

    def get(self, url: str, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            if refresh or self._keyset is None or self._url != url:
                try:
                    resp = requests.get(url, timeout=10)
                    resp.raise_for_status()
                    self._keyset = resp.json()
                except (requests.RequestException, ValueError) as exc:
                    raise LtiException(f"Could not read the tool's JWKS at {url}: {exc}") from exc
                self._url = url
            return self._keyset


class FastRegistration(Registration):
    """A Registration that signs with a parsed key object and a kid worked out once.

    The library re-reads the PEM (twice) on every signature; with the key object cached a launch
    costs the platform one RSA signature and nothing more.
    """

    _kid: str | None = None

    def get_kid(self) -> str | None:
        return self._kid


class PlatformConf(LTI1P3PlatformConfAbstract):
    """The platform side of the one registration, rebuilt per request from the LMS's settings."""

    lms: Any

    def init_platform_config(self, **kwargs: Any) -> None:
        self.lms = kwargs["lms"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        tool: ToolRegistration = self.lms.tool_or_error()
        reg = FastRegistration()
        reg._kid = self.lms.kid
        return (
            # the library's README forgets set_iss(); without it every message has "iss": null
            reg.set_iss(self.lms.issuer)
            .set_client_id(tool.client_id)
            .set_deployment_id(tool.deployment_id)
            .set_oidc_login_url(tool.login_url)
            .set_launch_url(tool.launch_url)
            .set_deeplink_launch_url(tool.deep_link_url or tool.launch_url)
            .set_tool_key_set_url(tool.jwks_url)
            .set_platform_private_key(self.lms.private_key)  # a key object: PyJWT signs with it as is
            .set_platform_public_key(self.lms.public_key_pem)
        )

    def get_tool_key_set(self) -> Any:
        return self.lms.tool_keys.get(self.get_registration().get_tool_key_set_url())

    def get_tool_public_key(self) -> bytes:
        try:
            return super().get_tool_public_key()
        except LtiException as exc:
            if "Unable to find public key" not in str(exc):
                raise
        # the tool may have rotated its keys since we last looked
        self.get_registration().set_tool_key_set(
            self.lms.tool_keys.get(self.get_registration().get_tool_key_set_url(), refresh=True)
        )
        return super().get_tool_public_key()

    def validate_token(self, token: str, allowed_scopes: Any = None, audience: str | None = None) -> bool:
        # a garbled or foreign bearer token is the caller's fault: 401, not a 500
        try:
            return super().validate_token(token, allowed_scopes, audience)
        except (jwt.PyJWTError, LtiException, ValueError) as exc:
            raise LtiServiceException(f"Invalid LTI 1.3 access token: {exc}", 401) from exc

    def decode_tool_jwt(self, token: str) -> dict[str, Any]:
        """Verify a JWT the tool signed (signature and exp) and return its claims."""
        self.get_registration()
        return self.tool_validate_and_decode(token)


class OIDCLogin(OIDCLoginAbstract):
    """Step 1 of a launch: send the browser to the tool's login URL (third-party initiated login)."""

    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


AUTO_POST_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launching {title}</title></head>
<body>
<form id="lti-launch" method="post" action="{action}">
<input type="hidden" name="id_token" value="{id_token}">
<input type="hidden" name="state" value="{state}">
<p>Opening {title}&hellip;</p>
<noscript><button type="submit">Continue to {title}</button></noscript>
</form>
<script>document.getElementById("lti-launch").submit();</script>
</body></html>"""


class MessageLaunch(LTIAdvantageMessageLaunchAbstract):
    """Step 2 of a launch: answer the tool's authentication request with a signed id_token."""

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        return AUTO_POST_FORM.format(
            action=html.escape(launch_data["launch_url"], quote=True),
            id_token=html.escape(launch_data["id_token"], quote=True),
            state=html.escape(launch_data["state"], quote=True),
            title=html.escape(kwargs.get("title", "the tool")),
        )


def page_of(items: list[Any], page: int = 1, limit: int | None = None) -> TPage:
    if not limit:
        return {"content": items, "has_next": False, "next": None}
    start = (page - 1) * limit
    return {"content": items[start : start + limit], "has_next": start + limit < len(items), "next": None}


class AGSService(AssignmentsGradesService):
    """Line items, scores and results of the demo course's gradebook."""

    lms: Any

    def line_item_json(self, item: LineItem) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.lms.line_item_url(item.id),
            "label": item.label,
            "scoreMaximum": item.score_maximum,
        }
        for key, value in (
            ("resourceId", item.resource_id),
            ("tag", item.tag),
            ("resourceLinkId", item.resource_link_id),
            ("startDateTime", item.start_date_time),
            ("endDateTime", item.end_date_time),
        ):
            if value:
                data[key] = value
        return data

    def find_lineitems(
        self,
        page: int = 1,
        limit: int | None = None,
        line_item_id: str | None = None,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
        **_: Any,
    ) -> TPage:
        with self.lms.state.lock:
            items = [
                self.line_item_json(i)
                for i in self.lms.state.line_items.values()
                if (not resource_link_id or i.resource_link_id == resource_link_id)
                and (not resource_id or i.resource_id == resource_id)
                and (not tag or i.tag == tag)
            ]
        return page_of(items, page, limit)

    def _item(self, line_item_id: str) -> LineItem:
        item = self.lms.state.line_items.get(line_item_id)
        if item is None:
            raise LineItemNotFoundException(line_item_id)
        return item

    def find_lineitem(self, line_item_id: str) -> Any:
        return self.line_item_json(self._item(line_item_id))

    def create_lineitem(self, creation_data: Any) -> Any:
        try:
            return self.line_item_json(self.lms.state.create_line_item(creation_data or {}))
        except ScoreError as exc:
            raise LtiServiceException(str(exc), 400) from exc

    def update_lineitem(self, update_data: Any) -> Any:
        item = self._item(update_data.pop("id"))
        return self.line_item_json(self.lms.state.update_line_item(item.id, update_data))

    def delete_lineitem(self, line_item_id: str) -> None:
        self.lms.state.delete_line_item(self._item(line_item_id).id)

    def update_score(self, line_item_id: str, score: Any) -> Any:
        from lti1p3platform.score import UpdateScoreStatus

        self._item(line_item_id)
        try:
            outcome = self.lms.state.post_score(line_item_id, score)
        except ScoreError as exc:
            raise LtiServiceException(str(exc), 400) from exc
        except KeyError as exc:
            raise LineItemNotFoundException(line_item_id) from exc
        return {
            "created": UpdateScoreStatus.CREATED,
            "success": UpdateScoreStatus.SUCCESS,
            "duplicate": UpdateScoreStatus.SUCCESS,
            "oldtimestamp": UpdateScoreStatus.OLD_TIMESTAMP,
        }[outcome]

    def get_results(
        self, line_item_id: str, page: int = 1, limit: int | None = None, user_id: str | None = None, **_: Any
    ) -> TPage:
        item = self._item(line_item_id)
        url = self.lms.line_item_url(item.id)
        with self.lms.state.lock:
            rows = [
                r
                for (iid, uid), r in self.lms.state.results.items()
                if iid == item.id and (not user_id or uid == user_id)
            ]
        results = []
        for r in rows:
            result: dict[str, Any] = {"id": f"{url}/results/{r['userId']}", "scoreOf": url, "userId": r["userId"]}
            if r["scoreGiven"] is not None:
                result["resultScore"] = r["scoreGiven"]
                result["resultMaximum"] = r["scoreMaximum"]
            if r["comment"]:
                result["comment"] = r["comment"]
            results.append(result)
        return page_of(results, page, limit)


class NRPSService(NamesRoleProvisioningService):
    """The course roster."""

    lms: Any

    def get_context_by_id(self) -> Context:
        ctx = self.lms.state.context
        return Context(id=ctx["id"], label=ctx["label"], title=ctx["title"])

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        return resource_link_id in self.lms.state.links

    def get_member_data_page(self, page: int = 1, limit: int | None = None, role: str | None = None, **_: Any) -> TPage:
        from .state import ROLE_URIS

        members = []
        for user in self.lms.state.users.values():
            roles = ROLE_URIS[user.role][:1]
            if role and role not in roles and not roles[0].endswith("#" + role):
                continue
            members.append(
                {
                    "status": "Active",
                    "user_id": user.id,
                    "name": user.name,
                    "given_name": user.given_name,
                    "family_name": user.family_name,
                    "email": user.email,
                    "roles": roles,
                }
            )
        return page_of(members, page, limit)


class ReplayCache:
    """jti values already used in client assertions, kept until their token would expire anyway."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, jti: str, exp: float) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen:
                return False
            self._seen[jti] = max(exp, now + 60)
            return True


def check_client_assertion(claims: dict[str, Any], client_id: str, token_url: str, replay: ReplayCache) -> None:
    """The checks lti1p3platform skips: who signed, for whom, and only once (IMS Security Framework 4.1)."""
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise LtiException(
            f"client_assertion iss/sub {claims.get('iss')!r}/{claims.get('sub')!r} must both be the client id {client_id!r}"
        )
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if token_url not in auds:
        raise LtiException(f"client_assertion aud {aud!r} must include this token endpoint {token_url!r}")
    jti = claims.get("jti")
    if not jti:
        raise LtiException("client_assertion has no jti; each assertion needs a unique jti")
    if not replay.first_use(str(jti), float(claims.get("exp", 0))):
        raise LtiException(f"client_assertion jti {jti!r} was already used; sign a new assertion per request")


def unverified_claims(token: str) -> dict[str, Any]:
    return json.loads(json.dumps(jwt.decode(token, options={"verify_signature": False})))
