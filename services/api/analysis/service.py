"""Breakdown and drivers: read grouped states from the rollups, hand them to the domain.

The request's session owns the connection; nothing here writes.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

from northstar.db.models import Goal, Kpi
from northstar.domain.analysis import (
    BreakdownRow,
    Compare,
    NoGapError,
    breakdown,
    choose_dimension,
    split_gap,
)
from northstar.domain.expressions import LABEL_NAME, metrics, parse_expression
from northstar.domain.goals import GoalSpec, GoalType, Pacing, Thresholds, expected_value
from northstar.http.problems import Problem, invalid_field
from northstar.rollups.reader import grouped_states, split_states
from services.api.analysis.repository import AnalysisRepository
from services.api.analysis.schemas import (
    BreakdownOut,
    BreakdownRowOut,
    DriverAlternativeOut,
    DriverItemOut,
    DriversOut,
)

DEFAULT_SPAN = timedelta(days=30)
MAX_DIMENSIONS = 3
"""A breakdown groups by at most this many dimensions at once."""
MAX_TRIED = 20
"""Without `by`, drivers try at most this many dimensions (the first by name)."""
_OPEN_ENDED = datetime(9999, 1, 1, tzinfo=UTC)


def parse_dimensions(text: str, *, most: int = MAX_DIMENSIONS) -> list[str]:
    """`region,channel` as a list of distinct dimension names, at most `most`."""
    names = [name.strip() for name in text.split(",")]
    if any(not LABEL_NAME.fullmatch(n) for n in names):
        raise invalid_field(
            "by", f"dimension names are comma-separated, each ^{LABEL_NAME.pattern}$"
        )
    if len(set(names)) != len(names):
        raise invalid_field("by", "a dimension is named twice")
    if len(names) > most:
        raise invalid_field("by", f"at most {most} dimension(s)")
    return names


def _row(row: BreakdownRow) -> BreakdownRowOut:
    return BreakdownRowOut(
        dimensions=row.dimensions, value=row.value, share=row.share, events=row.events
    )


def _spec(goal: Goal) -> GoalSpec | None:
    if goal.target is None:
        return None
    start = goal.start or goal.created_at
    return GoalSpec(
        type=GoalType(goal.type),
        target=goal.target,
        baseline=goal.baseline,
        start=start,
        due=goal.due or _OPEN_ENDED,
        pacing=Pacing(goal.pacing) if goal.due is not None else Pacing.NONE,
        thresholds=Thresholds(goal.at_risk, goal.off_track),
    )


class AnalysisService:
    def __init__(self, repository: AnalysisRepository) -> None:
        self._repository = repository

    async def _kpi(self, key: str) -> Kpi:
        kpi = await self._repository.kpi(key)
        if kpi is None:
            raise Problem(404, f"There is no KPI with key '{key}'.")
        return kpi

    async def breakdown(
        self,
        key: str,
        by: str,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        now: datetime,
    ) -> BreakdownOut:
        """The KPI per group of `by` over `[from, to]` (default: the 30 days up to now)."""
        kpi = await self._kpi(key)
        dimensions = parse_dimensions(by)
        end = end or now
        start = start or end - DEFAULT_SPAN
        if start > end:
            raise invalid_field("from", "must not be after `to`")
        expr = parse_expression(kpi.expression)
        conn = await self._repository.connection()
        groups = await grouped_states(conn, expr, dimensions, start, end)
        result = breakdown(expr, dimensions, groups, limit)
        return BreakdownOut(
            kpi=kpi.key,
            by=dimensions,
            start=start,
            end=end,
            items=[_row(r) for r in result.items],
            other=_row(result.other) if result.other else None,
            total=result.total,
            additive=result.additive,
        )

    async def drivers(
        self, goal_id: uuid.UUID, by: str | None, compare: Compare, limit: int, now: datetime
    ) -> DriversOut:
        """The goal's gap split over one dimension (`by`, or the one that concentrates it
        most among every dimension seen on the KPI's metrics)."""
        found = await self._repository.goal_with_kpi(goal_id)
        if found is None:
            raise Problem(404, f"There is no goal with id {goal_id}.")
        goal, kpi = found
        if kpi is None:
            raise Problem(
                422,
                "A roll-up goal has no KPI of its own to split; ask for the drivers of its "
                "children.",
            )
        spec = _spec(goal)
        if compare is Compare.EXPECTED and spec is None:
            raise Problem(
                422, "The goal has no target, so it has no expected value: use compare=previous."
            )
        start = goal.start or goal.created_at
        if now < start:
            raise Problem(422, "The goal has not started yet: there is no gap to explain.")
        end = min(now, goal.due) if goal.due is not None else now
        begin = max(start, end - goal.window) if goal.window is not None else start
        length = end - begin
        expr = parse_expression(kpi.expression)

        if by is not None:
            dimensions = parse_dimensions(by, most=1)
        else:
            dimensions = (await self._repository.dimensions_seen(sorted(metrics(expr))))[:MAX_TRIED]
            if not dimensions:
                raise Problem(
                    422, "The KPI's metrics carry no dimensions, so there is nothing to split by."
                )
        conn = await self._repository.connection()
        current, previous = await split_states(
            conn, expr, dimensions, [(begin, end), (begin - length, begin)]
        )
        expected = expected_value(spec, now) if compare is Compare.EXPECTED and spec else None
        try:
            splits = [
                split_gap(expr, dimension, current[index], previous[index], expected=expected)
                for index, dimension in enumerate(dimensions)
            ]
        except NoGapError as e:
            raise Problem(422, f"There is no gap to explain: {e}.") from e
        ranked = choose_dimension(splits)
        best = ranked[0]
        beyond = best.items[limit:]
        return DriversOut(
            goal_id=str(goal.id),
            compare=compare,
            method=best.method,
            dimension=best.dimension,
            concentration=best.concentration,
            start=begin,
            end=end,
            actual=best.actual,
            reference=best.reference,
            reference_kind=best.reference_kind,
            gap=best.gap,
            items=[
                DriverItemOut(
                    value=i.value,
                    actual=i.actual,
                    reference=i.reference,
                    contribution=i.contribution,
                    share_of_gap=i.share_of_gap,
                )
                for i in best.items[:limit]
            ],
            other_contribution=math.fsum(i.contribution for i in beyond),
            alternatives=[
                DriverAlternativeOut(dimension=s.dimension, concentration=s.concentration)
                for s in ranked[1:]
            ],
        )
