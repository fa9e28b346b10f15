"""Review rules: the scope goal and decision goals exist, the period is ordered, a
target_change names its goal, and creating a review freezes the status object of every
goal in scope (read in one statement, so the snapshot is consistent) into `snapshot`,
with a `review_goals` row per goal so each goal's history can list the review."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from northstar.db.models import CheckIn, Review, ReviewDecision
from northstar.http.problems import Problem, invalid_field
from northstar.outbox import REVIEW_EVENT_TYPE, add_event
from services.api.check_ins.service import check_in_out
from services.api.goals.shapes import status_out
from services.api.reviews.repository import ReviewRepository
from services.api.reviews.schemas import (
    DecisionCreate,
    DecisionKind,
    DecisionOut,
    DecisionUpdate,
    ReviewCreate,
    ReviewOut,
    SnapshotStatus,
)


def _changed_meanwhile(what: str) -> Problem:
    return Problem(409, f"{what} was deleted meanwhile; try again.")


def not_found(review_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no review with id {review_id}.")


def decision_out(decision: ReviewDecision) -> DecisionOut:
    return DecisionOut(
        id=decision.id,
        kind=DecisionKind(decision.kind),
        text=decision.text,
        owner=decision.owner,
        due=decision.due,
        goal_id=decision.goal_id,
        done=decision.done,
        created_at=decision.created_at,
        updated_at=decision.updated_at,
    )


def review_out(review: Review, decisions: Sequence[ReviewDecision]) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        title=review.title,
        held_at=review.held_at,
        period_start=review.period_start,
        period_end=review.period_end,
        scope_goal_id=review.scope_goal_id,
        participants=review.participants,
        notes=review.notes,
        snapshot=[SnapshotStatus.model_validate(s) for s in review.snapshot],
        decisions=[decision_out(d) for d in decisions],
        created_at=review.created_at,
        created_by=review.created_by,
    )


class ReviewService:
    def __init__(self, repository: ReviewRepository) -> None:
        self.repository = repository

    async def _review(self, review_id: uuid.UUID) -> Review:
        review = await self.repository.get(review_id)
        if review is None:
            raise not_found(review_id)
        return review

    async def get(self, review_id: uuid.UUID) -> ReviewOut:
        review = await self._review(review_id)
        decisions = await self.repository.decisions([review.id])
        return review_out(review, decisions[review.id])

    async def page(
        self, limit: int, before: tuple[datetime, uuid.UUID] | None, goal_id: uuid.UUID | None
    ) -> list[ReviewOut]:
        reviews = await self.repository.page(limit, before, goal_id)
        decisions = await self.repository.decisions([r.id for r in reviews])
        return [review_out(r, decisions[r.id]) for r in reviews]

    async def create(self, body: ReviewCreate, created_by: str, now: datetime) -> ReviewOut:
        if body.scope_goal_id is not None and not await self.repository.goal_exists(
            body.scope_goal_id
        ):
            raise invalid_field("scope_goal_id", f"there is no goal with id {body.scope_goal_id}")
        if (
            body.period_start is not None
            and body.period_end is not None
            and body.period_end < body.period_start
        ):
            raise invalid_field("period_end", "is before period_start")
        rows = await self.repository.scope(body.scope_goal_id)
        latest = await self.repository.latest_check_ins([row.Goal.id for row in rows])
        snapshot = [_frozen(row, latest.get(row.Goal.id)) for row in rows]
        review = Review(
            title=body.title,
            held_at=body.held_at or now,
            period_start=body.period_start,
            period_end=body.period_end,
            scope_goal_id=body.scope_goal_id,
            participants=list(body.participants),
            notes=body.notes,
            snapshot=snapshot,
            created_by=created_by,
        )
        try:
            review = await self.repository.add(review, [row.Goal.id for row in rows])
        except IntegrityError:
            # A goal in scope was deleted between the read and the write.
            raise _changed_meanwhile("A goal in the review's scope") from None
        # In the review's transaction: announced exactly when the review commits.
        await add_event(
            await self.repository.session.connection(),
            type=REVIEW_EVENT_TYPE,
            key=f"review/{review.id}",
            occurred_at=now,
            data={
                "review_id": review.id,
                "title": review.title,
                "held_at": review.held_at,
                "scope_goal_id": review.scope_goal_id,
                "summary": review_summary(snapshot),
            },
        )
        return review_out(review, [])

    async def add_decision(self, review_id: uuid.UUID, body: DecisionCreate) -> DecisionOut:
        await self._review(review_id)
        if body.goal_id is not None and not await self.repository.goal_exists(body.goal_id):
            raise invalid_field("goal_id", f"there is no goal with id {body.goal_id}")
        if body.kind is DecisionKind.TARGET_CHANGE and body.goal_id is None:
            raise invalid_field(
                "goal_id", "a target_change must name the goal whose target changes"
            )
        decision = ReviewDecision(
            review_id=review_id,
            kind=body.kind.value,
            text=body.text,
            owner=body.owner,
            due=body.due,
            goal_id=body.goal_id,
            done=body.done,
        )
        try:
            decision = await self.repository.add_decision(decision)
        except IntegrityError:
            raise _changed_meanwhile("The decision's review or goal") from None
        return decision_out(decision)

    async def update_decision(
        self, review_id: uuid.UUID, decision_id: uuid.UUID, body: DecisionUpdate, now: datetime
    ) -> DecisionOut:
        await self._review(review_id)
        decision = await self.repository.get_decision(review_id, decision_id)
        if decision is None:
            raise Problem(404, f"Review {review_id} has no decision with id {decision_id}.")
        changes = body.model_dump(exclude_unset=True)
        for field in ("done", "text"):
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        for field, value in changes.items():
            setattr(decision, field, value)
        decision.updated_at = now
        await self.repository.session.flush()
        return decision_out(decision)


def review_summary(snapshot: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What a notification says of a review's snapshot: how many goals, and how many in
    each status (goals never judged count as `no_data`)."""
    by_status: dict[str, int] = {}
    for goal in snapshot:
        status = str(goal.get("status") or "no_data")
        by_status[status] = by_status.get(status, 0) + 1
    return {"goals": len(snapshot), "by_status": dict(sorted(by_status.items()))}


def _frozen(row: Any, latest_check_in: CheckIn | None) -> dict[str, Any]:
    """A goal's status object with its title, parent and latest check-in, as plain JSON."""
    goal = row.Goal
    state = row if row.status is not None else None
    status = status_out(goal, state)
    return SnapshotStatus(
        **status.model_dump(),
        title=goal.title,
        parent_id=goal.parent_id,
        latest_check_in=check_in_out(latest_check_in) if latest_check_in else None,
    ).model_dump(mode="json")
