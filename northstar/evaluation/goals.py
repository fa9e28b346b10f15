"""GoalEvaluationService: judge goals now, record the result, report what changed.

Evaluating a set of goals also re-evaluates every ancestor (roll-ups follow their
children). The `goal_state` rows of all of them are locked in id order first, so two
evaluator replicas evaluating overlapping goals take turns: the second one reads the
first one's committed events and writes the later, complete answer. That is also what
makes each status transition (and the alert it may raise) happen exactly once.

History: a row goes into `goal_status_history` whenever the status changes, and at most
every `history_interval` otherwise, which keeps the series useful for charts without
writing a row per goal per evaluation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.analysis import is_additive
from northstar.domain.expressions import Expr, parse_expression
from northstar.domain.forecasting import (
    HISTORY_DAYS,
    YEAR_BEFORE,
    forecast_band,
    seasonal_profile,
)
from northstar.domain.goals import (
    Forecast,
    ForecastStatus,
    GoalSpec,
    GoalStatus,
    GoalType,
    Pacing,
    RollupPolicy,
    Thresholds,
    evaluate_goal,
    rollup_score,
    rollup_status,
)
from northstar.domain.plans import plan_status
from northstar.rollups.reader import KpiValueReader
from northstar.rollups.series import daily_period_to_date, step_series

# A goal without a due date is judged against its target with no pace and never closes.
_OPEN_ENDED = datetime(9999, 1, 1, tzinfo=UTC)
# Goals whose due date passed longer ago than this are final; the timer leaves them be.
FINAL_AFTER = timedelta(days=7)
DAY = timedelta(days=1)
# Daily histories kept for the seasonal forecast (one per KPI expression and day).
_HISTORY_CACHE = 4096


@dataclass(frozen=True, slots=True)
class GoalOutcome:
    """One goal's new evaluation, and its status before it."""

    goal_id: uuid.UUID
    title: str
    kpi: str | None
    previous_status: str | None
    status: GoalStatus
    actual: float | None
    expected: float | None
    target: float | None
    score: float | None
    progress: float | None
    forecast: Forecast | None
    evaluated_at: datetime
    alert_clear_margin: float
    thresholds: Thresholds
    # The KPI received no event for longer than its `max_staleness` (SPEC §4).
    stale: bool = False
    # An initiative of the goal, or one of its milestones, is past due and not done (§12).
    late_plan: bool = False
    # The status object's plan part: check-in cadence and initiatives (SPEC §12).
    plan: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return self.previous_status != self.status.value

    def status_object(self) -> dict[str, Any]:
        """The SPEC §7 goal status object."""
        return {
            "goal_id": str(self.goal_id),
            "status": self.status.value,
            "actual": self.actual,
            "expected": self.expected,
            "target": self.target,
            "score": self.score,
            "progress": self.progress,
            "forecast": self.forecast.to_dict() if self.forecast else None,
            "evaluated_at": self.evaluated_at.isoformat(),
            **(self.plan or {}),
        }


