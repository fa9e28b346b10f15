"""Scheduled notifications: daily and weekly digests, and check-in reminders.

A background task of every evaluator replica. Each pass, for each digest, it derives the
latest period that is due (`northstar.notifications.timing.latest_period`: the same key on
every replica) and queues its message with `queue_once`, whose unique index on
`(channel_id, group_key)` lets exactly one insert win however many replicas race and
however often they restart. The summary is read and rendered when it is queued, so it
describes the goals as they were at the digest's time.

A digest is never sent before its time: a new (or moved) digest sends its first summary
when its first period falls due after it was set (`timing.period_to_send`; set for the
current minute, that is at once), then one per period; after an outage only the latest
period is sent (a pile of stale digests helps nobody).

Reminders work the same way. A goal with a check-in cadence and an owner is due one
cadence after its last check-in (or its start); each cadence that passes without one is a
missed check-in and one reminder (`timing.check_in_reminder`), keyed by goal and due
instant, to the owner (their channels subscribed to `check_in.due`, else their default
email) and to unit channels subscribed to it. From the `reminder_escalate_after`-th missed
check-in on, the leads of the goal's unit (or of the nearest unit above with leads) are
reminded too. Quiet hours hold reminders like any non-critical message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.crypto import SecretBox
from northstar.notifications.model import Severity
from northstar.notifications.queue import (
    person_channels,
    queue_once,
    quiet_hours_of,
    sealer,
    unit_channels_for,
)
from northstar.notifications.templates import (
    DigestContent,
    GoalSnapshot,
    digest_message,
    goal_link,
    reminder_message,
)
from northstar.notifications.timing import Cadence, check_in_reminder, period_to_send, send_at
from northstar.telemetry import EVALUATOR_ERRORS
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

_DIGESTS = text(
    """
    SELECT d.id, d.channel_id, d.cadence, d.at, d.timezone, d.weekday, d.set_at,
           c.owner_kind, c.owner_id
    FROM notification_digests AS d
    JOIN notification_channels AS c ON c.id = d.channel_id AND c.deleted_at IS NULL
    """
)

_QUEUED = text(
    "SELECT 1 FROM notification_messages WHERE channel_id = :channel_id AND group_key = :key"
    " AND kind = 'digest'"
)

# The goals a digest covers: its channel's subscriptions (one goal, a unit's subtree); with
# none, a unit channel's unit subtree, or every goal for a person's channel.
_SCOPE = text(
    """
    WITH RECURSIVE roots AS (
        SELECT s.unit_id FROM notification_subscriptions AS s
        WHERE s.channel_id = :channel_id AND s.scope = 'unit'
        UNION
        SELECT CAST(:owner_unit AS uuid) WHERE CAST(:owner_unit AS uuid) IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM notification_subscriptions WHERE channel_id = :channel_id)
    ), units AS (
        SELECT unit_id AS id FROM roots
        UNION
        SELECT u.id FROM org_units AS u JOIN units ON u.parent_id = units.id
    )
    SELECT g.id FROM goals AS g WHERE g.unit_id IN (SELECT id FROM units)
    UNION
    SELECT s.goal_id FROM notification_subscriptions AS s
    WHERE s.channel_id = :channel_id AND s.scope = 'goal'
    UNION
    SELECT g.id FROM goals AS g
    WHERE CAST(:everything AS boolean)
      AND NOT EXISTS (SELECT 1 FROM notification_subscriptions WHERE channel_id = :channel_id)
    """
)

_GOALS = text(
    """
    SELECT g.id, g.title, g.due, s.status, s.score, s.actual, s.expected, s.target, k.unit,
           g.check_in_cadence AS cadence,
           coalesce(g.last_check_in_at, g.start, g.created_at) AS check_in_base,
           (SELECT h.status FROM goal_status_history AS h
            WHERE h.goal_id = g.id AND h.time < :since ORDER BY h.time DESC LIMIT 1) AS before
    FROM goals AS g
    LEFT JOIN goal_state AS s ON s.goal_id = g.id
    LEFT JOIN kpis AS k ON k.key = g.kpi_key
    WHERE g.id = ANY(CAST(:ids AS uuid[]))
    ORDER BY g.title
    """
)

_OPEN_ALERTS = text(
    """
    SELECT goal_id, kind, severity FROM alerts
    WHERE goal_id = ANY(CAST(:ids AS uuid[])) AND state <> 'resolved'
    ORDER BY severity DESC, opened_at
    """
)

_CHECK_IN_GOALS = text(
    """
    SELECT g.id, g.title, g.check_in_cadence AS cadence, g.owner_id, g.unit_id,
           coalesce(g.last_check_in_at, g.start, g.created_at) AS last_at,
           s.status, s.score, s.actual, s.expected, s.target, k.unit
    FROM goals AS g
    JOIN users AS u ON u.id = g.owner_id AND u.status = 'active'
    LEFT JOIN goal_state AS s ON s.goal_id = g.id
    LEFT JOIN kpis AS k ON k.key = g.kpi_key
    WHERE g.check_in_cadence IS NOT NULL
      AND (g.due IS NULL OR g.due > :now)
      AND coalesce(s.status, '') NOT IN ('achieved', 'missed')
    """
)

# The leads of the goal's unit, or of the nearest unit above it that has any.
_LEADS = text(
    """
    WITH RECURSIVE up(id, depth) AS (
        SELECT CAST(:unit_id AS uuid), 0
        UNION ALL
        SELECT u.parent_id, up.depth + 1 FROM org_units AS u JOIN up ON u.id = up.id
        WHERE u.parent_id IS NOT NULL AND up.depth < 64
    ), leads AS (
        SELECT m.user_id, up.depth FROM up
        JOIN unit_members AS m ON m.unit_id = up.id AND m.role = 'lead'
        JOIN users AS p ON p.id = m.user_id AND p.status = 'active'
    )
    SELECT user_id FROM leads WHERE depth = (SELECT min(depth) FROM leads)
    """
)

_CHANNEL_OWNERS = text(
    "SELECT id, owner_kind, owner_id FROM notification_channels"
    " WHERE id = ANY(CAST(:ids AS uuid[]))"
)

# Milestones and initiatives past due and not done (SPEC §12), by goal.
_LATE_PLANS = text(
    """
    SELECT i.goal_id, 'milestone' AS what, m.title, m.due
    FROM milestones AS m JOIN initiatives AS i ON i.id = m.initiative_id
    WHERE i.goal_id = ANY(CAST(:ids AS uuid[])) AND m.due < :now AND m.done_at IS NULL
      AND i.status NOT IN ('done', 'cancelled')
    UNION ALL
    SELECT i.goal_id, 'initiative', i.title, i.due FROM initiatives AS i
    WHERE i.goal_id = ANY(CAST(:ids AS uuid[])) AND i.due < :now
      AND i.status NOT IN ('done', 'cancelled')
    ORDER BY due
    """
)

# How far ahead "due soon" looks.
_DUE_SOON = {Cadence.DAILY: timedelta(days=7), Cadence.WEEKLY: timedelta(days=14)}


async def digest_content(
    conn: AsyncConnection,
    *,
    channel_id: uuid.UUID,
    owner_unit: uuid.UUID | None,
    cadence: str,
    period: str,
    since: datetime,
    now: datetime,
) -> DigestContent:
    """What a digest of the period `[since, now]` says about its channel's goals."""
    ids = [
        row.id
        for row in await conn.execute(
            _SCOPE,
            {"channel_id": channel_id, "owner_unit": owner_unit, "everything": owner_unit is None},
        )
    ]
    rows = (await conn.execute(_GOALS, {"ids": ids, "since": since})).all() if ids else []
    goals = {
        row.id: GoalSnapshot(
            id=str(row.id),
            title=row.title,
            status=row.status,
            score=row.score,
            actual=row.actual,
            expected=row.expected,
            target=row.target,
            unit=row.unit or "",
        )
        for row in rows
    }
    alerts = (await conn.execute(_OPEN_ALERTS, {"ids": ids})).all() if ids else []
    horizon = now + _DUE_SOON.get(cadence, timedelta(days=7))
    # Check-ins due before the next digest, or overdue.
    horizon_check_in = now + (timedelta(days=7) if cadence == Cadence.WEEKLY else timedelta(days=1))
    return DigestContent(
        period=period,
        changed=[
            (goals[r.id], r.before) for r in rows if r.status and r.before and r.before != r.status
        ],
        at_risk=[goals[r.id] for r in rows if r.status in ("at_risk", "off_track")],
        open_alerts=[(goals[a.goal_id], a.kind, a.severity) for a in alerts if a.kind != "plan"],
        plans_late=[
            (goals[r.goal_id], f"{r.what} {r.title}, due {r.due:%Y-%m-%d}")
            for r in (await conn.execute(_LATE_PLANS, {"ids": ids, "now": now}) if ids else [])
        ],
        check_ins_due=[
            (goals[r.id], r.check_in_base + r.cadence)
            for r in rows
            if r.cadence is not None and r.check_in_base + r.cadence <= horizon_check_in
        ],
        due_soon=[
            (goals[r.id], r.due)
            for r in rows
            if r.due is not None and now <= r.due <= horizon and r.status not in ("achieved",)
        ],
    )


