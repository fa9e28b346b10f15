"""User request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from northstar.auth.keys import Role
from northstar.auth.passwords import MAX_LENGTH

# Deliberately loose: one "@" with something on each side. Whether an address reaches a
# person is proven by the invitation, not by a pattern.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"
    ),
]
Password = Annotated[
    str,
    Field(
        max_length=MAX_LENGTH,
        description="At least 12 characters, not a well-known password, not containing "
        "the name part of the email address. Never stored or logged, only its Argon2id hash.",
    ),
]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    status: str = Field(description="`active` or `deactivated` (cannot sign in).")
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.MEMBER
    password: Password | None = Field(
        default=None,
        description="Set it now, or leave it out to get a one-time invitation token the "
        "person uses to choose their own.",
    )


class InvitationOut(BaseModel):
    token: str = Field(
        description="One-time secret for `POST /v1/auth/accept-invitation`. Shown once; "
        "send it to the person as a link (for example `https://northstar/#invite=<token>`)."
    )
    expires_at: datetime


class UserCreated(UserOut):
    invitation: InvitationOut | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    status: str | None = Field(default=None, pattern="^(active|deactivated)$")
    password: Password | None = Field(
        default=None, description="A new password; ends every session of the person."
    )


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    password: Password
