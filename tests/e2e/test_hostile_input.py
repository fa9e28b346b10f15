"""Hostile input never stops the pipeline (issue 10).

Every payload the issue names, and a few hundred more drawn by hypothesis (extreme and
non-finite floats, integers past 64 bits, dates from year 1 to 9999 in any offset,
arbitrary unicode with NUL and control characters, oversized strings and dimension sets),
are sent through ingest AND straight into Kafka, where nothing validated them. Then the
pipeline must be alive: a fresh event on a fresh KPI moves a fresh goal within seconds,
every event ingest acknowledged is stored exactly once, and nothing it refused is stored.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import eventually, fetch

KEY_NAME = "e2e-source"  # the writer key of `Northstar.setup`

# The issue's payloads, as a client would send them.
ISSUE_EVENTS: list[dict[str, Any]] = [
    {"metric": "m", "value": 1, "timestamp": "0001-01-01T00:30:00+01:00"},
    {"metric": "m", "value": 1, "source": "crm\u0000"},
    {"metric": "m", "value": 1, "event_id": "id\u0000"},
    {"metric": "m", "value": 1, "dimensions": {"region": "eu\u0000"}},
    {"metric": "m", "value": 1e308},
    {"metric": "m", "value": 1e308, "timestamp": "2026-01-01T00:00:00Z"},
    {"metric": "m", "value": -1e308, "timestamp": "2026-01-02T00:00:00Z"},
    {"metric": "m", "value": 1, "source": "team-b", "event_id": "b-1"},
    {"metric": "m", "value": 1, "dimensions": {f"k{i}": "v" for i in range(21)}},
]

_OFFSETS = [
    timezone(timedelta(hours=h, minutes=m)) for h, m in ((-12, 0), (0, 0), (5, 45), (14, 0))
]
_FLOATS = (
    st.floats()
    | st.sampled_from([1e308, -1e308, 1e15, -1e15, 1.0000000000000002e15, 5e-324, -0.0])
    | st.integers(min_value=-(2**70), max_value=2**70)
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(_OFFSETS),
).map(lambda t: t.isoformat()) | st.text(max_size=40)
_TEXT = st.text(max_size=120) | st.text(min_size=190, max_size=260)
_EVENTS = st.fixed_dictionaries(
    {"metric": st.just("hostile") | st.text(max_size=110), "value": _FLOATS},
    optional={
        "timestamp": _TIMES,
        "event_id": _TEXT,
        "source": st.just(KEY_NAME) | _TEXT,
        "dimensions": st.dictionaries(st.text(max_size=60), _TEXT, max_size=25),
    },
)


def _draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, the same on every run."""
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn


