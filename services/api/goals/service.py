"""Goal rules: references exist, the cascade has no cycles, the period is ordered, a
started goal's target, baseline, thresholds and due change only with a reason (kept as a
revision), and every change is judged at once so the answer carries a real status.

Also the mapping from rows to the API shapes (goal, SMART check, status object), and the
history timeline: each source is one function in `HISTORY_SOURCES`; the SQL of the alert
and review sources lives in those features' repositories.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.locks import Hierarchy, lock_hierarchy
from northstar.db.models import Goal, GoalRevision
from northstar.domain.alerts import AlertEventType, AlertKind, AlertSeverity, AlertState
from northstar.domain.durations import format_duration
from northstar.domain.goals import GoalStatus, GoalType, smart_check
from northstar.domain.plans import plan_status
from northstar.evaluation.judge import judge
from northstar.http.problems import Problem
from services.api.alerts.repository import AlertRepository
from services.api.goals.repository import GoalRepository, GoalRow
from services.api.goals.schemas import (
    AlertEntry,
    CheckInEntry,
    GoalCreate,
    GoalHistory,
    GoalOut,
    GoalStatusOut,
    GoalUpdate,
    HistoryEntry,
    ReviewEntry,
    RevisionEntry,
    StatusEntry,
    ThresholdsIn,
)
from services.api.reviews.repository import ReviewRepository

if TYPE_CHECKING:  # nodes.py renders with the shapes below
    from services.api.goals.nodes import GoalNodes

DEFAULT_AT_RISK = 0.95
DEFAULT_OFF_TRACK = 0.85
REVISED_FIELDS = ("target", "baseline", "thresholds", "due")
"""Fields whose change on a started goal needs a reason and leaves a revision (SPEC §5)."""
_NOT_NULL = (
    "title",
    "description",
    "type",
    "baseline",
    "pacing",
    "thresholds",
    "weight",
    "rollup",
    "alert_clear_margin",
)


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"The request is invalid: {field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def not_found(goal_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no goal with id {goal_id}.")


async def evaluate_goals(
    session: AsyncSession, goal_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Judge the goals (and their ancestors) at `now` inside the request's transaction; the
    evaluation locks and writes their `goal_state` rows."""
    if not goal_ids:
        return
    await session.flush()
    await judge(await session.connection(), list(goal_ids), now)


# -- shapes ------------------------------------------------------------------------------


def plan_dict(goal: Goal | SimpleNamespace, now: datetime) -> dict[str, Any]:
    """The status object's plan part (`northstar.domain.plans.plan_status`). `now` decides
    `overdue`; in the tree's cached nodes it is the time the node was last rendered, at
    most one evaluation interval ago (docs/plans.md)."""
    return plan_status(
        cadence=goal.check_in_cadence,
        last_check_in_at=goal.last_check_in_at,
        since=goal.start or goal.created_at,
        summary=goal.plan_summary,
        now=now,
    )


def status_dict(goal: Goal | SimpleNamespace, state: Any | None) -> dict[str, Any]:
    """The status object (SPEC §7) from a `goal_state` row, as plain JSON-ready values;
    `no_data` if the goal was never judged."""
    return {**_evaluation_dict(goal, state), **plan_dict(goal, utcnow())}


def _evaluation_dict(goal: Goal | SimpleNamespace, state: Any | None) -> dict[str, Any]:
    if state is None or state.status is None:
        return {
            "goal_id": goal.id,
            "status": GoalStatus.NO_DATA.value,
            "actual": None,
            "expected": None,
            "target": goal.target,
            "score": None,
            "progress": None,
            "forecast": None,
            "evaluated_at": None,
        }
    forecast = None
    if state.forecast_value is not None and state.forecast_status is not None:
        forecast = {
            "value": state.forecast_value,
            "low": state.forecast_low,
            "high": state.forecast_high,
            "probability": state.forecast_probability,
            "method": state.forecast_method,
            "status": state.forecast_status,
        }
    return {
        "goal_id": goal.id,
        "status": state.status,
        "actual": state.actual,
        "expected": state.expected,
        "target": state.target,
        "score": state.score,
        "progress": state.progress,
        "forecast": forecast,
        "evaluated_at": state.evaluated_at,
    }


