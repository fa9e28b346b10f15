"""Ingest refuses what the store cannot hold, and what a key may not claim (issue 10):
bounded timestamps and values, no control characters, sources that belong to keys, the
rate limit charged before parsing, and CloudEvents from the official Python SDK in
structured, binary and batched mode."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from tests.conftest import StartService
from tests.pipeline.conftest import Stack
from tests.support import eventually, fetch

PROBLEM = "application/problem+json"


async def _refused_fields(stack: Stack, event: dict[str, object]) -> list[str]:
    response = await stack.push(event)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [e["field"] for e in response.json()["errors"]]


async def test_values_times_and_strings_the_store_cannot_hold_are_422_naming_the_field(
    stack: Stack,
) -> None:
    base = {"metric": "m", "value": 1}
    cases = [
        # The event: year 1 at +01:00 is year 0 in UTC.
        ({**base, "timestamp": "0001-01-01T00:30:00+01:00"}, "timestamp"),
        ({**base, "timestamp": "1969-12-31T23:59:59Z"}, "timestamp"),
        ({**base, "timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),
        ({**base, "value": 1e308}, "value"),
        ({**base, "value": -1.0000001e15}, "value"),
        ({**base, "source": "crm\u0000"}, "source"),
        ({**base, "event_id": "a\u0000b"}, "event_id"),
        ({**base, "event_id": "line\nbreak"}, "event_id"),
        ({**base, "dimensions": {"region": "eu\u0000"}}, "dimensions.region"),
        ({**base, "dimensions": {"region": "\u009b31m"}}, "dimensions.region"),
    ]
    for event, field in cases:
        assert await _refused_fields(stack, event) == [field], event
    # At the bounds: accepted.
    edge = [
        {**base, "value": 1e15, "timestamp": "1970-01-01T00:00:00Z", "event_id": "edge-1"},
        {**base, "value": -1e15, "timestamp": "1970-01-01T01:00:00+01:00", "event_id": "edge-2"},
        {**base, "value": 2, "dimensions": {"region": "zürich ✓"}, "event_id": "edge-3"},
    ]
    response = await stack.push({"events": edge})
    assert response.status_code == 202, response.text
    await eventually(stack.stored, lambda n: n == 3, what="the three events at the bounds")


async def test_a_key_writes_only_its_own_sources(stack: Stack) -> None:
    team_a = await stack.create_key("team-a", ["events:write"])
    team_b = await stack.create_key("team-b", ["events:write"])
    # Team A may not claim team B's source (and so its event ids).
    forged = await stack.push(
        {"metric": "orders", "value": 1, "source": "team-b", "event_id": "b-1"},
        key=team_a["key"],
    )
    assert forged.status_code == 403, forged.text
    assert forged.headers["content-type"] == PROBLEM
    assert "'team-b'" in forged.json()["detail"]
    real = await stack.push(
        {"metric": "orders", "value": 7, "source": "team-b", "event_id": "b-1"},
        key=team_b["key"],
    )
    assert real.status_code == 202
    # A key created with `sources` may write those too, and is listed with them.
    relay = await stack.create_key("relay", ["events:write"], sources=["team-c", "team-d"])
    assert relay["sources"] == ["team-c", "team-d"]
    ok = await stack.push(
        {"events": [{"metric": "orders", "value": 1, "source": s} for s in ("team-c", "relay")]},
        key=relay["key"],
    )
    assert ok.status_code == 202, ok.text
    listed = (await stack.api_get("/v1/api-keys", limit="100")).json()["items"]
    assert {k["name"]: k["sources"] for k in listed}["relay"] == ["team-c", "team-d"]

    await eventually(stack.stored, lambda n: n == 3, what="three stored events")
    rows = await fetch(stack.database_url, "SELECT value FROM measurements WHERE source='team-b'")
    assert [r["value"] for r in rows] == [7.0]


async def test_rate_limit_is_charged_before_the_body_is_parsed(
    stack: Stack, start_service: StartService
) -> None:
    limited = start_service(
        "ingest", name="ingest-limited", env={"NORTHSTAR_RATE_LIMIT_EVENTS_PER_SECOND": "0.5"}
    )
    url = f"{limited.url}/v1/events"
    headers = {**stack.auth(), "Content-Type": "application/json"}
    junk = b"{" + b" " * (1 << 20)  # a megabyte that never parses
    statuses = [
        (await stack.client.post(url, content=junk, headers=headers)).status_code for _ in range(3)
    ]
    # The burst (one token) pays for one 400; then the key is throttled although no
    # event was ever valid.
    assert statuses == [400, 429, 429]


def _sdk_event(event_id: str, value: float, source: str = "billing") -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": event_id,
            "source": source,
            "type": "com.example.metric",
            "time": datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
            "datacontenttype": "application/json",
        },
        data={"metric": "csat_score", "value": value, "dimensions": {"channel": "chat"}},
    )


async def test_cloudevents_sdk_structured_binary_and_batch_store_the_same_events(
    stack: Stack,
) -> None:
    url = f"{stack.ingest.url}/v1/events"
    fmt = JSONFormat()

    async def send(message_headers: dict[str, str], body: bytes) -> None:
        response = await stack.client.post(
            url, content=body, headers={**message_headers, **stack.auth()}
        )
        assert response.status_code == 202, response.text

    structured = to_structured(_sdk_event("ce-s", 1), fmt)
    binary = to_binary(_sdk_event("ce-b", 2), fmt)
    batch_events = [_sdk_event(f"ce-batch-{i}", 3 + i) for i in range(2)]
    batch_body = b"[" + b",".join(fmt.write(e) for e in batch_events) + b"]"
    batch_headers = {"Content-Type": "application/cloudevents-batch+json"}
    for _ in range(2):  # every mode twice: the repeat is stored once
        await send(structured.headers, structured.body)
        await send(binary.headers, binary.body)
        await send(batch_headers, batch_body)

    await eventually(stack.stored, lambda n: n >= 4, what="four CloudEvents stored")
    await asyncio.sleep(1.5)
    rows = await fetch(
        stack.database_url,
        "SELECT source, event_id, value, time, dimensions FROM measurements ORDER BY event_id",
    )
    assert [(r["source"], r["event_id"], r["value"]) for r in rows] == [
        ("billing", "ce-b", 2.0),
        ("billing", "ce-batch-0", 3.0),
        ("billing", "ce-batch-1", 4.0),
        ("billing", "ce-s", 1.0),
    ]
    # Binary mode's attributes came from the ce-* headers, as in structured mode.
    assert {r["time"] for r in rows} == {datetime(2026, 1, 5, 10, 0, tzinfo=UTC)}
    assert {json.dumps(json.loads(r["dimensions"])) for r in rows} == {'{"channel": "chat"}'}