def _json(value: Any) -> bytes:
    """JSON as a careless client writes it: orjson when it can, else the standard library
    (which writes NaN, Infinity and integers of any size)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _wire(event: dict[str, Any], index: int) -> dict[str, Any]:
    """The event as a producer that bypasses ingest would write it (wire fields filled)."""
    return {
        "event_id": f"direct-{index}",
        "source": "kafka-direct",
        "timestamp": datetime.now(UTC).isoformat(),
        "dimensions": {},
        **event,
    }


async def test_hostile_input_through_ingest_and_kafka_leaves_the_pipeline_alive(
    start_service: StartService,
    admin_key: str,
    kafka_bootstrap: str,
    topic_prefix: str,
    database_url: str,
) -> None:
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env={"NORTHSTAR_EVALUATION_INTERVAL": "2"})
    ns = Northstar(api.url, ingest.url, admin_key)
    await ns.setup()
    drawn = _draw(_EVENTS, 300)
    try:
        # 1. Through ingest: each event alone, then all of them as one partial batch.
        acknowledged: set[tuple[str, str]] = set()
        statuses: dict[int, int] = {}
        for event in ISSUE_EVENTS + drawn:
            response = await ns.http.post(
                f"{ns.ingest_url}/v1/events",
                content=_json(event),
                headers={**ns.writer, "Content-Type": "application/json"},
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code in (202, 400, 403, 422), (event, response.text)
            if response.status_code == 202:
                (event_id,) = response.json()["event_ids"]
                acknowledged.add((event.get("source", KEY_NAME), event_id))
        for event in ISSUE_EVENTS:
            response = await ns.http.post(
                f"{ns.ingest_url}/v1/events",
                content=_json(event),
                headers={**ns.writer, "Content-Type": "application/json"},
            )
            assert response.status_code in (403, 422), (event, response.text)
        batch = await ns.http.post(
            f"{ns.ingest_url}/v1/events",
            params={"partial": "true"},
            content=_json({"events": [e for e in drawn if e.get("source", KEY_NAME) == KEY_NAME]}),
            headers={**ns.writer, "Content-Type": "application/json"},
        )
        assert batch.status_code in (202, 400), batch.text
        if batch.status_code == 202:
            acknowledged |= {(KEY_NAME, i) for i in batch.json()["event_ids"]}
        assert statuses.get(202, 0) > 0 and statuses.get(422, 0) > 0, statuses

        # The issue's cardinality payload: one request with 20 new dimension keys per
        # event. Past the first event the metric would pass the cap of 32 keys: a 422 per
        # event naming `dimensions`; with ?partial=true only the first is accepted.
        wide = [
            {"metric": "wide", "value": 1, "dimensions": {f"k{e}_{i}": "v" for i in range(20)}}
            for e in range(10)
        ]
        response = await ns.http.post(
            f"{ns.ingest_url}/v1/events",
            content=_json({"events": wide}),
            headers={**ns.writer, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert [(e["index"], e["field"]) for e in errors] == [
            (i, "dimensions") for i in range(1, 10)
        ]
        response = await ns.http.post(
            f"{ns.ingest_url}/v1/events",
            params={"partial": "true"},
            content=_json({"events": wide}),
            headers={**ns.writer, "Content-Type": "application/json"},
        )
        assert response.status_code == 202 and response.json()["accepted"] == 1, response.text
        acknowledged |= {(KEY_NAME, i) for i in response.json()["event_ids"]}

        # Every event ingest acknowledged is stored exactly once, and nothing it refused.
        async def ingested() -> dict[tuple[str, str], int]:
            rows = await fetch(
                database_url,
                "SELECT source, event_id, count(*) AS n FROM measurements "
                "GROUP BY source, event_id",
            )
            return {(r["source"], r["event_id"]): r["n"] for r in rows}

        await eventually(ingested, lambda s: set(s) == acknowledged, what="acknowledged events")
        await asyncio.sleep(2)
        stored = await ingested()
        assert set(stored) == acknowledged
        assert set(stored.values()) == {1}

        # 2. Straight into Kafka, where nothing validated them: the same events, the
        # issue's, and messages that are not events at all.
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        topic = f"{topic_prefix}events"
        try:
            direct = [_wire(e, i) for i, e in enumerate(ISSUE_EVENTS + drawn)]
            for start in range(0, len(direct), 25):
                await producer.send_and_wait(
                    topic, _json({"v": 1, "events": direct[start : start + 25]})
                )
            # The cardinality payload again, 500 events of 20 new keys in one message.
            await producer.send_and_wait(
                topic,
                _json(
                    {
                        "v": 1,
                        "events": [
                            _wire(
                                {
                                    "metric": "wide",
                                    "value": 1,
                                    "dimensions": {f"d{e}_{i}": "v" for i in range(20)},
                                },
                                100_000 + e,
                            )
                            for e in range(500)
                        ],
                    }
                ),
            )
            for raw in (
                b"",
                b"\x00\xff",
                b"[" * 10_000,
                _json({"v": 1, "events": "no"}),
                _json({"v": 1, "events": [{"nested": {"deep": [1] * 100_000}}]}),
                _json({"v": 1, "events": [_wire({"metric": "m", "value": 1e308}, -1)]}),
                _json({"v": 1, "events": [_wire({"metric": "m", "value": 1e308}, -2)]}),
            ):
                await producer.send_and_wait(topic, raw)
        finally:
            await producer.stop()

        # 3. Alive: a fresh event on a fresh KPI moves a fresh goal within seconds.
        await ns.assert_a_fresh_goal_moves()

        # 4. Nothing acknowledged or stored twice, after all of it.
        rows = await fetch(
            database_url,
            "SELECT source, event_id, count(*) AS n FROM measurements GROUP BY source, event_id",
        )
        assert {r["n"] for r in rows} == {1}
        stored_now = {(r["source"], r["event_id"]) for r in rows}
        assert acknowledged <= stored_now
        assert not stored_now & {("kafka-direct", "direct--1"), ("kafka-direct", "direct--2")}

        # The catalogue stayed bounded: the one accepted wide event's 20 keys and one set
        # (the issue saw 200,000 keys in one row and a rollup row per event).
        (wide_row,) = await fetch(
            database_url,
            "SELECT cardinality(dimensions) AS keys, dimension_sets FROM metrics "
            "WHERE name = 'wide'",
        )
        assert (wide_row["keys"], wide_row["dimension_sets"]) == (20, 1)
        (rollups,) = await fetch(
            database_url,
            "SELECT count(DISTINCT dimensions) AS n FROM rollup_1d WHERE metric = 'wide'",
        )
        assert rollups["n"] == 1
    finally:
        await ns.http.aclose()


def ns_database(ns: Northstar) -> str:
    url: str = ns.database_url  # type: ignore[attr-defined]
    return url