def status_out(goal: Goal, state: Any | None) -> GoalStatusOut:
    return GoalStatusOut.model_validate(status_dict(goal, state))


def smart_dict(goal: Goal | SimpleNamespace, has_children: bool) -> dict[str, Any]:
    """A goal without a KPI is a roll-up once it has children (they measure it); until then
    it is a goal that is not yet measurable, and the check says "no KPI"."""
    check = smart_check(
        title=goal.title,
        description=goal.description,
        kpi=goal.kpi_key,
        baseline=goal.baseline,
        target=goal.target,
        start=goal.start,
        due=goal.due,
        parent_id=goal.parent_id,
        unit_id=goal.unit_id,
        goal_type=GoalType(goal.type),
        rollup=goal.kpi_key is None and has_children,
    )
    return dict(check.to_dict())


def definition_dict(goal: Goal | SimpleNamespace, has_children: bool) -> dict[str, Any]:
    """The goal as the API shows it, without `status`: everything that depends only on the
    goal's own row and on whether it has children."""
    return {
        "id": goal.id,
        "title": goal.title,
        "description": goal.description,
        "owner": goal.owner,
        "unit_id": goal.unit_id,
        "parent_id": goal.parent_id,
        "kpi": goal.kpi_key,
        "type": goal.type,
        "baseline": goal.baseline,
        "target": goal.target,
        "start": goal.start,
        "due": goal.due,
        "pacing": goal.pacing,
        "thresholds": {"at_risk": goal.at_risk, "off_track": goal.off_track},
        "weight": goal.weight,
        "window": format_duration(goal.window) if goal.window else None,
        "rollup": goal.rollup,
        "alert_clear_margin": goal.alert_clear_margin,
        "perspective": goal.perspective,
        "check_in_cadence": format_duration(goal.check_in_cadence)
        if goal.check_in_cadence
        else None,
        "cycle_id": goal.cycle_id,
        "carried_from": goal.carried_from,
        "created_at": goal.created_at,
        "updated_at": goal.updated_at,
        "smart": smart_dict(goal, has_children),
    }


def goal_dict(
    goal: Goal | SimpleNamespace, state: Any | None, has_children: bool
) -> dict[str, Any]:
    """The goal as the API shows it, in plain JSON-ready values: the one place its shape is
    built (its definition, then `status`). Single goals are validated into `GoalOut` from
    it; the tree serialises the two parts itself and keeps them per goal
    (`services/api/goals/nodes.py`), because building and serialising every node on every
    request was most of a 1,000-goal tree's time (see docs/performance.md)."""
    return {**definition_dict(goal, has_children), "status": status_dict(goal, state)}


def goal_out(row: GoalRow) -> GoalOut:
    return GoalOut.model_validate(goal_dict(row.goal, row.state, row.has_children))


# -- history -----------------------------------------------------------------------------

HistorySource = Callable[
    [GoalRepository, uuid.UUID, datetime, datetime], Awaitable[list[HistoryEntry]]
]


async def status_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        StatusEntry(
            time=r.time,
            type="status",
            status=GoalStatus(r.status),
            actual=r.actual,
            expected=r.expected,
            score=r.score,
        )
        for r in await repository.status_history(goal_id, start, end)
    ]


async def revision_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        RevisionEntry(
            time=r.GoalRevision.changed_at,
            type="revision",
            changed_by=r.GoalRevision.changed_by,
            changes=r.GoalRevision.changes,
            reason=r.GoalRevision.reason,
            review_id=r.GoalRevision.review_id,
            review_title=r.review_title,
        )
        for r in await repository.revisions(goal_id, start, end)
    ]


