"""`/v1/goals`: anyone reads; editors, admins and the leads of the goal's unit subtree
create, change and delete (docs/people.md).

`/tree` is declared before `/{goal_id}` so it is not taken for an id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy import select

from northstar.auth.policy import Action
from northstar.db.models import Kpi, OrgUnit, User
from northstar.domain.goals import GoalStatus
from services.api.audit import Audit
from services.api.dependencies import Actor, Permit, Reader, Session
from services.api.goals.export import ExportRow, cascade, workbook_bytes
from services.api.goals.nodes import GoalNodes
from services.api.goals.repository import GoalFilters, GoalRepository
from services.api.goals.schemas import (
    GoalCreate,
    GoalHistory,
    GoalOut,
    GoalStatusOut,
    GoalTree,
    GoalUpdate,
)
from services.api.goals.service import GoalService, utcnow
from services.api.goals.shapes import goal_out
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
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
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].goal
        next_cursor = encode_time_key(last.created_at, last.id)
    return Page[GoalOut](items=[goal_out(r) for r in rows], next_cursor=next_cursor)


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
    "/export.xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {XLSX: {}},
            "description": "The scorecard as an Excel workbook.",
        }
    },
    summary="The scorecard as an Excel workbook",
    description="Every live goal in cascade order (indented by depth) with its unit, owner, "
    "status, score, actual, expected, target, the KPI's unit and due date (UTC).",
)
async def export_goals(session: Session, _: Reader) -> Response:
    repository = GoalRepository(session)
    rows, after = [], None
    while True:
        page = await repository.page(1001, after, GoalFilters())
        rows += page[:1000]
        if len(page) <= 1000:
            break
        after = (page[999].goal.created_at, page[999].goal.id)
    goals = {g.id: g for g in (goal_out(r) for r in rows)}
    units = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).tuples().all())
    people = dict((await session.execute(select(User.id, User.name))).tuples().all())
    kpi_units = dict((await session.execute(select(Kpi.key, Kpi.unit))).tuples().all())

    def row(depth: int, goal: GoalOut) -> ExportRow:
        return ExportRow(
            title=goal.title,
            depth=depth,
            unit=units.get(goal.unit_id, "") if goal.unit_id else "",
            owner=(people.get(goal.owner_id, "") if goal.owner_id else goal.owner) or "",
            status=goal.status.status.value,
            score=goal.status.score,
            actual=goal.status.actual,
            expected=goal.status.expected,
            target=goal.status.target if goal.status.target is not None else goal.target,
            kpi_unit=kpi_units.get(goal.kpi, "") if goal.kpi else "",
            due=goal.due,
        )

    ordered = cascade([{"id": g.id, "parent_id": g.parent_id} for g in goals.values()])
    now = utcnow()
    body = workbook_bytes([row(d, goals[uuid.UUID(str(g["id"]))]) for d, g in ordered], now)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="scorecard-{now:%Y-%m-%d}.xlsx"'},
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
    return await _service(session).history(goal_id, start, end, utcnow())
