"""Queueing messages to people: the relay's hand-over and the lookups of reminders.

`queue_event_messages` is called by the outbox relay inside its batch transaction, so a
message is queued exactly when its event is relayed: both commit or neither does, and
nothing is lost on a restart. It is a chain of named steps, each one line below:

    subjects (what each event is about) → matches (subscriptions: goal, unit subtree,
    "mine"; event type) → the owners' default email for critical alerts → quiet hours of
    the people reached → plan (`planning.plan_event_messages`: one message per (channel,
    goal), due at the end of its grouping window or when quiet hours end) → upsert into
    each channel's open message for that goal (`uq_notification_messages_open_group`)

A message stays open (collecting its goal's events) until the notifier's first attempt
seals it; the next event opens a new one with a new window. So a storm on one goal
becomes one message per window per channel, and every event is in exactly one message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from northstar.crypto import SecretBox
from northstar.notify.planning import (
    default_candidates,
    default_matches,
    plan_event_messages,
    subjects,
)
from northstar.notify.repository import NotifyRepository
from northstar.notify.rows import Match, RelayedEvent, Subject

Sealer = Callable[[str], bytes]

__all__ = ["RelayedEvent", "person_channels", "queue_event_messages", "sealer"]


async def queue_event_messages(
    repository: NotifyRepository,
    events: Sequence[RelayedEvent],
    now: datetime,
    *,
    window: timedelta,
    seal: Sealer | None = None,
) -> int:
    """Add these events to the messages of every channel subscribed to them, in the
    repository's transaction; return how many (channel, goal) groups were touched. With
    `seal` (email configured and a secrets key), goal owners get their critical alerts
    by email by default."""
    matches = await repository.matches(subjects(events))
    if seal is not None:
        matches += await _owner_defaults(repository, events, matches, seal)
    if not matches:
        return 0
    quiet = await repository.quiet_hours(m.owner for m in matches if m.owner is not None)
    planned = plan_event_messages(events, matches, quiet, now, window)
    await repository.add_to_open_messages(planned)
    return len(planned)


async def _owner_defaults(
    repository: NotifyRepository,
    events: Sequence[RelayedEvent],
    matches: Sequence[Match],
    seal: Sealer,
) -> list[Match]:
    """Matches of the owners' default email channels for critical alert events, making
    an owner's channel the first time it is needed."""
    candidates: list[Subject] = default_candidates(events)
    if not candidates:
        return []
    recipients: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}  # goal -> (channel, owner)
    for row in await repository.default_recipients({s.goal_id for s in candidates if s.goal_id}):
        channel_id = row.channel_id or await repository.make_default_channel(
            row.user_id, seal(row.email)
        )
        if channel_id is not None:
            recipients[str(row.goal_id)] = (channel_id, row.user_id)
    return default_matches(candidates, recipients, matches)


async def person_channels(
    repository: NotifyRepository, user_id: uuid.UUID, event: str, seal: Sealer | None
) -> list[uuid.UUID]:
    """Where to reach a person about `event` (reminders): their own channels subscribed to
    it; else, as for critical alerts, their default email channel (made if needed) unless
    they set up channels of their own or deleted the default one."""
    person = await repository.person(user_id, event)
    if person is None:
        return []
    if person.subscribed:
        return list(person.subscribed)
    if person.opted_out or seal is None:
        return []
    channel = person.default_channel or await repository.make_default_channel(
        person.id, seal(person.email)
    )
    return [channel] if channel else []


def sealer(box: SecretBox) -> Sealer:
    """How a channel target is stored: encrypted by the shared secret box, as bytes."""
    return lambda target: box.encrypt(target).encode()
