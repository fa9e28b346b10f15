"""Forecasts with uncertainty, and the learned band of an anomaly check (SPEC §13).

The statistics are statsmodels' (see docs/analysis.md for why statsmodels and not
statsforecast); this module only decides what to fit and how to read the result:

- :func:`forecast_band` projects a goal's KPI at ``due``. With at least two weeks of
  daily history and an additive KPI, an ETS model with a weekly season is fitted to the
  daily values and simulated to ``due``: the final value of each path is today's actual
  plus the path's remaining days, so the band and the probability of meeting the goal
  come from the same paths (method ``seasonal``). Otherwise a least-squares line through
  the period-to-date points is read at ``due`` with its prediction interval (method
  ``linear``), as the plain forecast did.
- :func:`anomaly_band` is the one-step-ahead prediction of an ETS model fitted to the
  buckets before the one checked, widened to ``z`` standard errors by sensitivity.

statsmodels is imported inside the functions: the api never fits a model, and importing
it costs the evaluator's start only when a forecast is first made.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from northstar.domain.goals import (
    MIN_FORECAST_DAYS,
    Forecast,
    ForecastStatus,
    GoalSpec,
    Pacing,
    final_condition_holds,
)

DAY = timedelta(days=1)
WEEK_DAYS = 7
SEASONAL_MIN_DAYS = 2 * WEEK_DAYS
"""A seasonal model needs two full seasons of daily history."""
HISTORY_DAYS = 8 * WEEK_DAYS
"""The seasonal model learns from at most this many recent days."""
PATHS = 400
"""Simulated paths per seasonal forecast: enough for a 90 % band and a probability to
about ±2.5 points, cheap enough for a thousand KPIs per sweep."""
FIT_CACHE = 2048
"""Models kept in memory (one per distinct history), and series' last parameters."""
LEVEL = 0.90
"""The band `[low, high]` holds the value at due with this probability."""


class ForecastMethod(StrEnum):
    SEASONAL = "seasonal"
    LINEAR = "linear"


def _status(probability: float) -> ForecastStatus:
    return ForecastStatus.LIKELY_ACHIEVED if probability >= 0.5 else ForecastStatus.LIKELY_MISSED


def _quiet() -> warnings.catch_warnings[None]:
    """statsmodels warns about convergence on short or flat series; the fit is still the
    best it found, and a warning per KPI per sweep would drown the logs."""
    manager = warnings.catch_warnings()
    manager.__enter__()
    warnings.simplefilter("ignore")
    return manager


class FitDeferred(Exception):
    """The series has no model yet and this pass may fit no more (`FitBudget`): the
    caller keeps what it had (the stored forecast, the unchecked bucket) until a later
    pass fits it."""


class FitBudget:
    """How much time one pass (a sweep) may spend fitting models. Fitting an ETS model is
    an optimisation (~80 ms); once a day every series' history changes, so a thousand
    KPIs would want a thousand fits in the first sweep of the day. Past the budget, a
    series fitted before is brought up to date with its last parameters — a filter pass
    over the new history (~10 ms), no optimisation — and refitted by a later pass; a
    series never fitted raises `FitDeferred`. Only the time spent fitting counts, so a
    pass that is slow for other reasons still fits (at least one model when
    ``seconds > 0``)."""

    def __init__(self, seconds: float = math.inf) -> None:
        self._seconds = seconds
        self.spent = 0.0
        self.fits = 0

    def take(self) -> bool:
        """May one more fit start now?"""
        return self.spent < self._seconds

    def record(self, seconds: float) -> None:
        self.spent += seconds
        self.fits += 1


UNLIMITED = FitBudget()
"""Fit whenever a model is missing (tests, the api, benchmarks)."""


@dataclass(slots=True)
class _Model:
    result: Any
    fitted: bool  # optimised on this very history (else: last parameters, filtered)


class _Models:
    """Models per exact history (goals sharing a KPI share its daily history, and a
    day's history stays the same until the day is over, so most sweeps fit nothing),
    and each series' last fitted parameters, both bounded (least recently used out)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._by_history: OrderedDict[tuple[tuple[float, ...], int], _Model] = OrderedDict()
        self._params: OrderedDict[tuple[Hashable, int], Any] = OrderedDict()

    def model(
        self, history: tuple[float, ...], season: int, series_key: Hashable, budget: FitBudget
    ) -> Any:
        """The model of ``history``: fitted, or (past the budget) the series' last
        parameters filtered over it; `FitDeferred` when neither can be had."""
        key = (history, season)
        known = self._by_history.get(key)
        if known is not None and known.fitted:
            self._by_history.move_to_end(key)
            return known.result
        if budget.take():
            started = time.perf_counter()
            result = _ets(history, season).fit(disp=False, maxiter=200)
            budget.record(time.perf_counter() - started)
            if series_key is not None:
                self._remember(self._params, (series_key, season), result.params)
            self._remember(self._by_history, key, _Model(result, fitted=True))
            return result
        if known is not None:  # brought up to date before; refitted when budget allows
            self._by_history.move_to_end(key)
            return known.result
        params = None if series_key is None else self._params.get((series_key, season))
        if params is None:
            raise FitDeferred(series_key)
        result = _ets(history, season).smooth(params)
        self._remember(self._by_history, key, _Model(result, fitted=False))
        return result

    def _remember(self, store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._capacity:
            store.popitem(last=False)

    def clear(self) -> None:
        self._by_history.clear()
        self._params.clear()


def _ets(history: tuple[float, ...], season: int) -> Any:
    """An ETS model (additive errors and season, no trend) of ``history``."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(list(history), error="add", trend=None, seasonal="add", seasonal_periods=season)


