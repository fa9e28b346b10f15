"""NotifyRepository: all SQL of notifying people, on the evaluator's side.

Who is subscribed to what, the owners' default email channels, quiet hours, the queue of
messages (`notification_messages`: grouping bucket, retry queue and delivery log at once),
what digests and reminders say and to whom — read and written here and nowhere else, as
typed rows (`northstar.notify.rows`). The decisions about those rows are pure functions
in `northstar.notify.planning`; the loops that call both are the relay's hand-over
(`northstar.notify.queue`), the notifier and the schedules (`services/evaluator/notify/`).

The repository works in its caller's connection and transaction and never commits: the
loop decides where a transaction ends. Status words are bound from the domain
(`GoalStatus`, `AlertState`, `AlertKind`, `InitiativeStatus`, `MessageKind`), never typed
into the SQL again. (The api's side — channels, subscriptions and digests as people set
them up — is `services/api/notifications/repository.py`.)
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.auth.policy import UnitRole
from northstar.domain.alerts import AlertState
from northstar.domain.goals import GoalStatus
from northstar.domain.plans import InitiativeStatus
from northstar.notify.model import MessageKind, OwnerKind, Severity
from northstar.notify.rows import (
    Candidate,
    CheckInGoal,
    Claimed,
    DefaultRecipient,
    Digest,
    DigestGoal,
    GoalNow,
    LatePlan,
    Match,
    OnceMessage,
    OpenAlert,
    Person,
    PlannedMessage,
    Subject,
)
from northstar.notify.timing import QuietHours

_ACTIVE: Final = "active"  # users.status of a person who may be reached
_CLOSED_PLANS: Final = [s.value for s in InitiativeStatus if s.closed]
_FINAL_GOALS: Final = [GoalStatus.ACHIEVED.value, GoalStatus.MISSED.value]

# Which channels are subscribed to each event: a goal subscription, a unit subscription
# on the goal's unit or one above it, a person's "mine" (goals they own); an event about
# no goal (a review of the whole organisation) reaches unit subscriptions of a root unit.
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
    JOIN users AS u ON u.id = g.owner_id AND u.status = :active
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
    FROM users AS u WHERE u.id = :user_id AND u.status = :active
    """
)

_QUIET_HOURS = text(
    """
    SELECT user_id, timezone, quiet_start, quiet_end FROM notification_preferences
    WHERE user_id = ANY(CAST(:ids AS uuid[])) AND quiet_start IS NOT NULL
    """
)

_CHANNEL_OWNERS = text(
    "SELECT id, owner_kind, owner_id FROM notification_channels"
    " WHERE id = ANY(CAST(:ids AS uuid[]))"
)

# Severity by rank, so merging keeps the highest.
_RANKED = "ARRAY[" + ", ".join(f"'{s.value}'" for s in Severity) + "]"
# The open event message of a (channel, group) is what the partial unique index
# `uq_notification_messages_open_group` covers; its predicate is spelled as the index's.
_OPEN_EVENT = f"kind = '{MessageKind.EVENT.value}' AND sealed_at IS NULL"

_UPSERT = text(
    f"""
    INSERT INTO notification_messages
        (id, channel_id, kind, group_key, severity, events, next_attempt_at, held_until)
    SELECT gen_random_uuid(), m.channel_id, :kind, m.group_key, m.severity,
           CAST(m.events AS jsonb), m.due, m.held_until
    FROM unnest(CAST(:channels AS uuid[]), CAST(:keys AS text[]), CAST(:severities AS text[]),
                CAST(:events AS text[]), CAST(:due AS timestamptz[]),
                CAST(:held AS timestamptz[]))
        AS m(channel_id, group_key, severity, events, due, held_until)
    ON CONFLICT (channel_id, group_key) WHERE {_OPEN_EVENT}
    DO UPDATE SET
        events = notification_messages.events || EXCLUDED.events,
        severity = CASE
            WHEN array_position({_RANKED}, EXCLUDED.severity::text)
                 > array_position({_RANKED}, notification_messages.severity::text)
            THEN EXCLUDED.severity ELSE notification_messages.severity END,
        next_attempt_at = CASE WHEN EXCLUDED.severity = :critical
            THEN LEAST(notification_messages.next_attempt_at, EXCLUDED.next_attempt_at)
            ELSE notification_messages.next_attempt_at END,
        held_until = CASE WHEN EXCLUDED.severity = :critical
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
    " AND kind = :kind"
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

_DIGEST_GOALS = text(
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
    WHERE goal_id = ANY(CAST(:ids AS uuid[])) AND state <> :resolved
    ORDER BY severity DESC, opened_at
    """
)

# Milestones and initiatives past due and not done (SPEC §12), by goal.
_LATE_PLANS = text(
    """
    SELECT i.goal_id, 'milestone' AS what, m.title, m.due
    FROM milestones AS m JOIN initiatives AS i ON i.id = m.initiative_id
    WHERE i.goal_id = ANY(CAST(:ids AS uuid[])) AND m.due < :now AND m.done_at IS NULL
      AND NOT (i.status = ANY(CAST(:closed AS text[])))
    UNION ALL
    SELECT i.goal_id, 'initiative', i.title, i.due FROM initiatives AS i
    WHERE i.goal_id = ANY(CAST(:ids AS uuid[])) AND i.due < :now
      AND NOT (i.status = ANY(CAST(:closed AS text[])))
    ORDER BY due
    """
)

