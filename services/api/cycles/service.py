"""Cycle rules, and carry-forward: copy chosen goal subtrees of one cycle into another.

Carry-forward only inserts: the old cycle's goals, initiatives and history stay as they
were. Each copy links to its origin (`carried_from`). Dates move with the cycles: a date
equal to the old cycle's start or due becomes the new cycle's; any other date moves by the
distance between the two cycles' starts. Open initiatives (not done or cancelled) are
copied with their open milestones; their budget carries what was left (budget − spent)
and starts unspent, so a currency's total over both cycles is still the one budget.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from northstar.db.models import Cycle, Goal, Initiative, Milestone
from northstar.http.problems import Problem, invalid_field
from services.api.cycles.repository import CycleRepository
from services.api.cycles.schemas import (
    Carried,
    CarryForward,
    CarryForwardOut,
    CycleCreate,
    CycleOut,
    CycleUpdate,
)
from services.api.initiatives.repository import InitiativeRepository
from services.api.judging import evaluate_goals

# Goal columns copied as they are (dates, target, parent, cycle and link are set apart).
_COPIED = (
    "title",
    "description",
    "owner",
    "owner_id",
    "unit_id",
    "kpi_key",
    "type",
    "baseline",
    "pacing",
    "at_risk",
    "off_track",
    "weight",
    "window",
    "rollup",
    "alert_clear_margin",
    "perspective",
    "check_in_cadence",
)


def _taken(name: str) -> Problem:
    return Problem(409, f"A cycle named '{name}' exists already; choose another name.")


def not_found(cycle_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no cycle with id {cycle_id}.")


def cycle_out(cycle: Cycle) -> CycleOut:
    return CycleOut(
        id=cycle.id,
        name=cycle.name,
        start=cycle.start,
        due=cycle.due,
        created_at=cycle.created_at,
        updated_at=cycle.updated_at,
    )


class _Shift:
    """Moves dates of one cycle into another (see the module docstring)."""

    def __init__(self, source: Cycle, target: Cycle) -> None:
        self.source, self.target = source, target
        self.offset: timedelta = target.start - source.start

    def __call__(self, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        if moment == self.source.start:
            return self.target.start
        if moment == self.source.due:
            return self.target.due
        return moment + self.offset


class CycleService:
    def __init__(self, repository: CycleRepository) -> None:
        self.repository = repository

    async def get(self, cycle_id: uuid.UUID) -> Cycle:
        cycle = await self.repository.get(cycle_id)
        if cycle is None:
            raise not_found(cycle_id)
        return cycle

    @staticmethod
    def _check(start: datetime, due: datetime) -> None:
        if due <= start:
            raise invalid_field(
                "due", f"due ({due.isoformat()}) must be after start ({start.isoformat()})"
            )

    async def create(self, body: CycleCreate) -> Cycle:
        self._check(body.start, body.due)
        try:
            return await self.repository.add(Cycle(name=body.name, start=body.start, due=body.due))
        except IntegrityError:  # the name's unique constraint: the checks ran above
            raise _taken(body.name) from None

    async def update(self, cycle_id: uuid.UUID, body: CycleUpdate, now: datetime) -> Cycle:
        cycle = await self.get(cycle_id)
        changes = body.model_dump(exclude_unset=True)
        for field, value in changes.items():
            if value is None:
                raise invalid_field(field, "cannot be null")
            setattr(cycle, field, value)
        self._check(cycle.start, cycle.due)
        cycle.updated_at = now
        # Read before the flush: a failed flush expires the object, and reading an expired
        # attribute would load it again on a connection that is gone (a 500, not a 409).
        name = cycle.name
        try:
            await self.repository.session.flush()
        except IntegrityError:
            raise _taken(name) from None
        return cycle

    async def delete(self, cycle_id: uuid.UUID) -> None:
        cycle = await self.get(cycle_id)
        goals = await self.repository.goal_count(cycle_id)
        if goals:
            raise Problem(
                409,
                f"Cycle {cycle_id} holds {goals} goal{'s' if goals != 1 else ''}; move or "
                "delete them first.",
                goals=goals,
            )
        await self.repository.delete(cycle)

    async def carry_forward(
        self, cycle_id: uuid.UUID, body: CarryForward, now: datetime
    ) -> CarryForwardOut:
        source = await self.get(cycle_id)
        if body.into_cycle_id == cycle_id:
            raise invalid_field("into_cycle_id", "must be another cycle than the one carried from")
        target = await self.repository.get(body.into_cycle_id)
        if target is None:
            raise invalid_field("into_cycle_id", f"there is no cycle with id {body.into_cycle_id}")
        roots = {g.id: g for g in await self.repository.goals(body.goal_ids)}
        for position, goal_id in enumerate(body.goal_ids):
            root = roots.get(goal_id)
            if root is None:
                raise invalid_field(f"goal_ids.{position}", f"there is no goal with id {goal_id}")
            if root.cycle_id != cycle_id:
                raise invalid_field(
                    f"goal_ids.{position}", f"goal {goal_id} does not belong to this cycle"
                )

        shift = _Shift(source, target)
        copies: dict[uuid.UUID, Goal] = {}  # origin id → copy
        for goal_id in dict.fromkeys(body.goal_ids):
            if goal_id in copies:
                continue  # below a root carried already
            for goal in await self.repository.subtree(goal_id):
                if goal.id not in copies:
                    copies[goal.id] = self._copy(goal, copies, shift, target, body.target_factor)
        new_goals = list(copies.values())
        self.repository.add_all(new_goals)
        await self.repository.session.flush()

        initiatives = await self._carry_initiatives(list(copies), copies, shift)
        plans = InitiativeRepository(self.repository.session)
        for goal_id in {i.goal_id for i in initiatives}:
            await plans.refresh_plan_summary(goal_id)
        await evaluate_goals(self.repository.session, [g.id for g in new_goals], now)
        return CarryForwardOut(
            goals=[Carried(id=g.id, carried_from=origin) for origin, g in copies.items()],
            initiatives=[
                Carried(id=i.id, carried_from=i.carried_from)
                for i in initiatives
                if i.carried_from is not None
            ],
        )

    @staticmethod
    def _copy(
        goal: Goal,
        copies: dict[uuid.UUID, Goal],
        shift: _Shift,
        target: Cycle,
        factor: float | None,
    ) -> Goal:
        parent = goal.parent_id
        if parent is not None and parent in copies:
            parent = copies[parent].id
        elif parent is not None:
            parent = None  # the root's parent stays in the old cycle
        copy = Goal(id=uuid.uuid4(), **{c: getattr(goal, c) for c in _COPIED})
        copy.parent_id = parent
        copy.cycle_id = target.id
        copy.carried_from = goal.id
        copy.start = shift(goal.start)
        copy.due = shift(goal.due)
        copy.target = goal.target * factor if factor and goal.target is not None else goal.target
        return copy

    async def _carry_initiatives(
        self, origins: Sequence[uuid.UUID], copies: dict[uuid.UUID, Goal], shift: _Shift
    ) -> list[Initiative]:
        found = await self.repository.open_initiatives(origins)
        if not found:
            return []
        made: dict[uuid.UUID, Initiative] = {}
        for old in found:
            budget = old.budget_amount
            if budget is not None:
                budget = max(Decimal(0), budget - old.spent)
            made[old.id] = Initiative(
                id=uuid.uuid4(),
                goal_id=copies[old.goal_id].id,
                title=old.title,
                description=old.description,
                owner_id=old.owner_id,
                unit_id=old.unit_id,
                status=old.status,
                start=shift(old.start),
                due=shift(old.due),
                budget_amount=budget,
                budget_currency=old.budget_currency,
                spent=Decimal(0),
                carried_from=old.id,
            )
        self.repository.add_all(list(made.values()))
        await self.repository.session.flush()
        milestones = await self.repository.open_milestones(list(made))
        self.repository.add_all(
            [
                Milestone(
                    id=uuid.uuid4(),
                    initiative_id=made[m.initiative_id].id,
                    position=m.position,
                    title=m.title,
                    due=shift(m.due),
                    done_at=None,
                )
                for m in milestones
            ]
        )
        await self.repository.session.flush()
        return list(made.values())
