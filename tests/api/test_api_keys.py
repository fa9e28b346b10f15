"""Key rules: the bootstrap key created only if absent and never un-revoked, the last
admin key kept, expiry, last use recorded without a write per request, no part of a
secret stored, and personal keys acting as their person narrowed by their scopes."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.api.conftest import ok
from tests.api.test_sessions import api, make_user, signed_in
from tests.support import fetch, fetchval


def keyed(app: FastAPI, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {secret}"},
    )


async def _bootstrap_id(client: httpx.AsyncClient) -> str:
    keys = ok(await client.get("/v1/api-keys"))["items"]
    key_id: str = next(k["id"] for k in keys if k["name"] == "bootstrap-admin")
    return key_id


async def test_the_last_admin_key_cannot_be_revoked(client: httpx.AsyncClient) -> None:
    bootstrap = await _bootstrap_id(client)
    refused = await client.delete(f"/v1/api-keys/{bootstrap}")
    assert refused.status_code == 409
    assert "last working admin key" in refused.json()["detail"]
    # A personal admin-scope key or an expired admin key does not count as another.
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    ok(
        await client.post(
            "/v1/api-keys", json={"name": "x", "scopes": ["admin"], "expires_at": soon}
        ),
        201,
    )
    await asyncio.sleep(1.2)
    assert (await client.delete(f"/v1/api-keys/{bootstrap}")).status_code == 409
    other = ok(await client.post("/v1/api-keys", json={"name": "ops", "scopes": ["admin"]}), 201)
    ok(await client.delete(f"/v1/api-keys/{bootstrap}"), 204)
    # Revoked at once on this process, and idempotent.
    assert (await client.get("/v1/api-keys")).status_code == 401
    client.headers["Authorization"] = f"Bearer {other['key']}"
    ok(await client.delete(f"/v1/api-keys/{bootstrap}"), 204)
    assert (await client.delete(f"/v1/api-keys/{other['id']}")).status_code == 409


async def test_bootstrap_key_is_never_un_revoked(database_url: str, admin_key: str) -> None:
    async with api(database_url, admin_key) as app, keyed(app, admin_key) as client:
        other = ok(
            await client.post("/v1/api-keys", json={"name": "ops", "scopes": ["admin"]}), 201
        )
        ok(await client.delete(f"/v1/api-keys/{await _bootstrap_id(client)}"), 204)
    # Restarting with the same secret leaves it revoked, and makes no second one.
    async with api(database_url, admin_key) as app:
        async with keyed(app, admin_key) as client:
            assert (await client.get("/v1/units")).status_code == 401
        async with keyed(app, other["key"]) as client:
            keys = ok(await client.get("/v1/api-keys"))["items"]
            assert [k["name"] for k in keys].count("bootstrap-admin") == 1


async def test_no_part_of_a_secret_is_stored(
    client: httpx.AsyncClient, database_url: str, admin_key: str
) -> None:
    made = ok(await client.post("/v1/api-keys", json={"name": "ci", "scopes": ["read"]}), 201)
    rows = await fetch(database_url, "SELECT * FROM api_keys")
    for secret in (admin_key, made["key"]):
        random_part = secret[-20:]  # the random tail of either format
        for row in rows:
            stored = " ".join(str(v) for v in dict(row).values())
            assert not any(random_part[i : i + 8] in stored for i in range(len(random_part) - 7)), (
                "a piece of a secret is stored"
            )
    listed = {k["name"]: k for k in ok(await client.get("/v1/api-keys"))["items"]}
    assert listed["bootstrap-admin"]["prefix"] == hashlib.sha256(admin_key.encode()).hexdigest()[:8]
    assert listed["ci"]["prefix"] == made["key"].split("_")[1]
    assert listed["ci"]["created_by"]["name"] == "bootstrap-admin"
    assert listed["ci"]["kind"] == "service" and listed["bootstrap-admin"]["created_by"] is None


async def test_expiry(app: FastAPI, client: httpx.AsyncClient) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    stale = await client.post(
        "/v1/api-keys", json={"name": "old", "scopes": ["read"], "expires_at": past}
    )
    assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "expires_at"
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    made = ok(
        await client.post(
            "/v1/api-keys",
            json={"name": "short", "scopes": ["read"], "expires_at": soon.isoformat()},
        ),
        201,
    )
    assert made["expires_at"] is not None
    async with keyed(app, made["key"]) as short:
        ok(await short.get("/v1/units"))  # works, and is cached
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
        expired = await short.get("/v1/units")
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]


async def test_last_used_is_recorded_at_most_once_a_minute(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    made = ok(await client.post("/v1/api-keys", json={"name": "grafana", "scopes": ["read"]}), 201)
    listed = {k["name"]: k for k in ok(await client.get("/v1/api-keys"))["items"]}
    assert listed["grafana"]["last_used_at"] is None
    async with keyed(app, made["key"]) as grafana:
        ok(await grafana.get("/v1/units"))
        first = await fetchval(
            database_url, "SELECT last_used_at FROM api_keys WHERE name = 'grafana'"
        )
        assert isinstance(first, datetime)
        app.state.authenticator.forget()  # force fresh lookups: still no second write
        for _ in range(5):
            ok(await grafana.get("/v1/units"))
            app.state.authenticator.forget()
        again = await fetchval(
            database_url, "SELECT last_used_at FROM api_keys WHERE name = 'grafana'"
        )
        assert again == first
        # Once the recorded use is older than the resolution, the next use moves it.
        await fetch(
            database_url,
            "UPDATE api_keys SET last_used_at = now() - interval '2 minutes' "
            "WHERE name = 'grafana'",
        )
        ok(await grafana.get("/v1/units"))
        moved = await fetchval(
            database_url, "SELECT last_used_at FROM api_keys WHERE name = 'grafana'"
        )
        assert isinstance(moved, datetime) and moved > first - timedelta(minutes=1)
    listed = {k["name"]: k for k in ok(await client.get("/v1/api-keys"))["items"]}
    assert listed["grafana"]["last_used_at"] is not None


async def test_personal_keys_act_as_their_person_narrowed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer = await make_user(client, "vic@example.org", role="viewer")
    editor = await make_user(client, "eddie@example.org", role="editor")
    async with signed_in(app, "vic@example.org") as web:
        made = ok(
            await web.post("/v1/me/api-keys", json={"name": "laptop", "scopes": ["write"]}), 201
        )
        assert made["kind"] == "personal" and made["user_id"] == viewer["id"]
        assert made["created_by"] == {"kind": "user", "id": viewer["id"], "name": viewer["name"]}
        mine = ok(await web.get("/v1/me/api-keys"))["items"]
        assert [k["id"] for k in mine] == [made["id"]]
    async with keyed(app, made["key"]) as key:
        me = ok(await key.get("/v1/me"))
        assert me["kind"] == "key" and me["email"] == "vic@example.org" and me["role"] == "viewer"
        # A write scope does not make a viewer an editor.
        refused = await key.post("/v1/units", json={"name": "X", "kind": "team"})
        assert refused.status_code == 403
        ok(await key.get("/v1/units"))
        # Deactivating the person stops the key (within the key cache; forced here).
        ok(await client.patch(f"/v1/users/{viewer['id']}", json={"status": "deactivated"}))
        assert (await key.get("/v1/units")).status_code == 401
    async with signed_in(app, "eddie@example.org") as web:
        read_key = ok(
            await web.post("/v1/me/api-keys", json={"name": "ro", "scopes": ["read"]}), 201
        )
        # Not someone else's key.
        assert (await web.delete(f"/v1/me/api-keys/{made['id']}")).status_code == 404
    async with keyed(app, read_key["key"]) as key:
        # An editor's read key reads but cannot change, nor mint a wider key.
        assert (await key.post("/v1/units", json={"name": "X", "kind": "team"})).status_code == 403
        wider = await key.post("/v1/me/api-keys", json={"name": "w", "scopes": ["write"]})
        assert wider.status_code == 403
    # A service key has no personal keys.
    service = ok(await client.post("/v1/api-keys", json={"name": "svc", "scopes": ["admin"]}), 201)
    async with keyed(app, service["key"]) as key:
        assert (
            await key.post("/v1/me/api-keys", json={"name": "n", "scopes": ["read"]})
        ).status_code == 403
    listed = {k["name"]: k for k in ok(await client.get("/v1/api-keys"))["items"]}
    assert listed["ro"]["user_id"] == editor["id"] and listed["svc"]["user_id"] is None
