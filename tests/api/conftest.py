"""The api in-process over a fresh migrated database, an admin client, a way to put
measurements in the store exactly as the evaluator does, and a way to re-judge goals as
the evaluator's timer does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import pytest
from fastapi import FastAPI

from northstar.db.engine import create_engine
from northstar.evaluation.judge import GoalJudge
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.writer import MeasurementWriter
from services.api.app import create_app
from services.api.settings import ApiSettings


@pytest.fixture
async def app(database_url: str, admin_key: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        ApiSettings(
            database_url=database_url,
            bootstrap_admin_key=admin_key,
            # Tests create webhooks to loopback receivers; the default refusal is shown in
            # tests/notifications/test_webhook_security.py.
            webhook_allow_private_networks=True,
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated with the bootstrap admin key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as client:
        yield client


Event = tuple[str, float, datetime, dict[str, str]]
"""`(metric, value, timestamp, dimensions)`."""


class Ingest(Protocol):
    async def __call__(self, events: Sequence[Event]) -> None: ...


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    """Store events and fold them into the rollups in one transaction, like the evaluator."""
    engine = create_engine(database_url, pool_size=1)
    repository = MeasurementWriter()

    async def store(events: Sequence[Event]) -> None:
        pending = PreparedBatch()
        pending.add(
            [
                MetricEvent(uuid.uuid4().hex, "test", metric, value, time, dims)
                for metric, value, time, dims in events
            ]
        )
        async with engine.begin() as conn:
            fresh = (await repository.store(conn, pending, received_at=datetime.now(UTC))).fresh
            await repository.fold(conn, fresh.summary(), datetime.now(UTC))

    yield store
    await engine.dispose()


class Judge(Protocol):
    async def __call__(self, goal_ids: Sequence[str]) -> None: ...


@pytest.fixture
async def rejudge(database_url: str) -> AsyncIterator[Judge]:
    """Judge goals now in one transaction, like the evaluator after a batch or on its timer
    (status history, alerts and outbox events follow the same path)."""
    engine = create_engine(database_url, pool_size=1)

    async def run(goal_ids: Sequence[str]) -> None:
        async with engine.begin() as conn:
            await GoalJudge().judge(conn, [uuid.UUID(g) for g in goal_ids], datetime.now(UTC))

    yield run
    await engine.dispose()


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body, after checking the status (showing the problem if it differs)."""
    assert response.status_code == status, response.text
    return response.json() if response.content else None
