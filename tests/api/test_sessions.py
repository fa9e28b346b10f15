"""Browser sign-in: login, cookies, CSRF, logout, expiry, revocation, throttling,
invitations, the bootstrap admin and the password policy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.api.conftest import ok
from tests.support import fetch, fetchval

PASSWORD = "a long and quiet passphrase"


@asynccontextmanager
async def api(database_url: str, admin_key: str, **settings: Any) -> AsyncIterator[FastAPI]:
    app = create_app(
        ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key, **settings)
    )
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A client with a cookie jar and no key, like a browser."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def make_user(
    client: httpx.AsyncClient, email: str, role: str = "editor", password: str = PASSWORD
) -> dict[str, Any]:
    body = {"email": email, "name": email.split("@")[0].title(), "role": role}
    user: dict[str, Any] = ok(
        await client.post("/v1/users", json=body | {"password": password}), 201
    )
    return user


@asynccontextmanager
async def signed_in(
    app: FastAPI, email: str, password: str = PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as `email`, sending its CSRF token with every request."""
    async with browser(app) as client:
        answer = ok(
            await client.post("/v1/auth/login", json={"email": email, "password": password})
        )
        client.headers["X-CSRF-Token"] = answer["csrf_token"]
        yield client


async def test_login_sets_cookies_and_me_answers_the_person(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(client, "Ada@Example.org")
    assert user["email"] == "ada@example.org"
    assert "password" not in user and "password_hash" not in user

    async with browser(app) as web:
        response = await web.post(
            "/v1/auth/login", json={"email": "ADA@example.org", "password": PASSWORD}
        )
        answer = ok(response)
        assert answer["user"] == {k: user[k] for k in answer["user"]}
        assert set(answer["user"]) == {"id", "email", "name", "role", "status", "created_at"}
        cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
        session_cookie = cookies["northstar_session"].lower()
        assert "httponly" in session_cookie and "samesite=lax" in session_cookie
        assert "path=/" in session_cookie and "max-age=43200" in session_cookie
        assert "secure" not in session_cookie  # plain http here
        csrf_cookie = cookies["northstar_csrf"].lower()
        assert "httponly" not in csrf_cookie and "samesite=lax" in csrf_cookie
        assert web.cookies["northstar_csrf"] == answer["csrf_token"]

        me = ok(await web.get("/v1/me"))
        assert me["kind"] == "user"
        assert me["id"] == user["id"] and me["email"] == "ada@example.org"
        assert me["role"] == "editor" and me["memberships"] == []
        assert "org:write" in me["permissions"] and "people:manage" not in me["permissions"]

        # What is stored is a digest, never the token itself.
        token = web.cookies["northstar_session"]
        stored = await fetch(app.state.settings.database_url, "SELECT * FROM user_sessions")
        assert len(stored) == 1 and token not in str(dict(stored[0]))


async def test_secure_cookie_over_tls(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_user(client, "tls@example.org")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://test"
    ) as web:
        response = await web.post(
            "/v1/auth/login", json={"email": "tls@example.org", "password": PASSWORD}
        )
        ok(response)
        assert all("secure" in c.lower() for c in response.headers.get_list("set-cookie"))


async def test_wrong_password_and_unknown_email_answer_alike(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_user(client, "grace@example.org")
    async with browser(app) as web:
        wrong = await web.post(
            "/v1/auth/login", json={"email": "grace@example.org", "password": "not it at all!"}
        )
        unknown = await web.post(
            "/v1/auth/login", json={"email": "nobody@example.org", "password": "not it at all!"}
        )
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert "set-cookie" not in answer.headers
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_csrf_is_required_for_changes_made_with_the_cookie(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_user(client, "editor@example.org")
    async with signed_in(app, "editor@example.org") as web:
        token = web.headers.pop("X-CSRF-Token")
        missing = await web.post("/v1/units", json={"name": "Acme", "kind": "organization"})
        assert missing.status_code == 403
        assert missing.headers["content-type"] == "application/problem+json"
        assert "X-CSRF-Token" in missing.json()["detail"]
        forged = await web.post(
            "/v1/units",
            json={"name": "Acme", "kind": "organization"},
            headers={"X-CSRF-Token": "forged"},
        )
        assert forged.status_code == 403
        # The header must match the cookie, and the cookie this session was given.
        web.cookies.set("northstar_csrf", "planted")
        planted = await web.post(
            "/v1/units",
            json={"name": "Acme", "kind": "organization"},
            headers={"X-CSRF-Token": "planted"},
        )
        assert planted.status_code == 403
        web.cookies.set("northstar_csrf", token)
        ok(await web.get("/v1/units"))  # reads need no token
        made = await web.post(
            "/v1/units",
            json={"name": "Acme", "kind": "organization"},
            headers={"X-CSRF-Token": token},
        )
        ok(made, 201)
        assert (
            await fetchval(app.state.settings.database_url, "SELECT count(*) FROM org_units") == 1
        )
    # A bearer key is never asked for a CSRF token.
    ok(await client.post("/v1/units", json={"name": "B", "kind": "organization"}), 201)


async def test_logout_ends_the_session_on_the_server(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_user(client, "leaving@example.org")
    async with signed_in(app, "leaving@example.org") as web:
        stolen = web.cookies["northstar_session"]
        token = web.headers.pop("X-CSRF-Token")
        assert (await web.post("/v1/auth/logout")).status_code == 403  # CSRF applies
        ok(await web.post("/v1/auth/logout", headers={"X-CSRF-Token": token}), 204)
        assert (await web.get("/v1/me")).status_code == 401
    # The cookie value kept elsewhere is dead too: the server ended the session.
    async with browser(app) as thief:
        thief.cookies.set("northstar_session", stolen)
        answer = await thief.get("/v1/me")
        assert answer.status_code == 401
        assert "sign in again" in answer.json()["detail"]


async def test_revocation_and_expiry_take_effect_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(client, "short@example.org")
    async with (
        signed_in(app, "short@example.org") as web,
        signed_in(app, "short@example.org") as other,
    ):
        ok(await web.get("/v1/me"))
        # Expiry: the stored expiry is what counts.
        url = app.state.settings.database_url
        await fetch(
            url,
            "UPDATE user_sessions SET expires_at = now() - interval '1 second' "
            "WHERE token_hash = encode(sha256($1::bytea), 'hex')",
            web.cookies["northstar_session"].encode(),
        )
        assert (await web.get("/v1/me")).status_code == 401
        ok(await other.get("/v1/me"))
        # Deactivation ends every session of the person, from the next request on.
        ok(await client.patch(f"/v1/users/{user['id']}", json={"status": "deactivated"}))
        assert (await other.get("/v1/me")).status_code == 401
        ok(await client.patch(f"/v1/users/{user['id']}", json={"status": "active"}))
        assert (await other.get("/v1/me")).status_code == 401
        refused = await other.post(
            "/v1/auth/login", json={"email": "short@example.org", "password": PASSWORD}
        )
        ok(refused)


async def test_deactivated_people_cannot_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(client, "gone@example.org")
    ok(await client.patch(f"/v1/users/{user['id']}", json={"status": "deactivated"}))
    async with browser(app) as web:
        answer = await web.post(
            "/v1/auth/login", json={"email": "gone@example.org", "password": PASSWORD}
        )
        assert answer.status_code == 401


async def test_login_throttling_per_account(database_url: str, admin_key: str) -> None:
    async with api(database_url, admin_key, login_limit_per_account="3/minute") as app:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as client:
            await make_user(client, "target@example.org")
        async with browser(app) as web:
            for _ in range(3):
                wrong = {"email": "target@example.org", "password": "guess guess guess"}
                assert (await web.post("/v1/auth/login", json=wrong)).status_code == 401
            # Throttled now, even with the right password.
            right = {"email": "target@example.org", "password": PASSWORD}
            throttled = await web.post("/v1/auth/login", json=right)
            assert throttled.status_code == 429
            assert throttled.headers["content-type"] == "application/problem+json"
            assert 1 <= int(throttled.headers["retry-after"]) <= 60
            # Unknown accounts are throttled alike (nothing tells them apart).
            for _ in range(3):
                ghost = {"email": "ghost@example.org", "password": "guess guess guess"}
                assert (await web.post("/v1/auth/login", json=ghost)).status_code == 401
            assert (await web.post("/v1/auth/login", json=ghost)).status_code == 429


async def test_login_throttling_per_address(database_url: str, admin_key: str) -> None:
    async with (
        api(database_url, admin_key, login_limit_per_address="4/minute") as app,
        browser(app) as web,
    ):
        for n in range(4):
            spray = {"email": f"user{n}@example.org", "password": "Summer2026 Summer"}
            assert (await web.post("/v1/auth/login", json=spray)).status_code == 401
        fifth = {"email": "user9@example.org", "password": "Summer2026 Summer"}
        throttled = await web.post("/v1/auth/login", json=fifth)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1


async def test_invitation_is_one_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    invited = ok(
        await client.post(
            "/v1/users", json={"email": "new@example.org", "name": "New", "role": "viewer"}
        ),
        201,
    )
    token = invited["invitation"]["token"]
    async with browser(app) as web:
        # No password yet: nobody can sign in as them.
        no_password = {"email": "new@example.org", "password": PASSWORD}
        assert (await web.post("/v1/auth/login", json=no_password)).status_code == 401
        weak = await web.post(
            "/v1/auth/accept-invitation", json={"token": token, "password": "short"}
        )
        assert weak.status_code == 422
        accepted = ok(
            await web.post(
                "/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD}
            )
        )
        assert accepted["email"] == "new@example.org"
    # The weak attempt did not use the token up... but the accepted one did.
    async with browser(app) as web:
        again = await web.post(
            "/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD + "!"}
        )
        assert again.status_code == 401
        async with signed_in(app, "new@example.org") as me:
            assert ok(await me.get("/v1/me"))["role"] == "viewer"
    # A fresh invitation makes the older unused one stop working.
    first = ok(await client.post(f"/v1/users/{invited['id']}/invitation"), 201)["token"]
    second = ok(await client.post(f"/v1/users/{invited['id']}/invitation"), 201)["token"]
    async with browser(app) as web:
        stale = await web.post(
            "/v1/auth/accept-invitation", json={"token": first, "password": PASSWORD}
        )
        assert stale.status_code == 401
        ok(
            await web.post(
                "/v1/auth/accept-invitation", json={"token": second, "password": PASSWORD}
            )
        )


async def test_weak_invitation_password_keeps_the_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    invited = ok(await client.post("/v1/users", json={"email": "w@example.org", "name": "W"}), 201)
    token = invited["invitation"]["token"]
    async with browser(app) as web:
        weak = await web.post(
            "/v1/auth/accept-invitation", json={"token": token, "password": "password1234"}
        )
        assert weak.status_code == 422
        ok(
            await web.post(
                "/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD}
            )
        )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
        ("password1234", "well-known password"),
        ("my name is policy!", "name part of your email"),
        ("x" * 257, "at most 256"),
    ],
)
async def test_password_policy_is_a_clear_422(
    client: httpx.AsyncClient, password: str, message: str
) -> None:
    answer = await client.post(
        "/v1/users",
        json={"email": "policy@example.org", "name": "P", "role": "member", "password": password},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert message in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "password"


async def test_users_admin_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_user(client, "dup@example.org")
    duplicate = await client.post(
        "/v1/users",
        json={"email": "DUP@example.org", "name": "D", "role": "viewer", "password": PASSWORD},
    )
    assert duplicate.status_code == 409
    admin = await make_user(client, "boss@example.org", role="admin")
    listed = ok(await client.get("/v1/users", params={"limit": 1}))
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    second = ok(await client.get("/v1/users", params={"cursor": listed["next_cursor"]}))
    assert [u["email"] for u in second["items"]] == ["boss@example.org"]
    # The last active admin cannot be demoted or deactivated.
    for change in ({"role": "editor"}, {"status": "deactivated"}):
        refused = await client.patch(f"/v1/users/{admin['id']}", json=change)
        assert refused.status_code == 409
        assert "last active admin" in refused.json()["detail"]
    editor = await make_user(client, "ed@example.org")
    async with signed_in(app, "ed@example.org") as web:
        assert (await web.get("/v1/users")).status_code == 403  # editors do not manage people
    ok(await client.patch(f"/v1/users/{editor['id']}", json={"role": "admin"}))
    demoted = ok(await client.patch(f"/v1/users/{admin['id']}", json={"role": "editor"}))
    assert demoted["role"] == "editor"
    assert (
        await client.patch(f"/v1/users/{editor['id']}", json={"role": "viewer"})
    ).status_code == 409
    assert (await client.get(f"/v1/users/{uuid.uuid4()}")).status_code == 404


async def test_bootstrap_admin_created_once(database_url: str, admin_key: str) -> None:
    settings = {
        "bootstrap_admin_email": "Root@Example.org",
        "bootstrap_admin_password": PASSWORD,
    }
    async with (
        api(database_url, admin_key, **settings) as app,
        signed_in(app, "root@example.org") as web,
    ):
        me = ok(await web.get("/v1/me"))
        assert me["role"] == "admin"
        assert "people:manage" in me["permissions"]
        changed = ok(
            await web.patch(f"/v1/users/{me['id']}", json={"password": "another good one!"})
        )
        assert changed["email"] == "root@example.org"
    # A restart neither resets the password nor makes a second admin.
    async with api(database_url, admin_key, **settings) as app:
        async with browser(app) as web:
            old = {"email": "root@example.org", "password": PASSWORD}
            assert (await web.post("/v1/auth/login", json=old)).status_code == 401
        async with signed_in(app, "root@example.org", "another good one!") as web:
            ok(await web.get("/v1/me"))
    assert await fetchval(database_url, "SELECT count(*) FROM users") == 1


def test_bootstrap_admin_settings_fail_fast() -> None:
    with pytest.raises(ValueError, match="go together"):
        ApiSettings(database_url="postgresql://x/y", bootstrap_admin_email="a@b.c")
    with pytest.raises(ValueError, match="at least 12"):
        ApiSettings(
            database_url="postgresql://x/y",
            bootstrap_admin_email="a@b.c",
            bootstrap_admin_password="short",
        )
