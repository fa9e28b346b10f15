"""End-to-end fixtures: the three services as real processes, driven over HTTP only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import StartService
from tests.support import eventually


class Northstar:
    """A client for one running suite: the api for definitions and reads, ingest for events."""

    def __init__(self, api_url: str, ingest_url: str, admin_key: str) -> None:
        self.api_url = api_url
        self.ingest_url = ingest_url
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.writer: dict[str, str] = {}
        self.http = httpx.AsyncClient(timeout=30)
        self.now = datetime.now(UTC)

    async def setup(self) -> None:
        key = await self.post("/v1/api-keys", {"name": "e2e-source", "scopes": ["events:write"]})
        self.writer = {"Authorization": f"Bearer {key['key']}"}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(f"{self.api_url}{path}", json=body, headers=self.admin)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(f"{self.api_url}{path}", params=params, headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def push(self, events: list[dict[str, Any]]) -> list[str]:
        response = await self.http.post(
            f"{self.ingest_url}/v1/events", json={"events": events}, headers=self.writer
        )
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["event_ids"]
        return ids

    def period(self, days_before: float = 10, days_after: float = 10) -> dict[str, str]:
        """A goal period with `now` at elapsed e = days_before / (days_before + days_after)."""
        return {
            "start": (self.now - timedelta(days=days_before)).isoformat(),
            "due": (self.now + timedelta(days=days_after)).isoformat(),
        }

    def at(self, days_ago: float) -> str:
        return (self.now - timedelta(days=days_ago)).isoformat()

    async def status(self, goal_id: str) -> dict[str, Any]:
        status: dict[str, Any] = await self.get(f"/v1/goals/{goal_id}/status")
        return status

    async def wait_status(
        self, goal_id: str, status: str, *, actual: float | None = None, within: float = 30
    ) -> dict[str, Any]:
        def done(s: dict[str, Any]) -> bool:
            if s["status"] != status:
                return False
            return actual is None or (s["actual"] is not None and abs(s["actual"] - actual) < 1e-6)

        return await eventually(
            lambda: self.status(goal_id), done, within=within, what=f"{goal_id} → {status}"
        )

    async def assert_a_fresh_goal_moves(self) -> None:
        """The pipeline is alive: a fresh event on a fresh KPI moves a fresh goal."""
        metric = f"fresh_{uuid.uuid4().hex[:8]}"
        await self.post(
            "/v1/kpis",
            {"key": metric, "name": "Fresh", "expression": f"last({metric})", "kind": "leading"},
        )
        goal = await self.post(
            "/v1/goals", {"title": "Fresh goal", "kpi": metric, "target": 100, **self.period()}
        )
        await self.push([{"metric": metric, "value": 90, "timestamp": self.at(0.1)}])
        await self.wait_status(goal["id"], "on_track", actual=90, within=60)


@pytest.fixture
async def northstar(start_service: StartService, admin_key: str) -> AsyncIterator[Northstar]:
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env={"NORTHSTAR_EVALUATION_INTERVAL": "2"})
    client = Northstar(api.url, ingest.url, admin_key)
    await client.setup()
    yield client
    await client.http.aclose()
