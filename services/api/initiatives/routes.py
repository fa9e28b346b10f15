"""`/v1/initiatives`: anyone may read; a unit lead (or editor, admin) creates and deletes
initiatives on the unit's goals, and a unit member or the owner updates them (see
`services/api/initiatives/permits.py`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from northstar.domain.plans import InitiativeStatus
from services.api.audit import Audit
from services.api.dependencies import Reader, Session
from services.api.initiatives.permits import InitiativeContributor, InitiativeLead, PlanOnGoal
from services.api.initiatives.repository import InitiativeFilters, InitiativeRepository
from services.api.initiatives.schemas import InitiativeCreate, InitiativeOut, InitiativeUpdate
from services.api.initiatives.service import InitiativeService, initiative_out
from services.api.judging import utcnow
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    first_page_rows,
)

router = APIRouter(prefix="/v1/initiatives", tags=["initiatives"])


def _service(session: Session) -> InitiativeService:
    return InitiativeService(InitiativeRepository(session))


async def _answer(service: InitiativeService, initiative_id: uuid.UUID) -> InitiativeOut:
    initiative, milestones = await service.get(initiative_id)
    return initiative_out(initiative, milestones, utcnow())


@router.post(
    "",
    status_code=201,
    response_model=InitiativeOut,
    summary="Create an initiative",
    description="An unknown goal or unit, a due date before the start, or spending without "
    "a budget are a 422. The goal is re-judged at once: a late initiative opens a `plan` "
    "alert on it.",
)
async def create_initiative(
    body: InitiativeCreate, session: Session, _: PlanOnGoal, audit: Audit
) -> InitiativeOut:
    service = _service(session)
    initiative = await service.create(body, utcnow())
    out = await _answer(service, initiative.id)
    audit.record("create", "initiative", out.id, after=out)
    await session.commit()
    return out


@router.get(
    "",
    response_model=Page[InitiativeOut],
    summary="List initiatives",
    description="Oldest first, keyset-paginated.",
)
async def list_initiatives(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    goal_id: Annotated[uuid.UUID | None, Query(description="Only this goal's.")] = None,
    unit_id: Annotated[uuid.UUID | None, Query(description="Only this unit's.")] = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Only this owner's.")] = None,
    status: Annotated[InitiativeStatus | None, Query(description="Only in this status.")] = None,
) -> Page[InitiativeOut]:
    repository = InitiativeRepository(session)
    found = await repository.page(
        limit + 1,
        decode_time_key(cursor),
        InitiativeFilters(goal_id, unit_id, owner_id, status.value if status else None),
    )
    rows, next_cursor = first_page_rows(found, limit, lambda r: encode_time_key(r.created_at, r.id))
    steps = await repository.milestones([r.id for r in rows])
    now = utcnow()
    return Page[InitiativeOut](
        items=[initiative_out(r, steps[r.id], now) for r in rows], next_cursor=next_cursor
    )


@router.get("/{initiative_id}", response_model=InitiativeOut, summary="Get an initiative")
async def get_initiative(initiative_id: uuid.UUID, session: Session, _: Reader) -> InitiativeOut:
    return await _answer(_service(session), initiative_id)


@router.patch(
    "/{initiative_id}",
    response_model=InitiativeOut,
    summary="Change an initiative",
    description="Only the fields sent change; `milestones` replaces the list (send a "
    "milestone's `id` to keep it, `done: true` to tick it off). The goal is re-judged at "
    "once, so ticking off the last late milestone resolves its `plan` alert.",
)
async def update_initiative(
    initiative_id: uuid.UUID,
    body: InitiativeUpdate,
    session: Session,
    _: InitiativeContributor,
    audit: Audit,
) -> InitiativeOut:
    service = _service(session)
    before = await _answer(service, initiative_id)
    await service.update(initiative_id, body, utcnow())
    out = await _answer(service, initiative_id)
    audit.record("update", "initiative", initiative_id, before=before, after=out)
    await session.commit()
    return out


@router.delete(
    "/{initiative_id}",
    status_code=204,
    summary="Delete an initiative",
    description="Its milestones go with it; the goal is re-judged.",
)
async def delete_initiative(
    initiative_id: uuid.UUID, session: Session, _: InitiativeLead, audit: Audit
) -> Response:
    service = _service(session)
    before = await _answer(service, initiative_id)
    await service.delete(initiative_id, utcnow())
    audit.record("delete", "initiative", initiative_id, before=before)
    await session.commit()
    return Response(status_code=204)
