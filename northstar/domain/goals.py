"""Goals (SPEC §5): pacing, score, status, roll-ups, forecasts and the SMART check.

Everything here is a pure function of plain values and an explicit ``now``; the
evaluator feeds it the KPI value it computed and stores what comes back.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_ROLLUP_CAP",
    "Forecast",
    "ForecastStatus",
    "GoalEvaluation",
    "GoalSpec",
    "GoalStatus",
    "GoalType",
    "Pacing",
    "RollupPolicy",
    "SmartCheck",
    "Thresholds",
    "elapsed_fraction",
    "evaluate_goal",
    "expected_value",
    "final_condition_holds",
    "forecast",
    "rollup_children",
    "rollup_score",
    "rollup_status",
    "smart_check",
    "status_for_score",
]

DEFAULT_ROLLUP_CAP = 1.0
"""A child's score counts at most this much in a roll-up unless the goal sets its own
`rollup_cap` (SPEC §5): at 1.0 a child ahead of plan cannot hide one behind it (a child at
1,600 % of its pace lifts its parent no more than one exactly on pace)."""

MIN_FORECAST_DAYS = 3
"""Distinct UTC days of data a forecast needs (SPEC §5)."""


class GoalType(StrEnum):
    """What a goal asks of its KPI."""

    REACH = "reach"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"


class Pacing(StrEnum):
    """How the expected value moves over the period."""

    LINEAR = "linear"
    NONE = "none"
    SEASONAL = "seasonal"


class GoalStatus(StrEnum):
    """A goal's judged state at one moment."""

    NOT_STARTED = "not_started"
    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    ACHIEVED = "achieved"
    MISSED = "missed"


class RollupPolicy(StrEnum):
    """How a roll-up goal combines its children's scores."""

    WEIGHTED = "weighted"
    WORST = "worst"


class ForecastStatus(StrEnum):
    """Whether the projected KPI value at ``due`` meets the goal's final condition."""

    LIKELY_ACHIEVED = "likely_achieved"
    LIKELY_MISSED = "likely_missed"


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")


