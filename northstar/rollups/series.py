"""Time series of a KPI: per-step values (for charts) and period-to-date points (for the
forecast), both from the rollups."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.expressions import Aggregation, Expr, aggregations, evaluate_expression
from northstar.rollups.reader import AggregateState, _matcher_sql, decode_sketch

# Finest rollup whose bucket divides the step, so every step is a whole number of buckets.
_LEVELS = (
    (timedelta(days=1), "rollup_1d"),
    (timedelta(hours=1), "rollup_1h"),
    (timedelta(minutes=1), "rollup_1m"),
)
MAX_POINTS = 5000


def rollup_for_step(step: timedelta) -> str:
    for size, table in _LEVELS:
        if step % size == timedelta(0):
            return table
    raise ValueError("step must be a whole number of minutes")


@dataclass(frozen=True, slots=True)
class _Bin:
    start: datetime
    state: AggregateState


async def _binned(
    conn: AsyncConnection, agg: Aggregation, start: datetime, end: datetime, step: timedelta
) -> dict[datetime, AggregateState]:
    table = rollup_for_step(step)
    params: list[Any] = [agg.metric]
    filters = _matcher_sql(agg, params)
    params += [start, end, step]
    n = len(params)
    with_sketch = agg.func in ("p50", "p90", "p95", "p99")
    rows_sql = (
        f"SELECT date_bin(${n}::interval, bucket, ${n - 2}::timestamptz) AS bin, count, sum, "
        f"min, max, last_time, last_value, sketch FROM {table} "
        f"WHERE metric = $1 AND bucket >= ${n - 2} AND bucket < ${n - 1}{filters}"
    )
    # Sketches are merged set-based, per bin (see reader.MERGE_SKETCHES).
    sketches = (
        "SELECT bin, jsonb_object_agg(key, n) AS sketch FROM ("
        "SELECT r.bin, e.key, sum(e.value::bigint) AS n FROM rows r, "
        "jsonb_each_text(r.sketch) AS e GROUP BY r.bin, e.key) AS merged GROUP BY bin"
        if with_sketch
        else "SELECT NULL::timestamptz AS bin, NULL::jsonb AS sketch WHERE false"
    )
    sql = (
        f"WITH rows AS ({rows_sql}), "
        "totals AS (SELECT bin, sum(count)::bigint AS count, sum(sum) AS sum, "
        "min(min) AS min, max(max) AS max, "
        "(array_agg(last_value ORDER BY last_time DESC))[1] AS last FROM rows GROUP BY bin), "
        f"sketches AS ({sketches}) "
        "SELECT t.*, s.sketch FROM totals t LEFT JOIN sketches s USING (bin) ORDER BY t.bin"
    )
    raw = await driver(conn)
    records = await raw.fetch(sql, *params)
    return {
        r["bin"]: AggregateState(
            int(r["count"]),
            float(r["sum"]),
            r["min"],
            r["max"],
            r["last"],
            decode_sketch(r["sketch"]),
        )
        for r in records
    }


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


_EMPTY = AggregateState(0, 0.0, None, None, None, None)


def _merge(a: AggregateState, b: AggregateState) -> AggregateState:
    if a.count == 0:
        return b
    if b.count == 0:
        return a
    sketch = None
    if a.sketch is not None or b.sketch is not None:
        merged = dict(a.sketch or {})
        for key, count in (b.sketch or {}).items():
            merged[key] = merged.get(key, 0) + count
        sketch = merged
    return replace(
        a,
        count=a.count + b.count,
        sum=a.sum + b.sum,
        min=min(x for x in (a.min, b.min) if x is not None),
        max=max(x for x in (a.max, b.max) if x is not None),
        last=b.last if b.last is not None else a.last,
        sketch=sketch,
    )


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
    running = dict.fromkeys(aggs, _EMPTY)
    points: list[tuple[datetime, float]] = []
    for moment in days:
        for agg in aggs:
            running[agg] = _merge(running[agg], per_agg[agg].get(moment, _EMPTY))
        value = evaluate_expression(expr, {a: running[a].value(a.func) for a in aggs})
        if value is not None:
            points.append((min(moment + day, end), value))
    return points
