"""The notifier: sends due notification messages through Apprise, retrying with backoff.

`notification_messages` is the grouping bucket, the retry queue and the delivery log, so
nothing queued is lost across restarts. This background task of the evaluator is a
`QueueWorker` (worker.py), which loops:

    record the results of finished sends (one short transaction)
      → claim due messages (FOR UPDATE SKIP LOCKED), at most `_PER_CHANNEL` per channel;
        the claim seals them (no more events join), moves `next_attempt_at` past the send
        timeout (a lease) and commits at once
      → render each (northstar.notify.templates) with the goal as it is now
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

from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.crypto import SecretBox, SecretUnreadable
from northstar.notify.delivery import deliver, redact
from northstar.notify.model import MessageKind, Severity
from northstar.notify.planning import snapshot
from northstar.notify.repository import RECORD_ATTEMPT, NotifyRepository
from northstar.notify.rows import Candidate, Claimed
from northstar.notify.targets import InvalidTarget, apprise_url
from northstar.notify.templates import (
    Event,
    GoalSnapshot,
    Rendered,
    goal_link,
    goal_message,
    review_message,
)
from northstar.telemetry import NOTIFICATIONS_SENT
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.worker import (
    Attempted,
    QueueWorker,
    RetryPolicy,
    WorkerConfig,
)

log = logging.getLogger(__name__)

# Apprise logs through its own logger, sometimes with a target URL in the text. Its errors
# reach the delivery log (redacted) from each send's result instead.
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(logging.NullHandler())
_apprise_log.propagate = False

# Messages of one channel in flight at once, so a dead channel cannot take every slot.
_PER_CHANNEL = 2


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: uuid.UUID
    channel_id: uuid.UUID
    channel_kind: str
    sealed_target: bytes
    attempts: int
    severity: Severity
    rendered: Rendered

    @classmethod
    def of(cls, row: Claimed, rendered: Rendered) -> ClaimedMessage:
        """A claimed row, rendered."""
        return cls(
            row.id, row.channel_id, row.channel_kind, row.target, row.attempts,
            Severity(row.severity), rendered,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SendResult:
    message: ClaimedMessage
    attempted_at: datetime
    error: str | None


def render(row: Claimed, goals: Mapping[str, GoalSnapshot], base_url: str) -> Rendered:
    """A claimed row as people will read it: digests and reminders were rendered when they
    were queued; goal messages are rendered now, with the goal as it is now."""
    if row.content:
        content = row.content
        return Rendered(content["subject"], content["text"], content["html"], content["markdown"])
    if str(row.group_key).startswith("review:"):
        data = (row.events or [{}])[-1].get("data") or {}
        scope = goals.get(str(data.get("scope_goal_id")))
        return review_message(data, base_url, scope.title if scope else None)
    goal_id = str(row.group_key).removeprefix("goal:")
    events = [
        Event(e["type"], datetime.fromisoformat(e["occurred_at"]), e.get("data") or {})
        for e in row.events or []
    ]
    goal = goals.get(goal_id) or GoalSnapshot(goal_id, _title_in(events))
    driver = _driver_in(events)
    if driver:
        goal = GoalSnapshot(**{**_fields(goal), "driver": driver})
    return goal_message(goal, events, goal_link(base_url, goal_id))


def _title_in(events: Sequence[Event]) -> str:
    """The goal's title as its events name it (the goal itself is gone)."""
    return next(
        (
            str(e.data.get("goal_title") or e.data.get("title"))
            for e in events
            if e.data.get("goal_title") or e.data.get("title")
        ),
        "A goal",
    )


def _driver_in(events: Sequence[Event]) -> str | None:
    """The top driver the latest event that names one names."""
    return next(
        (
            str(e.data["details"]["driver"])
            for e in reversed(events)
            if isinstance(e.data.get("details"), dict) and e.data["details"].get("driver")
        ),
        None,
    )


def _goal_of_message(row: Claimed) -> str | None:
    """The goal a queued event message shows: its group's goal, or a review's scope goal."""
    key = str(row.group_key)
    if key.startswith("goal:"):
        return key.removeprefix("goal:")
    scope = (row.events[-1].get("data") or {}).get("scope_goal_id") if row.events else None
    return str(scope) if scope else None


def _fields(goal: GoalSnapshot) -> dict[str, Any]:
    return {name: getattr(goal, name) for name in GoalSnapshot.__slots__}


async def goal_snapshots(
    repository: NotifyRepository, ids: Sequence[str]
) -> dict[str, GoalSnapshot]:
    """The goals as messages sent now show them, by id."""
    return {str(r.id): snapshot(r) for r in await repository.goals_now(ids)}


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
                record=RECORD_ATTEMPT,
                outcomes=NOTIFICATIONS_SENT,
            ),
        )
        self._settings = settings
        self._box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
        self._timeout = settings.notification_timeout_seconds

    def _group(self, claimed: ClaimedMessage) -> uuid.UUID:
        return claimed.channel_id

    async def _claim(self, free: int) -> list[ClaimedMessage]:
        """Choose due messages (at most `_PER_CHANNEL` per channel in flight), seal and
        lease them, and read their goals as they are now: one short transaction."""
        busy: dict[Hashable, int] = {}
        for channel in self._busy():
            busy[channel] = busy.get(channel, 0) + 1
        async with self._engine.begin() as conn:
            repository = NotifyRepository(conn)
            candidates = await repository.candidates(
                [c for c, n in busy.items() if n >= _PER_CHANNEL],
                free * 4,
            )
            chosen = _choose(candidates, busy, free)
            if not chosen:
                return []
            rows = await repository.claim(chosen, 2 * self._timeout + 5)
            goal_ids = sorted(
                {
                    g
                    for r in rows
                    if r.kind == MessageKind.EVENT and (g := _goal_of_message(r)) is not None
                }
            )
            goals = await goal_snapshots(repository, goal_ids)
        base_url = self._settings.public_url
        return [ClaimedMessage.of(r, render(r, goals, base_url)) for r in rows]

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


def _choose(
    candidates: Sequence[Candidate], busy: dict[Hashable, int], free: int
) -> list[uuid.UUID]:
    """Up to `free` candidates, oldest due first, none of a channel with `_PER_CHANNEL`
    in flight (counting those chosen here)."""
    chosen: list[uuid.UUID] = []
    for candidate in candidates:
        if len(chosen) == free or busy.get(candidate.channel_id, 0) >= _PER_CHANNEL:
            continue
        busy[candidate.channel_id] = busy.get(candidate.channel_id, 0) + 1
        chosen.append(candidate.id)
    return chosen
