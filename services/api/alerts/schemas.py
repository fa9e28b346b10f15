"""Alert response bodies (mirroring `northstar.evaluation.alerts.alert_object`, the one
shape the API and the published events share) and the acknowledge/resolve bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from northstar.domain.alerts import AlertEventType, AlertKind, AlertSeverity, AlertState


class AlertStateFilter(StrEnum):
    """`state=` of the alert list: one state, or `unresolved` (open or acknowledged)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"


class AlertOut(BaseModel):
    """The alert object, as `alert.*` events carry it."""

    id: uuid.UUID = Field(description="The alert's id.")
    goal_id: uuid.UUID = Field(description="The goal it is about.")
    goal_title: str | None = Field(description="That goal's title.")
    kind: AlertKind = Field(
        description="status (goal at_risk, off_track or missed), forecast (likely_missed "
        "while on_track) or stale_data (the KPI exceeded its max_staleness)."
    )
    severity: AlertSeverity = Field(
        description="warning or critical; the worst seen since the alert opened (never lowers)."
    )
    state: AlertState = Field(description="open → acknowledged → resolved.")
    opened_at: datetime = Field(description="When the alert opened.")
    updated_at: datetime = Field(description="When it last changed.")
    acknowledged_at: datetime | None = Field(description="When it was acknowledged, if it was.")
    acknowledged_by: str | None = Field(description="API key name of who acknowledged it.")
    note: str | None = Field(description="The acknowledgement's note.")
    resolved_at: datetime | None = Field(description="When it was resolved, if it was.")
    resolved_by: str | None = Field(
        description="`northstar` when the condition cleared, else the API key name of who "
        "resolved it by hand."
    )
    details: dict[str, Any] = Field(
        description="The goal's status, score, actual and expected when the alert opened."
    )


class AlertEventOut(BaseModel):
    id: uuid.UUID = Field(description="The event's id.")
    type: AlertEventType = Field(
        description="alert.opened, alert.updated (severity raised), alert.acknowledged or "
        "alert.resolved."
    )
    occurred_at: datetime = Field(description="When it happened.")
    severity: AlertSeverity = Field(description="The alert's severity after the change.")
    state: AlertState = Field(description="The alert's state after the change.")
    actor: str | None = Field(
        description="The API key name of the person who acted, or `northstar` for the system."
    )
    note: str | None = Field(description="The note given with an acknowledgement or resolution.")


class AlertDetail(AlertOut):
    events: list[AlertEventOut] = Field(description="Every change of the alert, oldest first.")


class AlertAction(BaseModel):
    """Body of acknowledge and resolve; it may be left out."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=2000,
        description="What you know or did; kept on the alert's event and in the goal's history.",
    )
