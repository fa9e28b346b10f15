"""The typed rows of notifying people: what `NotifyRepository` reads and writes.

Plain values only (no SQLAlchemy), so the pure planners (`northstar.notify.planning`) take
and return them and their tests build them by hand. A row read from PostgreSQL is built
by its column names (`Row(**mapping)`), so a query and its row type cannot drift apart
silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

from northstar.notify.model import MessageKind, OwnerKind, Severity


@dataclass(frozen=True, slots=True)
class RelayedEvent:
    """One outbox event as the relay hands it over to the people path."""

    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


class Subject(NamedTuple):
    """What one event of a batch is about, as subscriptions are matched against it: its
    index in the batch, its goal (a review: its scope goal, None for the whole
    organisation) and its type."""

    idx: int
    goal_id: str | None
    type: str


class Match(NamedTuple):
    """A channel subscribed to one event of the batch (`idx`), with the subscription's
    minimum severity and the person who owns the channel (None: a unit's channel)."""

    idx: int
    channel_id: uuid.UUID
    min_severity: Severity
    owner: uuid.UUID | None


class DefaultRecipient(NamedTuple):
    """A goal's owner who gets its critical alerts by email by default, with the default
    channel made for them (None: not made yet)."""

    goal_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    channel_id: uuid.UUID | None


class Person(NamedTuple):
    """Where a person can be reached about one event kind (reminders)."""

    id: uuid.UUID
    email: str
    default_channel: uuid.UUID | None
    opted_out: bool  # channels of their own, or the default one deleted
    subscribed: Sequence[uuid.UUID]


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """An event message to upsert into its channel's open message for `group_key`."""

    channel_id: uuid.UUID
    group_key: str
    severity: Severity
    events: Sequence[Mapping[str, Any]]
    due: datetime
    held_until: datetime | None


@dataclass(frozen=True, slots=True)
class OnceMessage:
    """A digest or reminder, queued at most once per `(channel_id, group_key)`."""

    channel_id: uuid.UUID
    kind: MessageKind
    group_key: str
    severity: Severity
    content: Mapping[str, str]
    due: datetime
    held_until: datetime | None = None


class Digest(NamedTuple):
    id: uuid.UUID
    channel_id: uuid.UUID
    cadence: str
    at: time
    timezone: str
    weekday: int
    set_at: datetime
    owner_kind: str
    owner_id: uuid.UUID

    @property
    def owner_unit(self) -> uuid.UUID | None:
        """The unit whose channel this is (None: a person's)."""
        return self.owner_id if self.owner_kind == OwnerKind.UNIT else None


class DigestGoal(NamedTuple):
    """A goal a digest covers, as it stands now and as it stood at the period's start."""

    id: uuid.UUID
    title: str
    due: datetime | None
    status: str | None
    score: float | None
    actual: float | None
    expected: float | None
    target: float | None
    unit: str | None
    cadence: timedelta | None
    check_in_base: datetime
    before: str | None  # its status at the period's start


class OpenAlert(NamedTuple):
    goal_id: uuid.UUID
    kind: str
    severity: str


class LatePlan(NamedTuple):
    """A milestone or initiative past due and not done."""

    goal_id: uuid.UUID
    what: str  # "milestone" or "initiative"
    title: str
    due: datetime


class CheckInGoal(NamedTuple):
    """A goal with a check-in cadence, an active owner and nothing final about it yet."""

    id: uuid.UUID
    title: str
    cadence: timedelta
    owner_id: uuid.UUID
    unit_id: uuid.UUID | None
    last_at: datetime
    status: str | None
    score: float | None
    actual: float | None
    expected: float | None
    target: float | None
    unit: str | None


class GoalNow(NamedTuple):
    """A goal as a message shows it when the message is sent."""

    id: uuid.UUID
    title: str
    status: str | None
    score: float | None
    actual: float | None
    expected: float | None
    target: float | None
    unit: str | None


class Candidate(NamedTuple):
    """A due message the notifier may claim."""

    id: uuid.UUID
    channel_id: uuid.UUID


class Claimed(NamedTuple):
    """A message claimed for sending (sealed, leased), with its channel's kind and target."""

    id: uuid.UUID
    channel_id: uuid.UUID
    kind: str
    group_key: str
    severity: str
    events: Sequence[Mapping[str, Any]] | None
    content: Mapping[str, str] | None
    attempts: int
    channel_kind: str
    target: bytes
