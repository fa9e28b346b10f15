"""Outbox: the machine path. Writing side effects to the transactional outbox.

"Outbox" names what programs receive (Kafka's `northstar.alerts`, the events topic,
webhooks); messages to people are `northstar.notify`.

A state change and the events it causes are written in one transaction: either both
commit or neither does. Publishing to Kafka and to webhooks happens later, from the
evaluator's relay (`services/evaluator/outbox/relay.py`), only for committed
rows. So an alert is never announced for a change that rolled back, and never lost after
one committed.

The relay delivers at least once: consumers of `northstar.alerts` and webhook receivers
dedupe on the envelope's `id` (the `event_id` returned here).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.models import OutboxEvent
from northstar.domain.alerts import AlertEventType

ALERT_EVENT_TYPES: Final = tuple(t.value for t in AlertEventType)
GOAL_STATUS_CHANGED: Final = "goal.status_changed"
GOAL_EVENT_TYPES: Final = (GOAL_STATUS_CHANGED,)
REVIEW_EVENT_TYPE: Final = "review.created"
"""Written by the api when a review is created: `data` is `{review_id, title, held_at,
scope_goal_id (null: the whole organisation), summary: {goals, by_status}}`. Not sent
to Kafka; offered to webhooks and to notification subscriptions."""
# Every type a webhook may subscribe to, in the order the docs list them.
EVENT_TYPES: Final = (*ALERT_EVENT_TYPES, *GOAL_EVENT_TYPES, REVIEW_EVENT_TYPE)
METRIC_EVENT_TYPE: Final = "metric.recorded"
"""A metric event written by the api (a check-in's value on a manual KPI): the relay sends
it to the events topic, where it is stored and evaluated like any pushed event. Its `data`
is the event object (`event_id`, `source`, `metric`, `value`, `timestamp`, `dimensions`).
It is not offered to webhooks."""
_WRITABLE_TYPES: Final = frozenset((*EVENT_TYPES, METRIC_EVENT_TYPE))


class UnknownEventType(ValueError):
    def __init__(self, event_type: str) -> None:
        super().__init__(
            f"unknown outbox event type {event_type!r}; one of {', '.join(EVENT_TYPES)}"
        )


async def add_event(
    conn: AsyncConnection,
    *,
    type: str,  # the envelope field's name, as the contract spells it
    key: str,
    data: Mapping[str, Any],
    occurred_at: datetime,
) -> uuid.UUID:
    """Insert one outbox row in the caller's transaction and return its `event_id`.

    `key` is the goal id (the Kafka message key, so one goal's events stay in order on
    one partition). `data` must be JSON-serialisable (datetimes and UUIDs are fine: they
    are stored through JSONB as strings). The caller commits; nothing is sent before.
    """
    if type not in _WRITABLE_TYPES:
        raise UnknownEventType(type)
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    event_id = uuid.uuid4()
    await conn.execute(
        insert(OutboxEvent).values(
            event_id=event_id,
            type=type,
            key=key,
            data=_jsonable(data),
            occurred_at=occurred_at,
        )
    )
    return event_id


def _jsonable(value: Any) -> Any:
    """Datetimes → RFC 3339, UUIDs → strings, NaN/±Infinity → null, so the JSONB column
    accepts any alert dict (JSON has no non-finite numbers: one would fail the caller's
    whole transaction)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