async def alert_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        AlertEntry(
            time=r.occurred_at,
            type="alert",
            event=AlertEventType(r.type),
            alert_id=r.alert_id,
            kind=AlertKind(r.kind),
            severity=AlertSeverity(r.severity),
            state=AlertState(r.state),
            actor=r.actor,
            note=r.note,
        )
        for r in await AlertRepository(repository.session).goal_events(goal_id, start, end)
    ]


async def review_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        ReviewEntry(
            time=r.held_at,
            type="review",
            review_id=r.id,
            title=r.title,
            status=GoalStatusOut.model_validate(r.status),
        )
        for r in await ReviewRepository(repository.session).goal_snapshots(goal_id, start, end)
    ]


async def check_in_entries(
    repository: GoalRepository, goal_id: uuid.UUID, start: datetime, end: datetime
) -> list[HistoryEntry]:
    return [
        CheckInEntry(
            time=r.at,
            type="check_in",
            check_in_id=r.id,
            author=r.author,
            comment=r.comment,
            confidence=r.confidence,
            blockers=r.blockers,
            value=r.value,
        )
        for r in await repository.check_ins(goal_id, start, end)
    ]


HISTORY_SOURCES: tuple[HistorySource, ...] = (
    check_in_entries,
    revision_entries,
    status_entries,
    alert_entries,
    review_entries,
)
"""Sources of the goal timeline, in tie-break order: at one instant a check-in comes
first (its value may cause what follows), a revision before the evaluation it caused, the
evaluation before the alert changes it caused, and a review (which freezes the statuses)
last."""


