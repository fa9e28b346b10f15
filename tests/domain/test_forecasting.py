"""Forecasts with a band and a probability, and the anomaly band (SPEC §13)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from northstar.domain.forecasting import (
    MODELS,
    FitBudget,
    FitDeferred,
    Sensitivity,
    anomaly_band,
    forecast_band,
)
from northstar.domain.goals import ForecastStatus, GoalSpec, GoalType, Pacing

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEKLY = (0.6, 1.0, 1.1, 1.2, 1.3, 1.6, 0.2)


def _daily(days: int, *, start: datetime, level: float = 100.0, seed: int = 1) -> list:
    rng = random.Random(seed)
    return [
        (start + i * DAY, level * WEEKLY[(start + i * DAY).weekday()] + rng.gauss(0, 3))
        for i in range(days)
    ]


def _spec(target: float, **fields: object) -> GoalSpec:
    base = {"type": GoalType.REACH, "target": target, "start": START, "due": START + 28 * DAY}
    return GoalSpec(**(base | fields))  # type: ignore[arg-type]


def _inputs(now: datetime) -> tuple[float, list, list]:
    history = _daily(((now - START) // DAY) + 56, start=START - 56 * DAY)
    in_period = [(t, v) for t, v in history if START <= t < now]
    actual = sum(v for _, v in in_period)
    running, points = 0.0, []
    for t, v in in_period:
        running += v
        points.append((t + DAY, running))
    return actual, history, points


def test_a_seasonal_forecast_has_a_band_and_a_probability() -> None:
    now = START + 14 * DAY
    actual, history, points = _inputs(now)
    # Two more weeks at 700 a week: about 2 * 700 more.
    fine = forecast_band(
        _spec(actual + 1000), actual=actual, now=now, daily=history, points=points, additive=True
    )
    assert fine is not None and fine.method == "seasonal"
    assert fine.low is not None and fine.high is not None
    assert fine.low <= fine.value <= fine.high
    assert fine.value == pytest.approx(actual + 1400, rel=0.03)
    assert fine.probability == pytest.approx(1, abs=0.02)
    assert fine.status is ForecastStatus.LIKELY_ACHIEVED
    hopeless = forecast_band(
        _spec(actual + 2000), actual=actual, now=now, daily=history, points=points, additive=True
    )
    assert hopeless is not None and hopeless.probability < 0.02
    assert hopeless.status is ForecastStatus.LIKELY_MISSED
    edge = forecast_band(
        _spec(fine.value), actual=actual, now=now, daily=history, points=points, additive=True
    )
    assert edge is not None and 0.3 < (edge.probability or 0) < 0.7


def test_without_two_seasons_or_for_a_ratio_the_trend_is_used() -> None:
    now = START + 10 * DAY
    actual, history, points = _inputs(now)
    short = [(t, v) for t, v in history if t >= START]
    for daily, additive in ((short, True), (history, False)):
        band = forecast_band(
            _spec(actual * 2), actual=actual, now=now, daily=daily, points=points, additive=additive
        )
        assert band is not None and band.method == "linear"
        assert band.low is not None and band.high is not None
        assert band.low < band.value < band.high
        assert band.probability is not None and 0 <= band.probability <= 1


def test_the_linear_probability_follows_the_goal_direction() -> None:
    now = START + 10 * DAY
    points = [(START + i * DAY, 100.0 - 5 * i + (1 if i % 2 else -1)) for i in range(10)]
    down = _spec(0.0, baseline=100.0)
    band = forecast_band(down, actual=52.0, now=now, daily=[], points=points, additive=False)
    # The KPI falls 5 a day: about -40 at due, far below the target 0 it should reach.
    assert band is not None and band.probability is not None and band.probability > 0.95
    stay_below = _spec(-100.0, type=GoalType.STAY_BELOW)
    band = forecast_band(stay_below, actual=52.0, now=now, daily=[], points=points, additive=False)
    assert band is not None and band.probability is not None and band.probability < 0.05


def test_no_forecast_without_pace_after_due_or_without_data() -> None:
    now = START + 10 * DAY
    actual, history, points = _inputs(now)
    kwargs = {"actual": actual, "daily": history, "points": points, "additive": True}
    assert forecast_band(_spec(1, pacing=Pacing.NONE), now=now, **kwargs) is None  # type: ignore[arg-type]
    assert forecast_band(_spec(1), now=START + 30 * DAY, **kwargs) is None  # type: ignore[arg-type]
    assert forecast_band(_spec(1), actual=1, now=now, daily=[], points=[], additive=False) is None


def _seasonal_series(days: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [100 * WEEKLY[i % 7] + 0.2 * i + rng.gauss(0, 4) for i in range(days)]


def test_a_clean_seasonal_series_over_90_days_raises_no_anomaly_at_medium() -> None:
    series = _seasonal_series(90, seed=7)
    for end in range(14, 90):
        band = anomaly_band(series[max(0, end - 56) : end], 7, Sensitivity.MEDIUM)
        assert band is not None
        assert band.contains(series[end]), (end, series[end], band)


def test_a_spike_and_a_drop_leave_the_band() -> None:
    series = _seasonal_series(60, seed=3)
    band = anomaly_band(series[:59], 7, Sensitivity.MEDIUM)
    assert band is not None
    assert band.low < band.expected < band.high
    assert not band.contains(series[59] + 60)
    assert not band.contains(series[59] - 60)
    assert band.contains(series[59])
    wide = anomaly_band(series[:59], 7, Sensitivity.LOW)
    narrow = anomaly_band(series[:59], 7, Sensitivity.HIGH)
    assert wide is not None and narrow is not None
    assert narrow.high - narrow.low < band.high - band.low < wide.high - wide.low


def test_an_anomaly_band_needs_two_seasons() -> None:
    assert anomaly_band([1.0] * 13, 7, Sensitivity.MEDIUM) is None
    flat = anomaly_band([5.0] * 14, 7, Sensitivity.MEDIUM)
    assert flat is not None and flat.contains(5.0) and not flat.contains(5.5)
    assert math.isfinite(flat.expected)


def test_seasonal_pacing_follows_last_years_curve() -> None:
    from northstar.domain.forecasting import YEAR_BEFORE, seasonal_profile
    from northstar.domain.goals import expected_value, seasonal_fraction

    due = START + 90 * DAY
    # Last year the quarter sold 40 % in its last month: 1 a day for 60 days, 2 for 30.
    last_year = [(START - YEAR_BEFORE + i * DAY, 1.0 if i < 60 else 2.0) for i in range(91)]
    profile = seasonal_profile(START, due, year_before=last_year, recent=[])
    spec = _spec(1000.0, due=due, pacing=Pacing.SEASONAL, profile=profile)
    assert seasonal_fraction(spec, START + 60 * DAY) == pytest.approx(60 / 120, rel=0.01)
    assert expected_value(spec, START + 7 * DAY) == pytest.approx(1000 * 7 / 120, rel=0.01)
    assert expected_value(spec, due) == pytest.approx(1000)
    linear = _spec(1000.0, due=due)
    assert expected_value(linear, START + 7 * DAY) > expected_value(spec, START + 7 * DAY) * 1.2


def test_seasonal_pacing_falls_back_to_the_weekly_pattern_then_to_linear() -> None:
    from northstar.domain.forecasting import seasonal_profile
    from northstar.domain.goals import expected_value

    due = START + 14 * DAY
    recent = _daily(56, start=START - 56 * DAY)
    profile = seasonal_profile(START, due, year_before=[], recent=recent)
    assert len(profile) == 15
    # Monday is a slow day (0.6), Saturday a busy one (1.6).
    assert profile[0] < profile[5]
    spec = _spec(100.0, due=due, pacing=Pacing.SEASONAL, profile=profile)
    monday_share = expected_value(spec, START + DAY)
    assert monday_share < 100 / 14
    none = _spec(100.0, due=due, pacing=Pacing.SEASONAL)
    assert expected_value(none, START + 7 * DAY) == pytest.approx(50)
    assert seasonal_profile(START, due, year_before=[], recent=recent[:3]) == ()


def test_past_the_fit_budget_a_kpi_is_forecast_from_its_last_parameters() -> None:
    """The sweep's bound on model fitting: a series never fitted is deferred (the goal
    keeps its stored forecast), one fitted the day before is brought up to date from
    its parameters without a fit, close to what a fresh fit says; a later sweep with
    budget refits it."""
    MODELS.clear()
    today = START + 14 * DAY
    actual, history, points = _inputs(today + DAY)  # history holds today's value too
    spec = _spec(actual + 1000)

    def forecast(now: datetime, budget: FitBudget, key: object = "revenue") -> float:
        band = forecast_band(
            spec,
            actual=actual,
            now=now,
            daily=history,
            points=points,
            additive=True,
            series_key=key,
            budget=budget,
        )
        assert band is not None and band.method == "seasonal"
        return band.value

    with pytest.raises(FitDeferred):
        forecast(today, FitBudget(0))
    yesterday_fit = FitBudget()
    forecast(today, yesterday_fit)
    assert yesterday_fit.fits == 1

    tomorrow = today + DAY  # a new day: the history gained a day
    spent = FitBudget(0)
    carried = forecast(tomorrow, spent)
    assert spent.fits == 0
    with pytest.raises(FitDeferred):  # another series has no parameters to carry
        forecast_band(
            spec,
            actual=actual,
            now=tomorrow,
            daily=[(t, 2 * v) for t, v in history],
            points=points,
            additive=True,
            series_key="orders",
            budget=FitBudget(0),
        )
    refit = FitBudget()
    fresh = forecast(tomorrow, refit)
    assert refit.fits == 1
    assert carried == pytest.approx(fresh, rel=0.02)
    again = FitBudget()
    assert forecast(tomorrow, again) == fresh  # memoised: no second fit
    assert again.fits == 0
    MODELS.clear()
