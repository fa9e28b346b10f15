"""The api's business gauges (SPEC §8): their shape, and their refresh from PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from northstar.db.engine import create_engine
from northstar.domain.alerts import AlertKind, AlertSeverity
from services.api.gauges import (
    STATUSES,
    GaugeSnapshot,
    GoalRow,
    build_families,
    business_gauges,
)


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_one_series_per_goal_with_status_one_hot_and_nulls_left_out() -> None:
    evaluated = GoalRow("g1", 'Revenue "EU"', "revenue", "Sales", "at_risk", 90, 100, 200, 0.9)
    never = GoalRow("g2", "Churn", "churn", "", None, None, None, 5, None)
    families = build_families(GaugeSnapshot([evaluated, never], {("status", "warning"): 3}))
    registry = CollectorRegistry()
    registry.register(type("Fixed", (), {"collect": lambda self: families})())
    got = samples(registry)

    g1 = {("goal_id", "g1"), ("goal", 'Revenue "EU"'), ("kpi", "revenue"), ("unit", "Sales")}
    assert got[("northstar_goal_actual", frozenset(g1))] == 90
    assert got[("northstar_goal_expected", frozenset(g1))] == 100
    assert got[("northstar_goal_target", frozenset(g1))] == 200
    assert got[("northstar_goal_score", frozenset(g1))] == 0.9
    status = {
        dict(labels)["status"]: value
        for (name, labels), value in got.items()
        if name == "northstar_goal_status" and ("goal_id", "g1") in labels
    }
    assert status == {s: (1.0 if s == "at_risk" else 0.0) for s in STATUSES}
    # Not evaluated yet: only its target (from the goal itself) is known.
    assert [name for name, labels in got if ("goal_id", "g2") in labels] == [
        "northstar_goal_target"
    ]
    counts = {dict(ls)["status"]: v for (n, ls), v in got.items() if n == "northstar_goals"}
    assert counts == {s: (1.0 if s == "at_risk" else 0.0) for s in STATUSES}
    alerts = {
        (dict(ls)["kind"], dict(ls)["severity"]): v
        for (n, ls), v in got.items()
        if n == "northstar_alerts_open"
    }
    assert alerts[("status", "warning")] == 3
    # Every kind x severity, zeros too.
    assert set(alerts) == {(k.value, s.value) for k in AlertKind for s in AlertSeverity}
    assert sum(alerts.values()) == 3


async def test_refreshed_from_the_database_in_the_background(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    goal_id, unit_id = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO org_units (id, name, kind) VALUES ($1, 'Support', 'team')", unit_id
    )
    await conn.execute(
        "INSERT INTO kpis (key, name, expression, kind, metrics) "
        "VALUES ('csat', 'CSAT', 'avg(csat_score)', 'lagging', ARRAY['csat_score'])"
    )
    await conn.execute(
        "INSERT INTO goals (id, title, unit_id, kpi_key, type, target) "
        "VALUES ($1, 'Happy customers', $2, 'csat', 'stay_above', 4.5)",
        goal_id,
        unit_id,
    )
    engine = create_engine(database_url, pool_size=1)
    registry = CollectorRegistry()
    labels = frozenset(
        {
            ("goal_id", str(goal_id)),
            ("goal", "Happy customers"),
            ("kpi", "csat"),
            ("unit", "Support"),
        }
    )
    try:
        async with business_gauges(engine, interval=0.1, registry=registry):
            for _ in range(50):
                if ("northstar_goal_target", labels) in samples(registry):
                    break
                await asyncio.sleep(0.05)
            assert samples(registry)[("northstar_goal_target", labels)] == 4.5
            assert ("northstar_goal_score", labels) not in samples(registry)

            await conn.execute(
                "INSERT INTO goal_state (goal_id, status, actual, expected, target, score) "
                "VALUES ($1, 'on_track', 4.6, 4.5, 4.5, 1.02)",
                goal_id,
            )
            await conn.execute(
                "INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at)"
                " VALUES"
                " (gen_random_uuid(), $1, 'stale_data', 'warning', 'acknowledged', now(), now()),"
                " (gen_random_uuid(), $1, 'status', 'critical', 'resolved', now(), now())",
                goal_id,
            )
            for _ in range(50):
                if ("northstar_goal_score", labels) in samples(registry):
                    break
                await asyncio.sleep(0.05)
            got = samples(registry)
            assert got[("northstar_goal_score", labels)] == 1.02
            assert got[("northstar_goal_actual", labels)] == 4.6
            assert got[("northstar_goal_status", labels | {("status", "on_track")})] == 1
            stale = frozenset({("kind", "stale_data"), ("severity", "warning")})
            resolved = frozenset({("kind", "status"), ("severity", "critical")})
            assert got[("northstar_alerts_open", stale)] == 1  # acknowledged is unresolved
            assert got[("northstar_alerts_open", resolved)] == 0
        # Unregistered on the way out: nothing is left behind in the registry.
        assert not any(name.startswith("northstar_goal") for name, _ in samples(registry))
    finally:
        await conn.close()
        await engine.dispose()
