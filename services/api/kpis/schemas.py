"""KPI request and response bodies, and the ISO-8601 duration field type goals share."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.api.fields import KPI_KEY_PATTERN, IsoDuration


class KpiKind(StrEnum):
    LEADING = "leading"
    LAGGING = "lagging"


_EXPRESSION = (
    "Arithmetic over metric aggregations, e.g. "
    '`100 * sum(won{region="eu"}) / sum(leads{region="eu"})`. Functions: sum count avg '
    "min max last p50 p90 p95 p99; selectors match dimensions with = and !=."
)
_STALENESS = (
    "ISO-8601 duration: no event for any of the KPI's metrics for longer than this "
    "opens a stale_data alert. Null: never stale."
)


class KpiSource(StrEnum):
    EVENTS = "events"
    MANUAL = "manual"


_SOURCE = (
    "events: values come from pushed events; manual: people enter them with goal check-ins "
    "(each becomes an event of source `check-in`). A manual KPI reads exactly one metric."
)
_CATEGORY = "Free grouping label (e.g. sales, people, quality); null: none."


_UNIT = (
    "The org unit the KPI belongs to: its leads (and those of the units above) define and "
    "change it. Null: only editors and admins do."
)
_OWNER = "The person who answers for the KPI (a user id; null: nobody)."


class AnomalySettings(BaseModel):
    """Anomaly detection on a KPI (SPEC §13)."""

    model_config = ConfigDict(extra="forbid")

    granularity: Literal["hour", "day"] = Field(
        description="The bucket checked: each closed hour (a daily season) or UTC day (a "
        "weekly season)."
    )
    sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium",
        description="How far outside the learned band a bucket must be: low = 5, medium = 4, "
        "high = 3 standard errors of the one-step prediction.",
    )


_ANOMALY = (
    "Anomaly detection, or null (off). Each closed bucket is compared with a band learned "
    "from the KPI's own history; a bucket outside it opens an `anomaly` alert on the goals "
    "measured by the KPI."
)


class KpiCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        pattern=KPI_KEY_PATTERN,
        description="Unique key the KPI is addressed by (`^[a-z][a-z0-9_]{0,63}$`).",
    )
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    description: str = Field(default="", max_length=10_000, description="What the KPI means.")
    unit: str = Field(default="", max_length=50, description="Free text: EUR, %, count …")
    expression: str = Field(min_length=1, max_length=2000, description=_EXPRESSION)
    kind: KpiKind = Field(description="leading (predicts) or lagging (reports an outcome).")
    max_staleness: IsoDuration | None = Field(default=None, description=_STALENESS)
    source: KpiSource = Field(default=KpiSource.EVENTS, description=_SOURCE)
    category: str | None = Field(default=None, min_length=1, max_length=50, description=_CATEGORY)
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER)
    unit_id: uuid.UUID | None = Field(default=None, description=_UNIT)
    anomaly: AnomalySettings | None = Field(default=None, description=_ANOMALY)


class KpiUpdate(BaseModel):
    """Only the fields present change. The key cannot change: it is the KPI's address."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name.")
    description: str | None = Field(default=None, max_length=10_000, description="New text.")
    unit: str | None = Field(default=None, max_length=50, description="New unit.")
    expression: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description=_EXPRESSION + " Changing it re-evaluates every goal on the KPI at once.",
    )
    kind: KpiKind | None = Field(default=None, description="leading or lagging.")
    max_staleness: IsoDuration | None = Field(default=None, description=_STALENESS)
    source: KpiSource | None = Field(default=None, description=_SOURCE)
    category: str | None = Field(default=None, min_length=1, max_length=50, description=_CATEGORY)
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER)
    unit_id: uuid.UUID | None = Field(default=None, description=_UNIT)
    anomaly: AnomalySettings | None = Field(default=None, description=_ANOMALY)


class KpiOut(BaseModel):
    key: str = Field(description="The KPI's unique key.")
    name: str = Field(description="Display name.")
    description: str = Field(description="What the KPI means.")
    unit: str = Field(description="Unit of its values.")
    expression: str = Field(description="The expression in canonical form.")
    kind: KpiKind = Field(description="leading or lagging.")
    max_staleness: str | None = Field(description="ISO-8601 duration, or null.")
    metrics: list[str] = Field(description="The metrics the expression reads, sorted.")
    warnings: list[ExpressionWarning] = Field(
        default_factory=list,
        description="Metric names and label keys no event has carried yet (the catalogue, "
        "`GET /v1/metrics`), each with the nearest known name: not an error (a KPI may come "
        "before its first event), but a typo would make a KPI that is always empty.",
    )
    source: KpiSource = Field(description=_SOURCE)
    category: str | None = Field(description=_CATEGORY)
    owner_id: uuid.UUID | None = Field(description=_OWNER)
    unit_id: uuid.UUID | None = Field(description=_UNIT)
    anomaly: AnomalySettings | None = Field(default=None, description=_ANOMALY)
    created_at: datetime = Field(description="When the KPI was created.")
    updated_at: datetime = Field(description="When the KPI was last changed.")


class KpiPoint(BaseModel):
    time: datetime = Field(description="Start of the step `[time, time + step)`.")
    value: float | None = Field(
        description="The KPI over the step; null where it has no value (division by zero)."
    )


class KpiValues(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    key: str = Field(description="The KPI's key.")
    from_: datetime = Field(alias="from", description="Start of the series, aligned to the step.")
    to: datetime = Field(description="End of the series (exclusive).")
    step: str = Field(description="ISO-8601 duration of each step.")
    points: list[KpiPoint] = Field(description="One point per step that had events, in order.")


class ExpressionCheck(BaseModel):
    """An expression to check without saving it (the web app's definition form)."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=2000, description="The expression to parse.")


class ExpressionWarning(BaseModel):
    metric: str = Field(description="The metric.")
    label: str | None = Field(description="The label key; null when the metric is unknown.")
    suggestion: str | None = Field(description="The nearest known name, if one is close.")
    message: str = Field(description="The warning in words, with “did you mean”.")


class ExpressionChecked(BaseModel):
    expression: str = Field(
        description="The expression in canonical form, as a KPI would store it."
    )
    metrics: list[str] = Field(description="The metrics the expression reads, sorted.")
    warnings: list[ExpressionWarning] = Field(
        default_factory=list,
        description="Metric names and label keys no event has carried yet (the catalogue, "
        "`GET /v1/metrics`), each with the nearest known name: not an error (a KPI may come "
        "before its first event), but a typo would make a KPI that is always empty.",
    )
