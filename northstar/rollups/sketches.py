"""Merging quantile sketches in SQL: the one place that spells it.

A stored sketch is `QuantileSketch.to_dict` as `jsonb` (bucket key → count), so merging
sketches is adding counts key by key, as `northstar_sketch_merge` (schema 0002) does
one pair at a time. Readers and the writer merge many at once, set-based: every
(key, count) pair of every sketch, summed per key, in one pass, which is several times
faster than folding them row by row with the `northstar_sketch_sum` aggregate
(docs/performance.md, "reads"). The writer's fold into the finest level looks keys up
instead (`MERGE_INTO_SMALL`), because those sketches are small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def merged_sketch(pairs: str, *, by: str | None = None) -> str:
    """A query merging the sketches whose `(key, value)` pairs `pairs` (a FROM list, e.g.
    `rows r, jsonb_each_text(r.sketch)`) yields: one `sketch` (NULL when there are no
    pairs), or one `sketch` per value of column `by`, in a column of that name.
    `pairs` and `by` are SQL written by this package, never input."""
    if by is None:
        return (
            "SELECT jsonb_object_agg(key, n) AS sketch FROM ("
            f"SELECT key, sum(value::bigint) AS n FROM {pairs} GROUP BY key) AS merged"
        )
    return (
        f"SELECT {by}, jsonb_object_agg(key, n) AS sketch FROM ("
        f"SELECT {by}, key, sum(value::bigint) AS n FROM {pairs} GROUP BY {by}, key) AS merged "
        f"GROUP BY {by}"
    )


# The sketch of an upserted rollup row (`r`) merged with the incoming one (`excluded`).
# A minute's sketch is small: looking each incoming key up in the stored sketch is
# cheapest. An hour's or a day's runs to hundreds of keys and is stored compressed, so
# every lookup would decompress it again: one pass over both, grouped by key, is faster
# there (docs/performance.md, "evaluator").
MERGE_INTO_SMALL = """r.sketch || coalesce(
        (SELECT jsonb_object_agg(e.key, e.value::bigint + coalesce((r.sketch->>e.key)::bigint, 0))
         FROM jsonb_each_text(excluded.sketch) e),
        '{}'::jsonb)"""
MERGE_INTO_LARGE = (
    "("
    + merged_sketch(
        "(SELECT * FROM jsonb_each_text(r.sketch)"
        " UNION ALL SELECT * FROM jsonb_each_text(excluded.sketch)) AS parts"
    )
    + ")"
)


def decode_sketch(value: Any) -> Mapping[str, int] | None:
    """A sketch column as a mapping: text from plain asyncpg, already decoded on connections
    from SQLAlchemy's pool (its asyncpg dialect installs a jsonb codec)."""
    if value is None:
        return None
    decoded: Mapping[str, int] = orjson.loads(value) if isinstance(value, str) else dict(value)
    return decoded
