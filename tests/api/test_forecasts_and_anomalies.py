"""Forecast bands, seasonal pacing and anomaly alerts read back over HTTP (SPEC §13),
from events stored as the evaluator stores them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from northstar.db.engine import create_engine
from northstar.evaluation.anomalies import AnomalyChecks
from northstar.telemetry import EVALUATOR
from tests.api.conftest import Event, Ingest, Judge, ok

DAY = timedelta(days=1)
WEEKLY = (0.6, 1.0, 1.1, 1.2, 1.3, 1.6, 0.2)


def _check_failures() -> float:
    sample = EVALUATOR.get_sample_value(
        "northstar_evaluator_errors_total", {"stage": "anomaly_checks"}
    )
    return sample or 0.0


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def _history(ingest: Ingest, days: int, *, spike_on: datetime | None = None) -> None:
    """Daily orders with a weekly pattern in two regions; optionally a spike in the EU."""
    rng = random.Random(5)
    today = _today()
    events: list[Event] = []
    for back in range(1, days + 1):
        day = today - back * DAY
        for region, level in (("eu", 60.0), ("us", 40.0)):
            value = level * WEEKLY[day.weekday()] + rng.gauss(0, 1)
            if spike_on == day and region == "eu":
                value += 400
            events.append(("revenue", value, day + timedelta(hours=12), {"region": region}))
    await ingest(events)


async def _kpi(client: httpx.AsyncClient, **fields: Any) -> None:
    body = {"key": "revenue", "name": "Revenue", "expression": "sum(revenue)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=body | fields), 201)


async def test_the_status_forecast_has_a_band_a_probability_and_a_method(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge
) -> None:
    await _history(ingest, 56)
    await _kpi(client)
    today = _today()
    goal = ok(
        await client.post(
            "/v1/goals",
            json={
                "title": "Revenue",
                "kpi": "revenue",
                "start": (today - 14 * DAY).isoformat(),
                "due": (today + 14 * DAY).isoformat(),
                "target": 100_000,
            },
        ),
        201,
    )
    await rejudge([goal["id"]])
    forecast = ok(await client.get(f"/v1/goals/{goal['id']}/status"))["forecast"]
    assert forecast["method"] == "seasonal"
    assert forecast["low"] <= forecast["value"] <= forecast["high"]
    # About 100 a day: some 2,800 at due, nowhere near 100,000.
    assert 2000 < forecast["value"] < 3600
    assert forecast["probability"] == 0
    assert forecast["status"] == "likely_missed"


async def test_seasonal_pacing_expects_less_on_slow_days(
    client: httpx.AsyncClient, ingest: Ingest
) -> None:
    await _history(ingest, 56)
    await _kpi(client)
    today = _today()
    # Start on the last Monday (a slow day, 0.6 of the mean) and measure a day later.
    monday = today - ((today.weekday()) % 7) * DAY
    body = {
        "title": "Revenue",
        "kpi": "revenue",
        "start": monday.isoformat(),
        "due": (monday + 7 * DAY).isoformat(),
        "target": 700,
    }
    linear = ok(await client.post("/v1/goals", json=body), 201)
    seasonal = ok(await client.post("/v1/goals", json=body | {"pacing": "seasonal"}), 201)
    assert seasonal["pacing"] == "seasonal"
    now = datetime.now(UTC)
    if now - monday < timedelta(hours=2):
        return  # Monday just began: both expect almost nothing yet
    expected_linear = ok(await client.get(f"/v1/goals/{linear['id']}/status"))["expected"]
    expected_seasonal = ok(await client.get(f"/v1/goals/{seasonal['id']}/status"))["expected"]
    elapsed_days = (now - monday) / DAY
    # Through Sunday (0.2) or Monday (0.6), seasonal pacing asks less than linear; later in
    # the week (busy days), more. Both agree that the whole week is 700.
    weights = [WEEKLY[d] for d in range(7)]
    done = sum(weights[: int(elapsed_days)]) + weights[int(elapsed_days)] * (elapsed_days % 1)
    assert abs(expected_seasonal - 700 * done / sum(weights)) < 700 * 0.03
    assert abs(expected_linear - 700 * elapsed_days / 7) < 700 * 0.01


async def test_a_spike_opens_an_anomaly_alert_naming_its_region(
    client: httpx.AsyncClient, ingest: Ingest, database_url: str
) -> None:
    yesterday = _today() - DAY
    await _history(ingest, 56, spike_on=yesterday)
    await _kpi(client, anomaly={"granularity": "day", "sensitivity": "medium"})
    kpi = ok(await client.get("/v1/kpis/revenue"))
    assert kpi["anomaly"] == {"granularity": "day", "sensitivity": "medium"}
    # KPIs without checks, sorted before it: one never had them, one had them turned off.
    for key, anomaly in (("a_orders", None), ("a_refunds", {"granularity": "hour"})):
        body = {"key": key, "name": key, "expression": f"sum({key})", "kind": "lagging"}
        ok(await client.post("/v1/kpis", json=body | {"anomaly": anomaly}), 201)
    ok(await client.patch("/v1/kpis/a_refunds", json={"anomaly": None}))
    failures = _check_failures()
    goal = ok(
        await client.post(
            "/v1/goals",
            json={"title": "Revenue", "kpi": "revenue", "target": 10**6, "pacing": "none"},
        ),
        201,
    )
    engine = create_engine(database_url, pool_size=1)
    try:
        changes = await AnomalyChecks().run(engine, datetime.now(UTC), budget=60)
    finally:
        await engine.dispose()
    assert len(changes) == 1
    assert _check_failures() == failures  # the KPIs without checks are not checked
    alerts = ok(await client.get("/v1/alerts", params={"kind": "anomaly"}))["items"]
    assert [a["goal_id"] for a in alerts] == [goal["id"]]
    details = alerts[0]["details"]
    assert details["bucket"].startswith(yesterday.date().isoformat())
    assert details["observed"] > details["high"] > details["expected"] > details["low"]
    assert details["driver"]["dimension"] == "region"
    assert details["driver"]["value"] == "eu"

    # The next run finds no new closed bucket and changes nothing.
    engine = create_engine(database_url, pool_size=1)
    try:
        assert await AnomalyChecks().run(engine, datetime.now(UTC), budget=60) == []
    finally:
        await engine.dispose()


async def test_a_clean_series_opens_no_anomaly_alert(
    client: httpx.AsyncClient, ingest: Ingest, database_url: str
) -> None:
    await _history(ingest, 56)
    await _kpi(client, anomaly={"granularity": "day"})
    ok(
        await client.post(
            "/v1/goals",
            json={"title": "Revenue", "kpi": "revenue", "target": 10**6, "pacing": "none"},
        ),
        201,
    )
    engine = create_engine(database_url, pool_size=1)
    try:
        assert await AnomalyChecks().run(engine, datetime.now(UTC), budget=60) == []
    finally:
        await engine.dispose()
    assert ok(await client.get("/v1/alerts", params={"kind": "anomaly"}))["items"] == []
    bad = await client.post(
        "/v1/kpis",
        json={
            "key": "other",
            "name": "Other",
            "expression": "sum(x)",
            "kind": "lagging",
            "anomaly": {"granularity": "week"},
        },
    )
    assert bad.status_code == 422
