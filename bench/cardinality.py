"""What the per-metric cardinality caps cost on valid traffic (`make bench`, or
`python -m bench.cardinality` alone).

- ingest: the cap check of one 10,000-event (and one 1,000-event) request of the
  benchmark workload, with the
  catalogue cached (the common path: every metric known, far from its caps), against
  validating the same request, in the same run;
- evaluator: the admission step of a batch against storing and folding the whole batch,
  in the same run, on a real PostgreSQL. After the first batch every set is known, so
  the step is the common path: one lookup of the batch's sets, no lock (the lock and
  the decision are for batches that bring a new set).

Prints figures and same-run ratios; `docs/performance.md` keeps the measured ones.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.infra import Infrastructure
from bench.results import Row
from bench.workload import event_dicts, metric_events
from northstar.db.engine import create_engine, driver
from northstar.domain.cardinality import CardinalityLimits, MetricCardinality
from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import validate_event
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.writer import MeasurementWriter
from services.ingest.cardinality import CardinalityGate


def _best(samples: list[float]) -> float:
    return statistics.median(samples)


async def ingest_side(requests: int, size: int = 10_000) -> tuple[float, float]:
    """Median ms to validate a request of `size` events, and to check its caps."""
    now = datetime.now(UTC)
    objects = event_dicts(
        random.Random(5),
        size,
        start=now - timedelta(hours=1),
        spread=timedelta(hours=1),
        id_prefix="c",
    )
    gate = CardinalityGate(None, CardinalityLimits(), ttl=3600)  # type: ignore[arg-type]
    events: list[MetricEvent] = []
    validate, check = [], []
    for _ in range(requests):
        started = time.perf_counter()
        errors: list[FieldError] = []
        events = []
        for index, obj in enumerate(objects):
            event = validate_event(
                obj, index, default_source="bench", received_at=now, errors=errors
            )
            if event is not None:
                events.append(event)
        validate.append(time.perf_counter() - started)
        if gate._catalogue is None:  # warm: every metric known with its keys and sets
            keys: dict[str, set[str]] = {}
            for e in events:
                keys.setdefault(e.metric, set()).update(e.dimensions)
            gate._catalogue = {m: MetricCardinality(frozenset(k), 16) for m, k in keys.items()}
            gate._loaded_at = time.monotonic()
        started = time.perf_counter()
        refused = await gate.refusals(events)
        check.append(time.perf_counter() - started)
        assert not refused
    v, c = _best(validate) * 1000, _best(check) * 1000
    print(
        f"ingest: validate {size:,} events {v:.2f} ms, cap check {c:.3f} ms "
        f"(check/validate {c / v:.1%}), median of {requests} requests"
    )
    return v, c


async def evaluator_side(infra: Infrastructure, batches: int, size: int) -> tuple[float, float]:
    """Median ms to store and fold a batch of `size` events, and of its admission step."""
    database_url = await infra.database("bench_cardinality")
    engine = create_engine(database_url, pool_size=2)
    writer = MeasurementWriter(CardinalityLimits())
    now = datetime.now(UTC)
    whole, admission = [], []
    try:
        for number in range(batches):
            events = metric_events(
                random.Random(number),
                size,
                start=now - timedelta(hours=1),
                spread=timedelta(hours=1),
                id_prefix=f"b{number}",
            )
            pending = PreparedBatch()
            pending.add(events)
            pending.summary()
            # The admission step alone, rolled back (the sets are known after batch 0).
            async with engine.connect() as conn:
                transaction = await conn.begin()
                raw = await driver(conn)
                started = time.perf_counter()
                await writer._admit(raw, pending, now, None)
                admission.append(time.perf_counter() - started)
                await transaction.rollback()
            # The whole store and fold, committed.
            started = time.perf_counter()
            async with engine.begin() as conn:
                stored = await writer.store(conn, pending, received_at=now)
                await writer.fold(conn, stored.fresh.summary(), now)
            whole.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    w, a = _best(whole[1:]) * 1000, _best(admission[1:]) * 1000
    print(
        f"evaluator: store + fold of {size:,} events {w:.1f} ms, admission step {a:.2f} ms "
        f"(admission/whole {a / w:.1%}), median of {batches - 1} batches"
    )
    return w, a


async def run(infra: Infrastructure, *, requests: int = 30, batches: int = 11) -> list[Row]:
    """The caps' cost as `make bench` rows (the template is migrated by the caller)."""
    rows = []
    for size, times in ((10_000, requests), (1_000, requests * 10)):
        validate, check = await ingest_side(times, size)
        rows.append(
            Row(
                "cardinality",
                f"ingest cap check, {size:,}-event request (catalogue cached)",
                check,
                "ms",
                "reported",
                True,
                note=f"validating the same request {validate:.2f} ms (ratio "
                f"{check / validate:.1%}), median of {times}",
            )
        )
    whole, admission = await evaluator_side(infra, batches, 50_000)
    rows.append(
        Row(
            "cardinality",
            "evaluator admission step, 50,000-event batch",
            admission,
            "ms",
            "reported",
            True,
            note=f"storing and folding the batch {whole:.0f} ms (ratio {admission / whole:.1%}), "
            f"median of {batches - 1}",
        )
    )
    return rows


async def _main(args: argparse.Namespace) -> None:
    await ingest_side(args.requests)  # the largest request
    await ingest_side(args.requests * 10, 1000)  # the size the ingest benchmark sends
    infra = Infrastructure(Path(tempfile.mkdtemp(prefix="northstar-bench-cardinality-")))
    infra.start()
    try:
        await infra.migrate_template()
        await evaluator_side(infra, args.batches, args.batch_size)
    finally:
        infra.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cardinality", description=__doc__)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--batches", type=int, default=11)
    parser.add_argument("--batch-size", type=int, default=50_000)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
