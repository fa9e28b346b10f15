"""The goal timeline's entries: one shape per kind, told apart by `type`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from northstar.domain.alerts import AlertEventType, AlertKind, AlertSeverity, AlertState
from northstar.domain.goals import GoalStatus
from services.api.goals.schemas import GoalStatusOut


class StatusEntry(BaseModel):
    time: datetime = Field(description="When the goal was evaluated.")
    type: Literal["status"] = Field(description="An evaluation from the status history.")
    status: GoalStatus = Field(description="The status then.")
    actual: float | None = Field(description="The KPI value then.")
    expected: float | None = Field(description="The expected value then.")
    score: float | None = Field(description="The score then.")


class RevisionEntry(BaseModel):
    time: datetime = Field(description="When the change was made.")
    type: Literal["revision"] = Field(
        description="A change to target, baseline, thresholds or due."
    )
    changed_by: str = Field(description="Name of the API key that made it.")
    changes: dict[str, dict[str, object]] = Field(
        description='`{field: {"old": …, "new": …}}` for each field that changed.'
    )
    reason: str = Field(description="Why.")
    review_id: uuid.UUID | None = Field(description="The review that decided it, if any.")
    review_title: str | None = Field(description="That review's title.")


class AlertEntry(BaseModel):
    time: datetime = Field(description="When the alert changed.")
    type: Literal["alert"] = Field(description="A change of one of the goal's alerts.")
    event: AlertEventType = Field(
        description="alert.opened, alert.updated (severity raised), alert.acknowledged or "
        "alert.resolved."
    )
    alert_id: uuid.UUID = Field(description="The alert.")
    kind: AlertKind = Field(description="status, forecast, stale_data, plan, anomaly or source.")
    severity: AlertSeverity = Field(description="The alert's severity after the change.")
    state: AlertState = Field(description="The alert's state after the change.")
    actor: str | None = Field(
        description="The API key name of the person who acted, or `northstar` for the system."
    )
    note: str | None = Field(description="The note given with an acknowledgement or resolution.")


class ReviewEntry(BaseModel):
    time: datetime = Field(description="When the review was held (`held_at`).")
    type: Literal["review"] = Field(description="A performance review whose scope held the goal.")
    review_id: uuid.UUID = Field(description="The review.")
    title: str = Field(description="The review's title.")
    status: GoalStatusOut = Field(
        description="The goal's status object as frozen in the review's snapshot."
    )


class CheckInEntry(BaseModel):
    time: datetime = Field(description="When the check-in holds (`at`).")
    type: Literal["check_in"] = Field(description="A person's check-in on the goal.")
    check_in_id: uuid.UUID = Field(description="The check-in.")
    author: str = Field(description="Who checked in.")
    comment: str = Field(description="The update in words.")
    confidence: int = Field(description="1-10.")
    blockers: str | None = Field(description="What stands in the way.")
    value: float | None = Field(description="The value entered, for a goal on a manual KPI.")


HistoryEntry = Annotated[
    StatusEntry | RevisionEntry | AlertEntry | ReviewEntry | CheckInEntry,
    Field(discriminator="type"),
]


class GoalHistory(BaseModel):
    goal_id: uuid.UUID = Field(description="The goal.")
    items: list[HistoryEntry] = Field(description="One timeline, oldest first.")