def _require_finite(value: float, what: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds: ``score >= at_risk`` is on track, ``score >= off_track`` is at
    risk, lower is off track. Requires ``0 < off_track <= at_risk``."""

    at_risk: float = 0.95
    off_track: float = 0.85

    def __post_init__(self) -> None:
        _require_finite(self.at_risk, "thresholds.at_risk")
        _require_finite(self.off_track, "thresholds.off_track")
        if not 0 < self.off_track <= self.at_risk:
            raise ValueError(
                "thresholds must satisfy 0 < off_track <= at_risk, got "
                f"off_track={self.off_track}, at_risk={self.at_risk}"
            )


@dataclass(frozen=True, kw_only=True)
class GoalSpec:
    """The parts of a goal that decide its status (SPEC §5).

    ``start`` and ``due`` must be timezone-aware with ``due >= start``; ``baseline``
    and ``target`` finite. A ``reach`` goal moves from baseline towards target in
    either direction (``target < baseline`` is a goal to bring the KPI down); one with
    ``target == baseline`` is read as "reach at least the target".
    """

    type: GoalType
    target: float
    start: datetime
    due: datetime
    baseline: float = 0.0
    pacing: Pacing = Pacing.LINEAR
    thresholds: Thresholds = field(default_factory=Thresholds)
    profile: tuple[float, ...] = ()
    """For ``seasonal`` pacing: the weight of each UTC day from the one containing
    ``start`` to the one containing ``due`` (see ``forecasting.seasonal_profile``);
    without one, seasonal pacing is linear."""

    def __post_init__(self) -> None:
        _require_finite(self.target, "target")
        _require_finite(self.baseline, "baseline")
        _require_aware(self.start, "start")
        _require_aware(self.due, "due")
        if self.due < self.start:
            raise ValueError(
                f"due ({self.due.isoformat()}) is before start ({self.start.isoformat()})"
            )

    @property
    def decreasing(self) -> bool:
        """Whether this is a reach goal towards a lower value."""
        return self.target < self.baseline


@dataclass(frozen=True)
class GoalEvaluation:
    """The judgement of a goal at one moment (the status object minus ids and times).

    ``expected`` is the paced value the actual is compared with (``None`` before
    start); ``score`` is ``None`` before start and without data; ``progress`` is the
    share of the way from baseline to target covered (``None`` without data or when
    target equals baseline).
    """

    status: GoalStatus
    actual: float | None
    expected: float | None
    target: float
    score: float | None
    progress: float | None


def elapsed_fraction(spec: GoalSpec, now: datetime) -> float:
    """``e = clamp((now - start) / (due - start), 0, 1)``; 1 once started when due == start."""
    if now < spec.start:
        return 0.0
    period = spec.due - spec.start
    if not period:
        return 1.0
    return min(max((now - spec.start) / period, 0.0), 1.0)


def seasonal_fraction(spec: GoalSpec, now: datetime) -> float:
    """The share of the period's weight (``spec.profile``, one weight per UTC day, a
    day cut by ``start`` or ``due`` counting for the part inside) that lies before
    ``now``; linear within a day. The elapsed fraction when there is no usable profile."""
    if now < spec.start:
        return 0.0
    first = spec.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    total = done = 0.0
    for i, weight in enumerate(spec.profile):
        begin = max(first + i * day, spec.start)
        end = min(first + (i + 1) * day, spec.due)
        if end <= begin or weight <= 0 or not math.isfinite(weight):
            continue
        part = weight * ((end - begin) / day)
        total += part
        if now >= end:
            done += part
        elif now > begin:
            done += part * ((now - begin) / (end - begin))
    if total <= 0:
        return elapsed_fraction(spec, now)
    return min(max(done / total, 0.0), 1.0)


def expected_value(spec: GoalSpec, now: datetime) -> float:
    """The value the KPI should have at ``now``: from baseline to target over the
    period, linearly or (``seasonal``) along the KPI's own seasonal curve; the target
    from the start for ``none`` pacing."""
    if spec.pacing is Pacing.NONE:
        return spec.target
    if spec.pacing is Pacing.SEASONAL:
        return spec.baseline + (spec.target - spec.baseline) * seasonal_fraction(spec, now)
    return spec.baseline + (spec.target - spec.baseline) * elapsed_fraction(spec, now)


def _reached(spec: GoalSpec, value: float) -> bool:
    return value <= spec.target if spec.decreasing else value >= spec.target


def final_condition_holds(spec: GoalSpec, value: float) -> bool:
    """The goal's condition at ``due``: reach — target reached in its direction;
    stay_above — value ≥ target; stay_below — value ≤ target."""
    if spec.type is GoalType.REACH:
        return _reached(spec, value)
    if spec.type is GoalType.STAY_ABOVE:
        return value >= spec.target
    return value <= spec.target


def _score(spec: GoalSpec, actual: float, expected: float) -> float:
    """The SPEC §5 score of ``actual`` against the paced ``expected`` value."""
    if spec.type is GoalType.REACH:
        if expected == spec.baseline:
            on_target_side = actual <= spec.baseline if spec.decreasing else actual >= spec.baseline
            return 1.0 if on_target_side else 0.0
        score = (actual - spec.baseline) / (expected - spec.baseline)
    elif spec.type is GoalType.STAY_ABOVE:
        if expected <= 0:
            return 1.0 if actual >= expected else 0.0
        score = actual / expected
    else:
        if actual <= 0:
            return 1.0 if actual <= expected else 0.0
        score = expected / actual
    # Overflow against a tiny denominator: the largest finite score of that sign keeps the
    # score monotone in the actual.
    return score if math.isfinite(score) else math.copysign(sys.float_info.max, score)


def status_for_score(score: float, thresholds: Thresholds) -> GoalStatus:
    """``on_track`` / ``at_risk`` / ``off_track`` by the thresholds."""
    if score >= thresholds.at_risk:
        return GoalStatus.ON_TRACK
    if score >= thresholds.off_track:
        return GoalStatus.AT_RISK
    return GoalStatus.OFF_TRACK


def _progress(spec: GoalSpec, actual: float | None) -> float | None:
    if actual is None or spec.target == spec.baseline:
        return None
    return (actual - spec.baseline) / (spec.target - spec.baseline)


def evaluate_goal(spec: GoalSpec, actual: float | None, now: datetime) -> GoalEvaluation:
    """Judge a goal at ``now`` given its KPI value ``actual`` (SPEC §5).

    ``actual`` is the KPI over ``[start, min(now, due)]`` (or the rolling window);
    ``None`` means no events. The rules, in order:

    - ``now < start`` → ``not_started`` (no expected value, no score);
    - no actual → ``no_data`` (the expected value is still reported);
    - at or after ``due`` → ``achieved`` if the final condition holds, else ``missed``;
    - a reach goal whose actual has reached the target in the target's direction →
      ``achieved`` at once;
    - otherwise the score against the paced expected value decides ``on_track``,
      ``at_risk`` or ``off_track``.

    ``progress`` is ``(actual - baseline) / (target - baseline)`` for every goal type;
    for stay_* goals it says how far the KPI has moved from the baseline towards the
    target line (it is negative when it moved away), which is informative only when
    baseline and target differ.
    """
    _require_aware(now, "now")
    if actual is not None:
        _require_finite(actual, "actual")
    progress = _progress(spec, actual)
    if now < spec.start:
        return GoalEvaluation(GoalStatus.NOT_STARTED, actual, None, spec.target, None, progress)
    expected = expected_value(spec, now)
    if actual is None:
        return GoalEvaluation(GoalStatus.NO_DATA, None, expected, spec.target, None, None)
    score = _score(spec, actual, expected)
    if now >= spec.due:
        status = GoalStatus.ACHIEVED if final_condition_holds(spec, actual) else GoalStatus.MISSED
    elif spec.type is GoalType.REACH and _reached(spec, actual):
        status = GoalStatus.ACHIEVED
    else:
        status = status_for_score(score, spec.thresholds)
    return GoalEvaluation(status, actual, expected, spec.target, score, progress)


# --------------------------------------------------------------------------- roll-ups


def rollup_score(
    policy: RollupPolicy,
    children: Sequence[tuple[float, float | None]],
    *,
    cap: float = DEFAULT_ROLLUP_CAP,
) -> float | None:
    """Combine children's ``(weight, score)`` pairs into a roll-up goal's score.

    Only children with a score and a weight > 0 count; each score counts at most ``cap``
    (the goal's `rollup_cap`, default 1.0). ``weighted``: Σ wᵢ·min(sᵢ, cap) / Σ wᵢ.
    ``worst``: the lowest (capped) score. ``None`` when no child counts. The result
    always lies between the lowest and highest capped score of the counted children.
    Raises ``ValueError`` for a negative or non-finite weight, a non-finite score or a
    cap that is not a positive finite number.
    """
    _require_finite(cap, "the roll-up cap")
    if cap <= 0:
        raise ValueError(f"the roll-up cap must be > 0, got {cap}")
    counted: list[tuple[float, float]] = []
    for weight, score in children:
        _require_finite(weight, "a child's weight")
        if weight < 0:
            raise ValueError(f"a child's weight must be >= 0, got {weight}")
        if score is None or weight == 0:
            continue
        _require_finite(score, "a child's score")
        counted.append((weight, min(score, cap)))
    if not counted:
        return None
    if policy is RollupPolicy.WORST:
        return min(score for _, score in counted)
    total_weight = math.fsum(weight for weight, _ in counted)
    average = math.fsum(weight * score for weight, score in counted) / total_weight
    low = min(score for _, score in counted)
    high = max(score for _, score in counted)
    return min(max(average, low), high)  # keep float rounding inside the bound


def rollup_children(statuses: Sequence[GoalStatus]) -> dict[str, int]:
    """A roll-up goal's children counted by status (SPEC §5: the status object's
    `children`), every status present, zero where no child has it, in the order of
    :class:`GoalStatus`. Every child counts, weighted or not, scored or not: the counts
    say what the children are, the score how they combine."""
    counts = dict.fromkeys((s.value for s in GoalStatus), 0)
    for status in statuses:
        counts[status.value] += 1
    return counts


def rollup_status(score: float | None, thresholds: Thresholds) -> GoalStatus:
    """A roll-up goal's status: ``no_data`` without a score, else by the thresholds.

    Roll-ups have no KPI of their own, so they are never ``achieved``/``missed``; their
    children carry those outcomes.
    """
    if score is None:
        return GoalStatus.NO_DATA
    return status_for_score(score, thresholds)


# --------------------------------------------------------------------------- forecast


@dataclass(frozen=True)
class Forecast:
    """The KPI value projected at ``due`` and whether it would meet the goal; with a
    band, the probability of meeting the goal and the model's name when it comes from
    :mod:`northstar.domain.forecasting` (SPEC §13)."""

    value: float
    status: ForecastStatus
    low: float | None = None
    high: float | None = None
    probability: float | None = None
    method: str | None = None

    def to_dict(self) -> dict[str, float | str | None]:
        """The status object's ``forecast`` member."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "probability": self.probability,
            "method": self.method,
            "status": self.status.value,
        }


