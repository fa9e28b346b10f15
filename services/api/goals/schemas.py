"""Goal request and response bodies: the goal, its SMART check, its status object (SPEC §7),
the cascade tree and the history timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from northstar.domain.goals import ForecastStatus, GoalStatus, GoalType, Pacing, RollupPolicy
from services.api.fields import KPI_KEY_PATTERN, IsoDuration

_INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)

_KPI = (
    "Key of the KPI that measures the goal. Absent or null: a roll-up goal, measured by "
    "its children."
)
_TYPE = (
    "reach: move from baseline to target; stay_above / stay_below: keep the KPI on the "
    "target's side."
)
_TARGET = "The value to reach (or to stay above/below). Not needed for roll-up goals."
_START = (
    "Start of the period (RFC 3339 with offset). Without it the goal is measured from its creation."
)
_DUE = (
    "End of the period (RFC 3339 with offset), not before `start`. Without it the goal has "
    "no pace (expected = target) and never closes."
)
_PACING = (
    "linear: the expected value moves from baseline to target over the period; none: the "
    "target applies from the start; seasonal: it moves from baseline to target along the "
    "KPI's own curve (the same period 52 weeks before when there is data for it, else the "
    "KPI's weekly pattern over the last 8 weeks; linear without either)."
)
_WEIGHT = "Weight in the parent's weighted roll-up (≥ 0; 0 leaves the goal out)."
_WINDOW = "ISO-8601 duration: judge the KPI over this rolling window instead of period-to-date."
_ROLLUP = (
    "How a roll-up goal combines its children: weighted (average, each score capped at "
    "1.2) or worst (weakest child)."
)
_MARGIN = (
    "Alert hysteresis: a status alert resolves by itself only once the goal is on_track "
    "with score ≥ at_risk + this margin (or achieved), so a KPI hovering at the threshold "
    "keeps one alert instead of flapping."
)


_PERSPECTIVE = (
    "Balanced-scorecard perspective: financial, customer, internal_process, learning_growth "
    "or any other name (lower case, digits and _)."
)
_PERSPECTIVE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
_CADENCE = (
    "ISO-8601 duration (P7D, P14D, P1M = 30 days): how often the owner should check in; the "
    "status object's `check_in` says when the next one is due."
)
_CYCLE = (
    "The cycle (FY2027, 2027-Q1 …) the goal belongs to; a goal created or moved into a "
    "cycle without its own start/due takes the cycle's."
)


class ThresholdsIn(BaseModel):
    """Score thresholds; a field left out keeps its current (or default) value."""

    model_config = _INPUT

    at_risk: float | None = Field(
        default=None, gt=0, description="score ≥ at_risk is on_track (default 0.95)."
    )
    off_track: float | None = Field(
        default=None,
        gt=0,
        description="score ≥ off_track is at_risk, below is off_track (default 0.85). "
        "0 < off_track ≤ at_risk.",
    )


class ThresholdsOut(BaseModel):
    at_risk: float = Field(description="score ≥ at_risk is on_track.")
    off_track: float = Field(description="score ≥ off_track is at_risk, below is off_track.")


_OWNER_ID = (
    "The person who answers for the goal (a user id; 422 if none has it). The owner may "
    "check in and update its initiatives even outside their units."
)


class GoalCreate(BaseModel):
    model_config = _INPUT

    title: str = Field(min_length=1, max_length=200, description="What the goal is (Specific).")
    description: str = Field(default="", max_length=10_000, description="Why and how (Specific).")
    owner: str | None = Field(
        default=None,
        max_length=200,
        description="Free text, kept for older goals; prefer owner_id.",
    )
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER_ID)
    unit_id: uuid.UUID | None = Field(default=None, description="The org unit it belongs to.")
    parent_id: uuid.UUID | None = Field(default=None, description="The goal it contributes to.")
    kpi: str | None = Field(default=None, pattern=KPI_KEY_PATTERN, description=_KPI)
    type: GoalType = Field(default=GoalType.REACH, description=_TYPE)
    baseline: float = Field(default=0.0, description="Where the KPI starts from.")
    target: float | None = Field(default=None, description=_TARGET)
    start: AwareDatetime | None = Field(default=None, description=_START)
    due: AwareDatetime | None = Field(default=None, description=_DUE)
    pacing: Pacing = Field(default=Pacing.LINEAR, description=_PACING)
    thresholds: ThresholdsIn | None = Field(default=None, description="Score thresholds.")
    weight: float = Field(default=1.0, ge=0, description=_WEIGHT)
    window: IsoDuration | None = Field(default=None, description=_WINDOW)
    rollup: RollupPolicy = Field(default=RollupPolicy.WEIGHTED, description=_ROLLUP)
    alert_clear_margin: float = Field(default=0.02, ge=0, description=_MARGIN)
    perspective: str | None = Field(
        default=None, pattern=_PERSPECTIVE_PATTERN, description=_PERSPECTIVE
    )
    check_in_cadence: IsoDuration | None = Field(default=None, description=_CADENCE)
    cycle_id: uuid.UUID | None = Field(default=None, description=_CYCLE)


class GoalUpdate(BaseModel):
    """Only the fields present change; null clears an optional field. Changing target,
    baseline, thresholds or due of a goal that has started needs `reason`."""

    model_config = _INPUT

    title: str | None = Field(default=None, min_length=1, max_length=200, description="Title.")
    description: str | None = Field(default=None, max_length=10_000, description="Description.")
    owner: str | None = Field(default=None, max_length=200, description="Owner (free text).")
    owner_id: uuid.UUID | None = Field(default=None, description=_OWNER_ID)
    unit_id: uuid.UUID | None = Field(default=None, description="Org unit, or null.")
    parent_id: uuid.UUID | None = Field(default=None, description="Parent goal, or null.")
    kpi: str | None = Field(default=None, pattern=KPI_KEY_PATTERN, description=_KPI)
    type: GoalType | None = Field(default=None, description=_TYPE)
    baseline: float | None = Field(default=None, description="Where the KPI starts from.")
    target: float | None = Field(default=None, description=_TARGET)
    start: AwareDatetime | None = Field(default=None, description=_START)
    due: AwareDatetime | None = Field(default=None, description=_DUE)
    pacing: Pacing | None = Field(default=None, description=_PACING)
    thresholds: ThresholdsIn | None = Field(default=None, description="Score thresholds.")
    weight: float | None = Field(default=None, ge=0, description=_WEIGHT)
    window: IsoDuration | None = Field(default=None, description=_WINDOW)
    rollup: RollupPolicy | None = Field(default=None, description=_ROLLUP)
    alert_clear_margin: float | None = Field(default=None, ge=0, description=_MARGIN)
    perspective: str | None = Field(
        default=None, pattern=_PERSPECTIVE_PATTERN, description=_PERSPECTIVE
    )
    check_in_cadence: IsoDuration | None = Field(default=None, description=_CADENCE)
    cycle_id: uuid.UUID | None = Field(default=None, description=_CYCLE)
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Why target, baseline, thresholds or due change. Required for those "
        "changes once the goal has started; kept in the goal's revision history.",
    )
    review_id: uuid.UUID | None = Field(
        default=None, description="The performance review that decided the change, if any."
    )


class SmartOut(BaseModel):
    """What the goal lacks for each SMART element; empty lists mean the element is met."""

    specific: list[str] = Field(description="Title and description.")
    measurable: list[str] = Field(description="A KPI (a roll-up goal is measured by its children).")
    achievable: list[str] = Field(
        description="A target; for reach goals one that differs from the baseline."
    )
    relevant: list[str] = Field(description="A parent goal or an org unit.")
    time_bound: list[str] = Field(description="A start and a due date after it.")
    complete: bool = Field(description="True when nothing is missing.")


class ForecastOut(BaseModel):
    value: float = Field(description="The KPI value projected at `due` (the median path).")
    low: float | None = Field(
        default=None, description="Lower end of the 90 % band of the value at `due`."
    )
    high: float | None = Field(
        default=None, description="Upper end of the 90 % band of the value at `due`."
    )
    probability: float | None = Field(
        default=None, description="The chance (0–1) that the goal's final condition holds."
    )
    method: str | None = Field(
        default=None,
        description="`seasonal` (ETS with a weekly season, at least two weeks of daily "
        "history, additive KPIs) or `linear` (the period-to-date trend).",
    )
    status: ForecastStatus = Field(
        description="likely_achieved (probability ≥ 0.5) or likely_missed."
    )


class CheckInDue(BaseModel):
    last_at: datetime | None = Field(description="The latest check-in's time; null: none yet.")
    due_at: datetime | None = Field(
        description="One cadence after the latest check-in (or after the goal's start); "
        "null when the goal has no `check_in_cadence`."
    )
    overdue: bool = Field(description="True once `due_at` has passed.")


class BudgetTotal(BaseModel):
    currency: str = Field(description="ISO 4217 code.")
    amount: float = Field(description="The initiatives' budgets in this currency, summed.")
    spent: float = Field(description="What they spent, in this currency.")


class InitiativesSummary(BaseModel):
    count: int = Field(description="How many initiatives the goal has.")
    by_status: dict[str, int] = Field(description="How many are in each status.")
    progress: float | None = Field(
        description="Mean progress of the initiatives that are not cancelled (0..1)."
    )
    budget: list[BudgetTotal] = Field(description="Budget and spending, one entry per currency.")


class GoalStatusOut(BaseModel):
    """The goal status object (SPEC §7), from the goal's latest evaluation."""

    goal_id: uuid.UUID = Field(description="The goal.")
    status: GoalStatus = Field(description="no_data until the goal was evaluated.")
    actual: float | None = Field(description="The KPI value over the period (or window).")
    expected: float | None = Field(description="Where the KPI should be now, by the pacing.")
    target: float | None = Field(description="The goal's target.")
    score: float | None = Field(description="Actual against expected; roll-ups: children's score.")
    progress: float | None = Field(description="Share of the way from baseline to target covered.")
    forecast: ForecastOut | None = Field(
        description="Projection at due with a 90 % band and the probability of meeting the "
        "goal (linear or seasonal pacing; ≥ 3 days of data, or 2 weeks of daily history for "
        "the seasonal model)."
    )
    evaluated_at: datetime | None = Field(description="When this was computed; null if never.")
    check_in: CheckInDue | None = Field(
        default=None,
        description="The latest check-in and when the next is due; null when the goal has "
        "neither a cadence nor a check-in.",
    )
    initiatives: InitiativesSummary | None = Field(
        default=None, description="The goal's initiatives in sum; null when it has none."
    )


