"""`/v1/cycles` (read scope to read, write scope to change and carry forward)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.api.audit import Audit
from services.api.cycles.repository import CycleRepository
from services.api.cycles.schemas import (
    CarryForward,
    CarryForwardOut,
    CycleCreate,
    CycleOut,
    CycleUpdate,
)
from services.api.cycles.service import CycleService, cycle_out
from services.api.dependencies import Reader, Session, Writer
from services.api.judging import utcnow
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of

router = APIRouter(prefix="/v1/cycles", tags=["cycles"])


def _service(session: Session) -> CycleService:
    return CycleService(CycleRepository(session))


@router.post(
    "",
    status_code=201,
    response_model=CycleOut,
    summary="Create a cycle",
    description="A name taken already is a 409; due not after start a 422.",
)
async def create_cycle(body: CycleCreate, session: Session, _: Writer, audit: Audit) -> CycleOut:
    out = cycle_out(await _service(session).create(body))
    audit.record("create", "cycle", out.id, after=out)
    await session.commit()
    return out


@router.get(
    "",
    response_model=Page[CycleOut],
    summary="List cycles",
    description="By start, keyset-paginated.",
)
async def list_cycles(
    session: Session, _: Reader, limit: Limit = 100, cursor: Cursor = None
) -> Page[CycleOut]:
    rows = await CycleRepository(session).page(limit + 1, decode_time_key(cursor))
    return page_of(rows, limit, lambda r: encode_time_key(r.start, r.id), cycle_out)


@router.get("/{cycle_id}", response_model=CycleOut, summary="Get a cycle")
async def get_cycle(cycle_id: uuid.UUID, session: Session, _: Reader) -> CycleOut:
    return cycle_out(await _service(session).get(cycle_id))


@router.patch(
    "/{cycle_id}",
    response_model=CycleOut,
    summary="Change a cycle",
    description="Goals keep the dates they took from the cycle when they joined it.",
)
async def update_cycle(
    cycle_id: uuid.UUID, body: CycleUpdate, session: Session, _: Writer, audit: Audit
) -> CycleOut:
    service = _service(session)
    before = cycle_out(await service.get(cycle_id))
    out = cycle_out(await service.update(cycle_id, body, utcnow()))
    audit.record("update", "cycle", cycle_id, before=before, after=out)
    await session.commit()
    return out


@router.delete(
    "/{cycle_id}",
    status_code=204,
    summary="Delete a cycle",
    description="Refused (409) while goals belong to it.",
)
async def delete_cycle(cycle_id: uuid.UUID, session: Session, _: Writer, audit: Audit) -> Response:
    service = _service(session)
    before = cycle_out(await service.get(cycle_id))
    await service.delete(cycle_id)
    audit.record("delete", "cycle", cycle_id, before=before)
    await session.commit()
    return Response(status_code=204)


@router.post(
    "/{cycle_id}/carry-forward",
    status_code=201,
    response_model=CarryForwardOut,
    summary="Carry goal subtrees into another cycle",
    description="Copies each chosen goal (it must belong to this cycle) with every goal "
    "below it into `into_cycle_id`: new dates (a date on this cycle's start or due becomes "
    "the new cycle's, other dates move by the distance between the cycles' starts), targets "
    "times `target_factor` when given, open initiatives with their open milestones and the "
    "budget left, and `carried_from` on every copy. Nothing of this cycle changes.",
)
async def carry_forward(
    cycle_id: uuid.UUID, body: CarryForward, session: Session, _: Writer, audit: Audit
) -> CarryForwardOut:
    result = await _service(session).carry_forward(cycle_id, body, utcnow())
    audit.record("carry_forward", "cycle", cycle_id, after=result)
    await session.commit()
    return result
