"""SQL for initiatives and their milestones, and the goal's plan summary they feed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Goal, Initiative, Milestone, OrgUnit, User
from northstar.domain.plans import (
    InitiativeFacts,
    InitiativeStatus,
    MilestoneFacts,
    plan_summary,
)


@dataclass(frozen=True, slots=True)
class InitiativeFilters:
    goal_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    status: str | None = None


def facts(initiative: Initiative, milestones: Sequence[Milestone]) -> InitiativeFacts:
    return InitiativeFacts(
        status=InitiativeStatus(initiative.status),
        due=initiative.due,
        milestones=[MilestoneFacts(m.due, m.done_at) for m in milestones],
        budget_amount=initiative.budget_amount,
        budget_currency=initiative.budget_currency,
        spent=initiative.spent,
    )


class InitiativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, initiative_id: uuid.UUID) -> Initiative | None:
        return await self.session.get(Initiative, initiative_id)

    async def add(self, initiative: Initiative) -> Initiative:
        self.session.add(initiative)
        await self.session.flush()
        await self.session.refresh(initiative)
        return initiative

    async def delete(self, initiative: Initiative) -> None:
        await self.session.delete(initiative)
        await self.session.flush()

    async def page(
        self, limit: int, after: tuple[datetime, uuid.UUID] | None, filters: InitiativeFilters
    ) -> list[Initiative]:
        query = select(Initiative).order_by(Initiative.created_at, Initiative.id).limit(limit)
        if filters.goal_id is not None:
            query = query.where(Initiative.goal_id == filters.goal_id)
        if filters.unit_id is not None:
            query = query.where(Initiative.unit_id == filters.unit_id)
        if filters.owner_id is not None:
            query = query.where(Initiative.owner_id == filters.owner_id)
        if filters.status is not None:
            query = query.where(Initiative.status == filters.status)
        if after is not None:
            query = query.where(tuple_(Initiative.created_at, Initiative.id) > after)
        return list((await self.session.scalars(query)).all())

    async def of_goals(self, goal_ids: Sequence[uuid.UUID]) -> list[Initiative]:
        query = (
            select(Initiative)
            .where(Initiative.goal_id.in_(goal_ids))
            .order_by(Initiative.created_at, Initiative.id)
        )
        return list((await self.session.scalars(query)).all())

    async def milestones(
        self, initiative_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Milestone]]:
        """Each initiative's milestones in order (an empty list for one without)."""
        found: dict[uuid.UUID, list[Milestone]] = {i: [] for i in initiative_ids}
        if not initiative_ids:
            return found
        query = (
            select(Milestone)
            .where(Milestone.initiative_id.in_(initiative_ids))
            .order_by(Milestone.initiative_id, Milestone.position)
        )
        for milestone in (await self.session.scalars(query)).all():
            found[milestone.initiative_id].append(milestone)
        return found

    async def replace_milestones(
        self,
        initiative_id: uuid.UUID,
        milestones: Sequence[Milestone],
        replaced: Sequence[Milestone] = (),
    ) -> None:
        """Write the initiative's milestone list anew. `replaced` (the old list, as loaded)
        leaves the session first: a kept milestone is written again under its own id."""
        for old in replaced:
            self.session.expunge(old)
        await self.session.execute(
            delete(Milestone)
            .where(Milestone.initiative_id == initiative_id)
            .execution_options(synchronize_session=False)
        )
        self.session.add_all(milestones)
        await self.session.flush()

    async def goal_unit(self, goal_id: uuid.UUID) -> tuple[bool, uuid.UUID | None]:
        """Whether the goal exists, and its unit."""
        row = (await self.session.execute(select(Goal.unit_id).where(Goal.id == goal_id))).first()
        return (row is not None, row[0] if row is not None else None)

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        return await self.session.scalar(select(literal(1)).where(User.id == user_id)) is not None

    async def unit_exists(self, unit_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(literal(1)).where(OrgUnit.id == unit_id))
        return found is not None

    async def refresh_plan_summary(self, goal_id: uuid.UUID) -> None:
        """Recompute the goal's `plan_summary` from its initiatives, under the goal row's
        lock so two initiative writes of one goal cannot both write a stale summary."""
        await self.session.flush()
        await self.session.execute(select(Goal.id).where(Goal.id == goal_id).with_for_update())
        initiatives = await self.of_goals([goal_id])
        steps = await self.milestones([i.id for i in initiatives])
        summary = plan_summary(facts(i, steps[i.id]) for i in initiatives) if initiatives else None
        await self.session.execute(
            update(Goal)
            .where(Goal.id == goal_id)
            .values(plan_summary=summary)
            .execution_options(synchronize_session=False)
        )
