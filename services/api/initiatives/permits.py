"""What plan routes act on, for the policy (`services.api.access.Permit`), built on the
shared resolvers of `services.api.resources`: a new initiative sits where its goal sits;
an initiative sits where its goal does, owned by its own owner (else the goal's). A unit
`lead` there may create and delete initiatives (`goals:write`); a unit `member`, or the
owner, may check in and update initiatives (`goals:contribute`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import Action, Resource
from northstar.db.models import Initiative
from northstar.http.problems import Problem
from services.api.access import Actor, Permit
from services.api.resources import goal_in_path, goal_resource


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def initiative_goal_in_body(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A new initiative: where its goal (`goal_id` of the body) sits; the organisation as
    a whole when the goal does not exist (the route's validation answers the 422)."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    goal_id = _uuid(body.get("goal_id")) if isinstance(body, dict) else None
    found = await goal_resource(session, goal_id) if goal_id is not None else None
    return [found or Resource()]


async def initiative_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    initiative_id = _uuid(request.path_params.get("initiative_id"))
    if initiative_id is None:
        raise Problem(422, "The request is invalid: initiative_id: must be a UUID")
    row = (
        await session.execute(
            select(Initiative.goal_id, Initiative.owner_id).where(Initiative.id == initiative_id)
        )
    ).first()
    if row is None:
        raise Problem(404, f"There is no initiative with id {initiative_id}.")
    goal = await goal_resource(session, row.goal_id) or Resource()
    return [Resource(units=goal.units, owner_id=row.owner_id or goal.owner_id)]


PlanOnGoal = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, initiative_goal_in_body))]
"""Create an initiative: the goal's unit lead (or editor, admin)."""
InitiativeContributor = Annotated[
    Actor, Depends(Permit(Action.GOALS_CONTRIBUTE, initiative_in_path))
]
"""Update an initiative: a member of its goal's unit, its owner (or the goal's), a lead."""
InitiativeLead = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, initiative_in_path))]
"""Delete an initiative: the goal's unit lead (or editor, admin)."""
CheckInContributor = Annotated[Actor, Depends(Permit(Action.GOALS_CONTRIBUTE, goal_in_path))]
"""Check in on a goal: a member of its unit, its owner, a lead (or editor, admin)."""
