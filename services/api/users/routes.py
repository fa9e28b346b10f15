"""`/v1/users` (admin): people, their roles and status, and invitations."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from northstar.auth.policy import Action
from services.api.access import Actor, Permit
from services.api.audit import Audit
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of
from services.api.transaction import Session
from services.api.users.repository import UserRepository
from services.api.users.schemas import InvitationOut, UserCreate, UserCreated, UserOut, UserUpdate
from services.api.users.service import UserService
from services.api.users.shapes import user_out

router = APIRouter(prefix="/v1/users", tags=["people"])

PeopleAdmin = Annotated[Actor, Depends(Permit(Action.PEOPLE_MANAGE))]


def _service(request: Request, session: Session) -> UserService:
    lifetime = timedelta(days=request.app.state.settings.invitation_days)
    return UserService(UserRepository(session), invitation_lifetime=lifetime)


@router.post(
    "",
    status_code=201,
    response_model=UserCreated,
    summary="Create a user, or invite one",
    description="With `password`, the person can sign in at once. Without, the answer "
    "carries a one-time `invitation` token (shown once) with which they choose a password "
    "(`POST /v1/auth/accept-invitation`). A weak password is a 422 naming each problem; "
    "an email in use is a 409.",
)
async def create_user(
    body: UserCreate, request: Request, session: Session, _: PeopleAdmin, audit: Audit
) -> UserCreated:
    user, invitation = await _service(request, session).create(body)
    audit.record("create", "user", user.id, after=user_out(user))
    await session.commit()
    out = UserCreated(**user_out(user).model_dump())
    if invitation is not None:
        out.invitation = InvitationOut(token=invitation[0], expires_at=invitation[1])
    return out


@router.get("", response_model=Page[UserOut], summary="List users (oldest first)")
async def list_users(
    session: Session, _: PeopleAdmin, limit: Limit = 100, cursor: Cursor = None
) -> Page[UserOut]:
    users = await UserRepository(session).page(limit + 1, decode_time_key(cursor))
    return page_of(users, limit, lambda r: encode_time_key(r.created_at, r.id), user_out)


@router.get("/{user_id}", response_model=UserOut, summary="Get a user")
async def get_user(
    user_id: uuid.UUID, request: Request, session: Session, _: PeopleAdmin
) -> UserOut:
    return user_out(await _service(request, session).get(user_id))


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user's name, role, status or password",
    description="Deactivating a person or setting their password ends their sessions at "
    "once; their personal keys stop working while they are deactivated. Demoting or "
    "deactivating the last active admin is a 409.",
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    request: Request,
    session: Session,
    _: PeopleAdmin,
    audit: Audit,
) -> UserOut:
    service = _service(request, session)
    before = user_out(await service.get(user_id)).model_dump(mode="json")
    user = await service.update(user_id, body)
    after = user_out(user).model_dump(mode="json")
    if body.password is not None:
        after["password_changed"] = True  # that it changed, never the value
    audit.record("update", "user", user_id, before=before, after=after)
    await session.commit()
    request.app.state.authenticator.forget()
    return user_out(user)


@router.post(
    "/{user_id}/invitation",
    status_code=201,
    response_model=InvitationOut,
    summary="Issue a new invitation token",
    description="For a person who lost theirs or forgot their password: earlier unused "
    "tokens stop working; the token is shown once.",
)
async def invite_user(
    user_id: uuid.UUID, request: Request, session: Session, _: PeopleAdmin, audit: Audit
) -> InvitationOut:
    service = _service(request, session)
    token, expires_at = await service.invite(await service.get(user_id))
    audit.record("invite", "user", user_id, after={"invitation_expires_at": expires_at})
    await session.commit()
    return InvitationOut(token=token, expires_at=expires_at)