_CLOSURE = """
WITH RECURSIVE up AS (
    SELECT id, parent_id FROM goals WHERE id = ANY($1::uuid[])
    UNION
    SELECT g.id, g.parent_id FROM goals g JOIN up ON g.id = up.parent_id
)
SELECT id FROM up
"""
_ENSURE_STATE = """
INSERT INTO goal_state (goal_id) SELECT id FROM unnest($1::uuid[]) AS id ORDER BY id
ON CONFLICT DO NOTHING
"""
_LOCK = """
SELECT goal_id, status, status_since, history_at, forecast_value, forecast_status,
       forecast_low, forecast_high, forecast_probability, forecast_method FROM goal_state
WHERE goal_id = ANY($1::uuid[]) ORDER BY goal_id FOR UPDATE
"""
_LOAD = """
SELECT g.*, k.expression, k.metrics AS kpi_metrics, k.max_staleness,
       k.created_at AS kpi_created_at
FROM goals g LEFT JOIN kpis k ON k.key = g.kpi_key
WHERE g.id = ANY($1::uuid[])
"""
# Goals with an open initiative past its due, or with a milestone of one past due and not
# done (northstar.domain.plans.late_items says the same in Python).
_LATE_PLANS = """
SELECT DISTINCT i.goal_id FROM initiatives i
WHERE i.goal_id = ANY($1::uuid[]) AND i.status NOT IN ('done', 'cancelled')
  AND (i.due < $2 OR EXISTS (
      SELECT 1 FROM milestones m
      WHERE m.initiative_id = i.id AND m.due < $2 AND m.done_at IS NULL))
"""
_LAST_RECEIVED = "SELECT max(last_received) FROM metrics WHERE name = ANY($1::text[])"
_CHILDREN = """
SELECT g.parent_id, g.weight, s.score FROM goals g JOIN goal_state s ON s.goal_id = g.id
WHERE g.parent_id = $1
"""
# Every outcome of a step is written with one statement per table (rows by goal id).
_WRITE_STATES = """
UPDATE goal_state AS s SET status = u.status, actual = u.actual, expected = u.expected,
    target = u.target, score = u.score, progress = u.progress,
    forecast_value = u.forecast_value, forecast_status = u.forecast_status,
    forecast_low = u.forecast_low, forecast_high = u.forecast_high,
    forecast_probability = u.forecast_probability, forecast_method = u.forecast_method,
    evaluated_at = $10,
    status_since = CASE WHEN s.status IS DISTINCT FROM u.status THEN $10 ELSE s.status_since END,
    history_at = CASE WHEN u.history THEN $10 ELSE s.history_at END
FROM unnest($1::uuid[], $2::varchar[], $3::float8[], $4::float8[], $5::float8[],
            $6::float8[], $7::float8[], $8::float8[], $9::varchar[], $11::bool[],
            $12::float8[], $13::float8[], $14::float8[], $15::varchar[])
     AS u(goal_id, status, actual, expected, target, score, progress, forecast_value,
          forecast_status, history, forecast_low, forecast_high, forecast_probability,
          forecast_method)
WHERE s.goal_id = u.goal_id
"""
_WRITE_HISTORY = """
INSERT INTO goal_status_history (time, goal_id, status, actual, expected, score)
SELECT $1, * FROM unnest($2::uuid[], $3::varchar[], $4::float8[], $5::float8[], $6::float8[])
"""
_AFFECTED = """
SELECT DISTINCT g.id FROM goals g
JOIN kpis k ON k.key = g.kpi_key
JOIN unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS t(metric, first, last)
  ON t.metric = ANY(k.metrics)
WHERE (g.start IS NULL OR t.last >= g.start) AND (g.due IS NULL OR t.first <= g.due)
ORDER BY g.id
"""
_ACTIVE = """
SELECT id FROM goals WHERE due IS NULL OR due >= $1 ORDER BY id
"""


def _plan(goal: Any, now: datetime) -> dict[str, Any]:
    summary = goal["plan_summary"]
    return plan_status(
        cadence=goal["check_in_cadence"],
        last_check_in_at=goal["last_check_in_at"],
        since=goal["start"] or goal["created_at"],
        summary=orjson.loads(summary) if isinstance(summary, str) else summary,
        now=now,
    )


