"""`/v1/sources` (SPEC §16): definitions checked in words, connections sealed and never
shown back, the SSRF rules, run now, and a preview that stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import ok
from tests.sources.conftest import JsonServer, json_server  # noqa: F401 (fixture)
from tests.support import fetch, fetchval

SECRET_URL = "postgresql://reader:hunter2-secret@127.0.0.1:5432/shop"


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "shop",
        "kind": "sql",
        "connection": {"url": SECRET_URL},
        "query": "SELECT created_at AS time, total AS value FROM orders "
        "WHERE created_at >= :start AND created_at < :end",
        "metric": "order_total",
        "schedule": {"every": "PT5M"},
    }
    return {**base, **changes}


async def test_a_source_is_created_and_its_connection_never_shown(
    client: httpx.AsyncClient, database_url: str
) -> None:
    created = ok(await client.post("/v1/sources", json=body()), 201)
    assert created["connection_host"] == "127.0.0.1:5432"
    assert created["schedule"] == {"every": "PT5M"}
    assert created["cursor"] == {"lookback": "PT1H", "settle": "PT0S", "since": None}
    assert created["last_run"] is None
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert next_run.minute % 5 == 0 and next_run.second == 0  # aligned slots
    for response in (
        await client.get(f"/v1/sources/{created['id']}"),
        await client.get("/v1/sources"),
    ):
        assert "hunter2" not in response.text and "reader" not in response.text
    stored = await fetchval(database_url, "SELECT connection FROM sources")
    assert "hunter2" not in str(stored)
    audit = await fetch(database_url, "SELECT changes::text AS c FROM audit_events")
    assert audit and all("hunter2" not in row["c"] for row in audit)

    # The name is part of every pulled value's dedupe key: it cannot change.
    renamed = await client.patch(f"/v1/sources/{created['id']}", json={"name": "other"})
    assert renamed.status_code == 422
    changed = ok(
        await client.patch(
            f"/v1/sources/{created['id']}",
            json={"schedule": {"cron": "0 6 * * *"}, "cursor": {"lookback": "PT6H"}},
        )
    )
    assert changed["schedule"] == {"cron": "0 6 * * *"} and changed["cursor"]["lookback"] == "PT6H"
    assert datetime.fromisoformat(changed["next_run_at"]).hour == 6
    assert (await client.post("/v1/sources", json=body())).status_code == 409


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule": {"cron": "61 * * * *"}}, "schedule"),
        ({"schedule": {"every": "PT1S"}}, "schedule"),
        ({"cursor": {"lookback": "P30D"}}, "cursor.lookback"),
        ({"connection": {"url": "oracle://db/x"}}, "connection.url"),
        ({"kind": "http_json", "connection": {"url": "ftp://x"}}, "connection.url"),
        ({"kind": "http_json", "connection": {"url": "http://x"}, "query": "a[?"}, "query"),
        (
            {
                "kind": "prometheus",
                "connection": {"url": "http://127.0.0.1:9090"},
                "mapping": {"step": "soon"},
            },
            "mapping.step",
        ),
        # Link-local / metadata addresses are refused even where private ones are allowed.
        ({"connection": {"url": "postgresql://u:p@169.254.169.254/db"}}, "connection.url"),
        (
            {
                "kind": "http_json",
                "connection": {"url": "http://169.254.169.254/latest"},
                "query": "@",
            },
            "connection.url",
        ),
    ],
)
async def test_a_definition_that_cannot_work_is_refused_in_words(
    client: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    problem = ok(await client.post("/v1/sources", json=body(**changes)), 422)
    assert any(e.get("field") == field for e in problem["errors"]), problem


async def test_run_now_queues_a_run_for_the_collector(
    client: httpx.AsyncClient, database_url: str
) -> None:
    source = ok(await client.post("/v1/sources", json=body()), 201)
    run = ok(await client.post(f"/v1/sources/{source['id']}/runs"), 202)
    assert run["status"] == "queued" and run["trigger"] == "manual"
    runs = ok(await client.get(f"/v1/sources/{source['id']}/runs"))
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    ok(await client.delete(f"/v1/sources/{source['id']}"), 204)
    assert await fetchval(database_url, "SELECT count(*) FROM source_runs") == 0


async def test_the_preview_shows_rows_and_events_and_stores_nothing(
    client: httpx.AsyncClient,
    json_server: JsonServer,  # noqa: F811
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    json_server.document = [
        {"t": (now - timedelta(minutes=5)).isoformat(), "v": "12.5", "region": "eu"},
        {"t": (now - timedelta(minutes=4)).isoformat(), "v": "n/a", "region": "us"},
        {"t": (now - timedelta(minutes=3)).isoformat(), "v": 3, "region": "us"},
    ]
    preview = ok(
        await client.post(
            "/v1/sources/preview",
            json={
                "kind": "http_json",
                "connection": {"url": f"{json_server.url}/x"},
                "query": "@",
                "metric": "orders",
                "mapping": {"time": "t", "value": "v", "dimensions": ["region"]},
                "limit": 10,
            },
        )
    )
    assert len(preview["rows"]) == 3
    assert [e["value"] for e in preview["events"]] == [12.5, 3.0]
    assert preview["problems"] == [{"index": 1, "message": "value 'n/a' is not a number"}]
    for table in ("sources", "source_runs", "measurements", "event_keys"):
        assert await fetchval(database_url, f"SELECT count(*) FROM {table}") == 0

    json_server.status = 500
    json_server.document = {"error": "boom"}
    failed = await client.post(
        "/v1/sources/preview",
        json={
            "kind": "http_json",
            "connection": {"url": f"{json_server.url}/x"},
            "query": "@",
            "metric": "orders",
        },
    )
    assert failed.status_code == 422 and "HTTP 500" in failed.json()["detail"]
