"""`python -m bench.ingest_steps`: each step of ingest's per-event path, timed in process.

What `POST /v1/events` does with a body, step by step, on the benchmark's 1,000-event
bodies (`bench.workload`), without HTTP, the database or the broker: parse, validate,
the source check, the rate limiter, the cardinality gate's in-memory part (the
catalogue already loaded, as between its refreshes), routing by series, encoding each
message and compressing it (lz4, as the producer does). CPU time of this process
(`time.process_time`), best of `--repeat` rounds, per event and as a share of the sum;
the machine's load moves the absolute figures, far less the shares
(docs/performance.md, "ingest: each step's share").
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.codec import lz4_encode

from bench.results import Row
from bench.workload import CHANNELS, METRICS, REGIONS, body_template, fill
from northstar.domain.cardinality import CardinalityLimits, MetricCardinality
from northstar.events.cardinality import CardinalityGate
from northstar.events.codec import encode_events
from northstar.events.fastpath import valid_batch
from northstar.events.model import FieldError, MetricEvent
from northstar.events.routing import HotSeries, Message, route
from northstar.events.validation import DEFAULT_BOUNDS, utc_now, validate_event
from services.ingest.bodies import parse_body
from services.ingest.ratelimit import RateLimiter

EVENTS = 1000
PARTITIONS = 12
# The steps this wave added to the per-event path (issue 29: "must cost less than the
# noise", which is about a third between runs of the HTTP benchmark).
HARDENING = ("source check", "rate limit", "cardinality (in memory)", "routing")
HARDENING_TARGET = 10.0
# Steps of the ordinary path, timed for reference; the sum is the fast path's.
ORDINARY = ("parse (orjson, ordinary path)", "validate (ordinary path)")


def _timed(step: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.process_time()
        result = step()
        best = min(best, time.process_time() - started)
    return best, result


def measure(requests: int, repeat: int) -> dict[str, float]:
    """Seconds of CPU per event of each step (best of `repeat`)."""
    rng = random.Random(7)
    template = body_template(rng, EVENTS, at=datetime.now(UTC), spread=timedelta(hours=1))
    bodies = [fill(template, n) for n in range(requests)]
    received_at = utc_now()
    limiter = RateLimiter(1e12)
    key = uuid.uuid4()
    gate = CardinalityGate(None, CardinalityLimits(max_keys=10, max_sets=10_000), ttl=60)  # type: ignore[arg-type]
    catalogue = {
        metric: MetricCardinality(frozenset({"region", "channel"}), len(REGIONS) * len(CHANNELS))
        for metric in METRICS
    }
    hot = HotSeries(threshold=10_000)

    def parse() -> list[list[Any]]:
        return [parse_body(body, "application/json", [], binary=None) for body in bodies]

    def validate(objects: list[list[Any]]) -> list[list[MetricEvent]]:
        out = []
        for batch in objects:
            errors: list[FieldError] = []
            events = []
            for index, obj in enumerate(batch):
                event = validate_event(
                    obj, index, default_source="bench", received_at=received_at, errors=errors
                )
                if event is not None:
                    events.append(event)
            out.append(events)
        return out

    def sources(batches: list[list[MetricEvent]]) -> None:
        for events in batches:
            assert not sorted({e.source for e in events if e.source != "bench"})

    def rate_limit() -> None:
        for _ in bodies:
            limiter.acquire(key, 1)
            limiter.acquire(key, EVENTS - 1)

    def cardinality(batches: list[list[MetricEvent]]) -> None:
        for events in batches:
            assert not gate._suspects(catalogue, events)

    def routing(batches: list[list[MetricEvent]]) -> list[list[Message]]:
        return [
            route(events, PARTITIONS, hot=hot, now=time.monotonic(), max_events=500)
            for events in batches
        ]

    def encode(routed: list[list[Message]]) -> list[bytes]:
        return [encode_events(m.events, m.salt) for messages in routed for m in messages]

    def compress(payloads: list[bytes]) -> None:
        for payload in payloads:
            lz4_encode(payload)

    def fast() -> list[list[MetricEvent]]:
        out = []
        for body in bodies:
            events = valid_batch(
                body, default_source="bench", received_at=received_at, bounds=DEFAULT_BOUNDS
            )
            assert events is not None and len(events) == EVENTS
            out.append(events)
        return out

    events_total = requests * EVENTS
    seconds: dict[str, float] = {}
    # The ordinary path (any other body, or any doubt), shown for reference, not summed.
    seconds[ORDINARY[0]], objects = _timed(parse, repeat)
    seconds[ORDINARY[1]], slow = _timed(lambda: validate(objects), repeat)
    seconds["decode + validate (fast path)"], batches = _timed(fast, repeat)
    assert [[(e.metric, e.value, e.timestamp, e.dimensions) for e in b] for b in batches] == [
        [(e.metric, e.value, e.timestamp, e.dimensions) for e in b] for b in slow
    ]
    objects.clear()  # the service holds one path's objects, not both
    slow.clear()
    seconds["source check"], _ = _timed(lambda: sources(batches), repeat)
    seconds["rate limit"], _ = _timed(rate_limit, repeat)
    seconds["cardinality (in memory)"], _ = _timed(lambda: cardinality(batches), repeat)
    seconds["routing"], routed = _timed(lambda: routing(batches), repeat)
    seconds["encode"], payloads = _timed(lambda: encode(routed), repeat)
    seconds["compress (lz4)"], _ = _timed(lambda: compress(payloads), repeat)
    return {step: s / events_total for step, s in seconds.items()}


def rows(requests: int = 20, repeat: int = 5) -> list[Row]:
    """The `make bench` row: the hardening steps' share of the per-event CPU."""
    per_event = measure(requests, repeat)
    total = sum(s for step, s in per_event.items() if step not in ORDINARY)
    share = 100 * sum(per_event[step] for step in HARDENING) / total
    return [
        Row(
            "ingest",
            "per-event CPU share of sources, rate limit, cardinality, routing",
            share,
            "%",
            f"≤ {HARDENING_TARGET:g} %",
            share <= HARDENING_TARGET,
            note=f"in process (validation's own checks are in the fast path's step), "
            f"{total * 1e6:.1f} µs per event in all: "
            + ", ".join(
                f"{step} {s * 1e6:.2f} µs" + ("" if step in ORDINARY else f" ({s / total:.0%})")
                for step, s in per_event.items()
            ),
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_steps", description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    per_event = measure(args.requests, args.repeat)
    total = sum(s for step, s in per_event.items() if step not in ORDINARY)
    print(f"{'step':<32} {'µs/event':>9} {'share':>6}")
    for step, seconds in per_event.items():
        share = "" if step in ORDINARY else f"{seconds / total:>6.1%}"
        print(f"{step:<32} {seconds * 1e6:>9.2f} {share:>6}")
    print(f"{'sum (fast path)':<32} {total * 1e6:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
