"""Two evaluator replicas consuming one backlog never write the same rollup row
(issue 28): every series is keyed to one partition, so the replica owning the partition
is the only one folding the series' rows, and a metric's activity counters are kept per
shard (partition), one writer each.

The writes are observed from the database itself: a test-only trigger on every rollup
level and on `metric_activity` logs each row inserted or updated with the writing
session's `application_name`, which names the replica (`NORTHSTAR_INSTANCE_NAME`). The
partitions each replica was given come from its own log ("partitions assigned"); the
backlog is produced once both hold their share, so no partition moves while it is
consumed."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from devstack.processes import ServiceProcess
from northstar.config import KafkaSettings
from northstar.events.model import MetricEvent
from northstar.events.routing import partition_of, series_key
from northstar.kafka import ensure_topics, producer, send_events
from northstar.rollups.batch import canonical_dimensions
from northstar.rollups.levels import LEVELS
from tests.conftest import StartService
from tests.support import eventually

PARTITIONS = 12  # the events topic's default (KafkaSettings.events_partitions)
EVENTS = 12_000

_LOG_WRITES = """
CREATE TABLE test_row_writes (
    tbl text, metric text, bucket timestamptz, dimensions jsonb, salt smallint, shard int,
    writer text
);
CREATE FUNCTION test_log_rollup_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_row_writes (tbl, metric, bucket, dimensions, salt, writer)
    VALUES (TG_TABLE_NAME, NEW.metric, NEW.bucket, NEW.dimensions, NEW.salt,
            current_setting('application_name'));
    RETURN NULL;
END $$;
CREATE FUNCTION test_log_activity_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_row_writes (tbl, metric, shard, writer)
    VALUES (TG_TABLE_NAME, NEW.metric, NEW.shard, current_setting('application_name'));
    RETURN NULL;
END $$;
CREATE TRIGGER test_log AFTER INSERT OR UPDATE ON metric_activity
    FOR EACH ROW EXECUTE FUNCTION test_log_activity_write();
"""
_ASSIGNED = re.compile(r"partitions assigned\s+partitions=\[([\d, ]*)\]")


def _assignment(process: ServiceProcess) -> set[int]:
    """The partitions the replica was last given, from its log."""
    found = _ASSIGNED.findall(process.log_path.read_text(errors="replace"))
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()


async def test_two_replicas_never_write_the_same_rollup_row(
    start_service: StartService, database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_LOG_WRITES)
        for level in LEVELS:
            await conn.execute(
                f"CREATE TRIGGER test_log AFTER INSERT OR UPDATE ON {level.table} "
                "FOR EACH ROW EXECUTE FUNCTION test_log_rollup_write()"
            )
    finally:
        await conn.close()

    replicas = {
        name: start_service(
            "evaluator", name=f"evaluator-{name}", env={"NORTHSTAR_INSTANCE_NAME": name}
        )
        for name in ("a", "b")
    }

    async def assignments() -> dict[str, set[int]]:
        return {name: _assignment(process) for name, process in replicas.items()}

    owned = await eventually(
        assignments,
        lambda a: (
            all(a.values())
            and set().union(*a.values()) == set(range(PARTITIONS))
            and not a["a"] & a["b"]
        ),
        within=60,
        what="both replicas to hold a share of the partitions",
    )

    # The backlog: 3 metrics × 16 dimension sets, over two hours (every level's rows).
    rng = random.Random(28)
    start = datetime.now(UTC) - timedelta(hours=2)
    events = [
        MetricEvent(
            f"r-{i}",
            "test",
            rng.choice(["orders", "revenue", "visits"]),
            float(rng.randint(1, 100)),
            start + timedelta(seconds=rng.uniform(0, 7200)),
            {"region": rng.choice(["eu", "na", "apac", "latam"]), "tier": rng.choice("abcd")},
        )
        for i in range(EVENTS)
    ]
    settings = KafkaSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    topics = await ensure_topics(settings)
    kafka = producer(settings, client_id="test-backlog")
    await kafka.start()
    try:
        for begin in range(0, EVENTS, 1000):  # ingest's requests, a thousand events each
            await send_events(kafka, topics.events, events[begin : begin + 1000])
    finally:
        await kafka.stop()

    async def stored() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM measurements"))
        finally:
            await conn.close()

    await eventually(stored, lambda n: n == EVENTS, within=90, what=f"{EVENTS} stored")
    assert await assignments() == owned  # no partition moved meanwhile

    conn = await asyncpg.connect(database_url)
    try:
        shared = await conn.fetch(
            "SELECT tbl, metric, bucket, dimensions, salt, shard, "
            "array_agg(DISTINCT writer) AS writers FROM test_row_writes "
            "GROUP BY 1, 2, 3, 4, 5, 6 HAVING count(DISTINCT writer) > 1 LIMIT 5"
        )
        series_writers = await conn.fetch(
            "SELECT metric, dimensions::text AS dims, array_agg(DISTINCT writer) AS writers "
            "FROM test_row_writes WHERE tbl = 'rollup_1m' GROUP BY 1, 2"
        )
        activity = await conn.fetch(
            "SELECT metric, shard, array_agg(DISTINCT writer) AS writers FROM test_row_writes "
            "WHERE tbl = 'metric_activity' GROUP BY 1, 2"
        )
        levels = await conn.fetchval("SELECT count(DISTINCT tbl) FROM test_row_writes")
    finally:
        await conn.close()

    assert levels == len(LEVELS) + 1  # every rollup level and the activity were written
    assert not shared, [dict(r) for r in shared]
    # Each series was folded by the replica that owns its partition, and both worked.
    by_writer: dict[str, set[str]] = defaultdict(set)
    assert len(series_writers) == 3 * 16
    for row in series_writers:
        (writer,) = row["writers"]
        replica = writer.removeprefix("northstar-evaluator/")
        key = series_key(row["metric"], canonical_dimensions(_loads(row["dims"])))
        assert partition_of(key, PARTITIONS) in owned[replica], (key, replica, owned)
        by_writer[replica].add(row["metric"])
    assert set(by_writer) == {"a", "b"}
    # Rows of one metric were written by both replicas, each its own series' rows.
    assert by_writer["a"] & by_writer["b"]
    for row in activity:
        (writer,) = row["writers"]
        assert row["shard"] in owned[writer.removeprefix("northstar-evaluator/")]


def _loads(text: str) -> dict[str, str]:
    value: dict[str, str] = orjson.loads(text)
    return value
