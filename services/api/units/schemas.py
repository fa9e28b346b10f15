"""Org unit request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class UnitKind(StrEnum):
    """Where a unit sits in the organisation. The kinds are labels: the API does not force
    an order on them (a team may sit directly under the organisation)."""

    ORGANIZATION = "organization"
    DEPARTMENT = "department"
    TEAM = "team"
    INDIVIDUAL = "individual"


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Display name of the unit.")
    kind: UnitKind = Field(description="organization, department, team or individual.")
    parent_id: uuid.UUID | None = Field(
        default=None, description="The unit this one belongs to; absent for a top-level unit."
    )
    vision: str | None = Field(
        default=None, max_length=10_000, description="Strategy: where the unit wants to be."
    )
    mission: str | None = Field(
        default=None, max_length=10_000, description="Strategy: what the unit is for."
    )
    values: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Strategy: the values it holds to, in order (each 1-200 characters).",
    )
    owner_id: uuid.UUID | None = Field(
        default=None, description="The person who answers for it (a user id; null: nobody)."
    )


class UnitUpdate(BaseModel):
    """Only the fields present are changed; `parent_id: null` makes the unit top-level."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name.")
    kind: UnitKind | None = Field(default=None, description="New kind.")
    parent_id: uuid.UUID | None = Field(
        default=None,
        description="New parent unit, or null for top-level. Must not be the unit itself "
        "or one of its descendants.",
    )
    vision: str | None = Field(
        default=None, max_length=10_000, description="Strategy: where the unit wants to be."
    )
    mission: str | None = Field(
        default=None, max_length=10_000, description="Strategy: what the unit is for."
    )
    values: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Strategy: the values it holds to, in order (each 1-200 characters).",
    )
    owner_id: uuid.UUID | None = Field(
        default=None, description="The person who answers for it (a user id; null: nobody)."
    )


class UnitOut(BaseModel):
    id: uuid.UUID = Field(description="The unit's id.")
    name: str = Field(description="Display name.")
    kind: UnitKind = Field(description="organization, department, team or individual.")
    parent_id: uuid.UUID | None = Field(description="The parent unit, null for top-level.")
    vision: str | None = Field(description="Strategy: where the unit wants to be.")
    mission: str | None = Field(description="Strategy: what the unit is for.")
    values: list[str] = Field(description="Strategy: the values it holds to.")
    owner_id: uuid.UUID | None = Field(description="The person who answers for the unit.")
    created_at: datetime = Field(description="When the unit was created.")
    updated_at: datetime = Field(description="When the unit was last changed.")
