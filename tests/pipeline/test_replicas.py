"""Two evaluator replicas consuming one backlog never write the same rollup row, and
never judge the same goal (issue 28): every series is keyed to one partition, so the
replica owning the partition is the only one folding the series' rows; a metric's
activity counters are kept per shard (partition), one writer each; and every goal tree
is owned by one partition (`services/evaluator/ownership.py`), so only the replica
holding it writes the tree's `goal_state` rows, the other requesting the judgement.

The writes are observed from the database itself: test-only triggers on every rollup
level, on `metric_activity` and on `goal_state` log each row written with the writing
session's `application_name`, which names the replica (`NORTHSTAR_INSTANCE_NAME`). The
partitions each replica was given come from its own log ("partitions assigned"); the
backlog is produced once both hold their share, so no partition moves while it is
consumed. Both halves share one pair of replicas: starting them is most of the time."""

from __future__ import annotations

import random
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
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
from services.evaluator.ownership import owner_partition
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


_LOG_JUDGEMENTS = """
CREATE TABLE test_state_writes (goal_id uuid, writer text);
CREATE FUNCTION test_log_state_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_state_writes VALUES (NEW.goal_id, current_setting('application_name'));
    RETURN NULL;
END $$;
CREATE TRIGGER test_log AFTER UPDATE ON goal_state
    FOR EACH ROW EXECUTE FUNCTION test_log_state_write();
"""
_KPIS = {  # key: (expression, metric)
    "orders": ("sum(orders)", "orders"),
    "revenue": ("sum(revenue)", "revenue"),
    "visits": ("sum(visits)", "visits"),
    "signups_eu": ('sum(signups{region="eu"})', "signups"),
}


def _owned_by(partitions: set[int]) -> uuid.UUID:
    """A fresh goal id whose tree (rooted at it) is owned by one of `partitions`."""
    while True:
        goal_id = uuid.uuid4()
        if owner_partition(goal_id, PARTITIONS) in partitions:
            return goal_id