class NotificationSchedule:
    """Background task: queue the digests that are due. `run()` until `request_stop()`."""

    def __init__(
        self,
        settings: EvaluatorSettings,
        engine: AsyncEngine,
        *,
        on_queued: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._on_queued = on_queued
        self._clock = clock
        self._stopping = asyncio.Event()
        box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
        self._seal = sealer(box) if settings.smtp_host else None

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.run_once() and self._on_queued is not None:
                    self._on_queued()
            except Exception:
                EVALUATOR_ERRORS.labels(stage="notification_schedule").inc()
                log.exception("queueing digests failed; retrying at the next pass")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), self._settings.notification_schedule_interval_seconds
                )

    async def run_once(self) -> int:
        """Queue every digest and reminder that is due and not queued yet; return how many."""
        return await self._digests() + await self._reminders()

    async def _reminders(self) -> int:
        now = self._clock()
        queued = 0
        async with self._engine.connect() as conn:
            goals = (await conn.execute(_CHECK_IN_GOALS, {"now": now})).all()
        for goal in goals:
            reminder = check_in_reminder(
                str(goal.id),
                goal.cadence,
                goal.last_at,
                now,
                escalate_after=self._settings.reminder_escalate_after,
            )
            if reminder is None:
                continue
            snapshot = GoalSnapshot(
                id=str(goal.id),
                title=goal.title,
                status=goal.status,
                score=goal.score,
                actual=goal.actual,
                expected=goal.expected,
                target=goal.target,
                unit=goal.unit or "",
            )
            link = goal_link(self._settings.public_url, str(goal.id))
            async with self._engine.begin() as conn:
                owner = await person_channels(conn, goal.owner_id, "check_in.due", self._seal)
                team = await unit_channels_for(conn, goal.id, "check_in.due")
                sends = [(c, False) for c in dict.fromkeys(owner + team)]
                if reminder.escalate and goal.unit_id is not None:
                    leads = (await conn.execute(_LEADS, {"unit_id": goal.unit_id})).all()
                    for lead in leads:
                        if lead.user_id == goal.owner_id:
                            continue
                        sends += [
                            (c, True)
                            for c in await person_channels(
                                conn, lead.user_id, "check_in.due", self._seal
                            )
                        ]
                queued += await self._queue_reminders(
                    conn, sends, reminder.key, snapshot, reminder.due_at, reminder.missed, link
                )
        return queued

    async def _queue_reminders(
        self,
        conn: AsyncConnection,
        sends: list[tuple[uuid.UUID, bool]],
        key: str,
        goal: GoalSnapshot,
        due_at: datetime,
        missed: int,
        link: str,
    ) -> int:
        if not sends:
            return 0
        # Queued to go now (the wall clock): `self._clock` decides what is due, not when
        # the notifier may send it.
        now = datetime.now(UTC)
        owners = {
            r.id: r.owner_id if r.owner_kind == "user" else None
            for r in await conn.execute(_CHANNEL_OWNERS, {"ids": [c for c, _ in sends]})
        }
        quiet = await quiet_hours_of(conn, [o for o in owners.values() if o is not None])
        queued = 0
        for channel_id, to_lead in sends:
            owner = owners.get(channel_id)
            at = send_at(now, timedelta(0), Severity.WARNING, quiet.get(owner) if owner else None)
            rendered = reminder_message(goal, due_at, missed, link, to_lead=to_lead)
            if await queue_once(
                conn,
                channel_id=channel_id,
                kind="reminder",
                group_key=key + (":lead" if to_lead else ""),
                severity=Severity.WARNING,
                content=_as_content(asdict(rendered)),
                due=at,
                held_until=at if at > now else None,
            ):
                queued += 1
        return queued

    async def _digests(self) -> int:
        now = self._clock()
        queued = 0
        async with self._engine.connect() as conn:
            digests = (await conn.execute(_DIGESTS)).all()
        for digest in digests:
            period = period_to_send(
                digest.cadence,
                digest.at,
                digest.timezone,
                now,
                weekday=digest.weekday,
                set_at=digest.set_at,
            )
            if period is None:
                continue
            key = f"digest:{digest.id}:{period.key}"
            async with self._engine.begin() as conn:
                if await conn.scalar(_QUEUED, {"channel_id": digest.channel_id, "key": key}):
                    continue
                content = await digest_content(
                    conn,
                    channel_id=digest.channel_id,
                    owner_unit=digest.owner_id if digest.owner_kind == "unit" else None,
                    cadence=digest.cadence,
                    period=period.key,
                    since=period.since,
                    now=now,
                )
                rendered = digest_message(content, self._settings.public_url)
                if await queue_once(
                    conn,
                    channel_id=digest.channel_id,
                    kind="digest",
                    group_key=key,
                    severity=Severity.INFO,
                    content=_as_content(asdict(rendered)),
                    due=datetime.now(UTC),
                ):
                    queued += 1
                    log.info(
                        "digest queued",
                        extra={"digest": str(digest.id), "period": period.key},
                    )
        return queued


def _as_content(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}