class GoalOut(BaseModel):
    id: uuid.UUID = Field(description="The goal's id.")
    title: str = Field(description="What the goal is.")
    description: str = Field(description="Why and how.")
    owner: str | None = Field(description="Who answers for it, as free text (older goals).")
    owner_id: uuid.UUID | None = Field(description=_OWNER_ID)
    unit_id: uuid.UUID | None = Field(description="The org unit.")
    parent_id: uuid.UUID | None = Field(description="The parent goal.")
    kpi: str | None = Field(description="The KPI key; null for a roll-up goal.")
    type: GoalType = Field(description=_TYPE)
    baseline: float = Field(description="Where the KPI starts from.")
    target: float | None = Field(description=_TARGET)
    start: datetime | None = Field(description=_START)
    due: datetime | None = Field(description=_DUE)
    pacing: Pacing = Field(description=_PACING)
    thresholds: ThresholdsOut = Field(description="Score thresholds.")
    weight: float = Field(description=_WEIGHT)
    window: str | None = Field(description=_WINDOW)
    rollup: RollupPolicy = Field(description=_ROLLUP)
    alert_clear_margin: float = Field(description=_MARGIN)
    perspective: str | None = Field(description=_PERSPECTIVE)
    check_in_cadence: str | None = Field(description=_CADENCE)
    cycle_id: uuid.UUID | None = Field(description=_CYCLE)
    carried_from: uuid.UUID | None = Field(
        description="The goal of an earlier cycle this one was carried forward from."
    )
    created_at: datetime = Field(description="When the goal was created.")
    updated_at: datetime = Field(description="When the goal was last changed.")
    smart: SmartOut = Field(description="What the goal lacks to be SMART (advice, not validation).")
    status: GoalStatusOut = Field(description="The goal's live status.")


class GoalNode(GoalOut):
    children: list[GoalNode] = Field(description="Child goals, oldest first.")


class GoalTree(BaseModel):
    items: list[GoalNode] = Field(description="The root goal, or every top-level goal.")
