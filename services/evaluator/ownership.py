"""One owner per goal tree: which evaluator replica judges a goal.

A goal belongs, with its whole tree (its root and every goal under the root), to one
partition of the events topic: a hash of the root's id modulo the partition count
(`owner_partition`). The replica holding that partition is the goal's owner. Judging a
goal also judges its ancestors (roll-ups follow their children), and every goal of a
tree has the same owner, so in steady state one replica alone locks a tree's
`goal_state` rows, and replicas stop taking turns on them.

A batch's transaction therefore splits the goals its events touched (`route`):
- the ones this replica owns are judged in the transaction, as before;
- for every other one a plain row goes into `goal_judge_requests` with its owner
  partition, in the same transaction. The rows are new (an identity key): inserting
  them never waits on another replica.
So a committed offset means "stored, and its goals judged or their judgement durably
requested". Each replica deletes the requests of the partitions it holds and judges
their goals in one transaction (`take`): in every batch's transaction, and, when no
batch did it since, as soon as a requester says so. The requester says so after its
commit with `NOTIFY northstar_judge_requests, '<partitions>'`; every replica LISTENs on
a connection of its own (`JudgeRequestSignal`), so an idle replica costs nothing while
nothing is requested. A lost signal (a notify that failed, a listening connection being
re-made) is covered by a slow poll (`NORTHSTAR_JUDGE_REQUEST_POLL_MS`). A crash rolls
the delete back, and after a rebalance the partition's new holder finds the rows (they
are in the database, not in the replica).

The owner's transaction reads the events of the requester: the request row and the
events were committed together, and the owner's reads of KPI values come after the
statement that deleted the row. Ownership only routes work: the `goal_state` row locks
(`FOR UPDATE`, in id order) stay, and still order a goal's judgements when two replicas
judge it at once (a moved partition, a tree whose root changed, the timed sweep, the
api), so every status transition is still recorded once.

One replica holding every partition (the default deployment) routes nothing and judges
everything in its batch, exactly as before; it only also deletes requests left by
replicas that have gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.db.engine import driver, plain_url

log = logging.getLogger(__name__)

CHANNEL = "northstar_judge_requests"
"""The PostgreSQL notification channel: the payload names the owner partitions, by comma."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """The events topic's partition count, and the partitions this replica holds now."""

    partitions: int
    mine: frozenset[int]

    @property
    def owns_all(self) -> bool:
        return self.mine.issuperset(range(self.partitions))


def owner_partition(root: uuid.UUID, partitions: int) -> int:
    """The partition owning the goal tree whose root is `root`: stable across processes
    and releases (a keyed hash of the id's bytes, not Python's `hash`)."""
    digest = hashlib.blake2b(root.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


# Each goal's root: the last goal up its parent links. The depth cap ends the walk on
# parent links that form a cycle (only rows written around the api could); such a goal
# gets some goal of the cycle as its root, which only routes it.
_ROOTS = """
WITH RECURSIVE up(goal_id, id, parent_id, depth) AS (
    SELECT g.id, g.id, g.parent_id, 0 FROM goals g WHERE g.id = ANY($1::uuid[])
    UNION ALL
    SELECT up.goal_id, g.id, g.parent_id, up.depth + 1
    FROM up JOIN goals g ON g.id = up.parent_id
    WHERE up.depth < 64
)
SELECT DISTINCT ON (goal_id) goal_id, id AS root FROM up ORDER BY goal_id, depth DESC
"""
_REQUEST = """
INSERT INTO goal_judge_requests (owner_partition, goal_id)
SELECT * FROM unnest($1::int[], $2::uuid[])
"""
_TAKE = """
DELETE FROM goal_judge_requests WHERE owner_partition = ANY($1::int[]) RETURNING goal_id
"""


class GoalOwnership:
    """The SQL of routing goals to their owners, on the caller's connection and inside the
    caller's transaction."""

    async def route(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID], assignment: Assignment
    ) -> tuple[list[uuid.UUID], set[int]]:
        """The goals of `goal_ids` this replica owns; a judge request is inserted for each
        of the others, and their owner partitions are answered (to notify)."""
        if not goal_ids or assignment.owns_all:
            return list(goal_ids), set()
        raw = await driver(conn)
        mine: list[uuid.UUID] = []
        owners: list[int] = []
        others: list[uuid.UUID] = []
        for row in await raw.fetch(_ROOTS, list(goal_ids)):
            owner = owner_partition(row["root"], assignment.partitions)
            if owner in assignment.mine:
                mine.append(row["goal_id"])
            else:
                owners.append(owner)
                others.append(row["goal_id"])
        if others:
            await raw.execute(_REQUEST, owners, others)
        return sorted(mine), set(owners)

    async def take(self, conn: AsyncConnection, assignment: Assignment) -> list[uuid.UUID]:
        """Delete the judge requests of the partitions this replica holds and answer their
        goals, once each, by id: the caller judges them in the same transaction."""
        raw = await driver(conn)
        rows = await raw.fetch(_TAKE, sorted(assignment.mine))
        return sorted({row["goal_id"] for row in rows})


async def notify(engine: AsyncEngine, partitions: set[int]) -> None:
    """Tell the replicas holding `partitions` that judgements were requested of them
    (after the requests' transaction committed: a notification inside it would make
    every notifying batch's commit queue on PostgreSQL's one notification lock)."""
    async with engine.connect() as conn:
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": ",".join(map(str, sorted(partitions)))},
        )
        await conn.commit()


class JudgeRequestSignal:
    """LISTENs for judge requests on a PostgreSQL connection of its own; `wake` is set
    when requests for a partition may be waiting (`pending`: the partitions notified,
    or None when anything may be: at start and after the connection was re-made)."""

    def __init__(self, database_url: str, *, application_name: str) -> None:
        self._url = plain_url(database_url)
        self._application_name = application_name
        self.wake = asyncio.Event()
        self.pending: set[int] | None = None

    def take(self, mine: frozenset[int]) -> bool:
        """Whether requests of `mine` may be waiting; forgets what was notified."""
        pending, self.pending = self.pending, set()
        self.wake.clear()
        return pending is None or bool(pending & mine)

    def everything(self) -> None:
        """Anything may be waiting (the partitions assigned changed)."""
        self.pending = None
        self.wake.set()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if self.pending is not None:
            self.pending.update(int(p) for p in payload.split(",") if p)
        self.wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Listen until `stopping`, re-making the connection when it is lost."""
        delay = 0.5
        while not stopping.is_set():
            try:
                conn = await asyncpg.connect(
                    self._url,
                    timeout=5,
                    server_settings={"application_name": self._application_name},
                )
            except Exception as error:  # the database away, or refusing us: retry
                log.warning(
                    "cannot listen for judge requests; retrying",
                    extra={"error": repr(error), "retry_in_s": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(CHANNEL, self._notified)
                self.everything()  # requested while nobody listened
                waits = [asyncio.create_task(stopping.wait()), asyncio.create_task(lost.wait())]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
            except Exception as error:  # the connection broke while subscribing
                log.warning("listening for judge requests failed", extra={"error": repr(error)})
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
