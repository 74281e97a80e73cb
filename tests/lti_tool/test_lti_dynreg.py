"""LTI Dynamic Registration against the test platform's openid-configuration and registration endpoint."""

import html

from sqlalchemy import select

from lti_tool.app import tool_of
from lti_tool.store import Registration


def test_dynamic_registration_registers_platform_and_closes(client, app, platform):
    resp = client.get(
        "/lti/register",
        query_string={
            "openid_configuration": platform.url + "/openid-configuration",
            "registration_token": "reg-token",
        },
        base_url="https://tool.test",
    )
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200, page[:800]
    assert "org.imsglobal.lti.close" in page and "dyn-client" in page
    req = platform.registration_request
    assert req["initiate_login_uri"] == "https://tool.test/lti/login"
    assert req["jwks_uri"] == "https://tool.test/lti/jwks"
    assert req["redirect_uris"] == ["https://tool.test/lti/launch"]
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in req["scope"]
    with tool_of(app).sessions() as s:
        reg = s.scalars(select(Registration).where(Registration.client_id == "dyn-client")).one()
        assert reg.keyset_url == platform.url + "/jwks"
        assert [d.deployment_id for d in reg.deployments] == ["dyn-dep"]


def test_dynamic_registration_with_bad_token_is_a_4xx_page(client, platform):
    resp = client.get(
        "/lti/register",
        query_string={"openid_configuration": platform.url + "/openid-configuration", "registration_token": "wrong"},
        base_url="https://tool.test",
    )
    assert resp.status_code == 502 and "did not accept the registration" in resp.get_data(as_text=True)


def test_register_without_platform_explains(client):
    resp = client.get("/lti/register", base_url="https://tool.test")
    assert resp.status_code == 400 and "must be opened by the platform" in resp.get_data(as_text=True)


def test_openid_configuration_from_another_host_is_refused(client, platform):
    # The same server, reached by another name: the issuer's host does not match.
    url = platform.url.replace("127.0.0.1", "localhost") + "/openid-configuration"
    resp = client.get(
        "/lti/register",
        query_string={"openid_configuration": url, "registration_token": "reg-token"},
        base_url="https://tool.test",
    )
    assert resp.status_code == 400 and "not on the host" in html.unescape(resp.get_data(as_text=True))
