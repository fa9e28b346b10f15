"""SQL for reviews, the goals their snapshots hold, and their decisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import cast, exists, func, insert, literal, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import CheckIn, Goal, GoalState, Review, ReviewDecision, ReviewGoal
from services.api.goals.repository import STATE_COLUMNS

_GOAL_IN_SNAPSHOT = cast(literal("$[*] ? (@.goal_id == $id)"), JSONPATH)


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def goal_exists(self, goal_id: uuid.UUID) -> bool:
        return await self.session.scalar(select(literal(1)).where(Goal.id == goal_id)) is not None

    async def scope(self, root: uuid.UUID | None) -> Sequence[Any]:
        """Every goal under `root` (itself included), or every goal, each with its
        `goal_state` columns (null if never judged), oldest first.

        One statement, so the statuses are one consistent snapshot: no evaluation
        committing meanwhile can show half its goals before and half after."""
        query = select(Goal, *STATE_COLUMNS).outerjoin(GoalState, GoalState.goal_id == Goal.id)
        if root is not None:
            down = select(Goal.id).where(Goal.id == root).cte("subtree", recursive=True)
            down = down.union(select(Goal.id).join(down, Goal.parent_id == down.c.id))
            query = query.join(down, Goal.id == down.c.id)
        return (await self.session.execute(query.order_by(Goal.created_at, Goal.id))).all()

    async def latest_check_ins(self, goal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CheckIn]:
        """Each goal's latest check-in (goals without one are left out)."""
        if not goal_ids:
            return {}
        query = (
            select(CheckIn)
            .where(CheckIn.goal_id.in_(goal_ids))
            .ext(distinct_on(CheckIn.goal_id))
            .order_by(CheckIn.goal_id, CheckIn.at.desc(), CheckIn.id.desc())
        )
        return {c.goal_id: c for c in (await self.session.scalars(query)).all()}

    async def add(self, review: Review, goal_ids: Sequence[uuid.UUID]) -> Review:
        self.session.add(review)
        await self.session.flush()
        if goal_ids:
            await self.session.execute(
                insert(ReviewGoal), [{"review_id": review.id, "goal_id": g} for g in goal_ids]
            )
        await self.session.refresh(review)
        return review

    async def get(self, review_id: uuid.UUID) -> Review | None:
        return await self.session.get(Review, review_id)

    async def page(
        self, limit: int, before: tuple[datetime, uuid.UUID] | None, goal_id: uuid.UUID | None
    ) -> list[Review]:
        query = select(Review).order_by(Review.held_at.desc(), Review.id.desc()).limit(limit)
        if goal_id is not None:
            query = query.where(
                exists().where(ReviewGoal.review_id == Review.id, ReviewGoal.goal_id == goal_id)
            )
        if before is not None:
            query = query.where(tuple_(Review.held_at, Review.id) < before)
        return list((await self.session.scalars(query)).all())

    async def decisions(
        self, review_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[ReviewDecision]]:
        """The decisions of these reviews, oldest first, in one query."""
        found: dict[uuid.UUID, list[ReviewDecision]] = {r: [] for r in review_ids}
        if not review_ids:
            return found
        query = (
            select(ReviewDecision)
            .where(ReviewDecision.review_id.in_(review_ids))
            .order_by(ReviewDecision.created_at, ReviewDecision.id)
        )
        for decision in (await self.session.scalars(query)).all():
            found[decision.review_id].append(decision)
        return found

    async def add_decision(self, decision: ReviewDecision) -> ReviewDecision:
        self.session.add(decision)
        await self.session.flush()
        await self.session.refresh(decision)
        return decision

    async def get_decision(
        self, review_id: uuid.UUID, decision_id: uuid.UUID
    ) -> ReviewDecision | None:
        return await self.session.scalar(
            select(ReviewDecision).where(
                ReviewDecision.id == decision_id, ReviewDecision.review_id == review_id
            )
        )

    async def goal_snapshots(
        self, goal_id: uuid.UUID, start: datetime, end: datetime
    ) -> Sequence[Any]:
        """Reviews held in `[start, end]` whose snapshot holds the goal: `id, title,
        held_at` and `status` (the goal's element of the snapshot), oldest first."""
        status = func.jsonb_path_query_first(
            Review.snapshot,
            _GOAL_IN_SNAPSHOT,
            literal({"id": str(goal_id)}, JSONB),
            type_=JSONB,
        ).label("status")
        query = (
            select(Review.id, Review.title, Review.held_at, status)
            .join(ReviewGoal, ReviewGoal.review_id == Review.id)
            .where(ReviewGoal.goal_id == goal_id, Review.held_at >= start, Review.held_at <= end)
            .order_by(Review.held_at, Review.id)
        )
        return [r for r in (await self.session.execute(query)).all() if r.status is not None]
