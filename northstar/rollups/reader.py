"""KpiValueReader: the value of a KPI expression over a time range, from the rollups.

Each aggregation in the expression (`sum(revenue{region="eu"})`) becomes one SQL query
that merges the rollup rows and raw edge rows covering the range (see `levels`), with
the label matchers as filters on the dimensions. Percentiles merge the buckets' quantile
sketches (1 % relative accuracy, see `northstar.domain.aggregation`); every other
function is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.aggregation import QUANTILES, QuantileSketch, Summary
from northstar.domain.analysis import GroupKey
from northstar.domain.expressions import (
    Aggregation,
    Expr,
    aggregations,
    evaluate_expression,
)
from northstar.rollups.levels import RAW, Piece, decompose
from northstar.rollups.sketches import decode_sketch, merged_sketch

_ONE_MICROSECOND = timedelta(microseconds=1)


def summary_of(row: Mapping[str, Any]) -> Summary:
    """The domain's `Summary` of a merged row (`count`, `sum`, `min`, `max`, `last_time`,
    `last_value`, `sketch`). The sketch is read only for percentiles; without it the
    summary answers every other function."""
    sketch = decode_sketch(row["sketch"])
    return Summary(
        count=int(row["count"]),
        sum=float(row["sum"]),
        min=row["min"],
        max=row["max"],
        last_ts=row["last_time"],
        last_value=row["last_value"],
        sketch=QuantileSketch.from_dict(sketch) if sketch else QuantileSketch(),
    )


def matcher_sql(agg: Aggregation, params: list[Any]) -> str:
    """The aggregation's label matchers as `AND …` filters on `dimensions`, their labels
    and values appended to `params` as bound parameters."""
    clauses = []
    for matcher in agg.matchers:
        params.append(matcher.label)
        label = f"${len(params)}"
        params.append(matcher.value)
        value = f"${len(params)}"
        # A missing label reads as "" (as in PromQL and `Matcher.matches`).
        op = "=" if matcher.op == "=" else "<>"
        clauses.append(f"coalesce(dimensions->>{label}, '') {op} {value}")
    return "".join(f" AND {c}" for c in clauses)


def _piece_sql(piece: Piece, filters: str, with_sketch: bool) -> str:
    if piece.source == RAW:
        sketch = "jsonb_build_object(northstar_sketch_key(value), 1)" if with_sketch else "NULL"
        return (
            f"SELECT 1::bigint AS count, value AS sum, value AS min, value AS max, "
            f"time AS last_time, value AS last_value, {sketch}::jsonb AS sketch "
            f"FROM measurements WHERE metric = $1 AND time >= '{piece.start.isoformat()}' "
            f"AND time < '{piece.end.isoformat()}'{filters}"
        )
    sketch = "sketch" if with_sketch else "NULL::jsonb"
    return (
        f"SELECT count, sum, min, max, last_time, last_value, {sketch} AS sketch "
        f"FROM {piece.source} WHERE metric = $1 AND bucket >= '{piece.start.isoformat()}' "
        f"AND bucket < '{piece.end.isoformat()}'{filters}"
    )


def aggregate_sql(agg: Aggregation, pieces: Sequence[Piece]) -> tuple[str, list[Any]]:
    """One query merging every piece. Timestamps come from `decompose` (datetimes we made,
    rendered by isoformat), never from input; labels and values are bound parameters."""
    params: list[Any] = [agg.metric]
    filters = matcher_sql(agg, params)
    with_sketch = agg.func in QUANTILES
    union = " UNION ALL ".join(_piece_sql(p, filters, with_sketch) for p in pieces)
    merged = (
        f"({merged_sketch('parts, jsonb_each_text(parts.sketch)')})"
        if with_sketch
        else "NULL::jsonb"
    )
    sql = (
        f"WITH parts AS ({union}) "
        "SELECT coalesce(sum(count), 0)::bigint AS count, coalesce(sum(sum), 0) AS sum, "
        "min(min) AS min, max(max) AS max, max(last_time) AS last_time, "
        "(array_agg(last_value ORDER BY last_time DESC))[1] AS last_value, "
        f"{merged} AS sketch FROM parts"
    )
    return sql, params


class KpiValueReader:
    """Reads aggregation states within one connection, caching them per range, so goals
    that share a KPI and period in one evaluation pass cost one query."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._cache: dict[tuple[Aggregation, datetime, datetime], Summary] = {}

    async def state(self, agg: Aggregation, start: datetime, end: datetime) -> Summary:
        """The summary of the aggregation's events over `[start, end]` (both inclusive).
        Shared by the cache: not to be changed."""
        key = (agg, start, end)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pieces = decompose(start, end + _ONE_MICROSECOND)
        if not pieces:
            return Summary()
        sql, params = aggregate_sql(agg, pieces)
        raw = await driver(self._conn)
        state = summary_of(await raw.fetchrow(sql, *params))
        self._cache[key] = state
        return state

    async def value(self, expr: Expr, start: datetime, end: datetime) -> tuple[float | None, int]:
        """The expression's value over `[start, end]`, and how many events it saw (0 means
        no data in the window)."""
        values: dict[Aggregation, float | None] = {}
        events = 0
        for agg in aggregations(expr):
            state = await self.state(agg, start, end)
            events += state.count
            values[agg] = state.value(agg.func)
        return evaluate_expression(expr, values), events


