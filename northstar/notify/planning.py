"""The decisions of notifying people: pure functions of `now` and rows that return messages.

Nothing here reads a clock, a database or the network. The loops read rows through
`NotifyRepository`, call these, and write what they return:

- grouping (`subjects`, `plan_event_messages`): the events of a relayed batch and the
  subscriptions they matched become one message per (channel, goal) — or per review — due
  at the end of its grouping window, later if the recipient's quiet hours hold it
  (critical never waits), with the highest severity of its events;
- the owners' default (`default_candidates`, `default_matches`): critical alert events
  reach a goal's owner by email unless a subscription of theirs already does;
- digests (`digest_key`, `plan_digest`): what a digest of one period says — goals that
  changed status, goals at risk, open alerts, plans late, check-ins due before the next
  digest and goals due soon (the horizons are `DUE_SOON` and `CHECK_IN_HORIZON`);
- reminders (`due_reminders`, `reminder_sends`, `plan_reminders`): which goals' check-ins
  are overdue, who hears (owner, teams, and the leads once escalated), and when.

When a message may go out (quiet hours, digest periods, the reminder schedule) is
`northstar.notify.timing`; what it says is `northstar.notify.templates`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from northstar.domain.alerts import AlertEventType, AlertKind
from northstar.domain.goals import GoalStatus
from northstar.notify.model import (
    UNRANKED_EVENTS,
    MessageKind,
    Severity,
    goal_of,
    severity_of,
)
from northstar.notify.rows import (
    CheckInGoal,
    DigestGoal,
    GoalNow,
    LatePlan,
    Match,
    OnceMessage,
    OpenAlert,
    PlannedMessage,
    RelayedEvent,
    Subject,
)
from northstar.notify.templates import DigestContent, GoalSnapshot, Rendered
from northstar.notify.timing import Cadence, QuietHours, Reminder, check_in_reminder, send_at
from northstar.outbox import REVIEW_EVENT_TYPE

# Alert events the owners' default sends: opened, or escalated to critical.
OWNER_DEFAULT_EVENTS: Final = (AlertEventType.OPENED.value, AlertEventType.UPDATED.value)

# What a digest lists as "at risk or off track".
AT_RISK: Final = frozenset({GoalStatus.AT_RISK, GoalStatus.OFF_TRACK})
# How far ahead a digest's "due soon" looks, by cadence (7 days for any other).
DUE_SOON: Final = {Cadence.DAILY: timedelta(days=7), Cadence.WEEKLY: timedelta(days=14)}
# Check-ins a digest lists: those due before the next digest (or overdue).
CHECK_IN_HORIZON: Final = {Cadence.DAILY: timedelta(days=1), Cadence.WEEKLY: timedelta(days=7)}


# ------------------------------------------------------------------ grouping


def subjects(events: Sequence[RelayedEvent]) -> list[Subject]:
    """What each event of the batch is about, for matching subscriptions: the goal it
    names; a review, the goals under its scope goal (None: the whole organisation)."""
    about = [
        Subject(i, goal, e.type)
        for i, e in enumerate(events)
        if (goal := goal_of(e.data)) is not None
    ]
    reviews = [
        Subject(i, _scope_goal(e.data), e.type)
        for i, e in enumerate(events)
        if e.type == REVIEW_EVENT_TYPE
    ]
    return about + reviews


def default_candidates(events: Sequence[RelayedEvent]) -> list[Subject]:
    """The events the owners' default email is for: critical alerts, opened or escalated."""
    return [
        s
        for s in subjects(events)
        if s.goal_id is not None
        and s.type in OWNER_DEFAULT_EVENTS
        and severity_of(s.type, events[s.idx].data) is Severity.CRITICAL
    ]


def default_matches(
    candidates: Sequence[Subject],
    recipients: Mapping[str, tuple[uuid.UUID, uuid.UUID]],
    matches: Iterable[Match],
) -> list[Match]:
    """Matches of the owners' default channels (`recipients`: goal → (channel, owner)) for
    the candidate events, except where that channel is subscribed to the event already."""
    subscribed = {(m.idx, m.channel_id) for m in matches}
    reached = [(s.idx, r) for s in candidates if (r := recipients.get(s.goal_id or ""))]
    return [
        Match(idx, channel_id, Severity.CRITICAL, owner)
        for idx, (channel_id, owner) in reached
        if (idx, channel_id) not in subscribed
    ]


