"""Ingest over HTTP against the real broker and store (SPEC §3): every body format, every
error status, partial batches, and what the client can rely on from a 202."""

from __future__ import annotations

import asyncio
import time

from tests.conftest import StartService
from tests.pipeline.conftest import Stack
from tests.support import eventually, fetch

PROBLEM = "application/problem+json"


def _event(metric: str = "revenue", value: float = 1.0, **extra: object) -> dict[str, object]:
    return {"metric": metric, "value": value, **extra}


async def test_every_body_format_reaches_the_store_and_the_catalogue(stack: Stack) -> None:
    single = await stack.push(_event("revenue", 10, dimensions={"region": "eu"}))
    batch = await stack.push({"events": [_event("orders", 1), _event("orders", 2)]})
    ndjson = await stack.push(
        content=b'{"metric": "cost", "value": 3}\n\n{"metric": "cost", "value": 4}\n',
        content_type="application/x-ndjson",
    )
    cloudevent = await stack.push(
        {
            "specversion": "1.0",
            "id": "ce-1",
            "source": "billing",
            "type": "com.example.metric",
            "time": "2026-01-05T10:00:00Z",
            "data": {"metric": "csat_score", "value": 4.5, "dimensions": {"channel": "chat"}},
        },
        content_type="application/cloudevents+json",
    )
    ce_batch = await stack.push(
        [
            {
                "specversion": "1.0",
                "id": f"ce-b{i}",
                "source": "helpdesk",
                "type": "metric",
                "data": {"metric": "tickets_opened", "value": 1},
            }
            for i in range(3)
        ],
        content_type="application/cloudevents-batch+json",
    )
    for response, count in ((single, 1), (batch, 2), (ndjson, 2), (cloudevent, 1), (ce_batch, 3)):
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == count
        assert len(response.json()["event_ids"]) == count
    assert cloudevent.json()["event_ids"] == ["ce-1"]

    await eventually(stack.stored, lambda n: n == 9, what="9 stored events")

    catalogue = (await stack.api_get("/v1/metrics")).json()["items"]
    by_name = {m["name"]: m for m in catalogue}
    assert {n: m["event_count"] for n, m in by_name.items()} == {
        "revenue": 1,
        "orders": 2,
        "cost": 2,
        "csat_score": 1,
        "tickets_opened": 3,
    }
    assert by_name["revenue"]["dimensions"] == ["region"]
    assert by_name["csat_score"]["first_seen"] == "2026-01-05T10:00:00Z"

    rows = await fetch(
        stack.database_url,
        "SELECT source, event_id, dimensions FROM measurements WHERE metric = 'csat_score'",
    )
    assert [(r["source"], r["event_id"]) for r in rows] == [("billing", "ce-1")]
    default_source = await fetch(
        stack.database_url, "SELECT DISTINCT source FROM measurements WHERE metric = 'orders'"
    )
    assert [r["source"] for r in default_source] == ["crm"]  # the key's name


