"""Scheduled notifications: daily and weekly digests, and check-in reminders.

A background task of every evaluator replica. Each pass, for each digest, it derives the
latest period that is due (`northstar.notify.timing.latest_period`: the same key on
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

Each pass is a chain of named steps, the SQL in `NotifyRepository` and every decision in
`northstar.notify.planning`:

    digests:   read digests → period due? (`timing.period_to_send`) → per digest, one
               transaction: queued already? → read its goals, alerts, late plans → plan
               (`planning.plan_digest`) → render → queue once → commit
    reminders: read goals with a cadence → due? (`planning.due_reminders`) → per goal, one
               transaction: owner's, teams' and (escalated) leads' channels → plan
               (`planning.plan_reminders`: quiet hours) → queue once → commit

and only then, after the commits, the notifier is nudged (`on_queued`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.crypto import SecretBox
from northstar.notify.model import CHECK_IN_DUE
from northstar.notify.planning import (
    digest_key,
    due_reminders,
    plan_digest,
    plan_reminders,
    queued_digest,
    reminder_sends,
    snapshot,
)
from northstar.notify.queue import person_channels, sealer
from northstar.notify.repository import NotifyRepository
from northstar.notify.rows import CheckInGoal, Digest, OnceMessage
from northstar.notify.templates import digest_message, goal_link, reminder_message
from northstar.notify.timing import DigestPeriod, Reminder, period_to_send
from northstar.telemetry import EVALUATOR_ERRORS
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)


class NotificationSchedule:
    """Background task: queue the digests and reminders that are due. `run()` until
    `request_stop()`."""

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

    # ------------------------------------------------------------ digests

    async def _digests(self) -> int:
        now = self._clock()
        async with self._engine.connect() as conn:
            digests = await NotifyRepository(conn).digests()
        queued = 0
        for digest in digests:
            period = period_to_send(
                digest.cadence,
                digest.at,
                digest.timezone,
                now,
                weekday=digest.weekday,
                set_at=digest.set_at,
            )
            if period is not None and await self._queue_digest(digest, period, now):
                queued += 1
                log.info("digest queued", extra={"digest": str(digest.id), "period": period.key})
        return queued

    async def _queue_digest(self, digest: Digest, period: DigestPeriod, now: datetime) -> bool:
        """One digest's period, in its own transaction: read, plan, render, queue once."""
        async with self._engine.begin() as conn:
            repository = NotifyRepository(conn)
            if await repository.digest_queued(digest.channel_id, digest_key(digest.id, period.key)):
                return False
            ids = await repository.digest_scope(digest.channel_id, digest.owner_unit)
            content = plan_digest(
                period=period.key,
                cadence=digest.cadence,
                now=now,
                goals=await repository.digest_goals(ids, period.since),
                alerts=await repository.open_alerts(ids),
                plans=await repository.late_plans(ids, now),
            )
            rendered = digest_message(content, self._settings.public_url)
            # Queued to go now (the wall clock): `self._clock` decides what is due, not
            # when the notifier may send it.
            return await repository.queue_once(
                queued_digest(digest.id, period.key, digest.channel_id, rendered, datetime.now(UTC))
            )

    # ------------------------------------------------------------ reminders

    async def _reminders(self) -> int:
        now = self._clock()
        async with self._engine.connect() as conn:
            goals = await NotifyRepository(conn).check_in_goals(now)
        queued = 0
        for goal, reminder in due_reminders(
            goals, now, escalate_after=self._settings.reminder_escalate_after
        ):
            async with self._engine.begin() as conn:
                queued += await self._queue_reminder(NotifyRepository(conn), goal, reminder)
        return queued

    async def _queue_reminder(
        self, repository: NotifyRepository, goal: CheckInGoal, reminder: Reminder
    ) -> int:
        """One goal's reminder, in the caller's transaction: who hears, when, queued once."""
        owner = await person_channels(repository, goal.owner_id, CHECK_IN_DUE, self._seal)
        teams = await repository.unit_channels(goal.id, CHECK_IN_DUE)
        leads = []
        if reminder.escalate and goal.unit_id is not None:
            for lead in await repository.leads(goal.unit_id):
                if lead != goal.owner_id:
                    leads.append(await person_channels(repository, lead, CHECK_IN_DUE, self._seal))
        sends = reminder_sends(owner, teams, leads)
        if not sends:
            return 0
        owners = await repository.channel_owners(c for c, _ in sends)
        link = goal_link(self._settings.public_url, str(goal.id))
        shown = snapshot(goal)
        planned = plan_reminders(
            reminder,
            sends,
            owners,
            await repository.quiet_hours(o for o in owners.values() if o is not None),
            {
                to_lead: reminder_message(
                    shown, reminder.due_at, reminder.missed, link, to_lead=to_lead
                )
                for to_lead in (False, True)
            },
            datetime.now(UTC),  # queued to go now (the wall clock), as digests are
        )
        return await self._queue_all(repository, planned)

    async def _queue_all(self, repository: NotifyRepository, planned: list[OnceMessage]) -> int:
        return sum([await repository.queue_once(message) for message in planned])