def forecast(
    spec: GoalSpec, points: Sequence[tuple[datetime, float]], now: datetime
) -> Forecast | None:
    """Project the KPI's value at ``due`` from its period-to-date trend.

    ``points`` are ``(time, period-to-date KPI value)`` observations; those outside
    ``[start, min(now, due)]`` are ignored. A least-squares line through them is read
    at ``due``. Returns ``None`` when there is nothing to forecast: pacing is not
    linear, the points cover fewer than 3 distinct UTC days, ``now`` is not before
    ``due`` (the outcome is then known, not forecast), or the projection is not finite.
    The status is ``likely_achieved`` when the projected value meets the goal's final
    condition (see :func:`final_condition_holds`), else ``likely_missed``.
    """
    _require_aware(now, "now")
    if spec.pacing is not Pacing.LINEAR or now >= spec.due:
        return None
    usable = [(t, v) for t, v in points if spec.start <= t <= now and math.isfinite(v)]
    days = {t.astimezone(UTC).date() for t, _ in usable}
    if len(days) < MIN_FORECAST_DAYS:
        return None
    xs = [(t - spec.start).total_seconds() for t, _ in usable]
    ys = [v for _, v in usable]
    mean_x = math.fsum(xs) / len(xs)
    mean_y = math.fsum(ys) / len(ys)
    spread = math.fsum((x - mean_x) ** 2 for x in xs)
    if spread == 0:  # pragma: no cover - three distinct days imply distinct times
        return None
    slope = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    value = mean_y + slope * ((spec.due - spec.start).total_seconds() - mean_x)
    if not math.isfinite(value):
        return None
    status = (
        ForecastStatus.LIKELY_ACHIEVED
        if final_condition_holds(spec, value)
        else ForecastStatus.LIKELY_MISSED
    )
    return Forecast(value, status)


