"""A running Northstar stack per test: api, ingest and evaluator as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from devstack.processes import ServiceProcess
from tests.conftest import StartService
from tests.support import fetchval


@dataclass
class Stack:
    api: ServiceProcess
    ingest: ServiceProcess
    evaluator: ServiceProcess | None
    admin_key: str
    writer_key: str
    database_url: str
    kafka_bootstrap: str
    topic_prefix: str
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.writer_key}"}

    async def push(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        content_type: str = "application/json",
        key: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, **self.auth(key)}
        if content is None:
            import orjson

            content = orjson.dumps(body)
        return await self.client.post(
            f"{self.ingest.url}/v1/events", content=content, headers=headers, params=params
        )

    async def create_key(
        self, name: str, scopes: list[str], *, sources: list[str] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "scopes": scopes}
        if sources is not None:
            body["sources"] = sources
        response = await self.client.post(
            f"{self.api.url}/v1/api-keys",
            json=body,
            headers=self.auth(self.admin_key),
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def api_get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(
            f"{self.api.url}{path}", params=params, headers=self.auth(self.admin_key)
        )

    async def stored(self) -> int:
        return int(await fetchval(self.database_url, "SELECT count(*) FROM measurements"))  # type: ignore[arg-type]


@pytest.fixture
async def stack(
    start_service: StartService,
    service_env: dict[str, str],
    admin_key: str,
    database_url: str,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> AsyncIterator[Stack]:
    api = start_service("api")
    ingest = start_service("ingest")
    evaluator = start_service("evaluator")
    stack = Stack(
        api, ingest, evaluator, admin_key, "", database_url, kafka_bootstrap, topic_prefix
    )
    # The writer may also write the sources the tests name (SPEC §3: sources belong to keys).
    stack.writer_key = (
        await stack.create_key("crm", ["events:write"], sources=["billing", "helpdesk", "erp"])
    )["key"]
    yield stack
    await stack.client.aclose()
