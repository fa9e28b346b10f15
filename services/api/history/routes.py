"""`GET /v1/goals/{id}/history`: the goal's timeline, for anyone who may read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.api.dependencies import Reader, Session
from services.api.goals.repository import GoalRepository
from services.api.history import timeline
from services.api.history.schemas import GoalHistory
from services.api.judging import utcnow

router = APIRouter(prefix="/v1/goals", tags=["goals"])


@router.get(
    "/{goal_id}/history",
    response_model=GoalHistory,
    summary="A goal's timeline",
    description="Evaluations (`type: status`) and revisions (`type: revision`) in one "
    "timeline, oldest first, within `[from, to]`.",
)
async def goal_history(
    goal_id: uuid.UUID,
    session: Session,
    _: Reader,
    start: Annotated[
        AwareDatetime | None,
        Query(
            alias="from",
            description="RFC 3339 with offset; default the goal's start or creation, "
            "whichever is earlier.",
        ),
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="RFC 3339 with offset; default now.")
    ] = None,
) -> GoalHistory:
    return await timeline.goal_history(GoalRepository(session), goal_id, start, end, utcnow())
