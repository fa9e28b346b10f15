"""Time series of a KPI: per-step values (for charts) and period-to-date points (for the
forecast), both from the rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.aggregation import QUANTILES, Summary
from northstar.domain.expressions import Aggregation, Expr, aggregations, evaluate_expression
from northstar.rollups.levels import level_for_step
from northstar.rollups.reader import matcher_sql, summary_of
from northstar.rollups.sketches import merged_sketch

MAX_POINTS = 5000
_EMPTY = Summary()  # read, never changed


async def _binned(
    conn: AsyncConnection, agg: Aggregation, start: datetime, end: datetime, step: timedelta
) -> dict[datetime, Summary]:
    with_sketch = agg.func in QUANTILES
    table = level_for_step(step, start, sketches=with_sketch).table
    params: list[Any] = [agg.metric]
    filters = matcher_sql(agg, params)
    params += [start, end, step]
    n = len(params)
    rows_sql = (
        f"SELECT date_bin(${n}::interval, bucket, ${n - 2}::timestamptz) AS bin, count, sum, "
        f"min, max, last_time, last_value, sketch FROM {table} "
        f"WHERE metric = $1 AND bucket >= ${n - 2} AND bucket < ${n - 1}{filters}"
    )
    sketches = (
        merged_sketch("rows r, jsonb_each_text(r.sketch)", by="bin")
        if with_sketch
        else "SELECT NULL::timestamptz AS bin, NULL::jsonb AS sketch WHERE false"
    )
    sql = (
        f"WITH rows AS ({rows_sql}), "
        "totals AS (SELECT bin, sum(count)::bigint AS count, sum(sum) AS sum, "
        "min(min) AS min, max(max) AS max, "
        "max(last_time) AS last_time, "
        "(array_agg(last_value ORDER BY last_time DESC))[1] AS last_value FROM rows GROUP BY bin), "
        f"sketches AS ({sketches}) "
        "SELECT t.*, s.sketch FROM totals t LEFT JOIN sketches s USING (bin) ORDER BY t.bin"
    )
    raw = await driver(conn)
    records = await raw.fetch(sql, *params)
    return {r["bin"]: summary_of(r) for r in records}


async def step_series(
    conn: AsyncConnection, expr: Expr, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, float | None]]:
    """The KPI's value over each `[t, t + step)` from `start` until `end`; steps without
    any event are left out. Buckets are whole rollup buckets, so `start` is best aligned
    to the step (the API aligns it)."""
    aggs = list(aggregations(expr))
    per_agg = {agg: await _binned(conn, agg, start, end, step) for agg in aggs}
    bins = sorted({b for states in per_agg.values() for b in states})
    points = []
    for moment in bins:
        values = {agg: per_agg[agg].get(moment, _EMPTY).value(agg.func) for agg in aggs}
        if any(moment in per_agg[agg] for agg in aggs):
            points.append((moment, evaluate_expression(expr, values)))
    return points


async def daily_period_to_date(
    conn: AsyncConnection, expr: Expr, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """`(end of day, period-to-date value)` for every UTC day in `[start, end)` that had
    data, from the day rollups. The day containing `start` counts whole (a forecast is a
    trend, and a goal period normally starts at midnight)."""
    day = timedelta(days=1)
    start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    aggs = list(aggregations(expr))
    per_agg = {agg: await _binned(conn, agg, start, end, day) for agg in aggs}
    days = sorted({d for states in per_agg.values() for d in states})
    running = {agg: Summary() for agg in aggs}
    points: list[tuple[datetime, float]] = []
    for moment in days:
        for agg in aggs:
            running[agg].absorb(per_agg[agg].get(moment, _EMPTY))
        value = evaluate_expression(expr, {a: running[a].value(a.func) for a in aggs})
        if value is not None:
            points.append((min(moment + day, end), value))
    return points