async def test_two_replicas_never_write_the_same_rollup_row_nor_judge_one_goal(
    start_service: StartService, database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Both replicas store events of every metric, so without goal owners both judge
    every goal (taking turns on its `goal_state` row). With owners, each goal's state is
    written by the replica holding its tree's partition alone, requests from the other
    replica are all judged, and every goal reads every event, including a goal whose
    only series is stored by the other replica."""
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

    # No timed sweep during the test: it judges every goal, on whichever replica.
    replicas, owned = await _two_replicas(
        start_service,
        # No poll: requests are judged on notifications and with batches.
        {"NORTHSTAR_EVALUATION_INTERVAL": "3600", "NORTHSTAR_JUDGE_REQUEST_POLL_MS": "60000"},
    )
    signups = partition_of(
        series_key("signups", canonical_dimensions({"region": "eu"})), PARTITIONS
    )
    stores_signups = next(name for name, mine in owned.items() if signups in mine)
    judges_signups = "b" if stores_signups == "a" else "a"

    # A tree per replica (a roll-up root over a goal per KPI of the backlog), and a
    # lone goal on one series, owned by the replica that does not store that series.
    start, due = datetime.now(UTC) - timedelta(hours=3), datetime.now(UTC) + timedelta(days=30)
    goals: list[tuple[object, ...]] = []
    owner: dict[uuid.UUID, str] = {}
    leaves: dict[uuid.UUID, str] = {}
    for replica in ("a", "b"):
        root = _owned_by(owned[replica])
        goals.append((root, f"tree {replica}", None, None, None, start, due))
        owner[root] = replica
        for kpi in ("orders", "revenue", "visits"):
            leaf = uuid.uuid4()
            goals.append((leaf, f"{kpi} {replica}", root, kpi, 1e9, start, due))
            owner[leaf], leaves[leaf] = replica, kpi
    lone = _owned_by(owned[judges_signups])
    goals.append((lone, "EU signups", None, "signups_eu", 1e9, start, due))
    owner[lone], leaves[lone] = judges_signups, "signups_eu"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO kpis (key, name, expression, kind, metrics) "
            "VALUES ($1, $1, $2, 'lagging', $3)",
            [(key, expression, [metric]) for key, (expression, metric) in _KPIS.items()],
        )
        await conn.executemany(
            "INSERT INTO goals (id, title, parent_id, kpi_key, target, start, due) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            goals,
        )
        await conn.execute("INSERT INTO goal_state (goal_id) SELECT id FROM goals")
        await conn.execute(_LOG_JUDGEMENTS)
    finally:
        await conn.close()

    events = _backlog(EVENTS) + [
        MetricEvent(f"s-{i}", "test", "signups", 2.0, start + timedelta(hours=2), {"region": "eu"})
        for i in range(100)
    ]
    random.Random(5).shuffle(events)
    await _produce(events, kafka_bootstrap, topic_prefix)
    # Every signups event is of the EU series.
    expected = {
        key: sum(e.value for e in events if e.metric == metric)
        for key, (_, metric) in _KPIS.items()
    }

    async def judged() -> dict[str, object]:
        conn = await asyncpg.connect(database_url)
        try:
            states = {
                r["goal_id"]: r
                for r in await conn.fetch(
                    "SELECT goal_id, status, actual, children FROM goal_state"
                )
            }
            return {
                "stored": await conn.fetchval("SELECT count(*) FROM measurements"),
                "requests": await conn.fetchval("SELECT count(*) FROM goal_judge_requests"),
                "wrong": sorted(
                    str(goal)
                    for goal, kpi in leaves.items()
                    if states[goal]["actual"] is None
                    or abs(states[goal]["actual"] - expected[kpi]) > 1e-6
                ),
                "unjudged": sorted(
                    str(g) for g, state in states.items() if state["status"] is None
                ),
            }
        finally:
            await conn.close()

    await eventually(
        judged,
        lambda j: j == {"stored": len(events), "requests": 0, "wrong": [], "unjudged": []},
        within=90,
        what="every event stored, every request judged, every goal reading every event",
    )
    assert _assignments(replicas) == owned  # no partition moved meanwhile

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
    assert len(series_writers) == 3 * 16 + 1  # and the one signups series
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

    conn = await asyncpg.connect(database_url)
    try:
        writers = {
            r["goal_id"]: {w.removeprefix("northstar-evaluator/") for w in r["writers"]}
            for r in await conn.fetch(
                "SELECT goal_id, array_agg(DISTINCT writer) AS writers FROM test_state_writes "
                "GROUP BY goal_id"
            )
        }
        children = await conn.fetch(
            "SELECT children FROM goal_state WHERE goal_id = ANY($1::uuid[])",
            [g for g, replica in owner.items() if g not in leaves],
        )
    finally:
        await conn.close()
    # Each goal (roll-ups too) was judged by its tree's owner alone; both replicas judged.
    assert writers == {goal: {replica} for goal, replica in owner.items()}
    assert all(sum(orjson.loads(r["children"]).values()) == 3 for r in children)


async def _two_replicas(
    start_service: StartService, env: Mapping[str, str] | None = None
) -> tuple[dict[str, ServiceProcess], dict[str, set[int]]]:
    """Evaluator replicas `a` and `b` in one group, once both hold a share of the
    partitions; with the partitions each holds."""
    replicas = {
        name: start_service(
            "evaluator",
            name=f"evaluator-{name}",
            env={"NORTHSTAR_INSTANCE_NAME": name, **(env or {})},
        )
        for name in ("a", "b")
    }

    async def assignments() -> dict[str, set[int]]:
        return _assignments(replicas)

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
    return replicas, owned


def _assignments(replicas: Mapping[str, ServiceProcess]) -> dict[str, set[int]]:
    return {name: _assignment(process) for name, process in replicas.items()}


def _backlog(count: int, *, seed: int = 28) -> list[MetricEvent]:
    """3 metrics × 16 dimension sets, over the last two hours (every level's rows)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=2)
    return [
        MetricEvent(
            f"r-{i}",
            "test",
            rng.choice(["orders", "revenue", "visits"]),
            float(rng.randint(1, 100)),
            start + timedelta(seconds=rng.uniform(0, 7200)),
            {"region": rng.choice(["eu", "na", "apac", "latam"]), "tier": rng.choice("abcd")},
        )
        for i in range(count)
    ]


async def _produce(events: list[MetricEvent], kafka_bootstrap: str, topic_prefix: str) -> None:
    """Send `events` as ingest would, in requests of a thousand events."""
    settings = KafkaSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    topics = await ensure_topics(settings)
    kafka = producer(settings, client_id="test-backlog")
    await kafka.start()
    try:
        for begin in range(0, len(events), 1000):
            await send_events(kafka, topics.events, events[begin : begin + 1000])
    finally:
        await kafka.stop()


def _loads(text: str) -> dict[str, str]:
    value: dict[str, str] = orjson.loads(text)
    return value
