"""Queueing messages: outbox events → subscribed channels → grouped messages.

Called by the outbox relay inside its batch transaction, so a message is queued exactly
when its event is relayed: both commit or neither does, and nothing is lost on a restart.

    events of the batch → subscriptions that match (goal, unit subtree; event type;
    min severity) → one entry per (channel, goal) → upsert into the channel's open message
    for that goal (`uq_notification_messages_open_group`), due at the end of its grouping
    window or, for a non-critical message to someone in quiet hours, when they end

A message stays open (collecting its goal's events) until the notifier's first attempt
seals it; the next event opens a new one with a new window. So a storm on one goal
becomes one message per window per channel, and every event is in exactly one message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.crypto import SecretBox
from northstar.notifications.model import UNRANKED_EVENTS, Severity, goal_of, severity_of
from northstar.notifications.timing import QuietHours, send_at
from northstar.outbox import REVIEW_EVENT_TYPE

_MATCH = text(
    """
    WITH RECURSIVE ev AS (
        SELECT * FROM unnest(CAST(:idx AS int[]), CAST(:goal_ids AS uuid[]), CAST(:types AS text[]))
            AS e(idx, goal_id, type)
    ), chain AS (
        SELECT ev.idx, g.unit_id FROM ev JOIN goals AS g ON g.id = ev.goal_id
        WHERE g.unit_id IS NOT NULL
        UNION
        SELECT chain.idx, u.parent_id FROM chain JOIN org_units AS u ON u.id = chain.unit_id
        WHERE u.parent_id IS NOT NULL
    )
    SELECT DISTINCT ev.idx, s.channel_id, s.min_severity, c.owner_kind, c.owner_id
    FROM ev
    LEFT JOIN goals AS g ON g.id = ev.goal_id
    JOIN notification_subscriptions AS s ON ev.type = ANY(s.events)
    JOIN notification_channels AS c ON c.id = s.channel_id AND c.deleted_at IS NULL
    WHERE (s.scope = 'goal' AND s.goal_id = ev.goal_id)
       OR (s.scope = 'unit'
           AND EXISTS (SELECT 1 FROM chain WHERE chain.idx = ev.idx AND chain.unit_id = s.unit_id))
       OR (s.scope = 'mine' AND c.owner_kind = 'user' AND g.owner_id = c.owner_id)
       OR (ev.goal_id IS NULL AND s.scope = 'unit'
           AND EXISTS (SELECT 1 FROM org_units AS root
                       WHERE root.id = s.unit_id AND root.parent_id IS NULL))
    """
)

# The default (SPEC §14 item 2): a goal's owner hears about its critical alerts by email,
# through a channel Northstar makes for them, unless they set up a channel of their own or
# deleted the one made for them.
_DEFAULT_RECIPIENTS = text(
    """
    SELECT g.id AS goal_id, u.id AS user_id, u.email,
           (SELECT c.id FROM notification_channels AS c
            WHERE c.owner_kind = 'user' AND c.owner_id = u.id AND c.implicit) AS channel_id
    FROM goals AS g
    JOIN users AS u ON u.id = g.owner_id AND u.status = 'active'
    WHERE g.id = ANY(CAST(:goal_ids AS uuid[]))
      AND NOT EXISTS (
          SELECT 1 FROM notification_channels AS c
          WHERE c.owner_kind = 'user' AND c.owner_id = u.id
            AND ((NOT c.implicit AND c.deleted_at IS NULL)
                 OR (c.implicit AND c.deleted_at IS NOT NULL))
      )
    """
)

_DEFAULT_CHANNEL = text(
    """
    INSERT INTO notification_channels (id, name, kind, target, owner_kind, owner_id, implicit,
                                       created_by)
    VALUES (gen_random_uuid(), 'Email (default)', 'email', :target, 'user', :user_id, true,
            'northstar')
    ON CONFLICT (owner_id) WHERE implicit DO NOTHING
    RETURNING id
    """
)

# Alert events the default sends: opened, or escalated to critical.
_DEFAULT_EVENTS = ("alert.opened", "alert.updated")

_QUIET_HOURS = text(
    """
    SELECT user_id, timezone, quiet_start, quiet_end FROM notification_preferences
    WHERE user_id = ANY(CAST(:ids AS uuid[])) AND quiet_start IS NOT NULL
    """
)

# Severity by rank, so merging keeps the highest.
_RANKED = "ARRAY['info', 'warning', 'critical']"

_UPSERT = text(
    f"""
    INSERT INTO notification_messages
        (id, channel_id, kind, group_key, severity, events, next_attempt_at, held_until)
    SELECT gen_random_uuid(), m.channel_id, 'event', m.group_key, m.severity,
           CAST(m.events AS jsonb), m.due, m.held_until
    FROM unnest(CAST(:channels AS uuid[]), CAST(:keys AS text[]), CAST(:severities AS text[]),
                CAST(:events AS text[]), CAST(:due AS timestamptz[]),
                CAST(:held AS timestamptz[]))
        AS m(channel_id, group_key, severity, events, due, held_until)
    ON CONFLICT (channel_id, group_key) WHERE kind = 'event' AND sealed_at IS NULL
    DO UPDATE SET
        events = notification_messages.events || EXCLUDED.events,
        severity = CASE
            WHEN array_position({_RANKED}, EXCLUDED.severity::text)
                 > array_position({_RANKED}, notification_messages.severity::text)
            THEN EXCLUDED.severity ELSE notification_messages.severity END,
        next_attempt_at = CASE WHEN EXCLUDED.severity = 'critical'
            THEN LEAST(notification_messages.next_attempt_at, EXCLUDED.next_attempt_at)
            ELSE notification_messages.next_attempt_at END,
        held_until = CASE WHEN EXCLUDED.severity = 'critical'
            THEN NULL ELSE notification_messages.held_until END
    """
)

_ONCE = text(
    """
    INSERT INTO notification_messages
        (id, channel_id, kind, group_key, severity, content, subject, next_attempt_at, held_until)
    VALUES (gen_random_uuid(), :channel_id, :kind, :group_key, :severity,
            CAST(CAST(:content AS text) AS jsonb), :subject, :due, :held_until)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)


