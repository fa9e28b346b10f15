"""Identity provider request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from northstar.auth.keys import Role
from northstar.auth.policy import UnitRole

Claim = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ClaimValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
    ),
]
ScopeName = Annotated[str, StringConstraints(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")]


class RoleMapping(BaseModel):
    """Which organisation role a person gets from a claim, at every sign-in."""

    model_config = ConfigDict(extra="forbid")

    claim: Claim = Field(
        description="The claim to read (for example `groups` or `roles`): a string or a "
        "list of strings, from the ID token or the userinfo answer."
    )
    map: dict[ClaimValue, Role] = Field(
        max_length=500,
        description="Claim value -> role. A person with several matching values gets the "
        "highest of their roles (admin > editor > member > viewer).",
    )
    default: Role | None = Field(
        default=Role.VIEWER,
        description="The role of a person none of whose values is mapped; null refuses "
        "their sign-in.",
    )


class UnitGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID
    role: UnitRole = UnitRole.MEMBER


class UnitMapping(BaseModel):
    """Which unit memberships a person gets from a claim, at every sign-in. Only the units
    named in `map` are managed: a person loses a membership of such a unit when no value
    grants it any more; memberships of other units are left alone."""

    model_config = ConfigDict(extra="forbid")

    claim: Claim
    map: dict[ClaimValue, list[UnitGrant]] = Field(max_length=500)


def _check_scopes(scopes: list[str] | None) -> list[str] | None:
    if scopes is not None and "openid" not in scopes:
        raise ValueError("must include 'openid'")
    return scopes


class IdentityProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description='Shown as "Sign in with <name>".')
    issuer: str = Field(
        min_length=1,
        max_length=2000,
        description="The issuer URL; its discovery document is "
        "`<issuer>/.well-known/openid-configuration` and must name exactly this issuer.",
    )
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: str = Field(
        min_length=1,
        max_length=2000,
        description="Write-only: encrypted at rest, never shown again.",
    )
    scopes: list[ScopeName] = Field(
        default_factory=lambda: ["openid", "email", "profile"], min_length=1, max_length=20
    )
    allowed_domains: list[Domain] = Field(
        default_factory=list,
        max_length=100,
        description="Email domains allowed to sign in (empty: any).",
    )
    role_mapping: RoleMapping | None = None
    unit_mapping: UnitMapping | None = None
    jit: bool = Field(
        default=False,
        description="Create a person at their first sign-in (just in time); else only "
        "people who already exist (matched by verified email) may sign in.",
    )
    enabled: bool = True

    _scopes = field_validator("scopes")(_check_scopes)


class IdentityProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    issuer: str | None = Field(default=None, min_length=1, max_length=2000)
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    client_secret: str | None = Field(default=None, min_length=1, max_length=2000)
    scopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=20)
    allowed_domains: list[Domain] | None = Field(default=None, max_length=100)
    role_mapping: RoleMapping | None = None
    unit_mapping: UnitMapping | None = None
    jit: bool | None = None
    enabled: bool | None = None

    _scopes = field_validator("scopes")(_check_scopes)


class IdentityProviderOut(BaseModel):
    id: uuid.UUID
    name: str
    issuer: str
    client_id: str
    scopes: list[str]
    allowed_domains: list[str]
    role_mapping: RoleMapping | None
    unit_mapping: UnitMapping | None
    jit: bool
    enabled: bool
    redirect_uri: str = Field(
        description="The callback to register at the provider as the client's redirect URI."
    )
    created_at: datetime
    updated_at: datetime


class ProviderChoice(BaseModel):
    """What the sign-in page needs to offer a provider, and nothing more."""

    id: uuid.UUID
    name: str
    start_url: str = Field(description="Where the browser goes to sign in with it.")