# --------------------------------------------------------------------------- per dimension
# The state of each aggregation per combination of dimension values (SPEC §13 breakdown
# and drivers). The range is tiled as for a single value, and each piece is grouped by the
# requested dimensions, read as `coalesce(dimensions->>'dim', '')` so an event without the
# dimension falls in the group `""` (as a label matcher reads it). Rollup rows are keyed
# by metric, full dimension set and bucket, so grouping by fewer dimensions is a GROUP BY
# on the bucket rows, never a scan of raw events for whole buckets.


def _grouped_piece_sql(piece: Piece, groups: str, filters: str, with_sketch: bool) -> str:
    if piece.source == RAW:
        sketch = "jsonb_build_object(northstar_sketch_key(value), 1)" if with_sketch else "NULL"
        return (
            f"SELECT {groups}, 1::bigint AS count, value AS sum, value AS min, value AS max, "
            f"time AS last_time, value AS last_value, {sketch}::jsonb AS sketch "
            f"FROM measurements WHERE metric = $1 AND time >= '{piece.start.isoformat()}' "
            f"AND time < '{piece.end.isoformat()}'{filters}"
        )
    sketch = "sketch" if with_sketch else "NULL::jsonb"
    return (
        f"SELECT {groups}, count, sum, min, max, last_time, last_value, {sketch} AS sketch "
        f"FROM {piece.source} WHERE metric = $1 AND bucket >= '{piece.start.isoformat()}' "
        f"AND bucket < '{piece.end.isoformat()}'{filters}"
    )


def grouped_sql(
    agg: Aggregation, dimensions: Sequence[str], pieces: Sequence[Piece]
) -> tuple[str, list[Any]]:
    """One query answering the aggregation's state per group over every piece.
    Dimension names, labels and values are bound parameters; timestamps come from
    `decompose`."""
    params: list[Any] = [agg.metric]
    filters = matcher_sql(agg, params)
    names = []
    for dimension in dimensions:
        params.append(dimension)
        names.append(f"coalesce(dimensions->>${len(params)}, '')")
    groups = ", ".join(f"{name} AS g{i}" for i, name in enumerate(names))
    keys = ", ".join(f"g{i}" for i in range(len(dimensions)))
    with_sketch = agg.func in QUANTILES
    union = " UNION ALL ".join(_grouped_piece_sql(p, groups, filters, with_sketch) for p in pieces)
    # The last value needs a sort per group; only `last` reads it.
    last_value = (
        "(array_agg(last_value ORDER BY last_time DESC))[1]"
        if agg.func == "last"
        else "NULL::double precision"
    )
    totals = (
        f"SELECT {keys}, sum(count)::bigint AS count, sum(sum) AS sum, "
        f"min(min) AS min, max(max) AS max, {last_value} AS last_value, "
        f"max(last_time) AS last_time"
    )
    if not with_sketch:
        # One pass: no sketches to merge, so no second read of the parts to join.
        sql = f"{totals}, NULL::jsonb AS sketch FROM ({union}) AS parts GROUP BY {keys}"
        return sql, params
    sketches = (
        f"SELECT {keys}, jsonb_object_agg(key, n) AS sketch FROM ("
        f"SELECT {', '.join(f'p.g{i}' for i in range(len(dimensions)))}, e.key, "
        "sum(e.value::bigint) AS n FROM parts p, jsonb_each_text(p.sketch) AS e "
        f"GROUP BY {keys}, e.key) AS merged GROUP BY {keys}"
    )
    sql = (
        f"WITH parts AS ({union}), totals AS ({totals} FROM parts GROUP BY {keys}), "
        f"sketches AS ({sketches}) "
        f"SELECT t.*, s.sketch FROM totals t LEFT JOIN sketches s USING ({keys})"
    )
    return sql, params


async def grouped_states(
    conn: AsyncConnection,
    expr: Expr,
    dimensions: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[GroupKey, dict[Aggregation, Summary]]:
    """The state of every aggregation of `expr` over `[start, end]` (both inclusive), per
    combination of values of `dimensions` (in that order). A group holds an entry for
    every aggregation, empty where the aggregation saw no event of it."""
    if not dimensions:
        raise ValueError("at least one dimension is needed")
    pieces = decompose(start, end + _ONE_MICROSECOND)
    aggs = sorted(aggregations(expr), key=repr)
    per_agg: dict[Aggregation, dict[GroupKey, Summary]] = {}
    raw = await driver(conn)
    for agg in aggs:
        per_agg[agg] = {}
        if not pieces:
            continue
        sql, params = grouped_sql(agg, dimensions, pieces)
        for row in await raw.fetch(sql, *params):
            key = tuple(row[f"g{i}"] for i in range(len(dimensions)))
            per_agg[agg][key] = summary_of(row)
    keys = {key for states in per_agg.values() for key in states}
    return {key: {agg: per_agg[agg].get(key) or Summary() for agg in aggs} for key in keys}
