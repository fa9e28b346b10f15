"""`/v1/goals`: anyone reads; editors, admins and the leads of the goal's unit subtree
create, change and delete (docs/people.md).

`/tree` and `/scorecard.xlsx` are declared before `/{goal_id}` so they are not taken for
an id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from northstar.auth.policy import Action
from northstar.domain.goals import GoalStatus
from services.api.audit import Audit
from services.api.dependencies import Actor, Permit, Reader, Session
from services.api.goals.nodes import GoalNodes
from services.api.goals.repository import GoalFilters, GoalRepository
from services.api.goals.schemas import (
    GoalCreate,
    GoalOut,
    GoalStatusOut,
    GoalTree,
    GoalUpdate,
)
from services.api.goals.service import GoalService
from services.api.goals.shapes import goal_out
from services.api.goals.workbook import MEDIA_TYPE, ScorecardNames, scorecard_workbook
from services.api.judging import utcnow
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    page_of,
)
from services.api.resources import goal_in_body, goal_in_path, goal_in_path_and_body

router = APIRouter(prefix="/v1/goals", tags=["goals"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

NewGoal = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, goal_in_body))]
ChangedGoal = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, goal_in_path_and_body))]
DeletedGoal = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, goal_in_path))]


def _service(session: Session) -> GoalService:
    return GoalService(GoalRepository(session))


@router.post(
    "",
    status_code=201,
    response_model=GoalOut,
    summary="Create a goal",
    description="The goal is evaluated at once, so the answer carries its real status. An "
    "unknown KPI, unit or parent goal, a due date before the start, or thresholds outside "
    "0 < off_track ≤ at_risk are a 422. Incomplete goals may be saved: `smart` says what "
    "they lack.",
)
async def create_goal(body: GoalCreate, session: Session, _: NewGoal, audit: Audit) -> GoalOut:
    out = goal_out(await _service(session).create(body, utcnow()))
    audit.record("create", "goal", out.id, after=out)
    await session.commit()
    return out


@router.get(
    "",
    response_model=Page[GoalOut],
    summary="List goals",
    description="Oldest first, keyset-paginated; each goal carries its status object.",
)
async def list_goals(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    unit_id: Annotated[uuid.UUID | None, Query(description="Only goals of this unit.")] = None,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="Only the direct children of this goal.")
    ] = None,
    kpi: Annotated[str | None, Query(description="Only goals measured by this KPI.")] = None,
    status: Annotated[
        GoalStatus | None, Query(description="Only goals currently in this status.")
    ] = None,
    cycle_id: Annotated[uuid.UUID | None, Query(description="Only goals of this cycle.")] = None,
    perspective: Annotated[
        str | None,
        Query(
            max_length=50,
            description="Only goals of this perspective (`financial`, `customer`, "
            "`internal_process`, `learning_growth` or any other name).",
        ),
    ] = None,
    archived: Annotated[
        bool,
        Query(description="true: only archived goals; false (default): only live ones."),
    ] = False,
) -> Page[GoalOut]:
    rows = await GoalRepository(session).page(
        limit + 1,
        decode_time_key(cursor),
        GoalFilters(
            unit_id,
            parent_id,
            kpi,
            status.value if status else None,
            cycle_id,
            perspective,
            archived,
        ),
    )
    return page_of(rows, limit, lambda r: encode_time_key(r.goal.created_at, r.goal.id), goal_out)


@router.get(
    "/tree",
    response_model=None,
    responses={200: {"model": GoalTree, "description": "The cascade."}},
    summary="The goal cascade with statuses",
    description="Each node is a goal with its status object and its `children`. With "
    "`root`, that goal's subtree; without, every top-level goal.",
)
async def goal_tree(
    request: Request,
    session: Session,
    _: Reader,
    root: Annotated[uuid.UUID | None, Query(description="A goal id: only its subtree.")] = None,
) -> Response:
    # The GoalTree document, joined from each node's JSON as this process rendered it
    # for the rows' current versions (services/api/goals/nodes.py).
    nodes: GoalNodes = request.app.state.goal_nodes
    return Response(await _service(session).tree(root, nodes), media_type="application/json")


@router.get(
    "/scorecard.xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The workbook, as an attachment `northstar-scorecard-<date>.xlsx`.",
        }
    },
    summary="The scorecard as an Excel workbook",
    description="Every goal in cascade order (each under its parent, indented), with its "
    "parent, unit and owner by name, KPI, status in words, score (a percentage cell), "
    "actual, expected and target as numbers with the KPI's unit in its own column, the "
    "forecast, start and due. Anyone who may read goals may download it.",
)
async def scorecard_xlsx(session: Session, _: Reader) -> Response:
    repository = GoalRepository(session)
    goals = [goal_out(row) for row in await repository.every_row()]
    units, kpis, people = await repository.scorecard_names()
    now = utcnow()
    body = scorecard_workbook(goals, ScorecardNames(units, kpis, people), now)
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": (
                f'attachment; filename="northstar-scorecard-{now.date().isoformat()}.xlsx"'
            )
        },
    )


@router.get("/{goal_id}", response_model=GoalOut, summary="Get a goal")
async def get_goal(goal_id: uuid.UUID, session: Session, _: Reader) -> GoalOut:
    return goal_out(await _service(session).row(goal_id))


@router.patch(
    "/{goal_id}",
    response_model=GoalOut,
    summary="Change a goal",
    description="Only the fields sent change; the goal (and its old and new parents) is "
    "re-evaluated at once. `archived: true` archives it (409 while it has sub-goals that are "
    "not archived), `archived: false` restores it. Changing target, baseline, thresholds or "
    "due of a goal that has started (start, or creation without a start, is past) needs "
    "`reason` and is kept as a revision in the goal's history.",
)
async def update_goal(
    goal_id: uuid.UUID, body: GoalUpdate, session: Session, principal: ChangedGoal, audit: Audit
) -> GoalOut:
    service = _service(session)
    before = goal_out(await service.row(goal_id))
    out = goal_out(
        await service.update(goal_id, body=body, changed_by=principal.name, now=utcnow())
    )
    audit.record("update", "goal", goal_id, before=before, after=out)
    await session.commit()
    return out


@router.delete(
    "/{goal_id}",
    status_code=204,
    summary="Delete a goal",
    description="Refused (409) while the goal has child goals. The former parent is re-evaluated.",
)
async def delete_goal(
    goal_id: uuid.UUID, session: Session, _: DeletedGoal, audit: Audit
) -> Response:
    service = _service(session)
    before = goal_out(await service.row(goal_id))
    await service.delete(goal_id, utcnow())
    audit.record("delete", "goal", goal_id, before=before)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/{goal_id}/status",
    response_model=GoalStatusOut,
    summary="A goal's live status",
    description="The status object from the goal's latest evaluation.",
)
async def goal_status(goal_id: uuid.UUID, session: Session, _: Reader) -> GoalStatusOut:
    row = await _service(session).row(goal_id)
    return goal_out(row).status
