"""The goal's timeline (`GET /v1/goals/{id}/history`): one source per kind of entry, in
`HISTORY_SOURCES`; the SQL of the alert and review sources lives in those features'
repositories.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from northstar.domain.alerts import AlertEventType, AlertKind, AlertSeverity, AlertState
from northstar.domain.goals import GoalStatus
from services.api.alerts.repository import AlertRepository
from services.api.goals.repository import GoalRepository
from services.api.goals.schemas import (
    AlertEntry,
    CheckInEntry,
    GoalStatusOut,
    HistoryEntry,
    ReviewEntry,
    RevisionEntry,
    StatusEntry,
)
from services.api.reviews.repository import ReviewRepository

HistorySource = Callable[
    [GoalRepository, uuid.UUID, datetime, datetime], Awaitable[list[HistoryEntry]]
]


async def status_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        StatusEntry(
            time=r.time,
            type="status",
            status=GoalStatus(r.status),
            actual=r.actual,
            expected=r.expected,
            score=r.score,
        )
        for r in await repository.status_history(goal_id, start, end)
    ]


async def revision_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        RevisionEntry(
            time=r.GoalRevision.changed_at,
            type="revision",
            changed_by=r.GoalRevision.changed_by,
            changes=r.GoalRevision.changes,
            reason=r.GoalRevision.reason,
            review_id=r.GoalRevision.review_id,
            review_title=r.review_title,
        )
        for r in await repository.revisions(goal_id, start, end)
    ]


async def alert_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        AlertEntry(
            time=r.occurred_at,
            type="alert",
            event=AlertEventType(r.type),
            alert_id=r.alert_id,
            kind=AlertKind(r.kind),
            severity=AlertSeverity(r.severity),
            state=AlertState(r.state),
            actor=r.actor,
            note=r.note,
        )
        for r in await AlertRepository(repository.session).goal_events(goal_id, start, end)
    ]


async def review_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        ReviewEntry(
            time=r.held_at,
            type="review",
            review_id=r.id,
            title=r.title,
            status=GoalStatusOut.model_validate(r.status),
        )
        for r in await ReviewRepository(repository.session).goal_snapshots(goal_id, start, end)
    ]


async def check_in_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        CheckInEntry(
            time=r.at,
            type="check_in",
            check_in_id=r.id,
            author=r.author,
            comment=r.comment,
            confidence=r.confidence,
            blockers=r.blockers,
            value=r.value,
        )
        for r in await repository.check_ins(goal_id, start, end)
    ]


HISTORY_SOURCES: tuple[HistorySource, ...] = (
    check_in_entries,
    revision_entries,
    status_entries,
    alert_entries,
    review_entries,
)
"""Sources of the goal timeline, in tie-break order: at one instant a check-in comes
first (its value may cause what follows), a revision before the evaluation it caused, the
evaluation before the alert changes it caused, and a review (which freezes the statuses)
last."""
