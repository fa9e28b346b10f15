"""Audit record bodies (SPEC §11)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class AuditActor(BaseModel):
    kind: Literal["user", "key"]
    id: uuid.UUID
    name: str = Field(description="The actor's name when the change was made.")


class AuditResource(BaseModel):
    type: str = Field(
        description="unit, kpi, goal, alert, review, review_decision, webhook, "
        "api_key, user, unit_member, session, …"
    )
    id: str


class AuditRecord(BaseModel):
    id: uuid.UUID
    at: datetime
    actor: AuditActor
    action: str = Field(description="create, update, delete, revoke, acknowledge, resolve, …")
    resource: AuditResource
    changes: dict[str, list[Any]] = Field(
        description="`{field: [before, after]}` for the fields that changed (null: absent). "
        "Secrets never appear."
    )
    request_id: str | None = Field(description="The request's X-Request-ID, to find its log.")