async def test_invalid_events_are_listed_and_nothing_is_accepted(stack: Stack) -> None:
    future = "2099-01-01T00:00:00Z"
    response = await stack.push(
        {
            "events": [
                _event("revenue", 5),
                {"metric": "Revenue", "value": "12"},
                {"metric": "cost"},
                _event("cost", 1, timestamp=future),
                _event("cost", 1, timestamp="2026-01-01T00:00:00"),
                _event("cost", 1, dimensions={"Region": "eu"}),
                _event("cost", 1, dimensions={f"k{i}": "v" for i in range(21)}),
                _event("cost", 1, dimensions={"region": "x" * 201}),
                _event("cost", 1, event_id="x" * 101),
                _event("cost", 1, colour="blue"),
            ]
        }
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert "nothing was accepted" in problem["detail"]
    fields = {(e["index"], e["field"]) for e in problem["errors"]}
    assert fields == {
        (1, "metric"),
        (1, "value"),
        (2, "value"),
        (3, "timestamp"),
        (4, "timestamp"),
        (5, "dimensions.Region"),
        (6, "dimensions"),
        (7, "dimensions.region"),
        (8, "event_id"),
        (9, "colour"),
    }
    assert all(e["message"] for e in problem["errors"])
    # NaN and Infinity are not JSON; a body carrying them is malformed, not an event error.
    nan = await stack.push(content=b'{"metric": "cost", "value": NaN}')
    assert nan.status_code == 400

    ok = await stack.push(_event("marker", 1))
    assert ok.status_code == 202
    await eventually(stack.stored, lambda n: n >= 1, what="the marker event")
    await asyncio.sleep(1)
    assert await stack.stored() == 1  # only the marker: the invalid batch left no trace


async def test_partial_accepts_the_valid_events_and_lists_the_rest(stack: Stack) -> None:
    response = await stack.push(
        {"events": [_event("orders", 1), {"metric": "orders"}, _event("orders", 3)]},
        params={"partial": "true"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert body["rejected"] == [{"index": 1, "field": "value", "message": "is required"}]
    await eventually(stack.stored, lambda n: n == 2, what="the two valid events")


async def test_malformed_bodies_and_types(stack: Stack) -> None:
    cases = [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"metric": "a", "value": 1}\n{oops\n', "application/x-ndjson", 400),
        (b'{"events": []}', "application/cloudevents-batch+json", 400),
        (b'{"metric": "a", "value": 1}', "text/plain", 415),
        (b'{"specversion": "1.0", "data": {}}', "application/cloudevents+json", 422),
    ]
    for content, content_type, status in cases:
        response = await stack.push(content=content, content_type=content_type)
        assert response.status_code == status, (content, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"]


async def test_size_limits_answer_413(stack: Stack) -> None:
    too_many = {"events": [_event("orders", 1)] * 10_001}
    response = await stack.push(too_many)
    assert response.status_code == 413
    assert "10000" in response.json()["detail"]
    huge = b'{"metric": "orders", "value": 1, "dimensions": {"k": "' + b"x" * (6 << 20) + b'"}}'
    response = await stack.push(content=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_keys_scopes_and_revocation(stack: Stack) -> None:
    no_key = await stack.client.post(f"{stack.ingest.url}/v1/events", json=_event())
    assert no_key.status_code == 401
    assert no_key.headers["content-type"] == PROBLEM
    unknown = await stack.push(_event(), key="ns_00000000_nope")
    assert unknown.status_code == 401
    reader = await stack.create_key("dashboards", ["read"])
    assert (await stack.push(_event(), key=reader["key"])).status_code == 403

    temporary = await stack.create_key("temp", ["events:write"])
    assert (await stack.push(_event(), key=temporary["key"])).status_code == 202
    revoked = await stack.client.delete(
        f"{stack.api.url}/v1/api-keys/{temporary['id']}", headers=stack.auth(stack.admin_key)
    )
    assert revoked.status_code == 204
    started = time.monotonic()
    await eventually(
        lambda: stack.push(_event(), key=temporary["key"]),
        lambda r: r.status_code == 401,
        within=10,
        what="the revoked key to be refused",
    )
    assert time.monotonic() - started < 5


async def test_rate_limit_answers_429_with_retry_after(
    stack: Stack, start_service: StartService
) -> None:
    limited = start_service(
        "ingest", name="ingest-limited", env={"NORTHSTAR_RATE_LIMIT_EVENTS_PER_SECOND": "5"}
    )
    url = f"{limited.url}/v1/events"
    batch = {"events": [_event("orders", 1)] * 10}  # the whole two-second burst
    first = await stack.client.post(url, json=batch, headers=stack.auth())
    assert first.status_code == 202
    second = await stack.client.post(url, json=batch, headers=stack.auth())
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert second.headers["content-type"] == PROBLEM


async def test_ingest_health_readiness_and_metrics(stack: Stack) -> None:
    assert (await stack.client.get(f"{stack.ingest.url}/healthz")).status_code == 200
    ready = await stack.client.get(f"{stack.ingest.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}
    await stack.push(_event())
    await stack.push({"events": [{"metric": "BAD", "value": 1}]})
    metrics = (await stack.client.get(f"{stack.ingest.url}/metrics")).text
    assert 'northstar_ingest_events_total{outcome="accepted"} 1.0' in metrics
    assert 'northstar_ingest_events_total{outcome="rejected"} 1.0' in metrics
    assert "northstar_ingest_request_duration_seconds_bucket" in metrics
    request_id = (await stack.push(_event())).headers["x-request-id"]
    assert request_id


async def test_client_event_ids_make_resends_idempotent(stack: Stack) -> None:
    events = [_event("orders", i, event_id=f"order-{i}") for i in range(50)]
    for _ in range(3):
        assert (await stack.push({"events": events})).status_code == 202
    # A different source may reuse an id: the dedupe key is (source, event_id).
    other = await stack.push({"events": [_event("orders", 1, event_id="order-1", source="erp")]})
    assert other.status_code == 202
    await eventually(stack.stored, lambda n: n >= 51, what="51 stored events")
    await asyncio.sleep(1.5)
    assert await stack.stored() == 51
    metrics = (await stack.client.get(f"{stack.evaluator.url}/metrics")).text  # type: ignore[union-attr]
    assert 'northstar_evaluator_events_total{outcome="stored"} 51.0' in metrics
    assert 'northstar_evaluator_events_total{outcome="duplicate"} 100.0' in metrics