@dataclass(frozen=True, slots=True)
class RelayedEvent:
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


@dataclass(slots=True)
class _Group:
    channel_id: uuid.UUID
    owner: uuid.UUID | None
    severity: Severity
    events: list[dict[str, Any]] = field(default_factory=list)


async def quiet_hours_of(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, QuietHours]:
    """The quiet hours of those users that set them."""
    if not user_ids:
        return {}
    rows = (await conn.execute(_QUIET_HOURS, {"ids": list(user_ids)})).all()
    return {r.user_id: QuietHours(r.quiet_start, r.quiet_end, r.timezone) for r in rows}


@dataclass(frozen=True, slots=True)
class _Match:
    idx: int
    channel_id: uuid.UUID
    min_severity: str
    owner_kind: str
    owner_id: uuid.UUID


async def queue_event_messages(
    conn: AsyncConnection,
    events: Sequence[RelayedEvent],
    now: datetime,
    *,
    window: timedelta,
    seal: Callable[[str], bytes] | None = None,
) -> int:
    """Add these events to the messages of every channel subscribed to them, in the
    caller's transaction; return how many (channel, goal) groups were touched. With
    `seal` (email configured and a secrets key), goal owners get their critical alerts
    by email by default (see `_DEFAULT_RECIPIENTS`)."""
    about = [(i, e, goal) for i, e in enumerate(events) if (goal := goal_of(e.data)) is not None]
    # A review concerns the goals under its scope goal, or (none) the whole organisation.
    reviews = [
        (i, e, str(e.data["scope_goal_id"]) if e.data.get("scope_goal_id") else None)
        for i, e in enumerate(events)
        if e.type == REVIEW_EVENT_TYPE
    ]
    if not about and not reviews:
        return 0
    matches = [
        _Match(r.idx, r.channel_id, r.min_severity, r.owner_kind, r.owner_id)
        for r in await conn.execute(
            _MATCH,
            {
                "idx": [i for i, _, _ in [*about, *reviews]],
                "goal_ids": [g for _, _, g in [*about, *reviews]],
                "types": [e.type for _, e, _ in [*about, *reviews]],
            },
        )
    ]
    if seal is not None:
        matches += await _default_matches(conn, about, matches, seal)
    if not matches:
        return 0
    groups: dict[tuple[uuid.UUID, str], _Group] = {}
    seen: set[tuple[int, uuid.UUID]] = set()
    for match in matches:
        event = events[match.idx]
        severity = severity_of(event.type, event.data)
        ranked = event.type not in UNRANKED_EVENTS
        if ranked and severity.rank < Severity(match.min_severity).rank:
            continue
        if (match.idx, match.channel_id) in seen:
            continue  # two subscriptions of one channel matched: one copy is enough
        seen.add((match.idx, match.channel_id))
        key = (match.channel_id, _group_key(event))
        group = groups.get(key)
        if group is None:
            owner = match.owner_id if match.owner_kind == "user" else None
            group = groups[key] = _Group(match.channel_id, owner, severity)
        elif severity.rank > group.severity.rank:
            group.severity = severity
        group.events.append(
            {"type": event.type, "occurred_at": event.occurred_at, "data": event.data}
        )
    if not groups:
        return 0
    quiet = await quiet_hours_of(conn, [g.owner for g in groups.values() if g.owner])
    due: list[datetime] = []
    held: list[datetime | None] = []
    for group in groups.values():
        at = send_at(now, window, group.severity, quiet.get(group.owner) if group.owner else None)
        due.append(at)
        held.append(at if at > now + window else None)
    await conn.execute(
        _UPSERT,
        {
            "channels": [g.channel_id for g in groups.values()],
            "keys": [key for _, key in groups],
            "severities": [g.severity.value for g in groups.values()],
            "events": [
                orjson.dumps(g.events, option=orjson.OPT_UTC_Z).decode() for g in groups.values()
            ],
            "due": due,
            "held": held,
        },
    )
    return len(groups)