MODELS = _Models(FIT_CACHE)


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def forecast_band(
    spec: GoalSpec,
    *,
    actual: float,
    now: datetime,
    daily: Sequence[tuple[datetime, float]],
    points: Sequence[tuple[datetime, float]],
    additive: bool,
    seed: int = 0,
    series_key: Hashable = None,
    budget: FitBudget = UNLIMITED,
) -> Forecast | None:
    """Project the goal's KPI at ``due`` with a band and a probability.

    ``daily`` are ``(UTC day start, the KPI over that day)`` for the days before today
    (days without events may be missing; they count as 0 for an additive KPI);
    ``points`` are ``(time, period-to-date value)`` within the period, as for the plain
    forecast. Returns ``None`` when ``now`` is not before ``due``, pacing is ``none``,
    or there is too little data for either method. ``series_key`` names the KPI's daily
    series (its expression) for ``budget`` (`FitBudget`; may raise `FitDeferred`).
    """
    if now >= spec.due or spec.pacing is Pacing.NONE:
        return None
    today = _day_start(now)
    if additive:
        history = _daily_history(daily, today)
        if len(history) >= SEASONAL_MIN_DAYS:
            band = _seasonal(spec, actual, now, today, history, seed, series_key, budget)
            if band is not None:
                return band
    return _linear(spec, now, [*points, (now, actual)])


def _daily_history(daily: Sequence[tuple[datetime, float]], today: datetime) -> list[float]:
    """The last days before today as a gap-free list (missing days are 0), starting at
    the first day with data."""
    values = {_day_start(t): v for t, v in daily if _day_start(t) < today}
    if not values:
        return []
    first = max(min(values), today - HISTORY_DAYS * DAY)
    days = (today - first) // DAY
    return [values.get(first + i * DAY, 0.0) for i in range(days)]


def _seasonal(
    spec: GoalSpec,
    actual: float,
    now: datetime,
    today: datetime,
    history: list[float],
    seed: int,
    series_key: Hashable,
    budget: FitBudget,
) -> Forecast | None:
    import numpy as np

    # Weight of each future day still to come: the rest of today, whole days, and the
    # part of the due day before `due`.
    weights = []
    day = today
    while day < spec.due:
        begin, end = max(day, now), min(day + DAY, spec.due)
        weights.append(max((end - begin) / DAY, 0.0))
        day += DAY
    if not weights:
        return None
    series = np.asarray(history, dtype=float)
    if float(np.ptp(series)) == 0.0:
        # A constant series has no noise to learn; the future is that constant.
        finals = np.full(PATHS, actual + float(series[-1]) * sum(weights))
    else:
        manager = _quiet()
        try:
            fit = MODELS.model(tuple(history), WEEK_DAYS, series_key, budget)
            paths = fit.simulate(
                nsimulations=len(weights),
                repetitions=PATHS,
                anchor="end",
                rng=np.random.default_rng(seed),
            )
        except (ValueError, np.linalg.LinAlgError):
            return None
        finally:
            manager.__exit__(None, None, None)
        paths = np.asarray(paths, dtype=float).reshape(len(weights), PATHS)
        finals = actual + np.asarray(weights) @ paths
    if not np.all(np.isfinite(finals)):
        return None
    tail = (1 - LEVEL) / 2
    met = sum(final_condition_holds(spec, float(v)) for v in finals)
    probability = met / len(finals)
    return Forecast(
        value=float(np.median(finals)),
        low=float(np.quantile(finals, tail)),
        high=float(np.quantile(finals, 1 - tail)),
        probability=probability,
        method=ForecastMethod.SEASONAL.value,
        status=_status(probability),
    )


