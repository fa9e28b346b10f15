"""Initiative rules: the goal and unit exist, the period is ordered, money is spent only
against a budget, milestones keep their identity across edits. Every change refreshes the
goal's plan summary and re-judges the goal in the same transaction, so a `plan` alert
opens (or resolves) with the change that caused it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from northstar.db.models import Initiative, Milestone
from northstar.domain.plans import InitiativeStatus, is_late, progress
from northstar.http.problems import Problem, invalid_field
from services.api.initiatives.repository import InitiativeRepository, facts
from services.api.initiatives.schemas import (
    Budget,
    InitiativeCreate,
    InitiativeOut,
    InitiativeUpdate,
    MilestoneIn,
    MilestoneOut,
)
from services.api.judging import evaluate_goals


def not_found(initiative_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no initiative with id {initiative_id}.")


def initiative_out(
    initiative: Initiative, milestones: Sequence[Milestone], now: datetime
) -> InitiativeOut:
    budget = None
    if initiative.budget_amount is not None and initiative.budget_currency is not None:
        budget = Budget(amount=initiative.budget_amount, currency=initiative.budget_currency)
    return InitiativeOut(
        id=initiative.id,
        goal_id=initiative.goal_id,
        title=initiative.title,
        description=initiative.description,
        owner_id=initiative.owner_id,
        unit_id=initiative.unit_id,
        status=InitiativeStatus(initiative.status),
        start=initiative.start,
        due=initiative.due,
        budget=budget,
        spent=initiative.spent,
        milestones=[
            MilestoneOut(id=m.id, title=m.title, due=m.due, done_at=m.done_at) for m in milestones
        ],
        progress=progress(
            facts(initiative, milestones).milestones, InitiativeStatus(initiative.status)
        ),
        late=is_late(facts(initiative, milestones), now),
        carried_from=initiative.carried_from,
        created_at=initiative.created_at,
        updated_at=initiative.updated_at,
    )


def _milestones(
    initiative_id: uuid.UUID,
    given: Sequence[MilestoneIn],
    existing: Sequence[Milestone],
    now: datetime,
) -> list[Milestone]:
    kept = {m.id: m for m in existing}
    made: list[Milestone] = []
    for position, item in enumerate(given):
        old = kept.get(item.id) if item.id is not None else None
        if item.id is not None and old is None:
            raise invalid_field(
                f"milestones.{position}.id",
                f"the initiative has no milestone with id {item.id}; leave `id` out for a new one",
            )
        done_at = item.done_at
        if done_at is None and "done_at" not in item.model_fields_set and old is not None:
            done_at = old.done_at
        if item.done is True and item.done_at is None:
            done_at = done_at or now
        elif item.done is False:
            done_at = None
        made.append(
            Milestone(
                id=item.id or uuid.uuid4(),
                initiative_id=initiative_id,
                position=position,
                title=item.title,
                due=item.due,
                done_at=done_at,
            )
        )
    return made


class InitiativeService:
    def __init__(self, repository: InitiativeRepository) -> None:
        self.repository = repository

    async def get(self, initiative_id: uuid.UUID) -> tuple[Initiative, list[Milestone]]:
        initiative = await self.repository.get(initiative_id)
        if initiative is None:
            raise not_found(initiative_id)
        steps = await self.repository.milestones([initiative.id])
        return initiative, steps[initiative.id]

    async def _check_references(
        self, unit_id: uuid.UUID | None, owner_id: uuid.UUID | None
    ) -> None:
        if unit_id is not None and not await self.repository.unit_exists(unit_id):
            raise invalid_field("unit_id", f"there is no org unit with id {unit_id}")
        if owner_id is not None and not await self.repository.user_exists(owner_id):
            raise invalid_field("owner_id", f"there is no user with id {owner_id}")

    @staticmethod
    def _check(
        start: datetime | None,
        due: datetime | None,
        budget_amount: Decimal | None,
        spent: Decimal,
    ) -> None:
        if start is not None and due is not None and due < start:
            raise invalid_field(
                "due", f"due ({due.isoformat()}) is before start ({start.isoformat()})"
            )
        if budget_amount is None and spent:
            raise invalid_field("spent", "spending needs a budget (its currency is the budget's)")

    async def create(self, body: InitiativeCreate, now: datetime) -> Initiative:
        exists, goal_unit = await self.repository.goal_unit(body.goal_id)
        if not exists:
            raise invalid_field("goal_id", f"there is no goal with id {body.goal_id}")
        await self._check_references(body.unit_id, body.owner_id)
        self._check(body.start, body.due, body.budget.amount if body.budget else None, body.spent)
        initiative = await self.repository.add(
            Initiative(
                goal_id=body.goal_id,
                title=body.title,
                description=body.description,
                owner_id=body.owner_id,
                unit_id=body.unit_id or goal_unit,
                status=body.status.value,
                start=body.start,
                due=body.due,
                budget_amount=body.budget.amount if body.budget else None,
                budget_currency=body.budget.currency if body.budget else None,
                spent=body.spent,
            )
        )
        await self.repository.replace_milestones(
            initiative.id, _milestones(initiative.id, body.milestones, [], now)
        )
        await self._changed(initiative.goal_id, now)
        return initiative

    async def update(
        self, initiative_id: uuid.UUID, body: InitiativeUpdate, now: datetime
    ) -> Initiative:
        initiative, existing = await self.get(initiative_id)
        changes = body.model_dump(exclude_unset=True)
        for field in ("title", "description", "status", "spent"):
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        await self._check_references(body.unit_id, body.owner_id)
        for field in ("title", "description", "owner_id", "unit_id", "start", "due", "spent"):
            if field in changes:
                setattr(initiative, field, getattr(body, field))
        if body.status is not None:
            initiative.status = body.status.value
        if "budget" in changes:
            initiative.budget_amount = body.budget.amount if body.budget else None
            initiative.budget_currency = body.budget.currency if body.budget else None
        self._check(initiative.start, initiative.due, initiative.budget_amount, initiative.spent)
        if body.milestones is not None:
            await self.repository.replace_milestones(
                initiative.id, _milestones(initiative.id, body.milestones, existing, now), existing
            )
        initiative.updated_at = now
        await self._changed(initiative.goal_id, now)
        return initiative

    async def delete(self, initiative_id: uuid.UUID, now: datetime) -> None:
        initiative, _ = await self.get(initiative_id)
        goal_id = initiative.goal_id
        await self.repository.delete(initiative)
        await self._changed(goal_id, now)

    async def _changed(self, goal_id: uuid.UUID, now: datetime) -> None:
        await self.repository.refresh_plan_summary(goal_id)
        await evaluate_goals(self.repository.session, [goal_id], now)