# -- the service -------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class GoalService:
    def __init__(self, repository: GoalRepository) -> None:
        self.repository = repository

    @property
    def session(self) -> AsyncSession:
        return self.repository.session

    async def row(self, goal_id: uuid.UUID) -> GoalRow:
        row = await self.repository.get_row(goal_id)
        if row is None:
            raise not_found(goal_id)
        return row

    async def _check_references(
        self, kpi: str | None, unit_id: uuid.UUID | None, parent_id: uuid.UUID | None
    ) -> None:
        if kpi is not None and not await self.repository.kpi_exists(kpi):
            raise _invalid("kpi", f"there is no KPI with key '{kpi}'")
        if unit_id is not None and not await self.repository.unit_exists(unit_id):
            raise _invalid("unit_id", f"there is no org unit with id {unit_id}")
        if parent_id is not None and not await self.repository.goal_exists(parent_id):
            raise _invalid("parent_id", f"there is no goal with id {parent_id}")

    async def _cycle_dates(
        self, cycle_id: uuid.UUID, start: datetime | None, due: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """The goal's dates in a cycle: its own where given, else the cycle's."""
        cycle = await self.repository.cycle(cycle_id)
        if cycle is None:
            raise _invalid("cycle_id", f"there is no cycle with id {cycle_id}")
        return start or cycle.start, due or cycle.due

    @staticmethod
    def _check_period(start: datetime | None, due: datetime | None) -> None:
        if start is not None and due is not None and due < start:
            raise _invalid("due", f"due ({due.isoformat()}) is before start ({start.isoformat()})")

    @staticmethod
    def _thresholds(
        given: ThresholdsIn | None, at_risk: float, off_track: float
    ) -> tuple[float, float]:
        if given is not None:
            at_risk = given.at_risk if given.at_risk is not None else at_risk
            off_track = given.off_track if given.off_track is not None else off_track
        if not 0 < off_track <= at_risk:
            raise _invalid(
                "thresholds",
                f"must satisfy 0 < off_track <= at_risk, got off_track={off_track}, "
                f"at_risk={at_risk}",
            )
        return at_risk, off_track

    async def create(self, body: GoalCreate, now: datetime) -> GoalRow:
        await self._check_references(body.kpi, body.unit_id, body.parent_id)
        start, due = body.start, body.due
        if body.cycle_id is not None:
            start, due = await self._cycle_dates(body.cycle_id, start, due)
        # Without a start the period begins at creation, so a due already past is refused.
        self._check_period(start or now, due)
        at_risk, off_track = self._thresholds(body.thresholds, DEFAULT_AT_RISK, DEFAULT_OFF_TRACK)
        goal = await self.repository.add(
            Goal(
                title=body.title,
                description=body.description,
                owner=body.owner,
                unit_id=body.unit_id,
                parent_id=body.parent_id,
                kpi_key=body.kpi,
                type=body.type.value,
                baseline=body.baseline,
                target=body.target,
                start=start,
                due=due,
                pacing=body.pacing.value,
                at_risk=at_risk,
                off_track=off_track,
                weight=body.weight,
                window=body.window,
                rollup=body.rollup.value,
                alert_clear_margin=body.alert_clear_margin,
                perspective=body.perspective,
                check_in_cadence=body.check_in_cadence,
                cycle_id=body.cycle_id,
            )
        )
        # A goal without a start is measured from created_at, the database's clock; judge
        # it no earlier than that, so a new goal is never "not started" by clock skew.
        await evaluate_goals(self.session, [goal.id], max(now, goal.created_at))
        return await self.row(goal.id)

    async def update(
        self, goal_id: uuid.UUID, body: GoalUpdate, changed_by: str, now: datetime
    ) -> GoalRow:
        goal = (await self.row(goal_id)).goal
        changes = body.model_dump(exclude_unset=True, exclude={"reason", "review_id"})
        for field in _NOT_NULL:
            if field in changes and changes[field] is None:
                raise _invalid(field, "cannot be null")

        await self._check_references(
            changes.get("kpi"), changes.get("unit_id"), changes.get("parent_id")
        )
        if changes.get("cycle_id") is not None:
            start, due = await self._cycle_dates(
                changes["cycle_id"], changes.get("start", goal.start), changes.get("due", goal.due)
            )
            changes["start"], changes["due"] = start, due
        new_parent = changes.get("parent_id", goal.parent_id)
        if "parent_id" in changes and new_parent is not None:
            # Serialise re-parentings, then check: see northstar/db/locks.py.
            await lock_hierarchy(self.session, Hierarchy.GOALS)
        if (
            "parent_id" in changes
            and new_parent is not None
            and goal_id in await self.repository.ancestors(new_parent)
        ):
            raise _invalid(
                "parent_id",
                f"goal {new_parent} is this goal or lies below it; "
                "a goal cannot contribute to itself",
            )
        self._check_period(
            changes.get("start", goal.start) or goal.created_at, changes.get("due", goal.due)
        )
        at_risk, off_track = self._thresholds(
            body.thresholds if "thresholds" in changes else None, goal.at_risk, goal.off_track
        )

        revised = self._revised(goal, changes, at_risk, off_track)
        started = (goal.start or goal.created_at) <= now
        if revised and started:
            if body.reason is None:
                raise _invalid(
                    "reason",
                    f"reason is required to change {', '.join(revised)} of a goal that has "
                    "started; say why, it is kept in the goal's history",
                )
            if body.review_id is not None and not await self.repository.review_exists(
                body.review_id
            ):
                raise _invalid("review_id", f"there is no review with id {body.review_id}")
            self.repository.add_revision(
                GoalRevision(
                    goal_id=goal.id,
                    changed_at=now,
                    changed_by=changed_by,
                    changes=revised,
                    reason=body.reason,
                    review_id=body.review_id,
                )
            )

        old_parent = goal.parent_id
        simple = {
            "kpi": "kpi_key",
            "title": "title",
            "description": "description",
            "owner": "owner",
            "unit_id": "unit_id",
            "parent_id": "parent_id",
            "baseline": "baseline",
            "target": "target",
            "start": "start",
            "due": "due",
            "weight": "weight",
            "window": "window",
            "alert_clear_margin": "alert_clear_margin",
            "perspective": "perspective",
            "check_in_cadence": "check_in_cadence",
            "cycle_id": "cycle_id",
        }
        for field, column in simple.items():
            if field in changes:
                setattr(goal, column, changes[field])
        for field in ("type", "pacing", "rollup"):
            if field in changes:
                setattr(goal, field, changes[field].value)
        goal.at_risk, goal.off_track = at_risk, off_track
        goal.updated_at = now
        try:
            await self.session.flush()
        except IntegrityError:
            raise Problem(
                409, f"Goal {goal_id} or something it refers to changed meanwhile; try again."
            ) from None
        # The former parent loses a child: re-judge it too.
        moved_from = [old_parent] if old_parent is not None and old_parent != goal.parent_id else []
        await evaluate_goals(self.session, [goal.id, *moved_from], now)
        return await self.row(goal.id)

    @staticmethod
    def _revised(
        goal: Goal, changes: dict[str, Any], at_risk: float, off_track: float
    ) -> dict[str, dict[str, Any]]:
        """`{field: {"old", "new"}}` for each revised field whose value really changes."""
        revised: dict[str, dict[str, Any]] = {}
        for field in ("target", "baseline", "due"):
            if field in changes and changes[field] != getattr(goal, field):
                revised[field] = {
                    "old": _json_safe(getattr(goal, field)),
                    "new": _json_safe(changes[field]),
                }
        if (at_risk, off_track) != (goal.at_risk, goal.off_track):
            revised["thresholds"] = {
                "old": {"at_risk": goal.at_risk, "off_track": goal.off_track},
                "new": {"at_risk": at_risk, "off_track": off_track},
            }
        return revised

    async def delete(self, goal_id: uuid.UUID, now: datetime) -> None:
        goal = (await self.row(goal_id)).goal
        children = await self.repository.child_count(goal_id)
        if children:
            raise Problem(
                409,
                f"Goal {goal_id} has {children} child goal{'s' if children != 1 else ''}; "
                "move or delete them first.",
                children=children,
            )
        parent_id = goal.parent_id
        try:
            await self.repository.delete(goal)
        except IntegrityError:
            raise Problem(
                409, f"Goal {goal_id} gained a child goal meanwhile; try again."
            ) from None
        if parent_id is not None:
            await evaluate_goals(self.session, [parent_id], now)

    async def tree(self, root: uuid.UUID | None, nodes: GoalNodes) -> bytes:
        """The `GoalTree` document as JSON: the root's subtree, or every top-level goal.
        `nodes` holds the rendered nodes of earlier requests, checked against the rows read
        now."""
        goals = await self.repository.tree(root)
        if root is not None and not goals:
            raise not_found(root)
        found = nodes.find(goals)
        return nodes.tree_json(
            goals,
            found,
            await self.repository.tree_goals(found.missing_definitions),
            await self.repository.tree_states(found.missing_statuses),
            root,
        )

    async def history(
        self, goal_id: uuid.UUID, start: datetime | None, end: datetime | None, now: datetime
    ) -> GoalHistory:
        goal = (await self.row(goal_id)).goal
        # Default: from the earlier of start and creation (a goal created ahead of its
        # period has not_started evaluations before its start).
        if start is None:
            start = min(goal.start, goal.created_at) if goal.start else goal.created_at
        end = end or now
        if start > end:
            raise _invalid("from", "must not be after 'to'")
        entries: list[tuple[datetime, int, HistoryEntry]] = []
        for rank, source in enumerate(HISTORY_SOURCES):
            entries += [
                (e.time, rank, e) for e in await source(self.repository, goal_id, start, end)
            ]
        entries.sort(key=lambda item: (item[0], item[1]))
        return GoalHistory(goal_id=goal_id, items=[e for _, _, e in entries])


def utcnow() -> datetime:
    return datetime.now(UTC)
