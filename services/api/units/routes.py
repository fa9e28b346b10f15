"""`/v1/units` (read scope to read, write scope to change)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from northstar.db.models import OrgUnit
from services.api.audit import Audit
from services.api.dependencies import Reader, Session, Writer
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    page_of,
)
from services.api.units.repository import UnitRepository
from services.api.units.schemas import UnitCreate, UnitKind, UnitOut, UnitUpdate
from services.api.units.service import UnitService

router = APIRouter(prefix="/v1/units", tags=["units"])


def _out(unit: OrgUnit) -> UnitOut:
    return UnitOut(
        id=unit.id,
        name=unit.name,
        kind=UnitKind(unit.kind),
        parent_id=unit.parent_id,
        vision=unit.vision,
        mission=unit.mission,
        values=list(unit.values),
        owner_id=unit.owner_id,
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


def _service(session: Session) -> UnitService:
    return UnitService(UnitRepository(session))


@router.post(
    "",
    status_code=201,
    response_model=UnitOut,
    summary="Create an org unit",
    description="A unit may sit under a parent unit, which must exist (422 otherwise).",
)
async def create_unit(body: UnitCreate, session: Session, _: Writer, audit: Audit) -> UnitOut:
    out = _out(await _service(session).create(body))
    audit.record("create", "unit", out.id, after=out)
    await session.commit()
    return out


@router.get(
    "",
    response_model=Page[UnitOut],
    summary="List org units",
    description="Oldest first, keyset-paginated. `parent_id` lists the units directly below one.",
)
async def list_units(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="Only units directly below this unit.")
    ] = None,
) -> Page[UnitOut]:
    units = await UnitRepository(session).page(
        limit + 1,
        decode_time_key(cursor),
        parent_id,
    )
    return page_of(units, limit, lambda r: encode_time_key(r.created_at, r.id), _out)


@router.get("/{unit_id}", response_model=UnitOut, summary="Get an org unit")
async def get_unit(unit_id: uuid.UUID, session: Session, _: Reader) -> UnitOut:
    return _out(await _service(session).get(unit_id))


@router.patch(
    "/{unit_id}",
    response_model=UnitOut,
    summary="Change an org unit",
    description="Only the fields sent change. Moving a unit below itself or one of its "
    "descendants is refused (422).",
)
async def update_unit(
    unit_id: uuid.UUID, body: UnitUpdate, session: Session, _: Writer, audit: Audit
) -> UnitOut:
    service = _service(session)
    before = _out(await service.get(unit_id))
    out = _out(await service.update(unit_id, body))
    audit.record("update", "unit", unit_id, before=before, after=out)
    await session.commit()
    return out


@router.delete(
    "/{unit_id}",
    status_code=204,
    summary="Delete an org unit",
    description="Refused (409) while child units or goals belong to the unit.",
)
async def delete_unit(unit_id: uuid.UUID, session: Session, _: Writer, audit: Audit) -> Response:
    service = _service(session)
    before = _out(await service.get(unit_id))
    await service.delete(unit_id)
    audit.record("delete", "unit", unit_id, before=before)
    await session.commit()
    return Response(status_code=204)
