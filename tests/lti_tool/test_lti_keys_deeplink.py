"""Tool keys (JWKS, rotation), the Canvas JSON, deep linking responses, and the CLI."""

import html
import re
import time

import jwt
from click.testing import CliRunner

from lti_tool.app import tool_of

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


def test_jwks_is_generated_on_first_use_and_rotation_publishes_before_it_signs(client, app):
    from lti_tool.keys import RETIRED_KEY_KEPT, SIGNING_DELAY

    now = [time.time()]
    tool = tool_of(app)
    tool.keyring.clock = lambda: now[0]
    first = client.get("/lti/jwks").get_json()["keys"]
    assert len(first) == 1 and first[0]["kty"] == "RSA" and first[0]["alg"] == "RS256" and "d" not in first[0]
    old = first[0]["kid"]
    new = tool.keyring.rotate().kid
    second = client.get("/lti/jwks").get_json()["keys"]
    # Published at once, newest first; the old key signs until platforms' cached copies expire.
    assert [k["kid"] for k in second] == [new, old] and tool.keyring.current().kid == old
    now[0] += SIGNING_DELAY + 1
    assert tool.keyring.current().kid == new
    assert {k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]} == {old, new}
    # The old key is withdrawn once the tokens it signed have long expired.
    now[0] += RETIRED_KEY_KEPT
    assert [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]] == [new]


def test_launch_in_flight_during_rotation_still_works(lti, platform, app):
    state, nonce, _ = lti.login()
    tool_of(app).keyring.rotate()
    token = platform.sign(platform.claims(nonce, **INSTRUCTOR))
    assert lti.launch(token, state).status_code == 200


def test_canvas_config_json(client):
    cfg = client.get("/lti/config.json", base_url="https://tool.test").get_json()
    assert cfg["oidc_initiation_url"] == "https://tool.test/lti/login"
    assert cfg["target_link_uri"] == "https://tool.test/lti/launch"
    assert cfg["public_jwk_url"] == "https://tool.test/lti/jwks"
    placements = cfg["extensions"][0]["settings"]["placements"]
    assert any(p["message_type"] == "LtiDeepLinkingRequest" for p in placements)


def test_deep_linking_returns_signed_resource_link_with_line_item(lti, client, platform, app, examples):
    state, nonce, _ = lti.login()
    claims = platform.claims(
        nonce,
        **INSTRUCTOR,
        **{
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": None,
            DL + "deep_linking_settings": {
                "deep_link_return_url": platform.url + "/dl-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-123",
            },
        },
    )
    resp = lti.launch(platform.sign(claims), state)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    page = resp.get_data(as_text=True)
    launch_id = re.search(r"/lti/instructor/([A-Za-z0-9_-]+)/", page).group(1)
    # Import an activity from the deep-linking page, then choose it.
    text = (examples / "telehealth-ethics.xml").read_text()
    resp = client.post(f"/lti/instructor/{launch_id}/olx", data={"olx": text}, base_url="https://tool.test")
    assert resp.status_code == 200 and "telehealth-ethics" in resp.get_data(as_text=True)
    resp = client.post(
        f"/lti/instructor/{launch_id}/deeplink", data={"activity": "telehealth-ethics"}, base_url="https://tool.test"
    )
    page = html.unescape(resp.get_data(as_text=True))
    assert f'action="{platform.url}/dl-return"' in page
    token = re.search(r'name="JWT" value="([^"]+)"', page).group(1)
    jwks = client.get("/lti/jwks").get_json()
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])).key
    body = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer)
    assert body["iss"] == platform.client_id
    assert body["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert body[DL + "data"] == "opaque-123"
    (item,) = body[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == "https://tool.test/lti/launch"
    assert item["custom"] == {"ce_activity": "telehealth-ethics"}
    assert item["lineItem"]["resourceId"] == "telehealth-ethics" and item["lineItem"]["scoreMaximum"] > 0
    assert item["lineItem"]["label"]


def test_resource_link_from_deep_link_opens_the_chosen_activity(lti, client, examples, launch_id_from):
    resp = lti.full_launch(**INSTRUCTOR, **{"https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "other"}})
    lid = launch_id_from(resp.get_data(as_text=True))
    client.post(
        f"/lti/instructor/{lid}/olx",
        data={"olx": (examples / "telehealth-ethics.xml").read_text()},
        base_url="https://tool.test",
    )
    resp = lti.full_launch(
        **{
            "https://purl.imsglobal.org/spec/lti/claim/custom": {"ce_activity": "telehealth-ethics"},
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-new"},
        }
    )
    assert resp.status_code == 200 and "ce-credit-initial-view" in resp.get_data(as_text=True)


def test_cli_platform_add_list_remove_and_keys(tmp_path, monkeypatch):
    from ce_xblock.cli import main

    monkeypatch.setenv("CE_CREDIT_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    r = CliRunner()
    out = r.invoke(
        main,
        [
            "platform",
            "add",
            "--issuer",
            "https://lms.example",
            "--client-id",
            "abc",
            "--auth-login-url",
            "https://lms.example/auth",
            "--auth-token-url",
            "https://lms.example/token",
            "--keyset-url",
            "https://lms.example/jwks",
            "--deployment",
            "d1",
            "--deployment",
            "d2",
        ],
    )
    assert out.exit_code == 0, out.output
    out = r.invoke(main, ["platform", "list"])
    assert "https://lms.example" in out.output and "d1, d2" in out.output
    bad = r.invoke(
        main,
        [
            "platform",
            "add",
            "--issuer",
            "x",
            "--client-id",
            "c",
            "--auth-login-url",
            "nope",
            "--auth-token-url",
            "https://a/t",
            "--keyset-url",
            "https://a/k",
        ],
    )
    assert bad.exit_code != 0 and "is not an http(s) URL" in bad.output
    assert r.invoke(main, ["keys", "list"]).output.count("signing, published") == 1  # generated on first use
    out = r.invoke(main, ["keys", "rotate"])
    assert out.exit_code == 0 and "starts signing at" in out.output, out.output
    out = r.invoke(main, ["keys", "list"])
    assert out.output.count("published") == 2 and out.output.count("signing, published") == 1
    assert out.output.count("published, signs from") == 1
    out = r.invoke(main, ["platform", "remove", "1", "--yes"])
    assert out.exit_code == 0
    assert "No platforms" in r.invoke(main, ["platform", "list"]).output
