"""`/v1/webhooks`: create (secret shown once), validation, list, get, delete, delivery log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.evaluator.outbox.relay import OutboxRelay
from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import add_events, alert_data, create_webhook, deliveries


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_create_generates_a_secret_shown_only_once(api: httpx.AsyncClient) -> None:
    created = await create_webhook(api, "https://hooks.example.com/ns", ["alert.opened"])
    assert set(created) == {"id", "url", "events", "created_at", "secret"}
    assert created["url"] == "https://hooks.example.com/ns"
    assert created["events"] == ["alert.opened"]
    assert len(created["secret"]) >= 40  # token_urlsafe(32)

    other = await create_webhook(api, "http://10.0.0.5:8080/x", ["goal.status_changed"])
    assert other["secret"] != created["secret"]

    fetched = (await api.get(f"/v1/webhooks/{created['id']}")).json()
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    listed = (await api.get("/v1/webhooks")).json()
    assert [w["id"] for w in listed["items"]] == [created["id"], other["id"]]
    assert all("secret" not in w for w in listed["items"])
    assert listed["next_cursor"] is None


async def test_given_secret_and_duplicate_types(api: httpx.AsyncClient) -> None:
    created = await create_webhook(
        api,
        "https://hooks.example.com/",
        ["alert.resolved", "alert.opened", "alert.resolved"],
        secret="s" * 32,
    )
    assert created["secret"] == "s" * 32
    assert created["events"] == ["alert.resolved", "alert.opened"]


async def test_validation(api: httpx.AsyncClient) -> None:
    for url in ("ftp://example.com/x", "example.com/hook", "https://", "not a url"):
        problem = _problem(
            await api.post("/v1/webhooks", json={"url": url, "events": ["alert.opened"]}), 422
        )
        assert problem["errors"][0]["field"] == "url", url
        assert "http://" in problem["detail"]

    problem = _problem(
        await api.post(
            "/v1/webhooks",
            json={"url": "https://x.example/", "events": ["alert.opened", "alert.exploded"]},
        ),
        422,
    )
    assert "'alert.exploded'" in problem["detail"]
    for valid in (
        "alert.opened",
        "alert.updated",
        "alert.acknowledged",
        "alert.resolved",
        "goal.status_changed",
    ):
        assert valid in problem["detail"]

    for body in (
        {"url": "https://x.example/", "events": []},
        {"url": "https://x.example/"},
        {"url": "https://x.example/", "events": ["alert.opened"], "secret": "short"},
        {"url": "https://x.example/", "events": ["alert.opened"], "colour": "red"},
    ):
        _problem(await api.post("/v1/webhooks", json=body), 422)

    _problem(await api.get(f"/v1/webhooks/{uuid.uuid4()}"), 404)
    _problem(await api.delete(f"/v1/webhooks/{uuid.uuid4()}"), 404)
    _problem(await api.get(f"/v1/webhooks/{uuid.uuid4()}/deliveries"), 404)
    _problem(await api.get("/v1/webhooks", params={"cursor": "garbage"}), 400)


async def test_delete_is_soft_and_idempotent(api: httpx.AsyncClient, database_url: str) -> None:
    hook = await create_webhook(api, "https://x.example/", ["alert.opened"])
    assert (await api.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
    assert (await api.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
    _problem(await api.get(f"/v1/webhooks/{hook['id']}"), 404)
    _problem(await api.get(f"/v1/webhooks/{hook['id']}/deliveries"), 404)
    assert (await api.get("/v1/webhooks")).json()["items"] == []


async def test_pagination(api: httpx.AsyncClient) -> None:
    ids = [
        (await create_webhook(api, f"https://x.example/{i}", ["alert.opened"]))["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/webhooks", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_delivery_log_lists_newest_first_filters_by_status_and_pages(
    api: httpx.AsyncClient, settings: EvaluatorSettings, engine: AsyncEngine
) -> None:
    hook = await create_webhook(api, "http://127.0.0.1:9/", ["alert.opened"])
    goal = str(uuid.uuid4())
    first = await add_events(engine, [("alert.opened", goal, alert_data(goal)) for _ in range(3)])
    relay = OutboxRelay(settings, engine)
    try:
        await relay.relay_once()
        second = await add_events(
            engine, [("alert.opened", goal, alert_data(goal)) for _ in range(2)]
        )
        await relay.relay_once()
    finally:
        await relay._close_producer()

    log = await deliveries(api, hook["id"])
    assert len(log) == 5
    assert {d["event_id"] for d in log[:2]} == {str(e) for e in second}  # newest first
    assert {d["event_id"] for d in log[2:]} == {str(e) for e in first}
    entry = log[0]
    assert set(entry) == {
        "id",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "last_attempt_at",
        "delivered_at",
        "next_attempt_at",
    }
    assert entry["status"] == "pending" and entry["attempts"] == 0
    assert entry["event_type"] == "alert.opened" and entry["next_attempt_at"] is not None

    assert len(await deliveries(api, hook["id"], status="pending")) == 5
    assert await deliveries(api, hook["id"], status="delivered") == []
    _problem(await api.get(f"/v1/webhooks/{hook['id']}/deliveries?status=lost"), 422)

    paged: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"/v1/webhooks/{hook['id']}/deliveries", params=params)).json()
        paged += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == [d["id"] for d in log]


async def test_webhooks_need_the_admin_scope(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/api-keys", json={"name": "app", "scopes": ["write"]})
    writer = {"Authorization": f"Bearer {created.json()['key']}"}
    _problem(await api.get("/v1/webhooks", headers=writer), 403)
    _problem(
        await api.post(
            "/v1/webhooks",
            json={"url": "https://x.example/", "events": ["alert.opened"]},
            headers=writer,
        ),
        403,
    )
    _problem(await api.get("/v1/webhooks", headers={"Authorization": "Bearer nope"}), 401)
