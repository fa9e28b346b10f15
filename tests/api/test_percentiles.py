"""Percentile KPIs end to end through the evaluation layer: values within the sketch's 1 %
accuracy, period-to-date over several days (the forecast path), and the values series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import Ingest, Judge, ok


async def test_a_percentile_goal_is_judged_and_forecast(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge
) -> None:
    now = datetime.now(UTC)
    ok(
        await client.post(
            "/v1/kpis",
            json={
                "key": "delivery_p95",
                "name": "Delivery time p95",
                "unit": "hours",
                "expression": 'p95(delivery_hours{carrier!="pickup"})',
                "kind": "lagging",
            },
        ),
        201,
    )
    goal = ok(
        await client.post(
            "/v1/goals",
            json={
                "title": "Deliver 95 % within 100 hours",
                "kpi": "delivery_p95",
                "type": "stay_below",
                "baseline": 0,
                "target": 100,
                "start": (now - timedelta(days=5)).isoformat(),
                "due": (now + timedelta(days=5)).isoformat(),
            },
        ),
        201,
    )
    # Values 1..100 on each of four days (p95 of all 400 is 95); pickups must not count.
    await ingest(
        [
            ("delivery_hours", float(v), now - timedelta(days=d, hours=1), {"carrier": "dhl"})
            for d in range(1, 5)
            for v in range(1, 101)
        ]
        + [("delivery_hours", 10_000.0, now - timedelta(days=1), {"carrier": "pickup"})] * 50
    )
    await rejudge([goal["id"]])

    status = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    assert status["actual"] == pytest.approx(95, rel=0.01)
    assert status["expected"] == pytest.approx(50, rel=0.01)  # halfway to 100
    assert status["status"] == "off_track"  # 50 / 95 ≈ 0.53
    assert status["forecast"] is not None  # four days of data: the forecast ran
    assert status["forecast"]["status"] in ("likely_achieved", "likely_missed")

    series = ok(
        await client.get(
            "/v1/kpis/delivery_p95/values",
            params={"from": (now - timedelta(days=6)).isoformat(), "step": "P1D"},
        )
    )
    values = [p["value"] for p in series["points"]]
    assert len(values) == 4
    assert all(v == pytest.approx(95, rel=0.01) for v in values)
