"""Sign-in and `GET /v1/me` bodies."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from northstar.auth.keys import Role
from northstar.auth.policy import UnitRole
from services.api.users.schemas import UserOut


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(
        description="Also set as the `northstar_csrf` cookie: send it as `X-CSRF-Token` "
        "with every POST, PUT, PATCH and DELETE made with the session cookie."
    )


class MembershipOut(BaseModel):
    unit_id: uuid.UUID
    role: UnitRole


class Me(BaseModel):
    kind: Literal["user", "key"] = Field(
        description="`user`: signed in with a session; `key`: an API key (personal when "
        "`email` is set: it acts as that person, narrowed by `scopes`)."
    )
    id: uuid.UUID = Field(description="The user's id, or the key's.")
    name: str
    email: str | None
    role: Role | None = Field(description="The person's organisation role; null for a service key.")
    scopes: list[str] = Field(
        description="A key's scopes; for a signed-in person the scope their role matches."
    )
    memberships: list[MembershipOut]
    permissions: list[str] = Field(
        description="Actions the caller may take somewhere (see docs/people.md); unit-scoped "
        "ones (`goals:write`, `goals:contribute`, `members:manage`) for a member apply in "
        "the subtrees of their memberships (and to goals they own)."
    )
