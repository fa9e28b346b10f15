"""User rules: a password policy, unique emails, one-time invitations, and never fewer
than one active admin."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from northstar.auth.passwords import hash_password_async, password_problems
from northstar.db.models import User
from northstar.http.problems import Problem, invalid_field
from services.api.access import token_digest
from services.api.users.repository import UserRepository
from services.api.users.schemas import UserCreate, UserUpdate


def weak_password(problems: list[str]) -> Problem:
    return Problem(
        422,
        "The request is invalid: password: " + "; ".join(problems),
        errors=[{"field": "password", "message": message} for message in problems],
    )


def not_found(user_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no user with id {user_id}.")


async def checked_hash(password: str, email: str) -> str:
    problems = password_problems(password, email=email)
    if problems:
        raise weak_password(problems)
    return await hash_password_async(password)


class UserService:
    def __init__(self, repository: UserRepository, *, invitation_lifetime: timedelta) -> None:
        self.repository = repository
        self.invitation_lifetime = invitation_lifetime

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.repository.get(user_id)
        if user is None:
            raise not_found(user_id)
        return user

    async def create(self, body: UserCreate) -> tuple[User, tuple[str, datetime] | None]:
        """The new user, and the invitation (token, expiry) when no password was given."""
        password_hash = None
        if body.password is not None:
            password_hash = await checked_hash(body.password, body.email)
        if await self.repository.by_email(body.email) is not None:
            raise Problem(409, f"A user with the email {body.email} exists already.")
        try:
            user = await self.repository.add(
                User(
                    email=body.email,
                    name=body.name,
                    role=body.role.value,
                    status="active",
                    password_hash=password_hash,
                )
            )
        except IntegrityError:
            raise Problem(409, f"A user with the email {body.email} exists already.") from None
        invitation = None if password_hash else await self.invite(user)
        return user, invitation

    async def invite(self, user: User) -> tuple[str, datetime]:
        token = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + self.invitation_lifetime
        await self.repository.add_invitation(user.id, token_digest(token), expires_at)
        return token, expires_at

    async def update(self, user_id: uuid.UUID, body: UserUpdate) -> User:
        user = await self.get(user_id)
        changes = body.model_dump(exclude_unset=True)
        for field in ("name", "role", "status", "password"):
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        stops_admin = (
            user.role == "admin"
            and user.status == "active"
            and (
                changes.get("role", "admin") != "admin"
                or changes.get("status", "active") != "active"
            )
        )
        if stops_admin and await self.repository.active_admins() <= 1:
            raise Problem(
                409,
                f"{user.email} is the last active admin; make another admin first.",
            )
        if "password" in changes:
            user.password_hash = await checked_hash(changes.pop("password"), user.email)
            await self.repository.end_sessions(user.id)
        if changes.get("status") == "deactivated":
            await self.repository.end_sessions(user.id)
        for field, value in changes.items():
            setattr(user, field, value.value if hasattr(value, "value") else value)
        user.updated_at = datetime.now(UTC)
        await self.repository.session.flush()
        return user
