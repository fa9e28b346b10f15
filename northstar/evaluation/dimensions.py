"""Per-dimension reads of the rollups: the state of each aggregation of a KPI expression,
per combination of dimension values, over a time range.

The range is tiled as for a single value (day, hour and minute buckets, raw events only
for the seconds at the edges: `ranges.decompose`), and each piece is grouped by the
requested dimensions, read as `coalesce(dimensions->>'dim', '')` so an event without the
dimension falls in the group `""` (as a label matcher reads it). Rollup rows are keyed by
metric, full dimension set and bucket, so grouping by fewer dimensions is a GROUP BY on
the bucket rows, never a scan of raw events for whole buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.aggregation import QuantileSketch, Summary
from northstar.domain.analysis import GroupKey
from northstar.domain.expressions import Aggregation, Expr, aggregations
from northstar.evaluation.kpi_values import _PERCENTILES, _matcher_sql, decode_sketch
from northstar.evaluation.ranges import RAW, Piece, decompose

_ONE_MICROSECOND = timedelta(microseconds=1)


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
    filters = _matcher_sql(agg, params)
    names = []
    for dimension in dimensions:
        params.append(dimension)
        names.append(f"coalesce(dimensions->>${len(params)}, '')")
    groups = ", ".join(f"{name} AS g{i}" for i, name in enumerate(names))
    keys = ", ".join(f"g{i}" for i in range(len(dimensions)))
    with_sketch = agg.func in _PERCENTILES
    union = " UNION ALL ".join(_grouped_piece_sql(p, groups, filters, with_sketch) for p in pieces)
    sketches = (
        f"SELECT {keys}, jsonb_object_agg(key, n) AS sketch FROM ("
        f"SELECT {', '.join(f'p.g{i}' for i in range(len(dimensions)))}, e.key, "
        "sum(e.value::bigint) AS n FROM parts p, jsonb_each_text(p.sketch) AS e "
        f"GROUP BY {keys}, e.key) AS merged GROUP BY {keys}"
    )
    if not with_sketch:
        sketches = f"SELECT {keys}, NULL::jsonb AS sketch FROM parts WHERE false"
    sql = (
        f"WITH parts AS ({union}), "
        f"totals AS (SELECT {keys}, sum(count)::bigint AS count, sum(sum) AS sum, "
        "min(min) AS min, max(max) AS max, "
        "(array_agg(last_value ORDER BY last_time DESC))[1] AS last_value, "
        f"max(last_time) AS last_time FROM parts GROUP BY {keys}), "
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
            sketch = decode_sketch(row["sketch"])
            per_agg[agg][key] = Summary(
                count=int(row["count"]),
                sum=float(row["sum"]),
                min=row["min"],
                max=row["max"],
                last_ts=row["last_time"],
                last_value=row["last_value"],
                sketch=QuantileSketch.from_dict(sketch) if sketch else QuantileSketch(),
            )
    keys = {key for states in per_agg.values() for key in states}
    return {key: {agg: per_agg[agg].get(key) or Summary() for agg in aggs} for key in keys}