class GoalEvaluationService:
    def __init__(self, *, history_interval: timedelta = timedelta(minutes=15)) -> None:
        self._history_interval = history_interval
        self._expressions: dict[str, Expr] = {}
        # Keyed by database too: one process may serve several (tests, benchmarks).
        self._histories: dict[tuple[str, str, datetime], list[tuple[datetime, float]]] = {}
        self._profiles: dict[tuple[str, str, datetime, datetime, datetime], tuple[float, ...]] = {}

    async def affected_goals(
        self, conn: AsyncConnection, touched: Iterable[tuple[str, datetime, datetime]]
    ) -> list[uuid.UUID]:
        """Goals whose KPI reads one of the metrics, with periods overlapping the events."""
        metrics, firsts, lasts = [], [], []
        for metric, first, last in touched:
            metrics.append(metric)
            firsts.append(first)
            lasts.append(last)
        if not metrics:
            return []
        raw = await driver(conn)
        return [r["id"] for r in await raw.fetch(_AFFECTED, metrics, firsts, lasts)]

    async def active_goals(self, conn: AsyncConnection, now: datetime) -> list[uuid.UUID]:
        raw = await driver(conn)
        return [r["id"] for r in await raw.fetch(_ACTIVE, now - FINAL_AFTER)]

    async def evaluate(
        self,
        conn: AsyncConnection,
        goal_ids: Sequence[uuid.UUID],
        now: datetime,
        *,
        forecasts: bool = True,
    ) -> list[GoalOutcome]:
        """Evaluate the goals and their ancestors at `now`, inside the caller's transaction.

        With `forecasts=False` (the evaluator after a batch) each goal keeps the forecast
        it had: fitting models is the timed sweep's work, bounded per run, never the
        batch path's."""
        if not goal_ids:
            return []
        raw = await driver(conn)
        closure = [r["id"] for r in await raw.fetch(_CLOSURE, list(goal_ids))]
        await raw.execute(_ENSURE_STATE, closure)
        previous = {r["goal_id"]: r for r in await raw.fetch(_LOCK, closure)}
        goals = {r["id"]: r for r in await raw.fetch(_LOAD, closure)}

        # Goals sharing a KPI and a period share its reads: the reader caches values per
        # range, and `trends` the forecast's daily series per (expression, range).
        reader = KpiValueReader(conn)
        trends: dict[tuple[str, datetime, datetime], list[tuple[datetime, float]]] = {}
        leaves: list[GoalOutcome] = []
        staleness: dict[str, bool] = {}
        for goal_id in sorted(g for g, row in goals.items() if row["kpi_key"] is not None):
            goal = goals[goal_id]
            outcome = await self._evaluate_leaf(
                reader, trends, conn, goal, previous, now, forecasts=forecasts
            )
            if goal["max_staleness"] is not None:
                if goal["kpi_key"] not in staleness:
                    staleness[goal["kpi_key"]] = await self._stale(raw, goal, now)
                outcome = replace(outcome, stale=staleness[goal["kpi_key"]])
            leaves.append(outcome)
        # Leaves are written before the roll-ups read their children's scores.
        await self._record(raw, leaves, previous, now)

        outcomes = list(leaves)
        for goal_id in _deepest_first(goals, [g for g, r in goals.items() if r["kpi_key"] is None]):
            children = await raw.fetch(_CHILDREN, goal_id)
            outcome = self._evaluate_rollup(goals[goal_id], children, previous, now)
            await self._record(raw, [outcome], previous, now)
            outcomes.append(outcome)
        late = {r["goal_id"] for r in await raw.fetch(_LATE_PLANS, closure, now)}
        # The plan part is only published with a status change (`status_object`).
        return [
            replace(o, late_plan=o.goal_id in late, plan=_plan(goals[o.goal_id], now))
            if o.changed or o.goal_id in late
            else o
            for o in outcomes
        ]

    async def _stale(self, raw: Any, goal: Any, now: datetime) -> bool:
        """No event for the KPI's metrics received for longer than `max_staleness` (a KPI
        that never received any counts from its creation)."""
        last = await raw.fetchval(_LAST_RECEIVED, list(goal["kpi_metrics"]))
        since = last if last is not None else goal["kpi_created_at"]
        return bool(now - since > goal["max_staleness"])

    # -- leaves and roll-ups ------------------------------------------------------------------

    def _expression(self, text: str) -> Expr:
        expr = self._expressions.get(text)
        if expr is None:
            expr = self._expressions[text] = parse_expression(text)
        return expr

    async def _evaluate_leaf(
        self,
        reader: KpiValueReader,
        trends: dict[tuple[str, datetime, datetime], list[tuple[datetime, float]]],
        conn: AsyncConnection,
        goal: Any,
        previous: dict[uuid.UUID, Any],
        now: datetime,
        *,
        forecasts: bool,
    ) -> GoalOutcome:
        thresholds = Thresholds(goal["at_risk"], goal["off_track"])
        start = goal["start"] or goal["created_at"]
        due = goal["due"]
        expr = self._expression(goal["expression"])
        end = min(now, due) if due is not None else now
        window = goal["window"]
        begin = max(start, end - window) if window is not None else start

        actual: float | None = None
        if now >= start:
            value, events = await reader.value(expr, begin, end)
            actual = value if events else None

        if goal["target"] is None:
            # A draft without a target can show its actual, but not be judged.
            status = GoalStatus.NOT_STARTED if now < start else GoalStatus.NO_DATA
            return self._outcome(goal, previous, status, actual, None, None, None, None, now)

        spec = GoalSpec(
            type=GoalType(goal["type"]),
            target=goal["target"],
            baseline=goal["baseline"],
            start=start,
            due=due or _OPEN_ENDED,
            pacing=Pacing(goal["pacing"]) if due is not None else Pacing.NONE,
            thresholds=thresholds,
            profile=(
                await self._profile(conn, goal["expression"], expr, start, due, now)
                if due is not None and goal["pacing"] == Pacing.SEASONAL.value
                else ()
            ),
        )
        judged = evaluate_goal(spec, actual, now)
        projected = None
        if actual is not None and spec.pacing is not Pacing.NONE and now < spec.due:
            if not forecasts:
                projected = stored_forecast(previous[goal["id"]])
            else:
                key = (goal["expression"], start, end)
                points = trends.get(key)
                if points is None:
                    points = trends[key] = await daily_period_to_date(conn, expr, start, end)
                # Period-to-date of an additive KPI is today's actual plus the days to
                # come, which the seasonal model simulates; a rolling window is not.
                additive = window is None and is_additive(expr)
                daily = await self._daily(conn, goal["expression"], expr, now) if additive else []
                projected = forecast_band(
                    spec,
                    actual=actual,
                    now=now,
                    daily=daily,
                    points=points,
                    additive=additive,
                    seed=goal["id"].int % 2**32,
                )
        return self._outcome(
            goal,
            previous,
            judged.status,
            judged.actual,
            judged.expected,
            judged.score,
            judged.progress,
            projected,
            now,
        )

    async def _daily(
        self, conn: AsyncConnection, text: str, expr: Expr, now: datetime
    ) -> list[tuple[datetime, float]]:
        """The KPI per UTC day over the days before today that a seasonal model learns
        from, cached per expression and day (complete days change only by late events)."""
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (str(conn.engine.url), text, today)
        cached = self._histories.get(key)
        if cached is None:
            series = await step_series(conn, expr, today - HISTORY_DAYS * DAY, today, DAY)
            cached = [(t, v) for t, v in series if v is not None]
            if len(self._histories) >= _HISTORY_CACHE:
                self._histories.clear()
            self._histories[key] = cached
        return cached

    async def _profile(
        self,
        conn: AsyncConnection,
        text: str,
        expr: Expr,
        start: datetime,
        due: datetime,
        now: datetime,
    ) -> tuple[float, ...]:
        """The seasonal pace's day weights (the same period 52 weeks before, else the
        weekly pattern of the last weeks), cached per expression, period and day."""
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (str(conn.engine.url), text, start, due, today)
        cached = self._profiles.get(key)
        if cached is None:
            first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            # A week more than the period, so "there was data before" can be seen.
            year_before = await step_series(
                conn, expr, first - YEAR_BEFORE - 7 * DAY, due - YEAR_BEFORE + DAY, DAY
            )
            cached = seasonal_profile(
                start,
                due,
                year_before=[(t, v) for t, v in year_before if v is not None],
                recent=await self._daily(conn, text, expr, now),
            )
            if len(self._profiles) >= _HISTORY_CACHE:
                self._profiles.clear()
            self._profiles[key] = cached
        return cached

    def _evaluate_rollup(
        self, goal: Any, children: Sequence[Any], previous: dict[uuid.UUID, Any], now: datetime
    ) -> GoalOutcome:
        thresholds = Thresholds(goal["at_risk"], goal["off_track"])
        if goal["start"] is not None and now < goal["start"]:
            return self._outcome(
                goal, previous, GoalStatus.NOT_STARTED, None, None, None, None, None, now
            )
        score = rollup_score(
            RollupPolicy(goal["rollup"]), [(c["weight"], c["score"]) for c in children]
        )
        status = rollup_status(score, thresholds)
        return self._outcome(goal, previous, status, None, None, score, None, None, now)

    def _outcome(
        self,
        goal: Any,
        previous: dict[uuid.UUID, Any],
        status: GoalStatus,
        actual: float | None,
        expected: float | None,
        score: float | None,
        progress: float | None,
        projected: Forecast | None,
        now: datetime,
    ) -> GoalOutcome:
        return GoalOutcome(
            goal_id=goal["id"],
            title=goal["title"],
            kpi=goal["kpi_key"],
            previous_status=previous[goal["id"]]["status"],
            status=status,
            actual=actual,
            expected=expected,
            target=goal["target"],
            score=score,
            progress=progress,
            forecast=projected,
            evaluated_at=now,
            alert_clear_margin=goal["alert_clear_margin"],
            thresholds=Thresholds(goal["at_risk"], goal["off_track"]),
        )

    async def _record(
        self,
        raw: Any,
        outcomes: Sequence[GoalOutcome],
        previous: dict[uuid.UUID, Any],
        now: datetime,
    ) -> None:
        """Write the outcomes into `goal_state`, and into the history where the status
        changed or the last history row is older than the interval."""
        if not outcomes:
            return
        history = [
            o.changed
            or previous[o.goal_id]["history_at"] is None
            or now - previous[o.goal_id]["history_at"] >= self._history_interval
            for o in outcomes
        ]
        await raw.execute(
            _WRITE_STATES,
            [o.goal_id for o in outcomes],
            [o.status.value for o in outcomes],
            [o.actual for o in outcomes],
            [o.expected for o in outcomes],
            [o.target for o in outcomes],
            [o.score for o in outcomes],
            [o.progress for o in outcomes],
            [o.forecast.value if o.forecast else None for o in outcomes],
            [o.forecast.status.value if o.forecast else None for o in outcomes],
            now,
            history,
            [o.forecast.low if o.forecast else None for o in outcomes],
            [o.forecast.high if o.forecast else None for o in outcomes],
            [o.forecast.probability if o.forecast else None for o in outcomes],
            [o.forecast.method if o.forecast else None for o in outcomes],
        )
        written = [o for o, due in zip(outcomes, history, strict=True) if due]
        if written:
            await raw.execute(
                _WRITE_HISTORY,
                now,
                [o.goal_id for o in written],
                [o.status.value for o in written],
                [o.actual for o in written],
                [o.expected for o in written],
                [o.score for o in written],
            )


def stored_forecast(state: Any) -> Forecast | None:
    """The forecast a `goal_state` row holds, if any."""
    if state["forecast_value"] is None or state["forecast_status"] is None:
        return None
    return Forecast(
        value=state["forecast_value"],
        status=ForecastStatus(state["forecast_status"]),
        low=state["forecast_low"],
        high=state["forecast_high"],
        probability=state["forecast_probability"],
        method=state["forecast_method"],
    )


def _deepest_first(goals: dict[uuid.UUID, Any], ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Roll-ups ordered so every goal comes after all of its descendants in the set.

    A walk up from a goal never takes more steps than there are goals: parent links that
    form a cycle (only rows written around the api could) end the walk instead of spinning
    the event loop forever."""

    def depth(goal_id: uuid.UUID) -> int:
        d, parent = 0, goals[goal_id]["parent_id"]
        while parent is not None and parent in goals and d < len(goals):
            d, parent = d + 1, goals[parent]["parent_id"]
        return d

    return sorted(ids, key=lambda g: (-depth(g), g))
