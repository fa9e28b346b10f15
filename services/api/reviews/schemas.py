"""Review and decision request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.api.check_ins.schemas import CheckInOut
from services.api.goals.schemas import GoalStatusOut

_INPUT = ConfigDict(extra="forbid")

Participant = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class DecisionKind(StrEnum):
    DECISION = "decision"
    ACTION = "action"
    TARGET_CHANGE = "target_change"


_KIND = (
    "decision (something agreed), action (something to do, with an owner and a due date) "
    "or target_change (a goal's target is to change; carry it out with a goal PATCH that "
    "cites this review's id as `review_id`)."
)


class ReviewCreate(BaseModel):
    model_config = _INPUT

    title: str = Field(min_length=1, max_length=200, description="What the review was.")
    held_at: AwareDatetime | None = Field(
        default=None, description="When the meeting was held (RFC 3339 with offset); default now."
    )
    period_start: AwareDatetime | None = Field(
        default=None, description="Start of the period under review."
    )
    period_end: AwareDatetime | None = Field(
        default=None, description="End of the period under review, not before its start."
    )
    scope_goal_id: uuid.UUID | None = Field(
        default=None,
        description="The goal whose whole subtree (itself included) is reviewed; absent: "
        "every goal.",
    )
    participants: list[Participant] = Field(
        default_factory=list, max_length=200, description="Who took part."
    )
    notes: str = Field(default="", max_length=100_000, description="Minutes, free text.")


class SnapshotStatus(GoalStatusOut):
    """A goal's status object as frozen when the review was recorded."""

    title: str = Field(description="The goal's title then.")
    parent_id: uuid.UUID | None = Field(description="The goal's parent then.")
    latest_check_in: CheckInOut | None = Field(
        default=None, description="The goal's latest check-in then; null: none yet."
    )


class DecisionCreate(BaseModel):
    model_config = _INPUT

    kind: DecisionKind = Field(description=_KIND)
    text: str = Field(min_length=1, max_length=10_000, description="What was decided or is to do.")
    owner: str | None = Field(default=None, max_length=200, description="Who answers for it.")
    due: AwareDatetime | None = Field(default=None, description="By when (RFC 3339 with offset).")
    goal_id: uuid.UUID | None = Field(
        default=None, description="The goal it concerns; required for target_change."
    )
    done: bool = Field(default=False, description="Whether it has been carried out.")


class DecisionUpdate(BaseModel):
    """Only the fields present change; `owner` and `due` may be cleared with null."""

    model_config = _INPUT

    done: bool | None = Field(default=None, description="Whether it has been carried out.")
    text: str | None = Field(default=None, min_length=1, max_length=10_000, description="Text.")
    owner: str | None = Field(default=None, max_length=200, description="Who answers for it.")
    due: AwareDatetime | None = Field(default=None, description="By when.")


class DecisionOut(BaseModel):
    id: uuid.UUID = Field(description="The decision's id.")
    kind: DecisionKind = Field(description=_KIND)
    text: str = Field(description="What was decided or is to do.")
    owner: str | None = Field(description="Who answers for it.")
    due: datetime | None = Field(description="By when.")
    goal_id: uuid.UUID | None = Field(description="The goal it concerns.")
    done: bool = Field(description="Whether it has been carried out.")
    created_at: datetime = Field(description="When it was recorded.")
    updated_at: datetime = Field(description="When it last changed.")


class ReviewOut(BaseModel):
    id: uuid.UUID = Field(description="The review's id.")
    title: str = Field(description="What the review was.")
    held_at: datetime = Field(description="When the meeting was held.")
    period_start: datetime | None = Field(description="Start of the period under review.")
    period_end: datetime | None = Field(description="End of the period under review.")
    scope_goal_id: uuid.UUID | None = Field(
        description="The goal whose subtree was reviewed; null: every goal (or the scope goal "
        "was deleted since)."
    )
    participants: list[str] = Field(description="Who took part.")
    notes: str = Field(description="Minutes.")
    snapshot: list[SnapshotStatus] = Field(
        description="The status object of every goal in scope when the review was recorded "
        "(`created_at`), oldest goal first. It never changes afterwards."
    )
    decisions: list[DecisionOut] = Field(description="Decisions, oldest first.")
    created_at: datetime = Field(description="When the review was recorded (the snapshot's time).")
    created_by: str | None = Field(description="API key name of who recorded it.")
