"""The notifier: sends due notification messages through Apprise, retrying with backoff.

`notification_messages` is the grouping bucket, the retry queue and the delivery log, so
nothing queued is lost across restarts. This background task of the evaluator is a
`QueueWorker` (worker.py), which loops:

    record the results of finished sends (one short transaction)
      → claim due messages (FOR UPDATE SKIP LOCKED), at most `_PER_CHANNEL` per channel;
        the claim seals them (no more events join), moves `next_attempt_at` past the send
        timeout (a lease) and commits at once
      → render each (northstar.notifications.templates) with the goal as it is now
      → send each in its own task through Apprise, up to `notification_max_in_flight`

No transaction is open while sending. Each send is bounded by
`notification_timeout_seconds`, and a channel never holds more than `_PER_CHANNEL` of the
slots, so a dead channel costs the others nothing but its slot; its backoff soon makes it
rarely due. A failed send is retried after `min(cap, base·2^(n-1)) × U[0.5, 1.5)` seconds,
and marked `failed` after `notification_max_attempts`.

Channel targets are opened only here, just before sending, and never logged: Apprise's
own log (which may quote a URL) is silenced, and its error messages are recorded in the
delivery log with the target cut out.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.crypto import SecretBox, SecretUnreadable
from northstar.notifications.delivery import deliver, redact
from northstar.notifications.model import Severity
from northstar.notifications.targets import InvalidTarget, apprise_url
from northstar.notifications.templates import (
    Event,
    GoalSnapshot,
    Rendered,
    goal_link,
    goal_message,
    review_message,
)
from northstar.telemetry import NOTIFICATIONS_SENT
from services.evaluator.notifications.worker import (
    Attempted,
    QueueWorker,
    RetryPolicy,
    WorkerConfig,
)
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

# Apprise logs through its own logger, sometimes with a target URL in the text. Its errors
# reach the delivery log (redacted) from each send's result instead.
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(logging.NullHandler())
_apprise_log.propagate = False

# Messages of one channel in flight at once, so a dead channel cannot take every slot.
_PER_CHANNEL = 2

_CANDIDATES = text(
    """
    SELECT m.id, m.channel_id
    FROM notification_messages AS m
    JOIN notification_channels AS c ON c.id = m.channel_id
    WHERE m.status = 'pending' AND m.next_attempt_at <= now() AND c.deleted_at IS NULL
      AND NOT (m.channel_id = ANY(CAST(:busy AS uuid[])))
    ORDER BY m.next_attempt_at
    LIMIT :limit
    FOR UPDATE OF m SKIP LOCKED
    """
)

_CLAIM = text(
    """
    UPDATE notification_messages AS m
    SET next_attempt_at = now() + make_interval(secs => :lease),
        sealed_at = coalesce(m.sealed_at, now()), held_until = NULL
    FROM notification_channels AS c
    WHERE m.id = ANY(CAST(:ids AS uuid[])) AND c.id = m.channel_id
    RETURNING m.id, m.channel_id, m.kind, m.group_key, m.severity, m.events, m.content,
              m.attempts, c.kind AS channel_kind, c.target
    """
)

_GOALS = text(
    """
    SELECT g.id, g.title, s.status, s.score, s.actual, s.expected, s.target, k.unit
    FROM goals AS g
    LEFT JOIN goal_state AS s ON s.goal_id = g.id
    LEFT JOIN kpis AS k ON k.key = g.kpi_key
    WHERE g.id = ANY(CAST(:ids AS uuid[]))
    """
)

_RECORD = text(
    """
    UPDATE notification_messages
    SET status = :status, attempts = :attempts, last_attempt_at = :attempted_at,
        last_error = :error, delivered_at = :delivered_at, next_attempt_at = :next_attempt_at,
        subject = :subject
    WHERE id = :id AND status = 'pending'
    """
)


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: uuid.UUID
    channel_id: uuid.UUID
    channel_kind: str
    sealed_target: bytes
    attempts: int
    severity: Severity
    rendered: Rendered


@dataclass(frozen=True, slots=True)
class SendResult:
    message: ClaimedMessage
    attempted_at: datetime
    error: str | None


def render(row: Any, goals: Mapping[str, GoalSnapshot], base_url: str) -> Rendered:
    """A claimed row as people will read it: digests and reminders were rendered when they
    were queued; goal messages are rendered now, with the goal as it is now."""
    if row.content:
        content = row.content
        return Rendered(content["subject"], content["text"], content["html"], content["markdown"])
    if str(row.group_key).startswith("review:"):
        data = row.events[-1].get("data") or {}
        scope = goals.get(str(data.get("scope_goal_id")))
        return review_message(data, base_url, scope.title if scope else None)
    goal_id = str(row.group_key).removeprefix("goal:")
    events = [
        Event(e["type"], datetime.fromisoformat(e["occurred_at"]), e.get("data") or {})
        for e in row.events
    ]
    title = next(
        (
            str(e.data.get("goal_title") or e.data.get("title"))
            for e in events
            if e.data.get("goal_title") or e.data.get("title")
        ),
        "A goal",
    )
    goal = goals.get(goal_id) or GoalSnapshot(goal_id, title)
    driver = next(
        (
            str(e.data["details"]["driver"])
            for e in reversed(events)
            if isinstance(e.data.get("details"), dict) and e.data["details"].get("driver")
        ),
        None,
    )
    if driver:
        goal = GoalSnapshot(**{**_fields(goal), "driver": driver})
    return goal_message(goal, events, goal_link(base_url, goal_id))


def _goal_of_message(row: Any) -> str | None:
    """The goal a queued event message shows: its group's goal, or a review's scope goal."""
    key = str(row.group_key)
    if key.startswith("goal:"):
        return key.removeprefix("goal:")
    scope = (row.events[-1].get("data") or {}).get("scope_goal_id") if row.events else None
    return str(scope) if scope else None


def _fields(goal: GoalSnapshot) -> dict[str, Any]:
    return {name: getattr(goal, name) for name in GoalSnapshot.__slots__}


async def goal_snapshots(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, GoalSnapshot]:
    if not ids:
        return {}
    rows = (await conn.execute(_GOALS, {"ids": [uuid.UUID(i) for i in ids]})).all()
    return {
        str(r.id): GoalSnapshot(
            id=str(r.id),
            title=r.title,
            status=r.status,
            score=r.score,
            actual=r.actual,
            expected=r.expected,
            target=r.target,
            unit=r.unit or "",
        )
        for r in rows
    }


class Notifier(QueueWorker[ClaimedMessage, SendResult]):
    """Background task: send due notification messages. `nudge()` wakes it at once."""

    def __init__(self, settings: EvaluatorSettings, engine: AsyncEngine) -> None:
        super().__init__(
            engine,
            WorkerConfig(
                stage="notify",
                noun="notification",
                max_in_flight=settings.notification_max_in_flight,
                poll_interval_seconds=settings.notification_poll_interval_seconds,
                backoff_max_seconds=10.0,
                attempt_timeout_seconds=settings.notification_timeout_seconds,
                retry=RetryPolicy(
                    settings.notification_max_attempts,
                    settings.notification_retry_base_seconds,
                    settings.notification_retry_cap_seconds,
                ),
                record=_RECORD,
                outcomes=NOTIFICATIONS_SENT,
            ),
        )
        self._settings = settings
        self._box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
        self._timeout = settings.notification_timeout_seconds

    def _group(self, claimed: ClaimedMessage) -> uuid.UUID:
        return claimed.channel_id

    async def _claim(self, free: int) -> list[ClaimedMessage]:
        busy: dict[Hashable, int] = {}
        for channel in self._busy():
            busy[channel] = busy.get(channel, 0) + 1
        async with self._engine.begin() as conn:
            candidates = (
                await conn.execute(
                    _CANDIDATES,
                    {
                        "limit": free * 4,
                        "busy": [c for c, n in busy.items() if n >= _PER_CHANNEL],
                    },
                )
            ).all()
            chosen: list[uuid.UUID] = []
            for candidate in candidates:
                if len(chosen) == free or busy.get(candidate.channel_id, 0) >= _PER_CHANNEL:
                    continue
                busy[candidate.channel_id] = busy.get(candidate.channel_id, 0) + 1
                chosen.append(candidate.id)
            if not chosen:
                return []
            rows = (
                await conn.execute(_CLAIM, {"ids": chosen, "lease": 2 * self._timeout + 5})
            ).all()
            goal_ids = sorted(
                {g for r in rows if r.kind == "event" and (g := _goal_of_message(r)) is not None}
            )
            goals = await goal_snapshots(conn, goal_ids)
        return [
            ClaimedMessage(
                id=r.id,
                channel_id=r.channel_id,
                channel_kind=r.channel_kind,
                sealed_target=bytes(r.target),
                attempts=r.attempts,
                severity=Severity(r.severity),
                rendered=render(r, goals, self._settings.public_url),
            )
            for r in rows
        ]

    async def _attempt(self, message: ClaimedMessage) -> SendResult:
        """Send once; the result is recorded by the loop. Never raises."""
        attempted_at = datetime.now(UTC)
        error: str | None
        target = ""
        try:
            target = self._box.decrypt(message.sealed_target.decode())
            async with asyncio.timeout(self._timeout):
                error = await self._send(message, target)
        except TimeoutError:
            error = f"not sent within {self._timeout:g}s"
        except (InvalidTarget, SecretUnreadable) as exc:
            error = str(exc)
        except Exception as exc:  # anything else must still be recorded, not lost
            log.error(
                "notification send failed unexpectedly",
                extra={"message": str(message.id), "error_type": type(exc).__name__},
            )
            error = type(exc).__name__
        return SendResult(message, attempted_at, redact(error, target))

    async def _send(self, message: ClaimedMessage, target: str) -> str | None:
        return await deliver(
            message.channel_kind,
            apprise_url(message.channel_kind, target, self._settings),
            message.rendered,
            message.severity,
            send_timeout=self._timeout,
            allow_private=self._settings.webhook_allow_private_networks,
        )

    def _attempted(self, result: SendResult) -> Attempted:
        columns: dict[str, object] = {
            "id": result.message.id,
            "error": result.error[:1000] if result.error else None,
            "subject": result.message.rendered.subject,
        }
        return Attempted(
            columns, result.message.attempts + 1, result.attempted_at, result.error is None
        )

    def _log_fields(self, result: SendResult) -> dict[str, object]:
        return {
            "notification": str(result.message.id),
            "channel": str(result.message.channel_id),
            "attempt": result.message.attempts + 1,
            "error": result.error,
        }
