"""A person as the api shows them (`UserOut`), for the users and sessions features."""

from __future__ import annotations

from northstar.auth.keys import Role
from northstar.db.models import User
from services.api.users.schemas import UserOut


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        status=user.status,
        created_at=user.created_at,
    )
