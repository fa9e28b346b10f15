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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.domain.analysis import is_additive
from northstar.domain.expressions import Expr, parse_expression
from northstar.domain.forecasting import (
    HISTORY_DAYS,
    UNLIMITED,
    YEAR_BEFORE,
    FitBudget,
    FitDeferred,
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
    rollup_children,
    rollup_score,
    rollup_status,
)
from northstar.domain.plans import plan_status
from northstar.evaluation.repository import (
    ChildScore,
    GoalDefinition,
    GoalStateRepository,
    StateWrite,
    StoredState,
)
from northstar.evaluation.status import StatusReport
from northstar.rollups.reader import KpiValueReader
from northstar.rollups.series import daily_period_to_date, step_series

# A goal without a due date is judged against its target with no pace and never closes.
_OPEN_ENDED = datetime(9999, 1, 1, tzinfo=UTC)
# Goals whose due date passed longer ago than this are final; the timer leaves them be.
FINAL_AFTER = timedelta(days=7)
DAY = timedelta(days=1)
# Daily histories and seasonal profiles kept (one per database, expression and day).
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
    # A roll-up goal's children by status (SPEC §5); None for a goal with a KPI.
    children: dict[str, int] | None = None

    @property
    def changed(self) -> bool:
        return self.previous_status != self.status.value

    def status_report(self) -> StatusReport:
        return StatusReport(
            goal_id=self.goal_id,
            status=self.status,
            actual=self.actual,
            expected=self.expected,
            target=self.target,
            score=self.score,
            progress=self.progress,
            forecast=self.forecast,
            evaluated_at=self.evaluated_at,
            children=self.children,
        )

    def status_object(self) -> dict[str, Any]:
        """The SPEC §7 goal status object (see `StatusReport.to_dict`), with its plan part
        (§12) when it was read."""
        return {**self.status_report().to_dict(), **(self.plan or {})}


def _plan(goal: GoalDefinition, now: datetime) -> dict[str, Any]:
    return plan_status(
        cadence=goal.check_in_cadence,
        last_check_in_at=goal.last_check_in_at,
        since=goal.start or goal.created_at,
        summary=goal.plan_summary,
        now=now,
    )


