"""LTI Dynamic Registration through pylti1p3's DynamicRegistration (kept here, behind the adapter)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException

from .adapter import SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_NRPS, SCOPE_RESULT, SCOPE_SCORE, LaunchError

PLATFORM_CONF = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONF = "https://purl.imsglobal.org/spec/lti-tool-configuration"


class ToolRegistrar(DynamicRegistration):
    def __init__(
        self,
        *,
        openid_configuration: str,
        registration_token: str | None,
        base_url: str,
        title: str,
        http: requests.Session | None = None,
    ) -> None:
        self._config_url = openid_configuration
        self._token = registration_token
        self._base = base_url.rstrip("/")
        self._title = title
        self._http = http or requests.Session()

    def get_request_session(self) -> requests.Session:
        return self._http

    def get_client_name(self) -> str:
        return self._title

    def get_initiate_login_uri(self) -> str:
        return self._base + "/lti/login"

    def get_jwks_uri(self) -> str:
        return self._base + "/lti/jwks"

    def get_redirect_uris(self) -> list[str]:
        return [self._base + "/lti/launch"]

    def get_target_link_uri(self) -> str:
        return self._base + "/lti/launch"

    def get_domain(self) -> str:
        return urlparse(self._base).netloc

    def get_scopes(self) -> list[str]:
        return [SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS]

    def get_claims(self) -> list[str]:
        return ["iss", "sub", "name", "given_name", "family_name", "email"]

    def get_messages(self) -> list[dict[str, Any]]:
        return [
            {"type": "LtiDeepLinkingRequest", "target_link_uri": self.get_target_link_uri(), "label": self._title},
            {"type": "LtiResourceLinkRequest", "target_link_uri": self.get_target_link_uri(), "label": self._title},
        ]

    def get_description(self) -> str:
        return "Continuing-education post-test, evaluation and certificates."

    def get_logo_uri(self) -> str:
        return ""

    def get_openid_configuration_endpoint(self) -> str:
        return self._config_url

    def get_registration_token(self) -> str | None:  # type: ignore[override]
        return self._token

    def get_openid_configuration(self) -> dict[str, Any]:
        try:
            r = self._http.get(self._config_url, timeout=15)
            r.raise_for_status()
            conf = r.json()
        except (requests.RequestException, ValueError) as exc:
            raise LaunchError(
                "registration-config",
                f"The platform's OpenID configuration at {self._config_url} could not be read: {exc}.",
                "Start the registration again from the platform.",
                status=502,
            ) from exc
        # The configuration must come from the issuer's own host, or anyone could register as any platform.
        if urlparse(str(conf.get("issuer", ""))).netloc != urlparse(self._config_url).netloc:
            raise LaunchError(
                "registration-issuer",
                f"The OpenID configuration's issuer {conf.get('issuer')!r} is not on the host it was read from "
                f"({urlparse(self._config_url).netloc}).",
                "Only the platform itself can start a dynamic registration.",
                status=400,
            )
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"):
            if not conf.get(key):
                raise LaunchError(
                    "registration-config",
                    f"The platform's OpenID configuration has no {key}.",
                    "The platform does not support LTI Dynamic Registration correctly.",
                )
        return conf

    def complete_registration(self, openid_configuration: dict[str, Any], openid_registration: dict[str, Any]) -> Any:
        tool_conf = openid_registration.get(TOOL_CONF, {})
        return {
            "issuer": openid_configuration["issuer"],
            "client_id": openid_registration["client_id"],
            "auth_login_url": openid_configuration["authorization_endpoint"],
            "auth_token_url": openid_configuration["token_endpoint"],
            "keyset_url": openid_configuration["jwks_uri"],
            "auth_audience": openid_configuration.get("authorization_server", ""),
            "deployment_ids": [tool_conf["deployment_id"]] if tool_conf.get("deployment_id") else [],
            "name": (openid_configuration.get(PLATFORM_CONF) or {}).get("product_family_code", ""),
        }

    def run(self) -> dict[str, Any]:
        try:
            return self.register()
        except LaunchError:
            raise
        except (LtiException, AssertionError, KeyError, requests.RequestException) as exc:
            raise LaunchError(
                "registration-failed",
                f"The platform did not accept the registration: {exc}.",
                "Check the registration in the platform and try again.",
                status=502,
            ) from exc
