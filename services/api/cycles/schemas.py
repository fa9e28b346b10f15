"""Cycle and carry-forward request and response bodies (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)


class CycleCreate(BaseModel):
    model_config = _INPUT

    name: str = Field(min_length=1, max_length=100, description="Unique: FY2027, 2027-Q1 …")
    start: AwareDatetime = Field(description="First instant of the cycle (RFC 3339).")
    due: AwareDatetime = Field(description="End of the cycle, after `start`.")


class CycleUpdate(BaseModel):
    """Only the fields present change. Goals keep the dates they took from the cycle."""

    model_config = _INPUT

    name: str | None = Field(default=None, min_length=1, max_length=100, description="Name.")
    start: AwareDatetime | None = Field(default=None, description="Start.")
    due: AwareDatetime | None = Field(default=None, description="End.")


class CycleOut(BaseModel):
    id: uuid.UUID = Field(description="The cycle.")
    name: str = Field(description="Its unique name.")
    start: datetime = Field(description="First instant.")
    due: datetime = Field(description="End.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it was last changed.")


class CarryForward(BaseModel):
    model_config = _INPUT

    into_cycle_id: uuid.UUID = Field(description="The cycle the copies go into.")
    goal_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=1000,
        description="Roots of the subtrees to carry; each must belong to this cycle. Each "
        "root is copied with every goal below it.",
    )
    target_factor: float | None = Field(
        default=None,
        gt=0,
        description="Multiply every copied goal's target by this (1.1: ten percent more); "
        "default: targets unchanged.",
    )


class Carried(BaseModel):
    id: uuid.UUID = Field(description="The new goal or initiative.")
    carried_from: uuid.UUID = Field(description="The one it was copied from.")


class CarryForwardOut(BaseModel):
    goals: list[Carried] = Field(description="The new goals, parents before children.")
    initiatives: list[Carried] = Field(description="The open initiatives carried along.")
