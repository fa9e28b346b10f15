"""API key request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from northstar.auth.keys import Scope


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Also the default event source.")
    scopes: list[Scope] = Field(min_length=1)
    sources: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=100,
        description="Event sources this key may write besides its own name (SPEC §3); "
        "ingest answers 403 for any other `source`.",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working; must be in the future."
    )


class ActorOut(BaseModel):
    kind: Literal["user", "key"]
    id: uuid.UUID
    name: str = Field(description="The name at the time.")


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: Literal["service", "personal"] = Field(
        description="`service`: acts with its scopes; `personal`: acts as `user_id`, narrowed "
        "by its scopes."
    )
    user_id: uuid.UUID | None = Field(description="The owner of a personal key.")
    scopes: list[Scope]
    sources: list[str] = Field(
        default_factory=list, description="Event sources allowed besides the key's name."
    )
    prefix: str = Field(
        description="The key's visible prefix (for a key not in the `ns_` format, the first "
        "8 hex digits of its SHA-256), to tell keys apart. No part of a secret is stored."
    )
    created_at: datetime
    created_by: ActorOut | None = Field(description="Who created it (null: bootstrap).")
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Last authenticated use, to the minute (recorded at most once a minute)."
    )
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown in this response only; store it now.")