def _group_key(event: RelayedEvent) -> str:
    """What a message is about: a goal (its events are grouped), or one review."""
    if event.type == REVIEW_EVENT_TYPE:
        return f"review:{event.data['review_id']}"
    return f"goal:{goal_of(event.data)}"


def sealer(box: SecretBox) -> Callable[[str], bytes]:
    """How a channel target is stored: encrypted by the shared secret box, as bytes."""
    return lambda target: box.encrypt(target).encode()


async def _default_matches(
    conn: AsyncConnection,
    about: Sequence[tuple[int, RelayedEvent, str]],
    matches: Sequence[_Match],
    seal: Callable[[str], bytes],
) -> list[_Match]:
    """Matches of the owners' default email channels for critical alert events, making
    an owner's channel the first time it is needed."""
    critical = [
        (i, g)
        for i, e, g in about
        if e.type in _DEFAULT_EVENTS and severity_of(e.type, e.data) is Severity.CRITICAL
    ]
    if not critical:
        return []
    rows = (
        await conn.execute(_DEFAULT_RECIPIENTS, {"goal_ids": sorted({g for _, g in critical})})
    ).all()
    recipients: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}  # goal -> (channel, owner)
    for row in rows:
        channel_id = row.channel_id or await _make_default_channel(
            conn, row.user_id, row.email, seal
        )
        if channel_id is not None:
            recipients[str(row.goal_id)] = (channel_id, row.user_id)
    subscribed = {(m.idx, m.channel_id) for m in matches}
    return [
        _Match(idx, channel_id, Severity.CRITICAL.value, "user", owner)
        for idx, goal in critical
        if goal in recipients
        for channel_id, owner in [recipients[goal]]
        if (idx, channel_id) not in subscribed
    ]


async def _make_default_channel(
    conn: AsyncConnection, user_id: uuid.UUID, email: str, seal: Callable[[str], bytes]
) -> uuid.UUID | None:
    """The person's default email channel, made now; None if another transaction made it
    meanwhile (it is found next time)."""
    made: uuid.UUID | None = await conn.scalar(
        _DEFAULT_CHANNEL, {"target": seal(email), "user_id": user_id}
    )
    return made


_PERSON = text(
    """
    SELECT u.id, u.email,
           (SELECT c.id FROM notification_channels AS c
            WHERE c.owner_kind = 'user' AND c.owner_id = u.id AND c.implicit
              AND c.deleted_at IS NULL) AS default_channel,
           EXISTS (SELECT 1 FROM notification_channels AS c
                   WHERE c.owner_kind = 'user' AND c.owner_id = u.id
                     AND ((NOT c.implicit AND c.deleted_at IS NULL)
                          OR (c.implicit AND c.deleted_at IS NOT NULL))) AS opted_out,
           ARRAY(SELECT DISTINCT c.id FROM notification_channels AS c
                 JOIN notification_subscriptions AS s ON s.channel_id = c.id
                 WHERE c.owner_kind = 'user' AND c.owner_id = u.id AND c.deleted_at IS NULL
                   AND :event = ANY(s.events)) AS subscribed
    FROM users AS u WHERE u.id = :user_id AND u.status = 'active'
    """
)


async def person_channels(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    event: str,
    seal: Callable[[str], bytes] | None,
) -> list[uuid.UUID]:
    """Where to reach a person about `event` (reminders): their own channels subscribed to
    it; else, as for critical alerts, their default email channel (made if needed) unless
    they set up channels of their own or deleted the default one."""
    row = (await conn.execute(_PERSON, {"user_id": user_id, "event": event})).first()
    if row is None:
        return []
    if row.subscribed:
        return list(row.subscribed)
    if row.opted_out or seal is None:
        return []
    channel = row.default_channel or await _make_default_channel(conn, row.id, row.email, seal)
    return [channel] if channel else []


async def unit_channels_for(
    conn: AsyncConnection, goal_id: uuid.UUID, event: str
) -> list[uuid.UUID]:
    """Team (unit-owned) channels subscribed to `event` for this goal."""
    rows = await conn.execute(_MATCH, {"idx": [0], "goal_ids": [goal_id], "types": [event]})
    return sorted({r.channel_id for r in rows if r.owner_kind == "unit"})


async def queue_once(
    conn: AsyncConnection,
    *,
    channel_id: uuid.UUID,
    kind: str,
    group_key: str,
    severity: Severity,
    content: Mapping[str, str],
    due: datetime,
    held_until: datetime | None = None,
) -> bool:
    """Queue a digest or reminder unless this channel already has one with `group_key`
    (unique for ever: the exactly-once guarantee across replicas and restarts). True if
    this call queued it."""
    result = await conn.execute(
        _ONCE,
        {
            "channel_id": channel_id,
            "kind": kind,
            "group_key": group_key,
            "severity": severity.value,
            "content": orjson.dumps(dict(content)).decode(),
            "subject": content.get("subject"),
            "due": due,
            "held_until": held_until,
        },
    )
    return result.first() is not None


def quiet_hours(start: time | None, end: time | None, timezone: str) -> QuietHours | None:
    return QuietHours(start, end, timezone) if start is not None and end is not None else None