# --------------------------------------------------------------------------- SMART


@dataclass(frozen=True)
class SmartCheck:
    """Which SMART elements a goal lacks: for each element, the problems found (empty
    when the element is satisfied). ``complete`` is true when there is no problem."""

    specific: tuple[str, ...] = ()
    measurable: tuple[str, ...] = ()
    achievable: tuple[str, ...] = ()
    relevant: tuple[str, ...] = ()
    time_bound: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every SMART element is present."""
        return not (
            self.specific or self.measurable or self.achievable or self.relevant or self.time_bound
        )

    def to_dict(self) -> dict[str, list[str] | bool]:
        """``{"specific": [...], ..., "time_bound": [...], "complete": bool}``."""
        return {
            "specific": list(self.specific),
            "measurable": list(self.measurable),
            "achievable": list(self.achievable),
            "relevant": list(self.relevant),
            "time_bound": list(self.time_bound),
            "complete": self.complete,
        }


def smart_check(
    *,
    title: str | None,
    description: str | None,
    kpi: str | None,
    baseline: float | None,
    target: float | None,
    start: datetime | None,
    due: datetime | None,
    parent_id: object | None,
    unit_id: object | None,
    goal_type: GoalType = GoalType.REACH,
    rollup: bool = False,
) -> SmartCheck:
    """Check a goal draft against SMART (SPEC §5) and name what is missing.

    Specific: a title and a description. Measurable: a KPI — unless ``rollup``, where
    the children measure it. Achievable: a target (not needed for a roll-up), and for a
    reach goal a target different from the baseline (``None`` baseline means the
    default 0). Relevant: a parent goal or an org unit. Time-bound: a start and a due
    date, due after start. A draft is advice, not validation: callers decide whether an
    incomplete goal may be saved.
    """
    specific: list[str] = []
    if not (title and title.strip()):
        specific.append("no title")
    if not (description and description.strip()):
        specific.append("no description")
    measurable = [] if (kpi or rollup) else ["no KPI"]
    achievable: list[str] = []
    if not rollup:
        if target is None:
            achievable.append("no target")
        elif goal_type is GoalType.REACH and target == (0.0 if baseline is None else baseline):
            achievable.append("target equals baseline")
    relevant = (
        [] if (parent_id is not None or unit_id is not None) else ["no parent goal or org unit"]
    )
    time_bound: list[str] = []
    if start is None:
        time_bound.append("no start date")
    if due is None:
        time_bound.append("no due date")
    if start is not None and due is not None and due <= start:
        time_bound.append("due date is not after the start date")
    return SmartCheck(
        tuple(specific), tuple(measurable), tuple(achievable), tuple(relevant), tuple(time_bound)
    )