def _linear(
    spec: GoalSpec, now: datetime, points: Sequence[tuple[datetime, float]]
) -> Forecast | None:
    import numpy as np
    from scipy import stats

    usable = [(t, v) for t, v in points if spec.start <= t <= now and math.isfinite(v)]
    if len({t.astimezone(UTC).date() for t, _ in usable}) < MIN_FORECAST_DAYS:
        return None
    import statsmodels.api as sm

    x = np.asarray([(t - spec.start) / DAY for t, _ in usable])
    y = np.asarray([v for _, v in usable])
    at_due = (spec.due - spec.start) / DAY
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    prediction = fit.get_prediction(np.asarray([[1.0, at_due]]))
    value = float(prediction.predicted_mean[0])
    residual_variance = float(fit.scale) if fit.df_resid > 0 else 0.0
    spread = math.sqrt(max(float(prediction.var_pred_mean[0]) + residual_variance, 0.0))
    if not math.isfinite(value):
        return None
    if spread == 0 or not math.isfinite(spread):
        low = high = value
        probability = 1.0 if final_condition_holds(spec, value) else 0.0
    else:
        df = max(int(fit.df_resid), 1)
        quantile = float(stats.t.ppf(1 - (1 - LEVEL) / 2, df))
        low, high = value - quantile * spread, value + quantile * spread
        # P(final ≥ target) or P(final ≤ target), whichever the goal asks for.
        above = float(stats.t.sf((spec.target - value) / spread, df))
        wants_above = final_condition_holds(spec, math.inf)
        probability = above if wants_above else 1 - above
    return Forecast(
        value=value,
        low=low,
        high=high,
        probability=probability,
        method=ForecastMethod.LINEAR.value,
        status=_status(probability),
    )


# --------------------------------------------------------------------------- anomalies


class Sensitivity(StrEnum):
    """How far outside its expectation a bucket must be to count as an anomaly."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


BAND_WIDTH = {Sensitivity.LOW: 5.0, Sensitivity.MEDIUM: 4.0, Sensitivity.HIGH: 3.0}
"""Standard errors of the one-step prediction on either side of the expectation. At
``medium`` a well-modelled Gaussian series leaves the band about once in 16,000 buckets,
so ninety days of hourly checks raise no false alarm."""

ANOMALY_MIN_SEASONS = 2
"""An anomaly check learns from at least two seasons of buckets."""


@dataclass(frozen=True)
class AnomalyBand:
    expected: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def anomaly_band(
    history: Sequence[float],
    season: int,
    sensitivity: Sensitivity,
    *,
    series_key: Hashable = None,
    budget: FitBudget = UNLIMITED,
) -> AnomalyBand | None:
    """The band the next bucket is expected in, learned from ``history`` (consecutive
    buckets, oldest first, missing ones as 0 for counts and sums). ``None`` with fewer
    than two seasons of history or when the model cannot be fitted. ``series_key``
    and ``budget`` as for `forecast_band` (may raise `FitDeferred`)."""
    import numpy as np

    if len(history) < ANOMALY_MIN_SEASONS * season:
        return None
    series = np.asarray(history, dtype=float)
    width = BAND_WIDTH[sensitivity]
    if float(np.ptp(series)) == 0.0:
        value = float(series[-1])
        return AnomalyBand(value, value, value)
    manager = _quiet()
    try:
        fit = MODELS.model(tuple(float(v) for v in history), season, series_key, budget)
        expected = float(np.asarray(fit.forecast(1))[0])
        # With additive errors the one-step prediction's variance is the model's.
        spread = math.sqrt(float(fit.mse))
    except (ValueError, np.linalg.LinAlgError):
        return None
    finally:
        manager.__exit__(None, None, None)
    if not (math.isfinite(expected) and math.isfinite(spread)):
        return None
    return AnomalyBand(expected, expected - width * spread, expected + width * spread)


# --------------------------------------------------------------------------- seasonal pacing

YEAR_BEFORE = timedelta(days=364)
""""The same period a year before" is taken 52 weeks back, so weekdays line up."""


def seasonal_profile(
    start: datetime,
    due: datetime,
    *,
    year_before: Sequence[tuple[datetime, float]],
    recent: Sequence[tuple[datetime, float]],
) -> tuple[float, ...]:
    """The weight of each UTC day of ``[start, due]`` for seasonal pacing.

    ``year_before`` are daily values of the KPI 52 weeks before the period; when they
    begin no later than the period's first day a year before, each day weighs what its
    counterpart did. Otherwise ``recent`` daily values give the weekly pattern: each day
    weighs the mean of its weekday. Negative values weigh 0. Empty (linear pacing) when
    neither says anything.
    """
    first = _day_start(start)
    days = (_day_start(due) - first) // DAY + 1
    if year_before:
        values = {_day_start(t): max(v, 0.0) for t, v in year_before}
        if min(values) <= first - YEAR_BEFORE:
            profile = tuple(values.get(first - YEAR_BEFORE + i * DAY, 0.0) for i in range(days))
            if sum(profile) > 0:
                return profile
    by_weekday: dict[int, list[float]] = {}
    for t, v in recent:
        by_weekday.setdefault(_day_start(t).weekday(), []).append(max(v, 0.0))
    if len(by_weekday) < WEEK_DAYS:
        return ()
    means = {d: sum(vs) / len(vs) for d, vs in by_weekday.items()}
    profile = tuple(means[(first + i * DAY).weekday()] for i in range(days))
    return profile if sum(profile) > 0 else ()