class GoalEvaluationService:
    def __init__(
        self,
        *,
        repository: GoalStateRepository | None = None,
        history_interval: timedelta = timedelta(minutes=15),
    ) -> None:
        self.repository = repository or GoalStateRepository()
        self._history_interval = history_interval
        self._expressions: dict[str, Expr] = {}
        # Keyed by database too: one process may serve several (tests, benchmarks).
        self._histories: dict[tuple[str, str, datetime], list[tuple[datetime, float]]] = {}
        self._profiles: dict[tuple[str, str, datetime, datetime, datetime], tuple[float, ...]] = {}

    async def affected_goals(
        self, conn: AsyncConnection, touched: Iterable[tuple[str, datetime, datetime]]
    ) -> list[uuid.UUID]:
        """Goals whose KPI reads one of the metrics, with periods overlapping the events."""
        return await self.repository.affected(conn, touched)

    async def active_goals(self, conn: AsyncConnection, now: datetime) -> list[uuid.UUID]:
        """Goals the timer re-evaluates: open-ended, or not final yet (`FINAL_AFTER`)."""
        return await self.repository.due_since(conn, now - FINAL_AFTER)

    async def evaluate(
        self,
        conn: AsyncConnection,
        goal_ids: Sequence[uuid.UUID],
        now: datetime,
        *,
        forecasts: bool = True,
        fits: FitBudget = UNLIMITED,
    ) -> list[GoalOutcome]:
        """Evaluate the goals and their ancestors at `now`, inside the caller's transaction.

        With `forecasts=False` (the evaluator after a batch) each goal keeps the forecast
        it had: fitting models is the timed sweep's work, bounded per run by `fits`,
        never the batch path's. A goal whose KPI has no model yet when `fits` is spent
        keeps its forecast too, until a later sweep fits one."""
        if not goal_ids:
            return []
        previous = await self.repository.lock_with_ancestors(conn, goal_ids)
        goals = await self.repository.definitions(conn, list(previous))

        # Goals sharing a KPI and a period share its reads: the reader caches values per
        # range, and `trends` the forecast's daily series per (expression, range).
        reader = KpiValueReader(conn)
        trends: dict[tuple[str, datetime, datetime], list[tuple[datetime, float]]] = {}
        leaves: list[GoalOutcome] = []
        staleness: dict[str, bool] = {}
        leaf_ids = sorted(g for g, goal in goals.items() if goal.kpi_key is not None)
        # Every leaf's KPI value in one query (the loop below then reads the cache).
        await reader.prefetch(
            read for read in (self._read(goals[g], now) for g in leaf_ids) if read is not None
        )
        for goal_id in leaf_ids:
            goal = goals[goal_id]
            outcome = await self._evaluate_leaf(
                reader=reader,
                trends=trends,
                conn=conn,
                goal=goal,
                previous=previous,
                now=now,
                forecasts=forecasts,
                fits=fits,
            )
            if goal.max_staleness is not None and goal.kpi_key is not None:
                if goal.kpi_key not in staleness:
                    staleness[goal.kpi_key] = await self._stale(conn, goal, now)
                outcome = replace(outcome, stale=staleness[goal.kpi_key])
            leaves.append(outcome)
        # Leaves are written before the roll-ups read their children's scores.
        await self._record(conn, leaves, previous, now)

        outcomes = list(leaves)
        for goal_id in _deepest_first(
            goals, [g for g, goal in goals.items() if goal.kpi_key is None]
        ):
            children = await self.repository.child_scores(conn, goal_id)
            outcome = self._evaluate_rollup(
                goal=goals[goal_id], children=children, previous=previous, now=now
            )
            await self._record(conn, [outcome], previous, now)
            outcomes.append(outcome)
        late = await self.repository.late_plans(conn, list(previous), now)
        # The plan part is only published with a status change (`status_object`).
        return [
            replace(o, late_plan=o.goal_id in late, plan=_plan(goals[o.goal_id], now))
            if o.changed or o.goal_id in late
            else o
            for o in outcomes
        ]

    async def _stale(self, conn: AsyncConnection, goal: GoalDefinition, now: datetime) -> bool:
        """No event for the KPI's metrics received for longer than `max_staleness` (a KPI
        that never received any counts from its creation)."""
        assert goal.max_staleness is not None and goal.kpi_created_at is not None
        last = await self.repository.last_received(conn, goal.kpi_metrics or [])
        since = last if last is not None else goal.kpi_created_at
        return bool(now - since > goal.max_staleness)

    # -- leaves and roll-ups ------------------------------------------------------------------

    def _expression(self, text: str) -> Expr:
        expr = self._expressions.get(text)
        if expr is None:
            expr = self._expressions[text] = parse_expression(text)
        return expr

    def _read(self, goal: GoalDefinition, now: datetime) -> tuple[Expr, datetime, datetime] | None:
        """The KPI read that judges a leaf goal at `now`: its expression over `[begin,
        end]` (the period so far, or its rolling window); None before the period starts."""
        assert goal.expression is not None  # a leaf has a KPI
        start = goal.start or goal.created_at
        if now < start:
            return None
        end = min(now, goal.due) if goal.due is not None else now
        begin = max(start, end - goal.window) if goal.window is not None else start
        return self._expression(goal.expression), begin, end

    async def _evaluate_leaf(
        self,
        *,
        reader: KpiValueReader,
        trends: dict[tuple[str, datetime, datetime], list[tuple[datetime, float]]],
        conn: AsyncConnection,
        goal: GoalDefinition,
        previous: Mapping[uuid.UUID, StoredState],
        now: datetime,
        forecasts: bool,
        fits: FitBudget,
    ) -> GoalOutcome:
        assert goal.expression is not None  # a leaf has a KPI
        start = goal.start or goal.created_at
        due = goal.due
        expr = self._expression(goal.expression)
        end = min(now, due) if due is not None else now
        window = goal.window

        actual: float | None = None
        read = self._read(goal, now)
        if read is not None:
            value, events = await reader.value(*read)
            actual = value if events else None

        if goal.target is None:
            # A draft without a target can show its actual, but not be judged.
            status = GoalStatus.NOT_STARTED if now < start else GoalStatus.NO_DATA
            return _outcome(goal, previous, now, status=status, actual=actual)

        spec = GoalSpec(
            type=GoalType(goal.type),
            target=goal.target,
            baseline=goal.baseline,
            start=start,
            due=due or _OPEN_ENDED,
            pacing=Pacing(goal.pacing) if due is not None else Pacing.NONE,
            thresholds=_thresholds(goal),
            profile=(
                await self._profile(conn, goal.expression, expr, start, due, now)
                if due is not None and goal.pacing == Pacing.SEASONAL.value
                else ()
            ),
        )
        judged = evaluate_goal(spec, actual, now)
        projected = None
        if actual is not None and spec.pacing is not Pacing.NONE and now < spec.due:
            if not forecasts:
                projected = stored_forecast(previous[goal.id])
            else:
                key = (goal.expression, start, end)
                points = trends.get(key)
                if points is None:
                    points = trends[key] = await daily_period_to_date(conn, expr, start, end)
                # Period-to-date of an additive KPI is today's actual plus the days to
                # come, which the seasonal model simulates; a rolling window is not.
                additive = window is None and is_additive(expr)
                daily = await self._daily(conn, goal.expression, expr, now) if additive else []
                try:
                    projected = forecast_band(
                        spec,
                        actual=actual,
                        now=now,
                        daily=daily,
                        points=points,
                        additive=additive,
                        seed=goal.id.int % 2**32,
                        series_key=goal.expression,
                        budget=fits,
                    )
                except FitDeferred:
                    projected = stored_forecast(previous[goal.id])
        return _outcome(
            goal,
            previous,
            now,
            status=judged.status,
            actual=judged.actual,
            expected=judged.expected,
            score=judged.score,
            progress=judged.progress,
            forecast=projected,
        )

    async def _daily(
        self, conn: AsyncConnection, text: str, expr: Expr, now: datetime
    ) -> list[tuple[datetime, float]]:
        """The KPI per UTC day over the days before today that a seasonal model learns
        from, cached per database, expression and day (complete days change only by late
        events)."""
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
        weekly pattern of the last weeks), cached per database, expression, period and
        day."""
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
        self,
        *,
        goal: GoalDefinition,
        children: Sequence[ChildScore],
        previous: Mapping[uuid.UUID, StoredState],
        now: datetime,
    ) -> GoalOutcome:
        counts = rollup_children(
            [GoalStatus(c.status) if c.status else GoalStatus.NO_DATA for c in children]
        )
        if goal.start is not None and now < goal.start:
            outcome = _outcome(goal, previous, now, status=GoalStatus.NOT_STARTED)
            return replace(outcome, children=counts)
        score = rollup_score(
            RollupPolicy(goal.rollup), [(c.weight, c.score) for c in children], cap=goal.rollup_cap
        )
        status = rollup_status(score, _thresholds(goal))
        return replace(_outcome(goal, previous, now, status=status, score=score), children=counts)

    async def _record(
        self,
        conn: AsyncConnection,
        outcomes: Sequence[GoalOutcome],
        previous: Mapping[uuid.UUID, StoredState],
        now: datetime,
    ) -> None:
        """Write the outcomes into `goal_state`, and into the history where the status
        changed or the last history row is older than the interval."""
        await self.repository.write(
            conn,
            [
                StateWrite(
                    goal_id=o.goal_id,
                    status=o.status.value,
                    actual=o.actual,
                    expected=o.expected,
                    target=o.target,
                    score=o.score,
                    progress=o.progress,
                    forecast_value=o.forecast.value if o.forecast else None,
                    forecast_status=o.forecast.status.value if o.forecast else None,
                    forecast_low=o.forecast.low if o.forecast else None,
                    forecast_high=o.forecast.high if o.forecast else None,
                    forecast_probability=o.forecast.probability if o.forecast else None,
                    forecast_method=o.forecast.method if o.forecast else None,
                    children=o.children,
                    history=self._history_due(o, previous[o.goal_id], now),
                )
                for o in outcomes
            ],
            now,
        )

    def _history_due(self, outcome: GoalOutcome, before: StoredState, now: datetime) -> bool:
        return (
            outcome.changed
            or before.history_at is None
            or now - before.history_at >= self._history_interval
        )


def stored_forecast(state: StoredState) -> Forecast | None:
    """The forecast a `goal_state` row holds, if any."""
    if state.forecast_value is None or state.forecast_status is None:
        return None
    return Forecast(
        value=state.forecast_value,
        status=ForecastStatus(state.forecast_status),
        low=state.forecast_low,
        high=state.forecast_high,
        probability=state.forecast_probability,
        method=state.forecast_method,
    )


def _thresholds(goal: GoalDefinition) -> Thresholds:
    return Thresholds(goal.at_risk, goal.off_track)


def _outcome(
    goal: GoalDefinition,
    previous: Mapping[uuid.UUID, StoredState],
    now: datetime,
    *,
    status: GoalStatus,
    actual: float | None = None,
    expected: float | None = None,
    score: float | None = None,
    progress: float | None = None,
    forecast: Forecast | None = None,
) -> GoalOutcome:
    return GoalOutcome(
        goal_id=goal.id,
        title=goal.title,
        kpi=goal.kpi_key,
        previous_status=previous[goal.id].status,
        status=status,
        actual=actual,
        expected=expected,
        target=goal.target,
        score=score,
        progress=progress,
        forecast=forecast,
        evaluated_at=now,
        alert_clear_margin=goal.alert_clear_margin,
        thresholds=_thresholds(goal),
    )


def _deepest_first(
    goals: Mapping[uuid.UUID, GoalDefinition], ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """Roll-ups ordered so every goal comes after all of its descendants in the set.

    A walk up from a goal never takes more steps than there are goals: parent links that
    form a cycle (only rows written around the api could) end the walk instead of spinning
    the event loop forever."""

    def depth(goal_id: uuid.UUID) -> int:
        d, parent = 0, goals[goal_id].parent_id
        while parent is not None and parent in goals and d < len(goals):
            d, parent = d + 1, goals[parent].parent_id
        return d

    return sorted(ids, key=lambda g: (-depth(g), g))