@dataclass(slots=True)
class _Group:
    channel_id: uuid.UUID
    owner: uuid.UUID | None
    severity: Severity
    events: list[dict[str, Any]] = field(default_factory=list)


def plan_event_messages(
    events: Sequence[RelayedEvent],
    matches: Iterable[Match],
    quiet: Mapping[uuid.UUID, QuietHours],
    now: datetime,
    window: timedelta,
) -> list[PlannedMessage]:
    """One message per (channel, group) for the matched events: every event a channel
    wants (its severity reaches the subscription's minimum, or it has none) is in exactly
    one of them, once however many of the channel's subscriptions matched it."""
    groups: dict[tuple[uuid.UUID, str], _Group] = {}
    seen: set[tuple[int, uuid.UUID]] = set()
    for match in matches:
        event = events[match.idx]
        if not _wants(match, event) or (match.idx, match.channel_id) in seen:
            continue
        seen.add((match.idx, match.channel_id))
        _add(groups, match, event)
    return [
        _scheduled(key, group, quiet.get(group.owner) if group.owner else None, now, window)
        for (_, key), group in groups.items()
    ]


def group_key(event: RelayedEvent) -> str:
    """What a message is about: a goal (its events are grouped), or one review."""
    if event.type == REVIEW_EVENT_TYPE:
        return f"review:{event.data['review_id']}"
    return f"goal:{goal_of(event.data)}"


def _scope_goal(data: Mapping[str, Any]) -> str | None:
    return str(data["scope_goal_id"]) if data.get("scope_goal_id") else None


def _wants(match: Match, event: RelayedEvent) -> bool:
    if event.type in UNRANKED_EVENTS:
        return True
    return severity_of(event.type, event.data).rank >= match.min_severity.rank


def _add(groups: dict[tuple[uuid.UUID, str], _Group], match: Match, event: RelayedEvent) -> None:
    severity = severity_of(event.type, event.data)
    key = (match.channel_id, group_key(event))
    group = groups.get(key)
    if group is None:
        group = groups[key] = _Group(match.channel_id, match.owner, severity)
    elif severity.rank > group.severity.rank:
        group.severity = severity
    group.events.append({"type": event.type, "occurred_at": event.occurred_at, "data": event.data})


def _scheduled(
    key: str, group: _Group, quiet: QuietHours | None, now: datetime, window: timedelta
) -> PlannedMessage:
    at = send_at(now, window, group.severity, quiet)
    held = at if at > now + window else None
    return PlannedMessage(group.channel_id, key, group.severity, group.events, at, held)


# ------------------------------------------------------------------ digests


def digest_key(digest_id: uuid.UUID, period_key: str) -> str:
    """The group key of one digest's message for one period (unique: sent once)."""
    return f"digest:{digest_id}:{period_key}"


def snapshot(row: DigestGoal | CheckInGoal | GoalNow) -> GoalSnapshot:
    """A goal row as a message shows it."""
    return GoalSnapshot(
        str(row.id), row.title, row.status, row.score, row.actual, row.expected, row.target,
        row.unit or "",
    )  # fmt: skip


def plan_digest(
    *,
    period: str,
    cadence: str,
    now: datetime,
    goals: Sequence[DigestGoal],
    alerts: Sequence[OpenAlert],
    plans: Sequence[LatePlan],
) -> DigestContent:
    """What a digest of `period` says at `now` about its goals (in title order)."""
    shown = {row.id: snapshot(row) for row in goals}
    return DigestContent(
        period=period,
        changed=[(shown[r.id], r.before) for r in goals if _changed(r)],
        at_risk=[shown[r.id] for r in goals if r.status in AT_RISK],
        open_alerts=[
            (shown[a.goal_id], a.kind, a.severity) for a in alerts if a.kind != AlertKind.PLAN
        ],
        plans_late=[(shown[p.goal_id], f"{p.what} {p.title}, due {p.due:%Y-%m-%d}") for p in plans],
        check_ins_due=_check_ins_due(
            goals, shown, now + CHECK_IN_HORIZON.get(cadence, timedelta(days=1))
        ),
        due_soon=_due_soon(goals, shown, now, now + DUE_SOON.get(cadence, timedelta(days=7))),
    )


