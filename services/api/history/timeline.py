"""The goal's timeline (`GET /v1/goals/{id}/history`): one source per kind of entry, in
`HISTORY_SOURCES`; the SQL of the alert and review sources lives in those features'
repositories.

A feature of its own because it reads goals, alerts and reviews: inside `goals/` it made
goals and reviews import each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from northstar.domain.alerts import AlertEventType, AlertKind, AlertSeverity, AlertState
from northstar.domain.goals import GoalStatus
from northstar.http.problems import invalid_field
from services.api.alerts.repository import AlertRepository
from services.api.goals.repository import GoalRepository
from services.api.goals.schemas import GoalStatusOut
from services.api.goals.service import not_found
from services.api.history.schemas import (
    AlertEntry,
    CheckInEntry,
    GoalHistory,
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


async def goal_history(
    repository: GoalRepository,
    goal_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> GoalHistory:
    """Every entry of the goal's timeline within `[start, end]`, oldest first."""
    row = await repository.get_row(goal_id)
    if row is None:
        raise not_found(goal_id)
    goal = row.goal
    # Default: from the earlier of start and creation (a goal created ahead of its
    # period has not_started evaluations before its start).
    if start is None:
        start = min(goal.start, goal.created_at) if goal.start else goal.created_at
    end = end or now
    if start > end:
        raise invalid_field("from", "must not be after 'to'")
    entries: list[tuple[datetime, int, HistoryEntry]] = []
    for rank, source in enumerate(HISTORY_SOURCES):
        entries += [(e.time, rank, e) for e in await source(repository, goal_id, start, end)]
    entries.sort(key=lambda item: (item[0], item[1]))
    return GoalHistory(goal_id=goal_id, items=[e for _, _, e in entries])