_CHECK_IN_GOALS = text(
    """
    SELECT g.id, g.title, g.check_in_cadence AS cadence, g.owner_id, g.unit_id,
           coalesce(g.last_check_in_at, g.start, g.created_at) AS last_at,
           s.status, s.score, s.actual, s.expected, s.target, k.unit
    FROM goals AS g
    JOIN users AS u ON u.id = g.owner_id AND u.status = :active
    LEFT JOIN goal_state AS s ON s.goal_id = g.id
    LEFT JOIN kpis AS k ON k.key = g.kpi_key
    WHERE g.check_in_cadence IS NOT NULL
      AND (g.due IS NULL OR g.due > :now)
      AND NOT (coalesce(s.status, '') = ANY(CAST(:final AS text[])))
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
        JOIN unit_members AS m ON m.unit_id = up.id AND m.role = :lead
        JOIN users AS p ON p.id = m.user_id AND p.status = :active
    )
    SELECT user_id FROM leads WHERE depth = (SELECT min(depth) FROM leads)
    """
)

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

_GOALS_NOW = text(
    """
    SELECT g.id, g.title, s.status, s.score, s.actual, s.expected, s.target, k.unit
    FROM goals AS g
    LEFT JOIN goal_state AS s ON s.goal_id = g.id
    LEFT JOIN kpis AS k ON k.key = g.kpi_key
    WHERE g.id = ANY(CAST(:ids AS uuid[]))
    """
)

RECORD_ATTEMPT: Final = text(
    """
    UPDATE notification_messages
    SET status = :status, attempts = :attempts, last_attempt_at = :attempted_at,
        last_error = :error, delivered_at = :delivered_at, next_attempt_at = :next_attempt_at,
        subject = :subject
    WHERE id = :id AND status = 'pending'
    """
)
"""How the notifier's loop (`services.evaluator.worker.QueueWorker`) records one attempt."""


