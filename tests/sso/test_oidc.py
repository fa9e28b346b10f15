"""Signing in with an identity provider (SPEC §17, docs/sso.md) against Canaille, a real
OpenID provider on loopback: the code flow end to end over HTTP, the mappings applied at
every sign-in, and every way an answer can be wrong refused with a page that says why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from devstack.processes import ServiceProcess
from tests.sso.conftest import CLIENT_SECRET, PERSON_PASSWORD, Provider, admin_client
from tests.web.conftest import run_story

pytestmark = pytest.mark.xdist_group("sso")


@dataclass
class Setup:
    api: ServiceProcess
    provider: Provider
    provider_id: str
    sales_unit: str
    admin_key: str


@pytest.fixture(scope="module")
def setup(sso_api: ServiceProcess, provider: Provider, admin_key: str) -> Iterator[Setup]:
    """Northstar knows Canaille as "Acme SSO": groups map to roles and the `sales` group
    to a unit membership; people at acme.test only; people created on first sign-in."""
    client_id = f"northstar-{uuid.uuid4().hex[:8]}"
    with admin_client(sso_api, admin_key) as api:
        unit = api.post("/v1/units", json={"name": "Sales", "kind": "department"})
        assert unit.status_code == 201, unit.text
        created = api.post(
            "/v1/identity-providers",
            json={
                "name": "Acme SSO",
                "issuer": provider.issuer,
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "scopes": ["openid", "email", "profile", "groups"],
                "allowed_domains": ["acme.test"],
                "role_mapping": {
                    "claim": "groups",
                    "map": {"northstar-admins": "admin", "northstar-editors": "editor"},
                    "default": "viewer",
                },
                "unit_mapping": {
                    "claim": "groups",
                    "map": {"sales": [{"unit_id": unit.json()["id"], "role": "lead"}]},
                },
                "jit": True,
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
    provider.client(client_id, body["redirect_uri"], sso_api.url + "/")
    yield Setup(sso_api, provider, body["id"], unit.json()["id"], admin_key)


@pytest.fixture(autouse=True)
def _fresh_codes(provider: Provider) -> None:
    provider.forget_codes()


def _browser(setup: Setup) -> httpx.Client:
    return httpx.Client(base_url=setup.api.url, timeout=30, follow_redirects=False)


def _to_provider(browser: httpx.Client, provider_id: str) -> str:
    """Start at Northstar: the URL of the provider's authorization endpoint."""
    start = browser.get(f"/v1/auth/oidc/{provider_id}/start", params={"next": "/goals"})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["response_type"] == ["code"]
    return location


def _at_provider(setup: Setup, person: Any, authorize_url: str) -> str:
    """The person signs in at the provider (session and consent made the way the
    provider's own screens would leave them); the callback URL it sends them to."""
    setup.provider.server.login(person)
    setup.provider.server.consent(person)
    try:
        answer = httpx.get(authorize_url, follow_redirects=False, timeout=30)
    finally:
        setup.provider.server.logout()
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["location"]
    assert location.startswith(setup.api.url + "/v1/auth/oidc/"), location
    assert "code=" in location, location
    return location


def _sign_in(setup: Setup, person: Any) -> tuple[httpx.Client, httpx.Response]:
    browser = _browser(setup)
    callback = _at_provider(setup, person, _to_provider(browser, setup.provider_id))
    return browser, browser.get(callback)


def _me(browser: httpx.Client) -> dict[str, Any]:
    me = browser.get("/v1/me")
    assert me.status_code == 200, me.text
    body: dict[str, Any] = me.json()
    return body


