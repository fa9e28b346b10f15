"""The benchmark workload: metrics, dimensions, KPIs, and event bodies.

Eight metrics with two dimensions (4 regions × 4 channels), values spread over two
orders of magnitude, so the rollups and quantile sketches do real work. Request bodies
are built once as a template whose event ids carry a placeholder; every request
substitutes a fresh run number (`bytes.replace`, in C), so each event the services see
has a new `(source, event_id)` and is stored, not deduplicated, while the load
generator spends almost no CPU making bodies.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import orjson

from bench.infra import KpiSpec
from northstar.events.model import MetricEvent

METRICS = tuple(
    f"bench_{name}"
    for name in ("visits", "signups", "orders", "revenue", "cost", "tickets", "hours", "csat")
)
REGIONS = ("eu", "na", "apac", "latam")
CHANNELS = ("web", "mobile", "partner", "retail")
PROBE_METRIC = "bench_probe"
PLACEHOLDER = b"@@@@@@@@@@"  # 10 bytes, replaced by a zero-padded request number


def kpis() -> list[KpiSpec]:
    """Four KPIs per metric: sum, count, a filtered average and a maximum.

    The goals' KPIs stay the same as in the first recorded runs (no percentile KPI, which
    once failed evaluation; fixed and tested in tests/api/test_percentiles.py), so the
    evaluator figure stays comparable between runs. Percentile reads are timed in the api
    benchmark through `KpiValueReader`."""
    out: list[KpiSpec] = []
    for metric in METRICS:
        short = metric.removeprefix("bench_")
        out += [
            KpiSpec(f"b_{short}_sum", f"sum({metric})", (metric,)),
            KpiSpec(f"b_{short}_count", f"count({metric})", (metric,)),
            KpiSpec(f"b_{short}_eu_avg", f'avg({metric}{{region="eu"}})', (metric,)),
            KpiSpec(f"b_{short}_max", f"max({metric})", (metric,)),
        ]
    return out


PROBE_KPI = KpiSpec("b_probe_max", f"max({PROBE_METRIC})", (PROBE_METRIC,))


def event_dicts(
    rng: random.Random, count: int, *, start: datetime, spread: timedelta, id_prefix: str
) -> list[dict[str, object]]:
    """`count` valid event objects with timestamps in `[start, start + spread)`."""
    span = spread.total_seconds()
    events: list[dict[str, object]] = []
    for index in range(count):
        at = start + timedelta(seconds=rng.random() * span)
        events.append(
            {
                "event_id": f"{id_prefix}-{index:05d}",
                "metric": METRICS[index % len(METRICS)],
                "value": round(rng.lognormvariate(3.0, 1.0), 3),
                "timestamp": at.isoformat(timespec="milliseconds"),
                "dimensions": {"region": rng.choice(REGIONS), "channel": rng.choice(CHANNELS)},
            }
        )
    return events


def body_template(rng: random.Random, count: int, *, at: datetime, spread: timedelta) -> bytes:
    """A `{"events": [...]}` body whose event ids contain `PLACEHOLDER`."""
    prefix = PLACEHOLDER.decode()
    return orjson.dumps(
        {"events": event_dicts(rng, count, start=at, spread=spread, id_prefix=prefix)}
    )


def fill(template: bytes, number: int) -> bytes:
    """The template with request number `number` in every event id."""
    return template.replace(PLACEHOLDER, b"%010d" % number)


def metric_events(
    rng: random.Random, count: int, *, start: datetime, spread: timedelta, id_prefix: str
) -> list[MetricEvent]:
    """The same events as validated `MetricEvent`s (what ingest puts on the wire)."""
    return [
        MetricEvent(
            str(e["event_id"]),
            "bench",
            str(e["metric"]),
            float(e["value"]),  # type: ignore[arg-type]
            datetime.fromisoformat(str(e["timestamp"])),
            dict(e["dimensions"]),  # type: ignore[call-overload]
        )
        for e in event_dicts(rng, count, start=start, spread=spread, id_prefix=id_prefix)
    ]
