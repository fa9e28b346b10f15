"""API key request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[Scope]
    sources: list[str] = Field(
        default_factory=list, description="Event sources allowed besides the key's name."
    )
    prefix: str = Field(description="The key's visible prefix, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown in this response only; store it now.")
