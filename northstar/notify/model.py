"""The vocabulary of notifications: channel kinds, event kinds, severities.

Subscriptions name events by their outbox type (`alert.opened` …) so one word means the
same thing on Kafka, on webhooks and here; the notification-only kinds (`check_in.due`,
digests) never travel through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from northstar.domain.alerts import AlertEventType
from northstar.domain.goals import GoalStatus
from northstar.outbox import GOAL_STATUS_CHANGED, REVIEW_EVENT_TYPE

# The event kind of check-in reminders: queued by the schedules, never in the outbox.
CHECK_IN_DUE: Final = "check_in.due"


class ChannelKind(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"
    APPRISE = "apprise"


class OwnerKind(StrEnum):
    USER = "user"
    UNIT = "unit"


class MessageKind(StrEnum):
    """What a queued message is: a goal's (or a review's) grouped events, a digest, or a
    check-in reminder."""

    EVENT = "event"
    DIGEST = "digest"
    REMINDER = "reminder"


class Severity(StrEnum):
    """Ordered: a subscription's `min_severity` lets through its level and the ones above."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

# Events a subscription may ask for, with what they mean to a person (docs/notifications.md).
SUBSCRIBABLE_EVENTS: Final = {
    AlertEventType.OPENED.value: "an alert opened on the goal (a milestone late is a `plan` alert)",
    AlertEventType.UPDATED.value: "an alert escalated (its severity changed)",
    AlertEventType.ACKNOWLEDGED.value: "someone acknowledged an alert",
    AlertEventType.RESOLVED.value: "an alert resolved",
    GOAL_STATUS_CHANGED: "the goal's status changed",
    CHECK_IN_DUE: "the goal's check-in is due or overdue (reminders)",
    REVIEW_EVENT_TYPE: "a review was created whose scope covers the goal (or, with no scope"
    " goal, the whole organisation: only unit subscriptions of a root unit hear of it)",
}
# Events without a severity of their own: a subscription that names them gets them
# whatever its `min_severity` (which is about alerts and statuses).
UNRANKED_EVENTS: Final = frozenset({REVIEW_EVENT_TYPE})
# What a subscription gets when it names no events: the alerts that need a person.
DEFAULT_EVENTS: Final = (
    AlertEventType.OPENED.value,
    AlertEventType.UPDATED.value,
    AlertEventType.RESOLVED.value,
)

# Goal statuses as severities, for `goal.status_changed` (SPEC §6 maps alerts the same way).
_STATUS_SEVERITY: Final[dict[str, Severity]] = {
    GoalStatus.OFF_TRACK: Severity.CRITICAL,
    GoalStatus.MISSED: Severity.CRITICAL,
    GoalStatus.AT_RISK: Severity.WARNING,
}


def severity_of(event_type: str, data: Mapping[str, Any]) -> Severity:
    """How urgent one event is: an alert's own severity, a goal's new status mapped as
    alerts map it (`at_risk` warning, `off_track`/`missed` critical, else info)."""
    if event_type.startswith("alert."):
        try:
            return Severity(str(data.get("severity")))
        except ValueError:
            return Severity.WARNING
    if event_type == GOAL_STATUS_CHANGED:
        return _STATUS_SEVERITY.get(str(data.get("to")), Severity.INFO)
    if event_type == CHECK_IN_DUE:
        return Severity.WARNING
    return Severity.INFO


def goal_of(data: Mapping[str, Any]) -> str | None:
    """The goal an event is about (every outbox event carries `goal_id`)."""
    goal = data.get("goal_id")
    return str(goal) if goal is not None else None