def _changed(row: DigestGoal) -> bool:
    return bool(row.status and row.before and row.before != row.status)


def _check_ins_due(
    goals: Sequence[DigestGoal], shown: Mapping[uuid.UUID, GoalSnapshot], horizon: datetime
) -> list[tuple[GoalSnapshot, datetime]]:
    return [
        (shown[r.id], r.check_in_base + r.cadence)
        for r in goals
        if r.cadence is not None and r.check_in_base + r.cadence <= horizon
    ]


def _due_soon(
    goals: Sequence[DigestGoal],
    shown: Mapping[uuid.UUID, GoalSnapshot],
    now: datetime,
    horizon: datetime,
) -> list[tuple[GoalSnapshot, datetime]]:
    return [
        (shown[r.id], r.due)
        for r in goals
        if r.due is not None and now <= r.due <= horizon and r.status != GoalStatus.ACHIEVED
    ]


def queued_digest(
    digest_id: uuid.UUID, period_key: str, channel_id: uuid.UUID, rendered: Rendered, now: datetime
) -> OnceMessage:
    """A rendered digest, queued to go at once."""
    return OnceMessage(
        channel_id=channel_id,
        kind=MessageKind.DIGEST,
        group_key=digest_key(digest_id, period_key),
        severity=Severity.INFO,
        content=as_content(rendered),
        due=now,
    )


# ------------------------------------------------------------------ reminders


def due_reminders(
    goals: Iterable[CheckInGoal], now: datetime, *, escalate_after: int
) -> list[tuple[CheckInGoal, Reminder]]:
    """The goals whose check-in reminder is due at `now`, each with it."""
    due = [
        (
            goal,
            check_in_reminder(
                str(goal.id), goal.cadence, goal.last_at, now, escalate_after=escalate_after
            ),
        )
        for goal in goals
    ]
    return [(goal, reminder) for goal, reminder in due if reminder is not None]


def reminder_sends(
    owner: Sequence[uuid.UUID],
    teams: Sequence[uuid.UUID],
    leads: Sequence[Sequence[uuid.UUID]],
) -> list[tuple[uuid.UUID, bool]]:
    """Where one reminder goes, each with whether it is the lead's (escalated) form: the
    owner's channels and the teams' (once each), then each lead's channels."""
    sends = [(c, False) for c in dict.fromkeys([*owner, *teams])]
    return sends + [(c, True) for channels in leads for c in channels]


def plan_reminders(
    reminder: Reminder,
    sends: Sequence[tuple[uuid.UUID, bool]],
    owners: Mapping[uuid.UUID, uuid.UUID | None],
    quiet: Mapping[uuid.UUID, QuietHours],
    render: Mapping[bool, Rendered],
    now: datetime,
) -> list[OnceMessage]:
    """One reminder message per send, due now or when the recipient's quiet hours end
    (`render`: the owner's form under False, the lead's under True)."""
    planned = []
    for channel_id, to_lead in sends:
        owner = owners.get(channel_id)
        at = send_at(now, timedelta(0), Severity.WARNING, quiet.get(owner) if owner else None)
        planned.append(
            OnceMessage(
                channel_id=channel_id,
                kind=MessageKind.REMINDER,
                group_key=reminder.key + (":lead" if to_lead else ""),
                severity=Severity.WARNING,
                content=as_content(render[to_lead]),
                due=at,
                held_until=at if at > now else None,
            )
        )
    return planned


def as_content(rendered: Rendered) -> dict[str, str]:
    """A rendered message as `notification_messages.content` stores it."""
    return {k: str(v) for k, v in asdict(rendered).items()}
