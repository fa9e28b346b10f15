"""KPI rules: the expression is parsed and stored canonically, a KPI in use stays, a
changed expression re-judges its goals, and the time-series step rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from northstar.db.models import Kpi
from northstar.domain.durations import DurationError, format_duration, parse_duration
from northstar.domain.expressions import (
    Expr,
    ExpressionError,
    format_expression,
    metrics,
    parse_expression,
)
from northstar.http.problems import Problem, invalid_field
from northstar.rollups.series import MAX_POINTS, step_series
from services.api.judging import evaluate_goals
from services.api.kpis.repository import KpiRepository
from services.api.kpis.schemas import KpiCreate, KpiPoint, KpiUpdate, KpiValues
from services.api.owners import check_owner

DEFAULT_SPAN = timedelta(days=7)
TARGET_POINTS = 500
"""A default step gives at most about this many points."""
STEPS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _check_manual(kpi: Kpi) -> None:
    """A manual KPI's check-in value becomes an event of its one metric; with several
    metrics there would be no telling which one a value is for."""
    if kpi.source == "manual" and len(kpi.metrics) != 1:
        raise invalid_field(
            "source",
            f"a manual KPI must read exactly one metric; this expression reads "
            f"{len(kpi.metrics)} ({', '.join(kpi.metrics)})",
        )


def not_found(key: str) -> Problem:
    return Problem(404, f"There is no KPI with key '{key}'.")


def parse_kpi_expression(text: str) -> Expr:
    """Parse, or a 422 whose detail shows the expression with a caret under the fault."""
    try:
        return parse_expression(text)
    except ExpressionError as e:
        pointer = " " * min(e.position, len(text)) + "^"
        raise Problem(
            422,
            f"The expression is invalid: {e.message} at position {e.position}:\n"
            f"  {text}\n  {pointer}",
            errors=[{"field": "expression", "message": e.message, "position": e.position}],
        ) from None


def default_step(span: timedelta) -> timedelta:
    """The smallest of 1m/5m/15m/1h/6h/1d that keeps `span` within ~500 points; whole days
    beyond that."""
    wanted = span / TARGET_POINTS
    for step in STEPS:
        if step >= wanted:
            return step
    return timedelta(days=math.ceil(wanted / timedelta(days=1)))


def align_down(moment: datetime, step: timedelta) -> datetime:
    """The step boundary (counted from the Unix epoch, UTC) at or before `moment`."""
    return _EPOCH + ((moment - _EPOCH) // step) * step


class KpiService:
    def __init__(self, repository: KpiRepository) -> None:
        self.repository = repository

    async def get(self, key: str) -> Kpi:
        kpi = await self.repository.get(key)
        if kpi is None:
            raise not_found(key)
        return kpi

    async def create(self, body: KpiCreate) -> Kpi:
        expr = parse_kpi_expression(body.expression)
        if await self.repository.get(body.key) is not None:
            raise Problem(409, f"A KPI with key '{body.key}' exists already; choose another key.")
        kpi = Kpi(
            key=body.key,
            name=body.name,
            description=body.description,
            unit=body.unit,
            expression=format_expression(expr),
            kind=body.kind.value,
            max_staleness=body.max_staleness,
            metrics=sorted(metrics(expr)),
            source=body.source.value,
            category=body.category,
            owner_id=body.owner_id,
            anomaly=body.anomaly.model_dump() if body.anomaly else None,
        )
        await check_owner(self.repository.session, body.owner_id)
        _check_manual(kpi)
        try:
            return await self.repository.add(kpi)
        except IntegrityError:
            raise Problem(
                409, f"A KPI with key '{body.key}' exists already; choose another key."
            ) from None

    async def update(self, key: str, body: KpiUpdate, now: datetime) -> Kpi:
        kpi = await self.get(key)
        changes = body.model_dump(exclude_unset=True)
        for field in ("name", "description", "unit", "expression", "kind"):
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        expression_changed = False
        if "expression" in changes:
            expr = parse_kpi_expression(changes.pop("expression"))
            canonical = format_expression(expr)
            expression_changed = canonical != kpi.expression
            kpi.expression = canonical
            kpi.metrics = sorted(metrics(expr))
        for field in ("kind", "source"):
            if field in changes:
                if changes[field] is None:
                    raise invalid_field(field, "cannot be null")
                changes[field] = changes[field].value
        if "owner_id" in changes:
            await check_owner(self.repository.session, changes["owner_id"])
        if "anomaly" in changes:
            # A new setting starts a new series of checks.
            await self.repository.forget_anomaly_checks(key)
        for field, value in changes.items():
            setattr(kpi, field, value)
        _check_manual(kpi)
        kpi.updated_at = now
        await self.repository.session.flush()
        if expression_changed:
            await evaluate_goals(self.repository.session, await self.repository.goal_ids(key), now)
        return kpi

    async def delete(self, key: str) -> None:
        kpi = await self.get(key)
        goals = await self.repository.goal_count(key)
        if goals:
            raise Problem(
                409,
                f"KPI '{key}' measures {goals} goal{'s' if goals != 1 else ''}; "
                "change or delete those goals first.",
                goals=goals,
            )
        try:
            await self.repository.delete(kpi)
        except IntegrityError:
            raise Problem(409, f"KPI '{key}' gained a goal meanwhile; try again.") from None

    async def values(
        self,
        key: str,
        start: datetime | None,
        end: datetime | None,
        step_text: str | None,
        now: datetime,
    ) -> KpiValues:
        kpi = await self.get(key)
        end = end or now
        start = start or end - DEFAULT_SPAN
        if start >= end:
            raise invalid_field("from", "must be before 'to'")
        if step_text is None:
            step = default_step(end - start)
        else:
            try:
                step = parse_duration(step_text)
            except DurationError as e:
                raise invalid_field("step", str(e)) from None
            if step % timedelta(minutes=1):
                raise invalid_field("step", "must be a whole number of minutes, e.g. PT5M or PT1H")
        start = align_down(start, step)
        count = math.ceil((end - start) / step)
        if count > MAX_POINTS:
            raise invalid_field(
                "step",
                f"{format_duration(step)} over this range gives {count} points; the limit is "
                f"{MAX_POINTS}: choose a larger step or a shorter range",
            )
        conn = await self.repository.session.connection()
        points = await step_series(conn, parse_expression(kpi.expression), start, end, step)
        return KpiValues.model_validate(
            {
                "key": kpi.key,
                "from": start,
                "to": end,
                "step": format_duration(step),
                "points": [KpiPoint(time=t, value=v) for t, v in points],
            }
        )
