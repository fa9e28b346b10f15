"""Answers of the analysis routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from northstar.domain.analysis import Compare, DriverMethod, ReferenceKind


class BreakdownRowOut(BaseModel):
    dimensions: dict[str, str] = Field(
        description='The group\'s value of each dimension asked for (`""` for events '
        "without the dimension); empty for `other`."
    )
    value: float | None = Field(
        description="The KPI's expression evaluated on the group's events alone (null: no "
        "value, e.g. a division by zero)."
    )
    share: float | None = Field(
        description="For additive KPIs the group's value over the total; otherwise the "
        "group's share of the events the expression reads."
    )
    events: int = Field(description="Events the expression reads in the group.")


class BreakdownOut(BaseModel):
    kpi: str = Field(description="The KPI's key.")
    by: list[str] = Field(description="The dimensions grouped by, in the order asked.")
    start: datetime = Field(alias="from", description="Start of the range (inclusive).")
    end: datetime = Field(alias="to", description="End of the range (inclusive).")
    items: list[BreakdownRowOut] = Field(
        description="The top `limit` groups: by absolute value for additive KPIs, by events "
        "otherwise."
    )
    other: BreakdownRowOut | None = Field(
        description="Every group beyond the limit, as one (the expression evaluated over "
        "their union); null when there are none."
    )
    total: float | None = Field(description="The KPI over the whole range.")
    additive: bool = Field(
        description="Whether the groups' values add up to the total (a linear combination "
        "of `sum` and `count`); false for ratios, averages and percentiles."
    )

    model_config = {"populate_by_name": True}


class DriverItemOut(BaseModel):
    value: str = Field(description='The dimension value (`""`: events without it).')
    actual: float | None = Field(description="The KPI within this value, this period.")
    reference: float | None = Field(
        description="The KPI within this value in the reference: the previous period, or "
        "its part of the expected value."
    )
    contribution: float = Field(description="This value's part of the gap.")
    share_of_gap: float | None = Field(description="contribution / gap (null when the gap is 0).")


class DriverAlternativeOut(BaseModel):
    dimension: str = Field(description="Another dimension that was tried.")
    concentration: float = Field(
        description="How much the gap sits in particular values of it (0–1; see docs/analysis.md)."
    )


class DriversOut(BaseModel):
    goal_id: str = Field(description="The goal.")
    compare: Compare = Field(
        description="`expected`: actual against the expected pace now; `previous`: this "
        "period against the previous one of the same length."
    )
    method: DriverMethod = Field(
        description="`additive` (contributions sum to the gap), `rate_mix` (ratios and "
        "averages: rate and mix effects, sum to the gap) or `group_difference` "
        "(percentiles and other shapes: they rank, but do not sum to the gap)."
    )
    dimension: str = Field(description="The dimension the gap is split over.")
    concentration: float = Field(description="How much the gap sits in particular values.")
    start: datetime = Field(alias="from", description="Start of the period analysed.")
    end: datetime = Field(alias="to", description="End of the period analysed.")
    actual: float = Field(description="The KPI over the period.")
    reference: float = Field(description="What it is compared with (see `reference_kind`).")
    reference_kind: ReferenceKind = Field(
        description="Which reference was used, and how it was spread over the dimension's "
        "values: `previous` (the previous period of the same length, value by value), "
        "`expected_by_history` (the expected value, spread as the previous period was) or "
        "`expected_by_peers` (the expected value with no history to spread it by: each "
        "value held up to the median of its peers, so a value far below the others "
        "concentrates the gap; for percentiles and other shapes each value is held to the "
        "expected value itself). See docs/analysis.md."
    )
    gap: float = Field(description="actual - reference.")
    items: list[DriverItemOut] = Field(
        description="Dimension values by absolute contribution, largest first, at most `limit`."
    )
    other_contribution: float = Field(
        description="The summed contribution of the values beyond `limit` (0 when none)."
    )
    alternatives: list[DriverAlternativeOut] = Field(
        description="The other dimensions tried, best first (empty when `by` was given)."
    )

    model_config = {"populate_by_name": True}
