"""Initiative request and response bodies (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from northstar.domain.plans import InitiativeStatus

_INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
_STATUS = "planned, in_progress, blocked, done or cancelled."
_BUDGET = "What the initiative may spend, in one currency; null: no budget."
_SPENT = "What it has spent so far, in the budget's currency (needs a budget when not 0)."
_MILESTONES = (
    "The initiative's steps, in order. On a change the list replaces the old one: send a "
    "milestone's `id` to keep it (and its `done_at`)."
)
_OWNER = "The user who answers for it (a user id; see the people API)."


class Budget(BaseModel):
    model_config = _INPUT

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2, description="The amount.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code such as EUR or USD.")


class MilestoneIn(BaseModel):
    model_config = _INPUT

    id: uuid.UUID | None = Field(default=None, description="An existing milestone to keep.")
    title: str = Field(min_length=1, max_length=200, description="What is to be done.")
    due: AwareDatetime | None = Field(default=None, description="When it should be done.")
    done_at: AwareDatetime | None = Field(
        default=None, description="When it was done; null: not yet."
    )
    done: bool | None = Field(
        default=None,
        description="Shorthand: true marks it done now (unless `done_at` is given), false "
        "marks it not done.",
    )


class MilestoneOut(BaseModel):
    id: uuid.UUID = Field(description="The milestone.")
    title: str = Field(description="What is to be done.")
    due: datetime | None = Field(description="When it should be done.")
    done_at: datetime | None = Field(description="When it was done; null: not yet.")


class InitiativeCreate(BaseModel):
    model_config = _INPUT

    goal_id: uuid.UUID = Field(description="The goal this initiative serves.")
    title: str = Field(min_length=1, max_length=200, description="What the initiative is.")
    description: str = Field(default="", max_length=10_000, description="Why and how.")
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER)
    unit_id: uuid.UUID | None = Field(
        default=None, description="The org unit that runs it; default the goal's unit."
    )
    status: InitiativeStatus = Field(default=InitiativeStatus.PLANNED, description=_STATUS)
    start: AwareDatetime | None = Field(default=None, description="When work starts.")
    due: AwareDatetime | None = Field(default=None, description="When it should be done.")
    budget: Budget | None = Field(default=None, description=_BUDGET)
    spent: Decimal = Field(
        default=Decimal(0), ge=0, max_digits=18, decimal_places=2, description=_SPENT
    )
    milestones: list[MilestoneIn] = Field(default=[], max_length=200, description=_MILESTONES)


class InitiativeUpdate(BaseModel):
    """Only the fields present change; null clears an optional field."""

    model_config = _INPUT

    title: str | None = Field(default=None, min_length=1, max_length=200, description="Title.")
    description: str | None = Field(default=None, max_length=10_000, description="Description.")
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER)
    unit_id: uuid.UUID | None = Field(default=None, description="The org unit that runs it.")
    status: InitiativeStatus | None = Field(default=None, description=_STATUS)
    start: AwareDatetime | None = Field(default=None, description="When work starts.")
    due: AwareDatetime | None = Field(default=None, description="When it should be done.")
    budget: Budget | None = Field(default=None, description=_BUDGET)
    spent: Decimal | None = Field(
        default=None, ge=0, max_digits=18, decimal_places=2, description=_SPENT
    )
    milestones: list[MilestoneIn] | None = Field(
        default=None, max_length=200, description=_MILESTONES
    )


class InitiativeOut(BaseModel):
    id: uuid.UUID = Field(description="The initiative.")
    goal_id: uuid.UUID = Field(description="The goal it serves.")
    title: str = Field(description="What it is.")
    description: str = Field(description="Why and how.")
    owner_id: uuid.UUID | None = Field(description=_OWNER)
    unit_id: uuid.UUID | None = Field(description="The org unit that runs it.")
    status: InitiativeStatus = Field(description=_STATUS)
    start: datetime | None = Field(description="When work starts.")
    due: datetime | None = Field(description="When it should be done.")
    budget: Budget | None = Field(description=_BUDGET)
    spent: Decimal = Field(description=_SPENT)
    milestones: list[MilestoneOut] = Field(description="Its steps, in order.")
    progress: float = Field(
        description="Share of milestones done (0..1); without milestones 1 when done, else 0."
    )
    late: bool = Field(
        description="Past its due and not done, or a milestone past due and not done: this "
        "keeps a `plan` alert open on the goal."
    )
    carried_from: uuid.UUID | None = Field(
        description="The initiative of an earlier cycle this one was carried forward from."
    )
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it was last changed.")