class NotifyRepository:
    """The people path's SQL, in the caller's connection (see module doc)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # ------------------------------------------------------------ events → messages

    async def matches(self, subjects: Sequence[Subject]) -> list[Match]:
        """The channels subscribed to each subject, in the order PostgreSQL finds them."""
        if not subjects:
            return []
        rows = await self._conn.execute(
            _MATCH,
            {
                "idx": [s.idx for s in subjects],
                "goal_ids": [s.goal_id for s in subjects],
                "types": [s.type for s in subjects],
            },
        )
        return [
            Match(
                r.idx,
                r.channel_id,
                Severity(r.min_severity),
                r.owner_id if r.owner_kind == OwnerKind.USER else None,
            )
            for r in rows
        ]

    async def unit_channels(self, goal_id: uuid.UUID, event: str) -> list[uuid.UUID]:
        """Team (unit-owned) channels subscribed to `event` for this goal."""
        found = await self.matches([Subject(0, str(goal_id), event)])
        return sorted({m.channel_id for m in found if m.owner is None})

    async def default_recipients(self, goal_ids: Iterable[str]) -> list[DefaultRecipient]:
        rows = await self._conn.execute(
            _DEFAULT_RECIPIENTS, _with_active(goal_ids=sorted(goal_ids))
        )
        return [DefaultRecipient(**r._mapping) for r in rows]

    async def make_default_channel(
        self, user_id: uuid.UUID, sealed_email: bytes
    ) -> uuid.UUID | None:
        """The person's default email channel, made now; None if another transaction made
        it meanwhile (it is found next time)."""
        made: uuid.UUID | None = await self._conn.scalar(
            _DEFAULT_CHANNEL, {"target": sealed_email, "user_id": user_id}
        )
        return made

    async def person(self, user_id: uuid.UUID, event: str) -> Person | None:
        row = (
            await self._conn.execute(_PERSON, _with_active(user_id=user_id, event=event))
        ).first()
        return None if row is None else Person(**row._mapping)

    async def quiet_hours(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, QuietHours]:
        """The quiet hours of those users that set them."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await self._conn.execute(_QUIET_HOURS, {"ids": ids})
        return {r.user_id: QuietHours(r.quiet_start, r.quiet_end, r.timezone) for r in rows}

    async def channel_owners(
        self, channel_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID | None]:
        """Each channel's owning person (None: a unit's channel)."""
        rows = await self._conn.execute(_CHANNEL_OWNERS, {"ids": list(channel_ids)})
        return {r.id: r.owner_id if r.owner_kind == OwnerKind.USER else None for r in rows}

    async def add_to_open_messages(self, planned: Sequence[PlannedMessage]) -> None:
        """Upsert each planned message into its channel's open message for its group: the
        events are appended, the severity kept at the highest, and a critical event brings
        the send forward and lifts a quiet-hours hold."""
        if not planned:
            return
        await self._conn.execute(
            _UPSERT,
            {
                "kind": MessageKind.EVENT.value,
                "critical": Severity.CRITICAL.value,
                "channels": [p.channel_id for p in planned],
                "keys": [p.group_key for p in planned],
                "severities": [p.severity.value for p in planned],
                "events": [
                    orjson.dumps(list(p.events), option=orjson.OPT_UTC_Z).decode() for p in planned
                ],
                "due": [p.due for p in planned],
                "held": [p.held_until for p in planned],
            },
        )

    async def queue_once(self, message: OnceMessage) -> bool:
        """Queue a digest or reminder unless its channel already has one with its
        `group_key` (unique for ever: the exactly-once guarantee across replicas and
        restarts). True if this call queued it."""
        result = await self._conn.execute(
            _ONCE,
            {
                "channel_id": message.channel_id,
                "kind": message.kind.value,
                "group_key": message.group_key,
                "severity": message.severity.value,
                "content": orjson.dumps(dict(message.content)).decode(),
                "subject": message.content.get("subject"),
                "due": message.due,
                "held_until": message.held_until,
            },
        )
        return result.first() is not None

    # ------------------------------------------------------------ digests

    async def digests(self) -> list[Digest]:
        """Every digest of a channel that is not deleted."""
        return [Digest(**r._mapping) for r in await self._conn.execute(_DIGESTS)]

    async def digest_queued(self, channel_id: uuid.UUID, key: str) -> bool:
        found = await self._conn.scalar(
            _QUEUED, {"channel_id": channel_id, "key": key, "kind": MessageKind.DIGEST.value}
        )
        return bool(found)

    async def digest_scope(
        self, channel_id: uuid.UUID, owner_unit: uuid.UUID | None
    ) -> list[uuid.UUID]:
        """The goals a digest of this channel covers (see `_SCOPE`)."""
        rows = await self._conn.execute(
            _SCOPE,
            {"channel_id": channel_id, "owner_unit": owner_unit, "everything": owner_unit is None},
        )
        return [r.id for r in rows]

    async def digest_goals(self, ids: Sequence[uuid.UUID], since: datetime) -> list[DigestGoal]:
        """The goals, by title, each with its status at `since` (`before`)."""
        if not ids:
            return []
        rows = await self._conn.execute(_DIGEST_GOALS, {"ids": list(ids), "since": since})
        return [DigestGoal(**r._mapping) for r in rows]

    async def open_alerts(self, ids: Sequence[uuid.UUID]) -> list[OpenAlert]:
        """The goals' alerts not resolved, most severe first, then oldest first."""
        if not ids:
            return []
        rows = await self._conn.execute(
            _OPEN_ALERTS, {"ids": list(ids), "resolved": AlertState.RESOLVED.value}
        )
        return [OpenAlert(**r._mapping) for r in rows]

    async def late_plans(self, ids: Sequence[uuid.UUID], now: datetime) -> list[LatePlan]:
        """Milestones and initiatives of the goals past due at `now` and not done."""
        if not ids:
            return []
        rows = await self._conn.execute(
            _LATE_PLANS, {"ids": list(ids), "now": now, "closed": _CLOSED_PLANS}
        )
        return [LatePlan(**r._mapping) for r in rows]

    # ------------------------------------------------------------ reminders

    async def check_in_goals(self, now: datetime) -> list[CheckInGoal]:
        """Goals with a check-in cadence and an active owner, not past due, not final."""
        rows = await self._conn.execute(_CHECK_IN_GOALS, _with_active(now=now, final=_FINAL_GOALS))
        return [CheckInGoal(**r._mapping) for r in rows]

    async def leads(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        """The active leads of the unit, or of the nearest unit above it that has any."""
        rows = await self._conn.execute(
            _LEADS, _with_active(unit_id=unit_id, lead=UnitRole.LEAD.value)
        )
        return [r.user_id for r in rows]

    # ------------------------------------------------------------ the notifier

    async def candidates(self, busy: Sequence[Hashable], limit: int) -> list[Candidate]:
        """Due messages of channels not deleted nor `busy`, oldest due first, locked."""
        rows = await self._conn.execute(_CANDIDATES, {"limit": limit, "busy": list(busy)})
        return [Candidate(**r._mapping) for r in rows]

    async def claim(self, ids: Sequence[uuid.UUID], lease_seconds: float) -> list[Claimed]:
        """Seal and lease these messages (no more events join them; nobody else sends
        them until the lease ends), with their channels' kinds and sealed targets."""
        rows = await self._conn.execute(_CLAIM, {"ids": list(ids), "lease": lease_seconds})
        return [Claimed(**{**r._mapping, "target": bytes(r.target)}) for r in rows]

    async def goals_now(self, ids: Iterable[str]) -> list[GoalNow]:
        """The goals as they stand now (for the header of a message sent now)."""
        wanted = [uuid.UUID(i) for i in ids]
        if not wanted:
            return []
        rows = await self._conn.execute(_GOALS_NOW, {"ids": wanted})
        return [GoalNow(**r._mapping) for r in rows]


def _with_active(**params: Any) -> dict[str, Any]:
    return {**params, "active": _ACTIVE}
