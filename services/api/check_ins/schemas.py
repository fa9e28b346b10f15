"""Check-in request and response bodies (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
_VALUE = (
    "The KPI's value, for a goal on a manual KPI only (422 otherwise): it becomes an event "
    "of the KPI's metric with source `check-in` and the check-in's id as `event_id`."
)


class CheckInCreate(BaseModel):
    model_config = _INPUT

    id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id, so a retried request is recognised: the same id "
        "again answers 200 with the stored check-in and changes nothing.",
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="When the update holds (RFC 3339); default now. At most 24 hours ahead.",
    )
    comment: str = Field(default="", max_length=10_000, description="The update in words.")
    confidence: int = Field(
        ge=1, le=10, description="How sure the author is the goal will be met (1-10)."
    )
    blockers: str | None = Field(
        default=None, max_length=10_000, description="What stands in the way, if anything."
    )
    value: float | None = Field(default=None, ge=-1e15, le=1e15, description=_VALUE)


class CheckInOut(BaseModel):
    id: uuid.UUID = Field(description="The check-in (and its value's event_id).")
    goal_id: uuid.UUID = Field(description="The goal.")
    author: str = Field(description="Who checked in (the caller's name).")
    at: datetime = Field(description="When the update holds.")
    comment: str = Field(description="The update in words.")
    confidence: int = Field(description="1-10.")
    blockers: str | None = Field(description="What stands in the way.")
    value: float | None = Field(description=_VALUE)
