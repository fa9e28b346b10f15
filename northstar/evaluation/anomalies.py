"""AnomalyChecks: compare each closed bucket of a KPI with the band its history predicts,
and open (or clear) `anomaly` alerts on the goals the KPI measures.

    timed sweep ──> for each KPI with `anomaly` settings, in key order, within a budget:
        closed buckets after `anomaly_checks.checked_until` (at most MAX_BUCKETS, newest)
          └─ history from the rollups ─> `anomaly_band` (statsmodels ETS) ─> inside?
               outside: the top driver (grouped rollup reads, `split_gap`) into details
          └─ `anomaly` condition on every goal of the KPI ─> alerts, outbox (same lifecycle)
        checked_until moves on, in the same transaction

The work runs on the sweep's replica only and stops when the run's time budget is spent;
the next run carries on where `checked_until` says, so a backlog drains over runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.db.engine import driver
from northstar.domain.alerts import anomaly_condition
from northstar.domain.analysis import NoGapError, choose_dimension, is_additive, split_gap
from northstar.domain.expressions import Expr, metrics, parse_expression
from northstar.domain.forecasting import AnomalyBand, Sensitivity, anomaly_band
from northstar.evaluation.alerts import AlertChange, AlertRecorder
from northstar.rollups.reader import split_states
from northstar.rollups.series import step_series
from northstar.telemetry import EVALUATOR_ERRORS

log = logging.getLogger(__name__)

MAX_BUCKETS = 3
"""Closed buckets checked per KPI per run at most (the newest); older ones are skipped,
so a long outage does not turn into a long catch-up."""
MAX_DRIVER_DIMENSIONS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Granularity:
    step: timedelta
    season: int
    """Buckets per season: a day of hours, a week of days."""
    history: int
    """Buckets of history the band is learned from."""


GRANULARITIES = {
    "hour": Granularity(timedelta(hours=1), 24, 24 * 7),
    "day": Granularity(timedelta(days=1), 7, 7 * 8),
}

_KPIS = """
SELECT k.key, k.expression, k.anomaly, c.checked_until FROM kpis k
LEFT JOIN anomaly_checks c ON c.kpi_key = k.key
WHERE jsonb_typeof(k.anomaly) = 'object' ORDER BY k.key
"""
_GOALS = "SELECT id FROM goals WHERE kpi_key = $1 ORDER BY id"
_DIMENSIONS = (
    "SELECT DISTINCT unnest(dimensions) AS name FROM metrics WHERE name = ANY($1::text[]) "
    "ORDER BY 1"
)
_CHECKED = """
INSERT INTO anomaly_checks (kpi_key, checked_until) VALUES ($1, $2)
ON CONFLICT (kpi_key) DO UPDATE SET checked_until = excluded.checked_until
"""


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + ((moment - _EPOCH) // step) * step


@dataclass(frozen=True, slots=True)
class Finding:
    """One checked bucket."""

    kpi: str
    bucket: datetime
    observed: float
    band: AnomalyBand
    driver: dict[str, Any] | None

    @property
    def anomalous(self) -> bool:
        return not self.band.contains(self.observed)

    def details(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "observed": self.observed,
            "expected": self.band.expected,
            "low": self.band.low,
            "high": self.band.high,
            "bucket": self.bucket.isoformat(),
            "driver": self.driver,
        }


class AnomalyChecks:
    def __init__(self) -> None:
        self._alerts = AlertRecorder()

    async def run(self, engine: AsyncEngine, now: datetime, budget: float) -> list[AlertChange]:
        """Check every KPI's new closed buckets until `budget` seconds are spent. One
        transaction per KPI."""
        started = time.perf_counter()
        async with engine.connect() as conn:
            kpis = list(await (await driver(conn)).fetch(_KPIS))
        changes: list[AlertChange] = []
        for kpi in kpis:
            if time.perf_counter() - started > budget:
                log.warning(
                    "anomaly checks stopped at their time budget; the rest run next time",
                    extra={"kpi": kpi["key"], "budget_s": budget},
                )
                break
            try:
                async with engine.begin() as conn:
                    changes += await self.check_kpi(conn, kpi, now)
            except Exception:
                # One KPI's failure (its data, its settings) costs the others nothing; its
                # checks run again next time from where `checked_until` says.
                EVALUATOR_ERRORS.labels(stage="anomaly_checks").inc()
                log.exception("an anomaly check failed; skipped", extra={"kpi": kpi["key"]})
        return changes

    async def check_kpi(self, conn: AsyncConnection, kpi: Any, now: datetime) -> list[AlertChange]:
        settings = kpi["anomaly"]
        if isinstance(settings, str):  # plain asyncpg hands jsonb over as text
            settings = orjson.loads(settings)
        granularity = GRANULARITIES[settings["granularity"]]
        sensitivity = Sensitivity(settings.get("sensitivity", "medium"))
        step = granularity.step
        closed_until = _floor(now, step)
        checked_until = kpi["checked_until"] or closed_until - step
        first = max(checked_until, closed_until - MAX_BUCKETS * step)
        expr = parse_expression(kpi["expression"])
        raw = await driver(conn)
        changes: list[AlertChange] = []
        goals = [g["id"] for g in await raw.fetch(_GOALS, kpi["key"])]
        bucket = first
        while bucket < closed_until:
            finding = await self.check_bucket(
                conn, kpi["key"], expr, granularity, sensitivity, bucket
            )
            bucket += step
            if finding is None:
                continue
            # In bucket order, so an anomaly followed by a normal bucket opens and then
            # resolves its alert rather than passing unseen.
            condition = anomaly_condition(finding.anomalous)
            for goal_id in goals:
                change = await self._alerts.apply_condition(
                    conn, goal_id, condition, finding.details(), now
                )
                if change is not None:
                    changes.append(change)
        await raw.execute(_CHECKED, kpi["key"], closed_until)
        return changes

    async def check_bucket(
        self,
        conn: AsyncConnection,
        key: str,
        expr: Expr,
        granularity: Granularity,
        sensitivity: Sensitivity,
        bucket: datetime,
    ) -> Finding | None:
        """The bucket's value against the band learned from the buckets before it;
        `None` when there is too little history or no value."""
        step = granularity.step
        begin = bucket - granularity.history * step
        series = dict(await step_series(conn, expr, begin, bucket + step, step))
        # Sums and counts of an empty bucket are 0; any other KPI has no value there.
        filler = 0.0 if is_additive(expr) else None
        history = []
        # Buckets before the KPI's first data are not zeros, just before its time.
        moment = min((t for t in series if t >= begin), default=bucket)
        while moment < bucket:
            value = series.get(moment, filler)
            if value is not None:
                history.append(value)
            moment += step
        observed = series.get(bucket, filler)
        if observed is None:
            return None
        band = anomaly_band(history, granularity.season, sensitivity)
        if band is None:
            return None
        driver_info = None
        if not band.contains(observed):
            driver_info = await self._driver(conn, expr, granularity, bucket, band.expected)
        return Finding(key, bucket, observed, band, driver_info)

    async def _driver(
        self,
        conn: AsyncConnection,
        expr: Expr,
        granularity: Granularity,
        bucket: datetime,
        expected: float,
    ) -> dict[str, Any] | None:
        """The dimension value that moved most against the same bucket a season before,
        with the deviation from the expected value split over it."""
        raw = await driver(conn)
        names = [r["name"] for r in await raw.fetch(_DIMENSIONS, sorted(metrics(expr)))]
        names = names[:MAX_DRIVER_DIMENSIONS]
        if not names:
            return None
        step = granularity.step
        micro = timedelta(microseconds=1)
        before = bucket - granularity.season * step
        current, previous = await split_states(
            conn, expr, names, [(bucket, bucket + step - micro), (before, before + step - micro)]
        )
        try:
            splits = [
                split_gap(expr, n, current[i], previous[i], expected=expected)
                for i, n in enumerate(names)
            ]
        except NoGapError:
            return None
        best = choose_dimension(splits)[0]
        if not best.items:
            return None
        top = best.items[0]
        return {
            "dimension": best.dimension,
            "value": top.value,
            "contribution": top.contribution,
            "method": best.method.value,
        }
