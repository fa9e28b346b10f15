"""Alerts (SPEC §6) as a pure state machine.

Each evaluation of a goal yields one :class:`AlertCondition` per alert kind (whether
the condition holds, at which severity, and whether it has cleared). :func:`decide`
compares it with the goal's unresolved alert of that kind and returns the transition
to store and publish, if any. People act through :func:`acknowledge` and
:func:`resolve_by_hand`.

Rules kept by this module:

- At most one unresolved alert per (goal, kind): a worse condition raises the severity
  of the alert that is already open (``alert.updated``) instead of opening another.
- Severity never lowers while an alert is unresolved: it is the worst seen since it
  opened.
- Hysteresis: a status alert resolves itself only when the goal is ``achieved`` (or
  ``not_started`` again), or ``on_track`` with a score of at least the ``at_risk``
  threshold plus a clear margin (:data:`DEFAULT_CLEAR_MARGIN`, 0.02 score units). A
  goal flapping around the threshold keeps its one alert instead of opening a new one
  at every evaluation. Forecast and stale-data alerts resolve as soon as their
  condition no longer holds: a forecast is a least-squares fit over days of data and
  staleness a clock comparison, neither flaps from one evaluation to the next.
- Acknowledged alerts still escalate and still resolve themselves.
- Resolving by hand closes the alert now. If its condition still holds at the next
  evaluation, a new alert opens (as in PagerDuty): resolving means "I believe this is
  over", acknowledging means "I know, stop telling me". This keeps the rule stateless:
  what happens next depends only on the condition and the unresolved alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from northstar.domain.goals import Forecast, ForecastStatus, GoalStatus, Thresholds

__all__ = [
    "DEFAULT_CLEAR_MARGIN",
    "Alert",
    "AlertCondition",
    "AlertEventType",
    "AlertKind",
    "AlertSeverity",
    "AlertState",
    "AlertTransition",
    "AlertTransitionError",
    "acknowledge",
    "alert_conditions",
    "decide",
    "forecast_condition",
    "plan_condition",
    "resolve_by_hand",
    "source_condition",
    "stale_data_condition",
    "status_condition",
]

DEFAULT_CLEAR_MARGIN = 0.02
"""Score units above the ``at_risk`` threshold a goal must reach before its status
alert resolves itself (hysteresis)."""


class AlertKind(StrEnum):
    """What an alert is about; a goal has at most one unresolved alert of each kind."""

    STATUS = "status"
    FORECAST = "forecast"
    STALE_DATA = "stale_data"
    PLAN = "plan"
    ANOMALY = "anomaly"
    SOURCE = "source"


_SEVERITY_RANK = {"warning": 1, "critical": 2}


class AlertSeverity(StrEnum):
    """How bad an alert is, ordered ``WARNING < CRITICAL`` (not alphabetically)."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 for warning, 2 for critical."""
        return _SEVERITY_RANK[self.value]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank >= other.rank


