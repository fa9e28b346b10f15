"""The api's `/metrics`: process metrics for anyone, business gauges (goal titles,
targets, statuses) only for a key with `metrics:read`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.support import eventually


@pytest.fixture
async def client(database_url: str, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ApiSettings(
            database_url=database_url, bootstrap_admin_key=admin_key, gauges_refresh_seconds=0.2
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c,
    ):
        yield c


async def _key(client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str]) -> str:
    response = await client.post(
        "/v1/api-keys", json={"name": "-".join(scopes), "scopes": scopes}, headers=admin
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


async def test_business_gauges_need_metrics_read(client: httpx.AsyncClient, admin_key: str) -> None:
    admin = {"Authorization": f"Bearer {admin_key}"}
    created = await client.post("/v1/goals", json={"title": "Secret merger target"}, headers=admin)
    assert created.status_code == 201, created.text
    scraper = {"Authorization": f"Bearer {await _key(client, admin, ['metrics:read'])}"}

    authorised = await eventually(
        lambda: client.get("/metrics", headers=scraper),
        lambda r: "Secret merger target" in r.text,
        within=10,
        what="the goal in the business gauges",
    )
    assert "northstar_goal_status" in authorised.text

    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 200
    assert "Secret merger target" not in anonymous.text
    assert "northstar_goal_" not in anonymous.text
    assert "northstar_alerts_open" not in anonymous.text
    assert "process_" in anonymous.text or "northstar_api_" in anonymous.text

    reader = {"Authorization": f"Bearer {await _key(client, admin, ['read'])}"}
    refused = await client.get("/metrics", headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer ns_0_" + "x" * 40})
    assert wrong.status_code == 401
