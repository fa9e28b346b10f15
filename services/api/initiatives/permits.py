"""What plan routes act on, for the policy (`services.api.access.Permit`): the goal or
initiative a request names, as the units it sits in (its unit and every unit above) and
its owner. A unit `lead` there may create and delete initiatives (`goals:write`); a unit
`member`, or the owner, may check in and update initiatives (`goals:contribute`).

A name that does not exist resolves to the organisation as a whole, so the route answers
its own 404 or 422 to those who may act organisation-wide, and 403 to the others.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import ORGANISATION, Action, Resource
from northstar.db.models import Goal, Initiative, OrgUnit
from services.api.access import Actor, Permit


async def _units(session: AsyncSession, unit_id: uuid.UUID | None) -> frozenset[uuid.UUID]:
    if unit_id is None:
        return frozenset()
    up = select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == unit_id).cte(recursive=True)
    up = up.union(select(OrgUnit.id, OrgUnit.parent_id).join(up, OrgUnit.id == up.c.parent_id))
    return frozenset((await session.scalars(select(up.c.id))).all())


async def goal_resource(session: AsyncSession, goal_id: uuid.UUID) -> Resource:
    row = (
        await session.execute(select(Goal.unit_id, Goal.owner_id).where(Goal.id == goal_id))
    ).first()
    if row is None:
        return ORGANISATION
    return Resource(units=await _units(session, row.unit_id), owner_id=row.owner_id)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def goal_in_path(request: Request, session: AsyncSession) -> Resource:
    goal_id = _uuid(request.path_params.get("goal_id"))
    return await goal_resource(session, goal_id) if goal_id else ORGANISATION


async def goal_in_body(request: Request, session: AsyncSession) -> Resource:
    """The goal a new initiative is for (`goal_id` of the JSON body)."""
    try:
        body = await request.json()
    except ValueError:
        return ORGANISATION
    goal_id = _uuid(body.get("goal_id")) if isinstance(body, dict) else None
    return await goal_resource(session, goal_id) if goal_id else ORGANISATION


async def initiative_in_path(request: Request, session: AsyncSession) -> Resource:
    """The initiative's goal's units, and the initiative's owner (else the goal's)."""
    initiative_id = _uuid(request.path_params.get("initiative_id"))
    if initiative_id is None:
        return ORGANISATION
    row = (
        await session.execute(
            select(Initiative.goal_id, Initiative.owner_id).where(Initiative.id == initiative_id)
        )
    ).first()
    if row is None:
        return ORGANISATION
    goal = await goal_resource(session, row.goal_id)
    return Resource(units=goal.units, owner_id=row.owner_id or goal.owner_id)


PlanOnGoal = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, goal_in_body))]
"""Create an initiative: the goal's unit lead (or editor, admin)."""
InitiativeContributor = Annotated[
    Actor, Depends(Permit(Action.GOALS_CONTRIBUTE, initiative_in_path))
]
"""Update an initiative: a member of its goal's unit, its owner (or the goal's), a lead."""
InitiativeLead = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, initiative_in_path))]
"""Delete an initiative: the goal's unit lead (or editor, admin)."""
CheckInContributor = Annotated[Actor, Depends(Permit(Action.GOALS_CONTRIBUTE, goal_in_path))]
"""Check in on a goal: a member of its unit, its owner, a lead (or editor, admin)."""
