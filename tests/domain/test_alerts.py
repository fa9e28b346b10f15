"""Alert conditions and the alert state machine (SPEC §6)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from northstar.domain.alerts import (
    DEFAULT_CLEAR_MARGIN,
    Alert,
    AlertCondition,
    AlertEventType,
    AlertKind,
    AlertSeverity,
    AlertState,
    AlertTransitionError,
    acknowledge,
    alert_conditions,
    anomaly_condition,
    decide,
    forecast_condition,
    plan_condition,
    resolve_by_hand,
    stale_data_condition,
    status_condition,
)
from northstar.domain.goals import (
    Forecast,
    ForecastStatus,
    GoalStatus,
    Thresholds,
    status_for_score,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
THRESHOLDS = Thresholds()
WARNING, CRITICAL = AlertSeverity.WARNING, AlertSeverity.CRITICAL
LIKELY_MISSED = Forecast(10.0, ForecastStatus.LIKELY_MISSED)
LIKELY_ACHIEVED = Forecast(200.0, ForecastStatus.LIKELY_ACHIEVED)


def status(goal_status: GoalStatus, score: float | None = None) -> AlertCondition:
    return status_condition(goal_status, score, THRESHOLDS)


def open_alert(severity: AlertSeverity = WARNING, kind: AlertKind = AlertKind.STATUS) -> Alert:
    return Alert(kind, severity, AlertState.OPEN, T0, T0)


# --------------------------------------------------------------------------- enums


def test_severity_is_ordered_by_badness_not_alphabet() -> None:
    assert WARNING < CRITICAL
    assert CRITICAL > WARNING
    assert WARNING <= WARNING
    assert max(WARNING, CRITICAL) is CRITICAL
    assert sorted([CRITICAL, WARNING]) == [WARNING, CRITICAL]
    assert WARNING == "warning"


def test_event_type_values() -> None:
    assert [e.value for e in AlertEventType] == [
        "alert.opened",
        "alert.updated",
        "alert.acknowledged",
        "alert.resolved",
    ]


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("goal_status", "score", "severity", "clears"),
    [
        (GoalStatus.AT_RISK, 0.9, WARNING, False),
        (GoalStatus.OFF_TRACK, 0.5, CRITICAL, False),
        (GoalStatus.MISSED, 0.99, CRITICAL, False),
        (GoalStatus.ACHIEVED, 1.0, None, True),
        (GoalStatus.NOT_STARTED, None, None, True),
        (GoalStatus.ON_TRACK, 0.97, None, True),  # exactly at_risk + margin
        (GoalStatus.ON_TRACK, 1.5, None, True),
        (GoalStatus.ON_TRACK, 0.96, None, False),  # inside the hysteresis band
        (GoalStatus.ON_TRACK, 0.95, None, False),
        (GoalStatus.NO_DATA, None, None, False),
    ],
)
def test_status_condition(
    goal_status: GoalStatus, score: float | None, severity: AlertSeverity | None, clears: bool
) -> None:
    condition = status(goal_status, score)
    assert condition.kind is AlertKind.STATUS
    assert condition.severity is severity
    assert condition.clears is clears


def test_status_condition_margin_is_a_setting() -> None:
    assert status_condition(GoalStatus.ON_TRACK, 0.95, THRESHOLDS, clear_margin=0).clears
    assert not status_condition(GoalStatus.ON_TRACK, 1.0, THRESHOLDS, clear_margin=0.1).clears
    assert DEFAULT_CLEAR_MARGIN == 0.02
    with pytest.raises(ValueError, match="clear_margin"):
        status_condition(GoalStatus.ON_TRACK, 1.0, THRESHOLDS, clear_margin=-0.1)


@pytest.mark.parametrize(
    ("goal_status", "forecast", "severity"),
    [
        (GoalStatus.ON_TRACK, LIKELY_MISSED, WARNING),
        (GoalStatus.ON_TRACK, LIKELY_ACHIEVED, None),
        (GoalStatus.ON_TRACK, None, None),
        (GoalStatus.AT_RISK, LIKELY_MISSED, None),  # the status alert covers it
        (GoalStatus.OFF_TRACK, LIKELY_MISSED, None),
    ],
)
def test_forecast_condition(
    goal_status: GoalStatus, forecast: Forecast | None, severity: AlertSeverity | None
) -> None:
    condition = forecast_condition(goal_status, forecast)
    assert condition.kind is AlertKind.FORECAST
    assert condition.severity is severity
    assert condition.clears is (severity is None)


def test_stale_data_condition() -> None:
    assert stale_data_condition(True) == AlertCondition(AlertKind.STALE_DATA, WARNING, False)
    assert stale_data_condition(False) == AlertCondition(AlertKind.STALE_DATA, None, True)


def test_alert_conditions_cover_every_kind() -> None:
    conditions = alert_conditions(
        status=GoalStatus.ON_TRACK,
        score=1.0,
        thresholds=THRESHOLDS,
        forecast=LIKELY_MISSED,
        stale=True,
        late_plan=True,
    )
    # Anomalies are judged per KPI bucket by the sweep, sources by the collector's runs,
    # not per goal evaluation.
    outside = {AlertKind.ANOMALY, AlertKind.SOURCE}
    assert [c.kind for c in conditions] == [k for k in AlertKind if k not in outside]
    assert [c.severity for c in conditions] == [None, WARNING, WARNING, WARNING]


def test_plan_condition() -> None:
    assert plan_condition(True) == AlertCondition(AlertKind.PLAN, WARNING, False)
    assert plan_condition(False) == AlertCondition(AlertKind.PLAN, None, True)


def test_anomaly_condition() -> None:
    assert anomaly_condition(True) == AlertCondition(AlertKind.ANOMALY, WARNING, False)
    assert anomaly_condition(False) == AlertCondition(AlertKind.ANOMALY, None, True)


def test_a_condition_cannot_hold_and_clear() -> None:
    with pytest.raises(ValueError):
        AlertCondition(AlertKind.STATUS, WARNING, clears=True)


# --------------------------------------------------------------------------- transitions


def test_goal_entering_at_risk_opens_a_warning() -> None:
    transition = decide(status(GoalStatus.AT_RISK, 0.9), None, T0)
    assert transition is not None
    assert transition.event is AlertEventType.OPENED
    assert transition.previous is None
    assert transition.alert == Alert(AlertKind.STATUS, WARNING, AlertState.OPEN, T0, T0)


def test_goal_off_track_opens_a_critical() -> None:
    transition = decide(status(GoalStatus.OFF_TRACK, 0.5), None, T0)
    assert transition is not None
    assert transition.alert.severity is CRITICAL


def test_nothing_happens_without_a_condition() -> None:
    assert decide(status(GoalStatus.ON_TRACK, 1.0), None, T0) is None
    assert decide(status(GoalStatus.ON_TRACK, 0.96), None, T0) is None
    assert decide(status(GoalStatus.NO_DATA), None, T0) is None


def test_worsening_raises_the_severity_of_the_open_alert() -> None:
    current = open_alert(WARNING)
    transition = decide(status(GoalStatus.OFF_TRACK, 0.5), current, T1)
    assert transition is not None
    assert transition.event is AlertEventType.UPDATED
    assert transition.alert == Alert(AlertKind.STATUS, CRITICAL, AlertState.OPEN, T0, T1)
    assert transition.previous == current


def test_severity_never_lowers_while_open() -> None:
    current = open_alert(CRITICAL)
    assert decide(status(GoalStatus.AT_RISK, 0.9), current, T1) is None
    assert decide(status(GoalStatus.OFF_TRACK, 0.1), current, T1) is None


def test_alert_resolves_itself_when_the_condition_clears() -> None:
    transition = decide(status(GoalStatus.ON_TRACK, 1.0), open_alert(CRITICAL), T1)
    assert transition is not None
    assert transition.event is AlertEventType.RESOLVED
    assert transition.alert.state is AlertState.RESOLVED
    assert transition.alert.resolved_at == T1
    assert not transition.alert.resolved_by_hand


def test_achieved_resolves_the_status_alert() -> None:
    transition = decide(status(GoalStatus.ACHIEVED, 1.0), open_alert(), T1)
    assert transition is not None
    assert transition.event is AlertEventType.RESOLVED


def test_missed_keeps_a_critical_alert_open() -> None:
    transition = decide(status(GoalStatus.MISSED, 0.99), open_alert(WARNING), T1)
    assert transition is not None
    assert transition.alert.severity is CRITICAL
    assert transition.alert.unresolved


def test_hysteresis_a_goal_flapping_around_the_threshold_keeps_one_alert() -> None:
    current: Alert | None = None
    events = []
    for minute, score in enumerate([0.94, 0.951, 0.949, 0.96, 0.94, 0.969, 0.95, 0.971]):
        goal_status = status_for_score(score, THRESHOLDS)
        transition = decide(status(goal_status, score), current, T0 + timedelta(minutes=minute))
        if transition is not None:
            events.append(transition.event)
            current = transition.alert
    assert events == [AlertEventType.OPENED, AlertEventType.RESOLVED]
    assert current is not None
    assert current.state is AlertState.RESOLVED


def test_forecast_alert_lifecycle() -> None:
    opened = decide(forecast_condition(GoalStatus.ON_TRACK, LIKELY_MISSED), None, T0)
    assert opened is not None
    assert opened.alert.kind is AlertKind.FORECAST
    assert opened.alert.severity is WARNING
    resolved = decide(forecast_condition(GoalStatus.AT_RISK, LIKELY_MISSED), opened.alert, T1)
    assert resolved is not None
    assert resolved.event is AlertEventType.RESOLVED


def test_stale_data_alert_lifecycle() -> None:
    opened = decide(stale_data_condition(True), None, T0)
    assert opened is not None
    assert opened.alert.kind is AlertKind.STALE_DATA
    assert decide(stale_data_condition(True), opened.alert, T1) is None
    resolved = decide(stale_data_condition(False), opened.alert, T2)
    assert resolved is not None
    assert resolved.event is AlertEventType.RESOLVED


def test_decide_refuses_an_alert_of_another_kind() -> None:
    with pytest.raises(ValueError, match="alert given"):
        decide(stale_data_condition(True), open_alert(kind=AlertKind.STATUS), T1)


def test_acknowledge() -> None:
    current = open_alert()
    transition = acknowledge(current, "  looking into it ", T1)
    assert transition.event is AlertEventType.ACKNOWLEDGED
    assert transition.alert.state is AlertState.ACKNOWLEDGED
    assert transition.alert.note == "looking into it"
    assert transition.alert.acknowledged_at == T1
    assert acknowledge(current, "", T1).alert.note is None
    with pytest.raises(AlertTransitionError, match="acknowledged"):
        acknowledge(transition.alert, "again", T2)


def test_acknowledged_alerts_still_escalate_and_resolve_themselves() -> None:
    acknowledged = acknowledge(open_alert(WARNING), "on it", T1).alert
    raised = decide(status(GoalStatus.OFF_TRACK, 0.5), acknowledged, T2)
    assert raised is not None
    assert raised.event is AlertEventType.UPDATED
    assert raised.alert.severity is CRITICAL
    assert raised.alert.state is AlertState.ACKNOWLEDGED
    resolved = decide(status(GoalStatus.ON_TRACK, 1.0), raised.alert, T2)
    assert resolved is not None
    assert resolved.event is AlertEventType.RESOLVED


def test_resolve_by_hand() -> None:
    for current in (open_alert(), acknowledge(open_alert(), None, T1).alert):
        transition = resolve_by_hand(current, T2)
        assert transition.event is AlertEventType.RESOLVED
        assert transition.alert.state is AlertState.RESOLVED
        assert transition.alert.resolved_by_hand
        assert transition.alert.resolved_at == T2
        with pytest.raises(AlertTransitionError, match="already resolved"):
            resolve_by_hand(transition.alert, T2)
        with pytest.raises(AlertTransitionError, match="resolved"):
            acknowledge(transition.alert, "late", T2)


def test_after_resolving_by_hand_a_persisting_condition_opens_a_new_alert() -> None:
    resolved = resolve_by_hand(open_alert(WARNING), T1).alert
    reopened = decide(status(GoalStatus.AT_RISK, 0.9), resolved, T2)
    assert reopened is not None
    assert reopened.event is AlertEventType.OPENED
    assert reopened.previous is None
    assert reopened.alert.opened_at == T2
    # Inside the hysteresis band nothing reopens.
    assert decide(status(GoalStatus.ON_TRACK, 0.96), resolved, T2) is None


# --------------------------------------------------------------------------- state machine

scores = st.floats(min_value=-0.5, max_value=1.5, allow_nan=False)
special_statuses = st.sampled_from(
    [GoalStatus.ACHIEVED, GoalStatus.MISSED, GoalStatus.NO_DATA, GoalStatus.NOT_STARTED]
)


class AlertRules(RuleBasedStateMachine):
    """One goal's alerts under random evaluations and human actions."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[AlertKind, list[Alert]] = {kind: [] for kind in AlertKind}
        self.worst_seen: dict[AlertKind, AlertSeverity | None] = dict.fromkeys(AlertKind)
        self.now = T0

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def _unresolved(self, kind: AlertKind) -> list[Alert]:
        return [alert for alert in self.history[kind] if alert.unresolved]

    def _current(self, kind: AlertKind) -> Alert | None:
        unresolved = self._unresolved(kind)
        return unresolved[-1] if unresolved else None

    def _apply(self, condition: AlertCondition) -> None:
        kind = condition.kind
        current = self._current(kind)
        transition = decide(condition, current, self._tick())
        if transition is not None:
            if transition.event is AlertEventType.OPENED:
                self.history[kind].append(transition.alert)
            else:
                assert current is not None
                self.history[kind][self.history[kind].index(current)] = transition.alert
        after = self._current(kind)
        if condition.clears:
            assert after is None, "an alert whose condition cleared must be resolved"
        if condition.severity is not None:
            assert after is not None, "a holding condition must have an unresolved alert"
            previous_worst = self.worst_seen[kind] if current is not None else None
            self.worst_seen[kind] = max(filter(None, (previous_worst, condition.severity)))
        if after is None:
            self.worst_seen[kind] = None

    @rule(score=scores, special=st.none() | special_statuses)
    def evaluate_status(self, score: float, special: GoalStatus | None) -> None:
        goal_status = special or status_for_score(score, THRESHOLDS)
        condition = status_condition(goal_status, score, THRESHOLDS)
        if (
            goal_status is GoalStatus.ON_TRACK
            and score >= THRESHOLDS.at_risk + DEFAULT_CLEAR_MARGIN
        ):
            assert condition.clears
        self._apply(condition)

    @rule(score=scores, likely_missed=st.none() | st.booleans())
    def evaluate_forecast(self, score: float, likely_missed: bool | None) -> None:
        predicted = None
        if likely_missed is not None:
            predicted = LIKELY_MISSED if likely_missed else LIKELY_ACHIEVED
        self._apply(forecast_condition(status_for_score(score, THRESHOLDS), predicted))

    @rule(stale=st.booleans())
    def evaluate_staleness(self, stale: bool) -> None:
        self._apply(stale_data_condition(stale))

    @rule(kind=st.sampled_from(list(AlertKind)), note=st.none() | st.text(max_size=5))
    def acknowledge_alert(self, kind: AlertKind, note: str | None) -> None:
        current = self._current(kind)
        if current is None or current.state is not AlertState.OPEN:
            return
        transition = acknowledge(current, note, self._tick())
        self.history[kind][self.history[kind].index(current)] = transition.alert

    @rule(kind=st.sampled_from(list(AlertKind)))
    def resolve_alert_by_hand(self, kind: AlertKind) -> None:
        current = self._current(kind)
        if current is None:
            return
        transition = resolve_by_hand(current, self._tick())
        self.history[kind][self.history[kind].index(current)] = transition.alert
        self.worst_seen[kind] = None

    @invariant()
    def at_most_one_unresolved_alert_per_kind(self) -> None:
        for kind in AlertKind:
            assert len(self._unresolved(kind)) <= 1

    @invariant()
    def severity_while_open_is_the_worst_seen(self) -> None:
        for kind in AlertKind:
            current = self._current(kind)
            if current is not None:
                assert current.severity is self.worst_seen[kind]

    @invariant()
    def resolved_alerts_stay_resolved_and_kinds_match(self) -> None:
        for kind, alerts in self.history.items():
            for alert in alerts:
                assert alert.kind is kind
                if not alert.unresolved:
                    assert alert.resolved_at is not None


TestAlertRules = AlertRules.TestCase
TestAlertRules.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