def _refused(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "Sign-in refused" in response.text
    for word in words:
        assert word in response.text, response.text
    assert "northstar_session" not in response.headers.get("set-cookie", "")
    return response.text


def test_a_person_signs_in_with_the_role_of_their_group_and_returns_with_a_new_one(
    setup: Setup,
) -> None:
    person = setup.provider.person("dana", "dana@acme.test", groups=["northstar-editors", "sales"])
    browser, landed = _sign_in(setup, person)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/goals"
    me = _me(browser)
    assert (me["kind"], me["email"], me["role"]) == ("user", "dana@acme.test", "editor")
    assert me["memberships"] == [{"unit_id": setup.sales_unit, "role": "lead"}]

    # At the provider, Dana moves from the editors to the admins and leaves sales.
    setup.provider.leave(person, "northstar-editors")
    setup.provider.leave(person, "sales")
    setup.provider.join(person, "northstar-admins")
    again, landed = _sign_in(setup, person)
    assert landed.status_code == 303, landed.text
    me_again = _me(again)
    assert me_again["id"] == me["id"]
    assert me_again["role"] == "admin"
    assert me_again["memberships"] == []

    with admin_client(setup.api, setup.admin_key) as api:
        trail = api.get("/v1/audit", params={"resource": "user"}).json()["items"]
    changes = [e["changes"] for e in trail if e["resource"]["id"] == me["id"]]
    assert any(c.get("role") == ["editor", "admin"] for c in changes), changes


def test_an_existing_account_is_linked_by_verified_email(setup: Setup) -> None:
    with admin_client(setup.api, setup.admin_key) as api:
        made = api.post(
            "/v1/users", json={"email": "erin@acme.test", "name": "Erin", "role": "member"}
        )
        assert made.status_code == 201, made.text
    person = setup.provider.person("erin", "Erin@acme.test")
    browser, landed = _sign_in(setup, person)
    assert landed.status_code == 303, landed.text
    me = _me(browser)
    assert me["id"] == made.json()["id"]
    assert me["role"] == "viewer"  # no mapped group: the mapping's default, applied


def test_an_unverified_email_is_refused_and_links_nothing(setup: Setup) -> None:
    with admin_client(setup.api, setup.admin_key) as api:
        victim = api.post(
            "/v1/users", json={"email": "ceo@acme.test", "name": "CEO", "role": "admin"}
        )
        assert victim.status_code == 201, victim.text
    impostor = setup.provider.person("mallory", "ceo@acme.test", verified=False)
    browser, answer = _sign_in(setup, impostor)
    _refused(answer, 403, "is not verified")
    assert browser.get("/v1/me").status_code == 401


def test_an_email_outside_the_allowed_domains_is_refused(setup: Setup) -> None:
    outsider = setup.provider.person("olga", "olga@elsewhere.test")
    browser, answer = _sign_in(setup, outsider)
    _refused(answer, 403, "elsewhere.test", "may not sign in")
    assert browser.get("/v1/me").status_code == 401


def test_a_tampered_state_is_refused(setup: Setup) -> None:
    person = setup.provider.person("tom", "tom@acme.test")
    browser = _browser(setup)
    callback = _at_provider(setup, person, _to_provider(browser, setup.provider_id))
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    query["state"] = [query["state"][0][:-2] + "xx"]
    tampered = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    _refused(browser.get(tampered), 400, "state")
    assert browser.get("/v1/me").status_code == 401


def test_a_replayed_code_is_refused(setup: Setup) -> None:
    person = setup.provider.person("rita", "rita@acme.test")
    browser = _browser(setup)
    callback = _at_provider(setup, person, _to_provider(browser, setup.provider_id))
    assert browser.get(callback).status_code == 303
    # The same answer again, from a browser that has the flow cookie and from one that
    # started a flow of its own: neither signs anybody in.
    replay = _browser(setup)
    replay.cookies.set("northstar_oidc", parse_qs(urlsplit(callback).query)["state"][0])
    _refused(replay.get(callback), 400, "used already")
    other = _browser(setup)
    own = parse_qs(urlsplit(_to_provider(other, setup.provider_id)).query)["state"][0]
    parts = urlsplit(callback)
    query = parse_qs(parts.query) | {"state": [own]}
    _refused(
        other.get(urlunsplit(parts._replace(query=urlencode(query, doseq=True)))),
        400,
        "did not accept the sign-in code",
    )
    assert other.get("/v1/me").status_code == 401


def test_a_wrong_nonce_is_refused(setup: Setup) -> None:
    """The request to the provider is altered on its way (another nonce): the provider
    signs a token with that nonce, which is not the one this sign-in keeps."""
    person = setup.provider.person("nina", "nina@acme.test")
    browser = _browser(setup)
    authorize = urlsplit(_to_provider(browser, setup.provider_id))
    query = parse_qs(authorize.query) | {"nonce": ["attacker-chosen-nonce"]}
    altered = urlunsplit(authorize._replace(query=urlencode(query, doseq=True)))
    callback = _at_provider(setup, person, altered)
    _refused(browser.get(callback), 400, "nonce")
    assert browser.get("/v1/me").status_code == 401


def test_an_issuer_that_differs_from_the_discovery_document_is_refused(
    setup: Setup, other_provider: str
) -> None:
    """A second provider, whose discovery document names `https://…` as its issuer while
    Northstar was given its `http://` address: no sign-in starts with it."""
    with admin_client(setup.api, setup.admin_key) as api:
        other = api.post(
            "/v1/identity-providers",
            json={
                "name": "Wrong issuer",
                "issuer": other_provider,
                "client_id": "whoever",
                "client_secret": "whatever-secret",
            },
        )
        assert other.status_code == 201, other.text
    browser = _browser(setup)
    page = browser.get(f"/v1/auth/oidc/{other.json()['id']}/start")
    _refused(page, 502, "issuer mismatch")


def test_password_sign_in_is_off_except_for_admins(setup: Setup) -> None:
    with admin_client(setup.api, setup.admin_key) as api:
        made = api.post(
            "/v1/users",
            json={
                "email": "pat@acme.test",
                "name": "Pat",
                "role": "editor",
                "password": "a long enough passphrase",
            },
        )
        assert made.status_code == 201, made.text
    browser = _browser(setup)
    refused = browser.post(
        "/v1/auth/login", json={"email": "pat@acme.test", "password": "a long enough passphrase"}
    )
    assert refused.status_code == 403 and "identity provider" in refused.json()["detail"]
    wrong = browser.post("/v1/auth/login", json={"email": "pat@acme.test", "password": "nope"})
    assert wrong.status_code == 401
    glass = browser.post(
        "/v1/auth/login",
        json={"email": "root@northstar.test", "password": "break glass passphrase 2026"},
    )
    assert glass.status_code == 200, glass.text


def test_signing_out_ends_the_session_and_offers_the_providers_sign_out(setup: Setup) -> None:
    person = setup.provider.person("sam", "sam@acme.test")
    browser, landed = _sign_in(setup, person)
    assert landed.status_code == 303
    csrf = browser.cookies["northstar_csrf"]
    out = browser.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204, out.text
    end = urlsplit(out.headers["x-end-session-url"])
    assert f"{end.scheme}://{end.netloc}" == setup.provider.issuer
    params = parse_qs(end.query)
    assert params["post_logout_redirect_uri"] == [setup.api.url + "/"]
    assert params["id_token_hint"]
    assert browser.get("/v1/me").status_code == 401


def test_the_sign_in_page_lists_enabled_providers_only_and_secrets_stay_hidden(
    setup: Setup,
) -> None:
    listed = _browser(setup).get("/v1/auth/providers")
    assert listed.status_code == 200
    names = {p["name"]: p for p in listed.json()}
    assert set(names["Acme SSO"]) == {"id", "name", "start_url"}
    with admin_client(setup.api, setup.admin_key) as api:
        shown = api.get(f"/v1/identity-providers/{setup.provider_id}").json()
        assert "client_secret" not in shown and CLIENT_SECRET not in str(shown)
        off = api.post(
            "/v1/identity-providers",
            json={
                "name": "Turned off",
                "issuer": setup.provider.issuer,
                "client_id": "off",
                "client_secret": "off-secret",
                "enabled": False,
            },
        ).json()
    assert "Turned off" not in {p["name"] for p in _browser(setup).get("/v1/auth/providers").json()}
    _refused(_browser(setup).get(f"/v1/auth/oidc/{off['id']}/start"), 404, "turned off")


def test_in_chromium_a_person_signs_in_at_the_provider_and_comes_back_with_their_role(
    setup: Setup, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole way as a person goes it: the sign-in page's "Sign in with Acme SSO",
    Canaille's own login, password and consent screens, back in Northstar signed in as an
    editor (their group); then "Sign out" sends the browser to the provider's sign-out."""
    setup.provider.person("wendy", "wendy@acme.test", groups=["northstar-editors"])
    shots = tmp_path_factory.mktemp("sso-screens")
    shown = run_story(
        "sso",
        setup.api.url,
        PROVIDER_NAME="Acme SSO",
        IDP_LOGIN="wendy",
        IDP_PASSWORD=PERSON_PASSWORD,
        SHOTS=str(shots),
    )
    assert shown["providerLogin"].startswith(setup.provider.issuer + "/")
    assert shown["landed"].startswith(setup.api.url + "/")
    assert shown["me"]["email"] == "wendy@acme.test"
    assert shown["me"]["role"] == "editor"
    assert "editor" in shown["signedInAs"]
    # Signing out went through the provider's end-session endpoint and back to Northstar.
    at_provider = [u for u in shown["visited"] if u.startswith(setup.provider.issuer + "/")]
    assert at_provider, shown["visited"]
    assert shown["visited"][-1].startswith(setup.api.url + "/")
    assert shown["violations"] == []
    assert (shots / "sign-in.png").stat().st_size > 0