class AlertState(StrEnum):
    """Lifecycle: ``open`` → (``acknowledged``) → ``resolved``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertEventType(StrEnum):
    """The event published for every alert change (SPEC §6)."""

    OPENED = "alert.opened"
    UPDATED = "alert.updated"
    ACKNOWLEDGED = "alert.acknowledged"
    RESOLVED = "alert.resolved"


class AlertTransitionError(ValueError):
    """A transition that the alert's current state does not allow (e.g. acknowledging a
    resolved alert)."""


@dataclass(frozen=True)
class AlertCondition:
    """One alert kind's condition for a goal at one evaluation.

    ``severity`` is set when the condition holds (an alert should be open at least at
    this severity); ``clears`` is true when it has cleared far enough for an open alert
    to resolve itself. Neither set is the hysteresis band: leave things as they are.
    """

    kind: AlertKind
    severity: AlertSeverity | None
    clears: bool

    def __post_init__(self) -> None:
        if self.severity is not None and self.clears:
            raise ValueError("an alert condition cannot both hold and clear")


@dataclass(frozen=True)
class Alert:
    """The state of one alert of a goal (identity and goal id live with the caller)."""

    kind: AlertKind
    severity: AlertSeverity
    state: AlertState
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    note: str | None = None
    resolved_at: datetime | None = None
    resolved_by_hand: bool = False

    @property
    def unresolved(self) -> bool:
        """Open or acknowledged."""
        return self.state is not AlertState.RESOLVED


@dataclass(frozen=True)
class AlertTransition:
    """A change to store and publish: the event type, the alert after the change and,
    for changes to an existing alert, the alert before it."""

    event: AlertEventType
    alert: Alert
    previous: Alert | None


# --------------------------------------------------------------------------- conditions


def status_condition(
    status: GoalStatus,
    score: float | None,
    thresholds: Thresholds,
    clear_margin: float = DEFAULT_CLEAR_MARGIN,
) -> AlertCondition:
    """The status alert's condition for a goal's (or roll-up's) status and score.

    Holds: ``at_risk`` → warning; ``off_track`` or ``missed`` → critical. Clears:
    ``achieved``, ``not_started``, or ``on_track`` with ``score >= at_risk +
    clear_margin``. ``on_track`` below that and ``no_data`` change nothing (missing
    data is the stale-data alert's business). Raises ``ValueError`` for a negative or
    non-finite margin.
    """
    if not math.isfinite(clear_margin) or clear_margin < 0:
        raise ValueError(f"clear_margin must be a finite number >= 0, got {clear_margin!r}")
    kind = AlertKind.STATUS
    if status is GoalStatus.AT_RISK:
        return AlertCondition(kind, AlertSeverity.WARNING, clears=False)
    if status in (GoalStatus.OFF_TRACK, GoalStatus.MISSED):
        return AlertCondition(kind, AlertSeverity.CRITICAL, clears=False)
    if status in (GoalStatus.ACHIEVED, GoalStatus.NOT_STARTED):
        return AlertCondition(kind, None, clears=True)
    if status is GoalStatus.ON_TRACK:
        clears = score is None or score >= thresholds.at_risk + clear_margin
        return AlertCondition(kind, None, clears=clears)
    return AlertCondition(kind, None, clears=False)


def forecast_condition(status: GoalStatus, forecast: Forecast | None) -> AlertCondition:
    """Holds (warning) while the forecast is ``likely_missed`` and the goal is still
    ``on_track``; clears otherwise (a goal already behind has a status alert)."""
    holds = (
        status is GoalStatus.ON_TRACK
        and forecast is not None
        and forecast.status is ForecastStatus.LIKELY_MISSED
    )
    if holds:
        return AlertCondition(AlertKind.FORECAST, AlertSeverity.WARNING, clears=False)
    return AlertCondition(AlertKind.FORECAST, None, clears=True)


def stale_data_condition(stale: bool) -> AlertCondition:
    """Holds (warning) while the goal's KPI has exceeded its ``max_staleness``."""
    if stale:
        return AlertCondition(AlertKind.STALE_DATA, AlertSeverity.WARNING, clears=False)
    return AlertCondition(AlertKind.STALE_DATA, None, clears=True)


def plan_condition(late: bool) -> AlertCondition:
    """Holds (warning) while one of the goal's initiatives, or one of their milestones, is
    past its due and not done (SPEC §12); clears once none is."""
    if late:
        return AlertCondition(AlertKind.PLAN, AlertSeverity.WARNING, clears=False)
    return AlertCondition(AlertKind.PLAN, None, clears=True)


def anomaly_condition(anomalous: bool) -> AlertCondition:
    """Holds (warning) when the KPI's last checked bucket fell outside its learned band;
    clears when a later bucket is back inside."""
    if anomalous:
        return AlertCondition(AlertKind.ANOMALY, AlertSeverity.WARNING, clears=False)
    return AlertCondition(AlertKind.ANOMALY, None, clears=True)


def source_condition(failing: bool) -> AlertCondition:
    """Holds (warning) while a source feeding the goal's KPI has failed its last runs
    (`NORTHSTAR_SOURCE_FAILURES_BEFORE_ALERT` in a row, SPEC §16); clears at its next
    good run."""
    if failing:
        return AlertCondition(AlertKind.SOURCE, AlertSeverity.WARNING, clears=False)
    return AlertCondition(AlertKind.SOURCE, None, clears=True)


def alert_conditions(
    *,
    status: GoalStatus,
    score: float | None,
    thresholds: Thresholds,
    forecast: Forecast | None,
    stale: bool,
    clear_margin: float = DEFAULT_CLEAR_MARGIN,
    late_plan: bool = False,
) -> tuple[AlertCondition, ...]:
    """The status, forecast, stale-data and plan conditions of one goal evaluation."""
    return (
        status_condition(status, score, thresholds, clear_margin),
        forecast_condition(status, forecast),
        stale_data_condition(stale),
        plan_condition(late_plan),
    )


# --------------------------------------------------------------------------- transitions


def decide(
    condition: AlertCondition, current: Alert | None, now: datetime
) -> AlertTransition | None:
    """The transition an evaluation causes, or ``None`` when nothing changes.

    ``current`` is the goal's unresolved alert of ``condition.kind`` (a resolved alert
    counts as none). Without one, a holding condition opens an alert. With one, a
    clearing condition resolves it; a holding condition of higher severity raises its
    severity; anything else leaves it alone, so severity never lowers while it is
    unresolved. Raises ``ValueError`` when ``current`` is of another kind.
    """
    if current is not None and current.kind is not condition.kind:
        raise ValueError(
            f"condition is for {condition.kind.value!r} alerts but the alert given is a "
            f"{current.kind.value!r} alert"
        )
    if current is None or not current.unresolved:
        if condition.severity is None:
            return None
        opened = Alert(condition.kind, condition.severity, AlertState.OPEN, now, now)
        return AlertTransition(AlertEventType.OPENED, opened, None)
    if condition.clears:
        resolved = replace(current, state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
        return AlertTransition(AlertEventType.RESOLVED, resolved, current)
    if condition.severity is not None and condition.severity > current.severity:
        raised = replace(current, severity=condition.severity, updated_at=now)
        return AlertTransition(AlertEventType.UPDATED, raised, current)
    return None


def acknowledge(alert: Alert, note: str | None, now: datetime) -> AlertTransition:
    """A person acknowledges an open alert, optionally with a note.

    Raises :class:`AlertTransitionError` when the alert is already acknowledged or
    resolved.
    """
    if alert.state is not AlertState.OPEN:
        raise AlertTransitionError(f"cannot acknowledge an alert that is {alert.state.value}")
    cleaned = note.strip() if note else None
    acknowledged = replace(
        alert,
        state=AlertState.ACKNOWLEDGED,
        acknowledged_at=now,
        note=cleaned or None,
        updated_at=now,
    )
    return AlertTransition(AlertEventType.ACKNOWLEDGED, acknowledged, alert)


def resolve_by_hand(alert: Alert, now: datetime) -> AlertTransition:
    """A person resolves an open or acknowledged alert.

    If the condition still holds at the next evaluation, :func:`decide` opens a new
    alert (see the module docstring). Raises :class:`AlertTransitionError` when the
    alert is already resolved.
    """
    if not alert.unresolved:
        raise AlertTransitionError("cannot resolve an alert that is already resolved")
    resolved = replace(
        alert, state=AlertState.RESOLVED, resolved_at=now, updated_at=now, resolved_by_hand=True
    )
    return AlertTransition(AlertEventType.RESOLVED, resolved, alert)
