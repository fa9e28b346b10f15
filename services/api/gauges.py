"""Business gauges on the api's `/metrics` (SPEC §8): one series per goal, and open alerts.

A scrape never touches the database. A background task reads the latest evaluation of
every goal (one set-based query over `goals`, `goal_state` and `org_units`) and the
unresolved alerts (one grouped count) every few seconds, builds the metric families
once, and swaps them in; `collect()` only hands the last families out. So 10,000 goals
cost one query per refresh interval whatever the number of Prometheus servers scraping,
and a database outage leaves the last known values in place (the refresh failures are
counted, and `northstar_api_gauges_last_refresh_timestamp_seconds` shows the age).

Labels are bounded by the number of goals: `goal_id`, `goal` (the title), `kpi` (the KPI
key, "" for a roll-up goal) and `unit` (the org unit's name, or ""). No event ids or
dimension values ever become labels. Goal values (`actual`, `expected`, `target`) are in
the KPI's own unit (EUR, %, count…), which differs per goal, so their names carry no unit
suffix; the score is a ratio (1 = on pace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.db.models import Alert, Goal, GoalState, OrgUnit
from northstar.domain.alerts import AlertKind, AlertSeverity, AlertState
from northstar.domain.goals import GoalStatus
from northstar.telemetry import (
    API_GAUGES_LAST_REFRESH,
    API_GAUGES_REFRESH_DURATION,
    API_GAUGES_REFRESH_ERRORS,
)

log = logging.getLogger(__name__)

#: Seconds between refreshes; a scrape sees values at most this old (plus query time).
DEFAULT_REFRESH_INTERVAL = 5.0

GOAL_LABELS = ("goal_id", "goal", "kpi", "unit")
STATUSES = tuple(status.value for status in GoalStatus)
UNRESOLVED = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)

# name → help; the value column of `GoalRow` with the same suffix feeds each one.
GOAL_VALUE_GAUGES = {
    "actual": "The goal's KPI value over its period (or rolling window), in the KPI's unit.",
    "expected": "Where the KPI should be by now at the goal's pace, in the KPI's unit.",
    "target": "The goal's target, in the KPI's unit.",
    "score": "Progress against the expected pace as a ratio (1 = on pace, SPEC §5).",
}


@dataclass(frozen=True, slots=True)
class GoalRow:
    """One goal with its latest evaluation; the values are None until evaluated."""

    goal_id: str
    title: str
    kpi: str
    unit: str
    status: str | None
    actual: float | None
    expected: float | None
    target: float | None
    score: float | None

    @property
    def labels(self) -> list[str]:
        return [self.goal_id, self.title, self.kpi, self.unit]


@dataclass(frozen=True, slots=True)
class GaugeSnapshot:
    """What one refresh read: every goal, and unresolved alerts by (kind, severity)."""

    goals: Sequence[GoalRow]
    open_alerts: Mapping[tuple[str, str], int]


def build_families(snapshot: GaugeSnapshot) -> list[Metric]:
    """The metric families for `snapshot` (pure; runs off the event loop for big sets).

    Series whose value is NULL are left out rather than exported as 0 or NaN: a goal not
    evaluated yet has no `actual`, and a graph should show a gap, not a drop to zero.
    """
    values = {
        name: GaugeMetricFamily(f"northstar_goal_{name}", help_text, labels=GOAL_LABELS)
        for name, help_text in GOAL_VALUE_GAUGES.items()
    }
    status = GaugeMetricFamily(
        "northstar_goal_status",
        "1 for the goal's current status, 0 for each of the other statuses.",
        labels=(*GOAL_LABELS, "status"),
    )
    counts = dict.fromkeys(STATUSES, 0)
    for goal in snapshot.goals:
        labels = goal.labels
        for name, family in values.items():
            value = getattr(goal, name)
            if value is not None:
                family.add_metric(labels, value)
        if goal.status is None:
            continue
        counts[goal.status] = counts.get(goal.status, 0) + 1
        for candidate in STATUSES:
            status.add_metric([*labels, candidate], 1.0 if candidate == goal.status else 0.0)

    goals = GaugeMetricFamily(
        "northstar_goals",
        "Evaluated goals by current status (goals never evaluated are not counted).",
        labels=("status",),
    )
    for name, count in counts.items():
        goals.add_metric([name], count)

    alerts = GaugeMetricFamily(
        "northstar_alerts_open",
        "Unresolved alerts (state open or acknowledged) by kind and severity.",
        labels=("kind", "severity"),
    )
    open_alerts = {
        (kind.value, severity.value): 0 for kind in AlertKind for severity in AlertSeverity
    }
    open_alerts.update(snapshot.open_alerts)
    for (kind, severity), count in sorted(open_alerts.items()):
        alerts.add_metric([kind, severity], count)

    return [*values.values(), status, goals, alerts]


async def read_snapshot(conn: AsyncConnection) -> GaugeSnapshot:
    """The two set-based queries behind every business gauge."""
    goals_query = (
        select(
            Goal.id,
            Goal.title,
            func.coalesce(Goal.kpi_key, ""),
            func.coalesce(OrgUnit.name, ""),
            GoalState.status,
            GoalState.actual,
            GoalState.expected,
            # The goal's own target is known before its first evaluation.
            func.coalesce(GoalState.target, Goal.target),
            GoalState.score,
        )
        .select_from(Goal)
        .outerjoin(GoalState, GoalState.goal_id == Goal.id)
        .outerjoin(OrgUnit, OrgUnit.id == Goal.unit_id)
        .order_by(Goal.id)
    )
    alerts_query = (
        select(Alert.kind, Alert.severity, func.count())
        .where(Alert.state.in_(UNRESOLVED))
        .group_by(Alert.kind, Alert.severity)
    )
    goals = [
        GoalRow(str(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])
        for row in await conn.execute(goals_query)
    ]
    open_alerts = {
        (kind, severity): count for kind, severity, count in await conn.execute(alerts_query)
    }
    return GaugeSnapshot(goals, open_alerts)


class BusinessGauges:
    """A prometheus_client collector serving the families of the last refresh."""

    def __init__(self) -> None:
        self._families: list[Metric] = []

    def publish(self, families: list[Metric]) -> None:
        # One reference assignment: a concurrent scrape sees the old or the new set whole.
        self._families = families

    def describe(self) -> Iterable[Metric]:
        # Nothing to describe up front (the families only exist after a refresh); an empty
        # description also keeps the registry from calling collect() at registration.
        return []

    def collect(self) -> Iterable[Metric]:
        return self._families


class GaugeRefresher:
    """Refreshes a `BusinessGauges` from PostgreSQL every `interval` seconds."""

    def __init__(self, engine: AsyncEngine, gauges: BusinessGauges, *, interval: float) -> None:
        self._engine = engine
        self._gauges = gauges
        self._interval = interval

    async def refresh(self) -> None:
        started = time.perf_counter()
        async with self._engine.connect() as conn:
            # One snapshot for both queries, so goal counts and alerts agree.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            snapshot = await read_snapshot(conn)
        families = await asyncio.to_thread(build_families, snapshot)
        self._gauges.publish(families)
        API_GAUGES_REFRESH_DURATION.set(time.perf_counter() - started)
        API_GAUGES_LAST_REFRESH.set(time.time())

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.refresh()
            except Exception:
                # Keep serving the last values; the age gauge and this counter show it.
                API_GAUGES_REFRESH_ERRORS.inc()
                log.exception("refreshing the business gauges failed; keeping the last values")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)


@asynccontextmanager
async def business_gauges(
    engine: AsyncEngine,
    *,
    interval: float = DEFAULT_REFRESH_INTERVAL,
    registry: CollectorRegistry = REGISTRY,
) -> AsyncIterator[BusinessGauges]:
    """Register the business gauges and keep them refreshed for the life of the block."""
    gauges = BusinessGauges()
    registry.register(gauges)
    stopping = asyncio.Event()
    task = asyncio.create_task(
        GaugeRefresher(engine, gauges, interval=interval).run(stopping), name="business-gauges"
    )
    try:
        yield gauges
    finally:
        stopping.set()
        await task
        registry.unregister(gauges)
