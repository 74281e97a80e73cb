"""Login, launch and every bad-launch case, with real RS256 tokens from a test platform key."""

import time

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from lti_tool.app import tool_of
from lti_tool.store import Deployment

INSTRUCTOR = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


def test_login_redirects_to_platform_with_state_cookie_secure_samesite_none_partitioned(lti, platform):
    state, nonce, resp = lti.login()
    assert resp.headers["Location"].startswith(platform.url + "/auth?")
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if state in c)
    assert "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie and "HttpOnly" in cookie
    assert len(nonce) >= 32


def test_learner_launch_opens_learner_page(lti):
    resp = lti.full_launch()
    # No activity is chosen for the link yet: the learner is told so, with a 4xx, not a crash.
    assert resp.status_code == 404
    assert "does not have a CE activity yet" in resp.get_data(as_text=True)


def test_instructor_launch_opens_authoring(lti):
    resp = lti.full_launch(**{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR})
    assert resp.status_code == 200
    assert "Import an activity" in resp.get_data(as_text=True)


def _error(resp):
    import html

    return resp.status_code, html.unescape(resp.get_data(as_text=True))


def test_forged_signature_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce), key=other), state))
    assert status == 401
    assert "signature does not verify" in html and 'data-code="signature"' in html


def test_token_signed_with_unknown_kid_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce), key=other, kid="nope"), state))
    assert status == 401 and "'nope'" in html and "not in the platform's key set" in html


def test_altered_payload_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    token = platform.sign(platform.claims(nonce))
    head, body, sig = token.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "someone-else"
    body2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    status, html = _error(lti.launch(f"{head}.{body2}.{sig}", state))
    assert status == 401 and 'data-code="signature"' in html


def test_replayed_launch_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    token = platform.sign(platform.claims(nonce, **{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR}))
    assert lti.launch(token, state).status_code == 200
    status, html = _error(lti.launch(token, state))
    assert status == 403 and "already used" in html and 'data-code="nonce"' in html


def test_nonce_never_issued_is_refused(lti, platform):
    state, _nonce, _ = lti.login()
    status, html = _error(lti.launch(platform.sign(platform.claims("made-up-nonce")), state))
    assert status == 403 and 'data-code="nonce"' in html


def test_expired_token_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    now = int(time.time())
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce, iat=now - 900, exp=now - 600)), state))
    assert status == 401 and "expired" in html


def test_small_clock_skew_is_allowed(lti, platform):
    state, nonce, _ = lti.login()
    now = int(time.time())
    # The platform's clock runs 30 s behind (token just expired) ...
    token = platform.sign(
        platform.claims(
            nonce, iat=now - 330, exp=now - 30, **{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR}
        )
    )
    assert lti.launch(token, state).status_code == 200
    # ... or 30 s ahead (issued in the future).
    state, nonce, _ = lti.login()
    token = platform.sign(
        platform.claims(
            nonce, iat=now + 30, exp=now + 330, **{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR}
        )
    )
    assert lti.launch(token, state).status_code == 200


def test_token_issued_far_in_the_future_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    now = int(time.time())
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce, iat=now + 600, exp=now + 900)), state))
    assert status == 401 and "clocks" in html


def test_unknown_issuer_is_refused_at_login(lti, client):
    resp = client.get(
        "/lti/login", query_string={"iss": "https://evil.example", "login_hint": "x"}, base_url="https://tool.test"
    )
    status, html = _error(resp)
    assert status == 403
    assert "No platform is registered with issuer 'https://evil.example'" in html


def test_unknown_client_id_is_refused_at_launch(lti, platform):
    state, nonce, _ = lti.login()
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce, aud="someone-else")), state))
    assert status == 403 and "client id 'someone-else'" in html


def test_wrong_audience_list_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    # The registered client id comes first (so the registration is found) but azp-less multi-aud
    # tokens still must name us; here aud names us, so it passes; a token for another client fails.
    token = platform.sign(platform.claims(nonce, aud=["other-client"]))
    status, html = _error(lti.launch(token, state))
    assert status == 403 and "other-client" in html


def test_missing_deployment_is_refused(lti, platform):
    state, nonce, _ = lti.login()
    claims = platform.claims(nonce)
    del claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"]
    status, html = _error(lti.launch(platform.sign(claims), state))
    assert status == 400 and "no deployment_id" in html


def test_new_deployment_of_known_registration_is_recorded(lti, platform, app):
    resp = lti.full_launch(
        **{
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-new",
            "https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR,
        }
    )
    assert resp.status_code == 200
    with tool_of(app).sessions() as s:
        dep = s.scalars(select(Deployment).where(Deployment.deployment_id == "dep-new")).one()
        assert dep.auto_recorded


def test_forged_token_from_new_deployment_records_nothing(lti, platform, app):
    state, nonce, _ = lti.login()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = platform.claims(nonce, **{"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-evil"})
    assert lti.launch(platform.sign(claims, key=other), state).status_code == 401
    with tool_of(app).sessions() as s:
        assert s.scalars(select(Deployment).where(Deployment.deployment_id == "dep-evil")).first() is None


def test_state_mismatch_offers_new_window(lti, platform, client):
    state, nonce, _ = lti.login()
    token = platform.sign(platform.claims(nonce))
    client.delete_cookie(f"lti1p3-{state}", domain="tool.test")
    status, html = _error(lti.launch(token, state))
    assert status == 403 and "state cookie" in html
    assert "Open the activity in a new window" in html and "lti1p3_new_window=1" in html and 'target="_blank"' in html


def test_state_from_another_login_is_refused(lti, platform):
    state1, nonce1, _ = lti.login()
    state2, _n2, _ = lti.login()
    status, html = _error(lti.launch(platform.sign(platform.claims(nonce1)), "state-not-mine"))
    assert status == 403 and 'data-code="state-mismatch"' in html


def test_garbage_token_is_a_4xx(lti):
    state, _nonce, _ = lti.login()
    status, html = _error(lti.launch("not-a-jwt", state))
    assert status == 400 and "well-formed JWT" in html


def test_missing_id_token_is_a_4xx(client):
    resp = client.post("/lti/launch", data={}, base_url="https://tool.test")
    assert resp.status_code == 400 and "no id_token" in resp.get_data(as_text=True)


def test_missing_message_claims_is_a_4xx(lti, platform):
    state, nonce, _ = lti.login()
    claims = platform.claims(nonce)
    del claims["https://purl.imsglobal.org/spec/lti/claim/version"]
    status, html = _error(lti.launch(platform.sign(claims), state))
    assert status == 400 and 'data-code="message"' in html


def test_platform_keys_are_fetched_once_and_cached(lti, platform):
    for _ in range(3):
        lti.full_launch(**{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR})
    assert platform.jwks_requests == 1


def test_platform_key_rotation_is_picked_up_on_the_first_unknown_kid(lti, platform):
    from lti_tool.keys import public_jwk

    assert lti.full_launch(**{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR}).status_code == 200
    # The platform rotates: new key, new kid, published in its JWKS (which the tool has cached).
    platform.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    platform.jwk = public_jwk(platform.key.public_key())
    platform.kid = platform.jwk["kid"]
    resp = lti.full_launch(**{"https://purl.imsglobal.org/spec/lti/claim/roles": INSTRUCTOR})
    assert resp.status_code == 200
    assert platform.jwks_requests == 2
