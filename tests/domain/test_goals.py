"""Goal evaluation, roll-ups, forecasts and the SMART check (SPEC §5)."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from northstar.domain.goals import (
    Forecast,
    ForecastStatus,
    GoalSpec,
    GoalStatus,
    GoalType,
    Pacing,
    RollupPolicy,
    SmartCheck,
    Thresholds,
    evaluate_goal,
    forecast,
    rollup_children,
    rollup_score,
    rollup_status,
    smart_check,
)

START = datetime(2025, 1, 1, tzinfo=UTC)
DUE = START + timedelta(days=100)
MIDWAY = START + timedelta(days=50)


def spec(
    goal_type: GoalType = GoalType.REACH,
    *,
    baseline: float = 0.0,
    target: float = 100.0,
    pacing: Pacing = Pacing.LINEAR,
    start: datetime = START,
    due: datetime = DUE,
    thresholds: Thresholds | None = None,
) -> GoalSpec:
    return GoalSpec(
        type=goal_type,
        baseline=baseline,
        target=target,
        start=start,
        due=due,
        pacing=pacing,
        thresholds=thresholds or Thresholds(),
    )


# --------------------------------------------------------------------------- spec values


def test_thresholds_validation() -> None:
    assert Thresholds() == Thresholds(at_risk=0.95, off_track=0.85)
    Thresholds(at_risk=0.9, off_track=0.9)
    for at_risk, off_track in [(0.8, 0.9), (0.9, 0.0), (0.9, -0.1), (float("nan"), 0.5)]:
        with pytest.raises(ValueError):
            Thresholds(at_risk=at_risk, off_track=off_track)


def test_goal_spec_validation() -> None:
    with pytest.raises(ValueError, match="before start"):
        spec(due=START - timedelta(days=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        spec(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="finite"):
        spec(target=float("inf"))
    assert GoalSpec(type=GoalType.REACH, target=1, start=START, due=DUE).baseline == 0.0


# --------------------------------------------------------------------------- status rules


def test_not_started_before_start() -> None:
    result = evaluate_goal(spec(), 10.0, START - timedelta(seconds=1))
    assert result.status is GoalStatus.NOT_STARTED
    assert result.expected is None
    assert result.score is None
    assert result.target == 100.0


def test_no_data_without_actual() -> None:
    result = evaluate_goal(spec(), None, MIDWAY)
    assert result.status is GoalStatus.NO_DATA
    assert result.expected == 50.0
    assert result.score is None
    assert result.progress is None


def test_linear_pacing_expected_value_and_score() -> None:
    result = evaluate_goal(spec(), 40.0, MIDWAY)
    assert result.expected == 50.0
    assert result.score == pytest.approx(0.8)
    assert result.progress == pytest.approx(0.4)
    assert result.status is GoalStatus.OFF_TRACK


def test_no_pacing_expects_the_target_from_the_start() -> None:
    result = evaluate_goal(spec(pacing=Pacing.NONE), 50.0, START + timedelta(days=1))
    assert result.expected == 100.0
    assert result.score == 0.5


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (50.0, GoalStatus.ON_TRACK),  # score 1.0
        (47.5, GoalStatus.ON_TRACK),  # score exactly at_risk
        (47.0, GoalStatus.AT_RISK),
        (42.5, GoalStatus.AT_RISK),  # score exactly off_track
        (42.0, GoalStatus.OFF_TRACK),
        (-10.0, GoalStatus.OFF_TRACK),
    ],
)
def test_status_from_thresholds(actual: float, status: GoalStatus) -> None:
    assert evaluate_goal(spec(), actual, MIDWAY).status is status


def test_custom_thresholds() -> None:
    lenient = spec(thresholds=Thresholds(at_risk=0.5, off_track=0.25))
    assert evaluate_goal(lenient, 30.0, MIDWAY).status is GoalStatus.ON_TRACK
    assert evaluate_goal(lenient, 20.0, MIDWAY).status is GoalStatus.AT_RISK
    assert evaluate_goal(lenient, 10.0, MIDWAY).status is GoalStatus.OFF_TRACK


def test_reach_score_when_expected_equals_baseline_at_start() -> None:
    # At the very start linear pacing expects the baseline: x == baseline.
    assert evaluate_goal(spec(baseline=10), 10.0, START).score == 1.0
    assert evaluate_goal(spec(baseline=10), 12.0, START).score == 1.0
    at_start = evaluate_goal(spec(baseline=10), 9.0, START)
    assert at_start.score == 0.0
    assert at_start.status is GoalStatus.OFF_TRACK


def test_reach_score_when_expected_equals_baseline_decreasing() -> None:
    decreasing = spec(baseline=100, target=50)
    assert evaluate_goal(decreasing, 90.0, START).score == 1.0
    assert evaluate_goal(decreasing, 101.0, START).score == 0.0


def test_reach_with_target_equal_to_baseline() -> None:
    flat = spec(baseline=100, target=100)
    result = evaluate_goal(flat, 100.0, MIDWAY)
    assert result.score == 1.0
    assert result.status is GoalStatus.ACHIEVED
    assert result.progress is None
    assert evaluate_goal(flat, 99.0, MIDWAY).status is GoalStatus.OFF_TRACK


def test_decreasing_reach_goal() -> None:
    down = spec(baseline=100, target=50)  # e.g. bring churn down from 100 to 50
    on_pace = evaluate_goal(down, 75.0, MIDWAY)
    assert on_pace.expected == 75.0
    assert on_pace.score == 1.0
    assert on_pace.status is GoalStatus.ON_TRACK
    assert on_pace.progress == 0.5
    behind = evaluate_goal(down, 80.0, MIDWAY)
    assert behind.score == pytest.approx(0.8)
    assert behind.status is GoalStatus.OFF_TRACK
    wrong_way = evaluate_goal(down, 110.0, MIDWAY)
    assert wrong_way.score == pytest.approx(-0.4)
    assert wrong_way.progress == pytest.approx(-0.2)


def test_reach_goal_achieved_at_once() -> None:
    early = START + timedelta(days=1)
    assert evaluate_goal(spec(), 100.0, early).status is GoalStatus.ACHIEVED
    assert evaluate_goal(spec(), 130.0, early).status is GoalStatus.ACHIEVED
    assert evaluate_goal(spec(baseline=100, target=50), 50.0, early).status is GoalStatus.ACHIEVED
    assert evaluate_goal(spec(baseline=100, target=50), 51.0, early).status is GoalStatus.ON_TRACK


def test_stay_goals_are_not_achieved_before_due() -> None:
    above = spec(GoalType.STAY_ABOVE, baseline=100, target=100)
    assert evaluate_goal(above, 150.0, MIDWAY).status is GoalStatus.ON_TRACK


@pytest.mark.parametrize(
    ("goal", "actual", "status"),
    [
        (spec(), 100.0, GoalStatus.ACHIEVED),
        (spec(), 99.9, GoalStatus.MISSED),
        (spec(baseline=100, target=50), 50.0, GoalStatus.ACHIEVED),
        (spec(baseline=100, target=50), 50.1, GoalStatus.MISSED),
        (spec(GoalType.STAY_ABOVE, target=90), 90.0, GoalStatus.ACHIEVED),
        (spec(GoalType.STAY_ABOVE, target=90), 89.0, GoalStatus.MISSED),
        (spec(GoalType.STAY_BELOW, target=5), 5.0, GoalStatus.ACHIEVED),
        (spec(GoalType.STAY_BELOW, target=5), 5.5, GoalStatus.MISSED),
    ],
)
def test_achieved_or_missed_at_and_after_due(
    goal: GoalSpec, actual: float, status: GoalStatus
) -> None:
    assert evaluate_goal(goal, actual, DUE).status is status
    assert evaluate_goal(goal, actual, DUE + timedelta(days=30)).status is status


def test_missed_at_due_even_with_a_good_score() -> None:
    # 99.9 of 100 scores 0.999 (on track), but the final condition does not hold.
    result = evaluate_goal(spec(), 99.9, DUE)
    assert result.score == pytest.approx(0.999)
    assert result.status is GoalStatus.MISSED


def test_zero_length_remaining_period() -> None:
    # Just before due, expected is ~target; at due there is no time left at all.
    just_before = evaluate_goal(spec(), 99.0, DUE - timedelta(microseconds=1))
    assert just_before.expected == pytest.approx(100.0)
    assert just_before.status is GoalStatus.ON_TRACK
    at_due = evaluate_goal(spec(), 99.0, DUE)
    assert at_due.expected == 100.0
    assert at_due.status is GoalStatus.MISSED


def test_due_equal_to_start() -> None:
    instant = spec(start=START, due=START)
    assert (
        evaluate_goal(instant, 50.0, START - timedelta(seconds=1)).status is GoalStatus.NOT_STARTED
    )
    result = evaluate_goal(instant, 50.0, START)
    assert result.expected == 100.0, "e = 1 when due == start"
    assert result.score == 0.5
    assert result.status is GoalStatus.MISSED
    assert evaluate_goal(instant, 100.0, START).status is GoalStatus.ACHIEVED


def test_stay_above_score() -> None:
    above = spec(GoalType.STAY_ABOVE, baseline=90, target=90)
    result = evaluate_goal(above, 81.0, MIDWAY)
    assert result.expected == 90.0
    assert result.score == pytest.approx(0.9)
    assert result.status is GoalStatus.AT_RISK
    assert result.progress is None, "target == baseline: no progress"


def test_stay_above_linear_pacing_moves_the_line() -> None:
    rising = spec(GoalType.STAY_ABOVE, baseline=50, target=100)
    result = evaluate_goal(rising, 60.0, MIDWAY)
    assert result.expected == 75.0
    assert result.score == pytest.approx(0.8)
    assert result.progress == pytest.approx(0.2)


def test_stay_below_score() -> None:
    below = spec(GoalType.STAY_BELOW, baseline=10, target=10)
    result = evaluate_goal(below, 12.5, MIDWAY)
    assert result.score == pytest.approx(0.8)
    assert result.status is GoalStatus.OFF_TRACK
    assert evaluate_goal(below, 5.0, MIDWAY).score == 2.0


@pytest.mark.parametrize(
    ("goal_type", "expected_line", "actual", "score"),
    [
        # stay_above divides by x: x == 0 or x < 0 falls back to "actual >= x".
        (GoalType.STAY_ABOVE, 0.0, 0.0, 1.0),
        (GoalType.STAY_ABOVE, 0.0, 5.0, 1.0),
        (GoalType.STAY_ABOVE, 0.0, -1.0, 0.0),
        (GoalType.STAY_ABOVE, -10.0, -5.0, 1.0),
        (GoalType.STAY_ABOVE, -10.0, -20.0, 0.0),
        # stay_below divides by actual: actual == 0 or actual < 0 falls back to "actual <= x".
        (GoalType.STAY_BELOW, 5.0, 0.0, 1.0),
        (GoalType.STAY_BELOW, 5.0, -3.0, 1.0),
        (GoalType.STAY_BELOW, -5.0, -3.0, 0.0),
        (GoalType.STAY_BELOW, -5.0, -8.0, 1.0),
        (GoalType.STAY_BELOW, -5.0, 0.0, 0.0),
    ],
)
def test_stay_goals_dividing_by_zero_or_negative(
    goal_type: GoalType, expected_line: float, actual: float, score: float
) -> None:
    goal = spec(goal_type, baseline=expected_line, target=expected_line, pacing=Pacing.NONE)
    result = evaluate_goal(goal, actual, MIDWAY)
    assert result.expected == expected_line
    assert result.score == score


def test_evaluate_goal_rejects_naive_now_and_non_finite_actual() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_goal(spec(), 1.0, datetime(2025, 2, 1))
    with pytest.raises(ValueError, match="finite"):
        evaluate_goal(spec(), float("nan"), MIDWAY)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
moments = st.integers(min_value=0, max_value=100 * 24).map(lambda h: START + timedelta(hours=h))


@settings(max_examples=300)
@given(
    st.sampled_from([GoalType.REACH, GoalType.STAY_ABOVE]),
    st.sampled_from(list(Pacing)),
    finite,
    finite,
    finite,
    finite,
    moments,
)
def test_higher_actual_never_lowers_the_score(
    goal_type: GoalType,
    pacing: Pacing,
    baseline: float,
    target: float,
    actual: float,
    other: float,
    now: datetime,
) -> None:
    if goal_type is GoalType.REACH:
        assume(target > baseline)
    goal = spec(goal_type, baseline=baseline, target=target, pacing=pacing)
    low, high = sorted((actual, other))
    low_score = evaluate_goal(goal, low, now).score
    high_score = evaluate_goal(goal, high, now).score
    assert low_score is not None
    assert high_score is not None
    assert high_score >= low_score


positive = st.floats(min_value=1e-6, max_value=1e6)


@settings(max_examples=200)
@given(positive, positive, positive, positive, moments)
def test_lower_actual_never_lowers_a_stay_below_score_while_positive(
    baseline: float, target: float, actual: float, other: float, now: datetime
) -> None:
    low, high = sorted((actual, other))
    below = spec(GoalType.STAY_BELOW, baseline=baseline, target=target)
    low_score = evaluate_goal(below, low, now).score
    high_score = evaluate_goal(below, high, now).score
    assert low_score is not None
    assert high_score is not None
    assert low_score >= high_score


def test_stay_below_score_at_zero_follows_the_spec_fallback() -> None:
    # x / actual is undefined at actual == 0: the SPEC gives 1 (condition holds), which
    # is lower than the score of a small positive actual. Status is on_track for both.
    below = spec(GoalType.STAY_BELOW, baseline=2, target=2)
    at_zero = evaluate_goal(below, 0.0, MIDWAY)
    at_one = evaluate_goal(below, 1.0, MIDWAY)
    assert (at_zero.score, at_one.score) == (1.0, 2.0)
    assert at_zero.status is at_one.status is GoalStatus.ON_TRACK


@settings(max_examples=200)
@given(finite, finite, finite, finite, moments)
def test_lower_actual_never_lowers_a_decreasing_reach_score(
    baseline: float, target: float, actual: float, other: float, now: datetime
) -> None:
    assume(target < baseline)
    low, high = sorted((actual, other))
    down = spec(GoalType.REACH, baseline=baseline, target=target)
    low_score = evaluate_goal(down, low, now).score
    high_score = evaluate_goal(down, high, now).score
    assert low_score is not None
    assert high_score is not None
    assert low_score >= high_score


# --------------------------------------------------------------------------- roll-ups


def test_weighted_rollup() -> None:
    assert rollup_score(RollupPolicy.WEIGHTED, [(1, 1.0), (3, 0.6)]) == pytest.approx(0.7)


def test_rollup_caps_each_child_at_the_goals_cap() -> None:
    assert rollup_score(RollupPolicy.WEIGHTED, [(1, 5.0), (1, 0.4)]) == pytest.approx(0.7)
    assert rollup_score(RollupPolicy.WORST, [(1, 3.0), (1, 2.0)]) == 1.0
    assert rollup_score(RollupPolicy.WEIGHTED, [(1, 5.0), (1, 0.4)], cap=1.2) == pytest.approx(0.8)


def test_a_child_far_ahead_no_longer_lifts_its_parent() -> None:
    """SPEC §5: one child at 1,600 % of its pace and one at 60 % make an off-track
    parent (0.8 with the default cap of 1.0), not an on-track one (8.3 uncapped)."""
    children = [(1.0, 16.0), (1.0, 0.6)]
    score = rollup_score(RollupPolicy.WEIGHTED, children)
    assert score == pytest.approx(0.8)
    assert rollup_status(score, Thresholds()) is GoalStatus.OFF_TRACK
    # The child far ahead counts exactly as much as one on pace.
    assert score == rollup_score(RollupPolicy.WEIGHTED, [(1.0, 1.0), (1.0, 0.6)])


@pytest.mark.parametrize("cap", [0.0, -1.0, float("nan"), float("inf")])
def test_rollup_rejects_a_cap_that_is_not_positive(cap: float) -> None:
    with pytest.raises(ValueError, match="cap"):
        rollup_score(RollupPolicy.WEIGHTED, [(1, 0.5)], cap=cap)


def test_rollup_children_counts_every_status() -> None:
    counts = rollup_children(
        [GoalStatus.OFF_TRACK, GoalStatus.ON_TRACK, GoalStatus.OFF_TRACK, GoalStatus.NO_DATA]
    )
    assert counts == {
        "not_started": 0,
        "no_data": 1,
        "on_track": 1,
        "at_risk": 0,
        "off_track": 2,
        "achieved": 0,
        "missed": 0,
    }


@given(st.lists(st.sampled_from(list(GoalStatus)), max_size=30))
def test_rollup_children_counts_sum_to_the_children(statuses: list[GoalStatus]) -> None:
    counts = rollup_children(statuses)
    assert sum(counts.values()) == len(statuses)
    assert set(counts) == {s.value for s in GoalStatus}
    for status in GoalStatus:
        assert counts[status.value] == statuses.count(status)


def test_rollup_ignores_children_without_score_or_weight() -> None:
    children = [(1.0, 0.9), (5.0, None), (0.0, 0.1)]
    assert rollup_score(RollupPolicy.WEIGHTED, children) == pytest.approx(0.9)
    assert rollup_score(RollupPolicy.WORST, children) == 0.9


def test_worst_rollup_takes_the_weakest_child() -> None:
    assert rollup_score(RollupPolicy.WORST, [(10, 1.1), (1, 0.7), (1, None)]) == 0.7


@pytest.mark.parametrize("policy", list(RollupPolicy))
def test_rollup_without_scored_children_has_no_data(policy: RollupPolicy) -> None:
    assert rollup_score(policy, []) is None
    assert rollup_score(policy, [(1, None), (2, None)]) is None
    assert rollup_status(None, Thresholds()) is GoalStatus.NO_DATA


def test_rollup_status_uses_thresholds() -> None:
    assert rollup_status(1.2, Thresholds()) is GoalStatus.ON_TRACK
    assert rollup_status(0.9, Thresholds()) is GoalStatus.AT_RISK
    assert rollup_status(0.5, Thresholds()) is GoalStatus.OFF_TRACK
    assert rollup_status(0.5, Thresholds(at_risk=0.5, off_track=0.4)) is GoalStatus.ON_TRACK


def test_rollup_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="weight"):
        rollup_score(RollupPolicy.WEIGHTED, [(-1, 0.5)])


@settings(max_examples=300)
@given(
    st.sampled_from(list(RollupPolicy)),
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1e3),
            st.none() | st.floats(min_value=-1e3, max_value=1e3),
        ),
        max_size=8,
    ),
    st.floats(min_value=0.1, max_value=5),
)
def test_rollup_lies_within_its_childrens_capped_scores(
    policy: RollupPolicy, children: list[tuple[float, float | None]], cap: float
) -> None:
    counted = [min(s, cap) for w, s in children if s is not None and w > 0]
    result = rollup_score(policy, children, cap=cap)
    if not counted:
        assert result is None
    else:
        assert result is not None
        assert min(counted) <= result <= max(counted)


# --------------------------------------------------------------------------- forecast


def daily(values: list[float], start: datetime = START) -> list[tuple[datetime, float]]:
    return [(start + timedelta(days=i, hours=12), v) for i, v in enumerate(values)]


def test_forecast_projects_the_trend_to_due() -> None:
    # 2 per day over a 100-day period → about 200 at due, target 100.
    now = START + timedelta(days=10)
    result = forecast(spec(), daily([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]), now)
    assert result is not None
    assert result.value == pytest.approx(200.0)
    assert result.status is ForecastStatus.LIKELY_ACHIEVED


def test_forecast_likely_missed() -> None:
    now = START + timedelta(days=4)
    result = forecast(spec(), daily([0.5, 1.0, 1.5, 2.0]), now)
    assert result is not None
    assert result.value == pytest.approx(50.25)
    assert result.status is ForecastStatus.LIKELY_MISSED


def test_forecast_needs_three_distinct_days() -> None:
    now = START + timedelta(days=5)
    two_days = [(START + timedelta(hours=h), float(h)) for h in (1, 5, 9, 25, 30)]
    assert forecast(spec(), two_days, now) is None
    three_days = [*two_days, (START + timedelta(days=2, hours=1), 50.0)]
    assert forecast(spec(), three_days, now) is not None


def test_forecast_counts_utc_days() -> None:
    # Three local dates in UTC-10 but only two UTC dates.
    tz = timezone(timedelta(hours=-10))
    times = [
        datetime(2025, 1, 2, 13, tzinfo=tz),  # Jan 2 23:00 UTC
        datetime(2025, 1, 3, 1, tzinfo=tz),  # Jan 3 11:00 UTC
        datetime(2025, 1, 3, 12, tzinfo=tz),  # Jan 3 22:00 UTC
    ]
    assert len({t.date() for t in times}) == 2
    points = [(t, float(i)) for i, t in enumerate(times)]
    assert forecast(spec(), points, START + timedelta(days=5)) is None


def test_forecast_only_for_linear_pacing_and_before_due() -> None:
    points = daily([1, 2, 3, 4])
    assert forecast(spec(pacing=Pacing.NONE), points, START + timedelta(days=5)) is None
    assert forecast(spec(), points, DUE) is None


def test_forecast_ignores_points_outside_the_period_to_date() -> None:
    now = START + timedelta(days=3)
    points = [*daily([1, 2, 3]), (START - timedelta(days=3), 1e6), (now + timedelta(days=1), -1e6)]
    result = forecast(spec(), points, now)
    assert result == forecast(spec(), daily([1, 2, 3]), now)


@pytest.mark.parametrize(
    ("goal", "values", "status"),
    [
        (spec(GoalType.STAY_ABOVE, target=50), [60, 60, 60], ForecastStatus.LIKELY_ACHIEVED),
        (spec(GoalType.STAY_ABOVE, target=50), [60, 59.95, 59.9], ForecastStatus.LIKELY_ACHIEVED),
        (spec(GoalType.STAY_ABOVE, target=50), [60, 59, 58], ForecastStatus.LIKELY_MISSED),
        (spec(GoalType.STAY_BELOW, target=50), [40, 41, 42], ForecastStatus.LIKELY_MISSED),
        (spec(GoalType.STAY_BELOW, target=50), [40, 40, 40], ForecastStatus.LIKELY_ACHIEVED),
        (spec(baseline=100, target=50), [99.9, 99.8, 99.7], ForecastStatus.LIKELY_MISSED),
        (spec(baseline=100, target=50), [99, 97, 95], ForecastStatus.LIKELY_ACHIEVED),
    ],
)
def test_forecast_status_per_goal_type(
    goal: GoalSpec, values: list[float], status: ForecastStatus
) -> None:
    result = forecast(goal, daily(values), START + timedelta(days=3))
    assert isinstance(result, Forecast)
    assert result.status is status


# --------------------------------------------------------------------------- SMART


def test_smart_check_complete() -> None:
    check = smart_check(
        title="Grow EU revenue",
        description="Double EU revenue by Q2",
        kpi="eu_revenue",
        baseline=100.0,
        target=200.0,
        start=START,
        due=DUE,
        parent_id=None,
        unit_id="sales-eu",
    )
    assert check.complete
    assert check.to_dict() == {
        "specific": [],
        "measurable": [],
        "achievable": [],
        "relevant": [],
        "time_bound": [],
        "complete": True,
    }


def test_smart_check_names_what_is_missing() -> None:
    check = smart_check(
        title="  ",
        description=None,
        kpi=None,
        baseline=None,
        target=0.0,
        start=None,
        due=None,
        parent_id=None,
        unit_id=None,
    )
    assert not check.complete
    assert check.specific == ("no title", "no description")
    assert check.measurable == ("no KPI",)
    assert check.achievable == ("target equals baseline",)
    assert check.relevant == ("no parent goal or org unit",)
    assert check.time_bound == ("no start date", "no due date")


def _draft(**changes: Any) -> SmartCheck:
    fields: dict[str, Any] = {
        "title": "t",
        "description": "d",
        "kpi": "k",
        "baseline": 0.0,
        "target": 10.0,
        "start": START,
        "due": DUE,
        "parent_id": 7,
        "unit_id": None,
    }
    return smart_check(**(fields | changes))


def test_smart_check_special_cases() -> None:
    assert _draft(kpi=None, baseline=None, target=None, rollup=True).complete
    assert _draft(baseline=99.9, target=99.9, goal_type=GoalType.STAY_ABOVE).complete
    assert _draft(baseline=99.9, target=99.9).achievable == ("target equals baseline",)
    assert _draft(parent_id=None, unit_id="u1").complete
    backwards = _draft(target=None, start=DUE, due=START)
    assert backwards.achievable == ("no target",)
    assert backwards.time_bound == ("due date is not after the start date",)
