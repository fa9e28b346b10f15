"""`/v1/units/{unit_id}/members`: read by anyone; managed by admins, editors and the
unit's leads (a lead of a unit manages the memberships of its whole subtree)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from northstar.auth.policy import Action
from northstar.db.models import User
from northstar.http.problems import Problem, invalid_field
from services.api.access import Actor, Permit, Reader
from services.api.audit import Audit
from services.api.members.repository import MemberRepository
from services.api.members.schemas import MemberOut, MembershipSet
from services.api.resources import unit_in_path
from services.api.transaction import Session
from services.api.units.repository import UnitRepository
from services.api.units.service import UnitService

router = APIRouter(prefix="/v1/units/{unit_id}/members", tags=["units"])

ManageMembers = Annotated[Actor, Depends(Permit(Action.MEMBERS_MANAGE, unit_in_path))]


def _out(row: object) -> MemberOut:
    return MemberOut.model_validate(row, from_attributes=True)


def _member(rows: list[Any], user_id: uuid.UUID) -> MemberOut | None:
    return next((_out(row) for row in rows if row.user_id == user_id), None)


@router.get("", response_model=list[MemberOut], summary="List a unit's members and leads")
async def list_members(unit_id: uuid.UUID, session: Session, _: Reader) -> list[MemberOut]:
    await UnitService(UnitRepository(session)).get(unit_id)
    return [_out(row) for row in await MemberRepository(session).of_unit(unit_id)]


@router.put(
    "/{user_id}",
    response_model=MemberOut,
    summary="Make a person a lead or member of the unit",
    description="Adds the membership or changes its role. A lead acts on the goals of the "
    "unit's whole subtree and manages its members; a member checks in on its goals. The "
    "person must exist (422).",
)
async def put_member(
    unit_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MembershipSet,
    session: Session,
    _: ManageMembers,
    audit: Audit,
) -> MemberOut:
    user = await session.get(User, user_id)
    if user is None:
        raise invalid_field("user_id", f"there is no user with id {user_id}")
    members = MemberRepository(session)
    before = _member(await members.of_unit(unit_id), user_id)
    await members.put(unit_id, user_id, body.role.value)
    after = _member(await members.of_unit(unit_id), user_id)
    assert after is not None
    audit.record("put", "unit_member", f"{unit_id}/{user_id}", before=before, after=after)
    await session.commit()
    return after


@router.delete(
    "/{user_id}", status_code=204, summary="Remove a person from the unit (404 if not in it)"
)
async def delete_member(
    unit_id: uuid.UUID, user_id: uuid.UUID, session: Session, _: ManageMembers, audit: Audit
) -> Response:
    members = MemberRepository(session)
    before = _member(await members.of_unit(unit_id), user_id)
    if before is None or not await members.remove(unit_id, user_id):
        raise Problem(404, f"The user {user_id} is not a member of the unit {unit_id}.")
    audit.record("delete", "unit_member", f"{unit_id}/{user_id}", before=before)
    await session.commit()
    return Response(status_code=204)
