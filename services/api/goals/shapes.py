"""The goal's API shapes, built in one place: its definition (with the SMART check), its
status object (`northstar.evaluation.status`, shared with the evaluator) and the two
together. Single goals are validated into `GoalOut` from `goal_dict`; the tree
(`nodes.py`) serialises the two parts itself, from typed rows of its own reads.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from northstar.db.models import Goal
from northstar.domain.durations import format_duration
from northstar.domain.goals import GoalType, smart_check
from northstar.domain.plans import plan_status
from northstar.evaluation.status import StatusReport, StoredStatus
from services.api.goals.repository import GoalRow
from services.api.goals.schemas import GoalOut, GoalStatusOut


class GoalColumns(Protocol):
    """The columns of a goal the shapes read: the ORM `Goal`, or a row the tree read
    with plain SQL (`TreeGoal`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def owner_id(self) -> uuid.UUID | None: ...
    @property
    def unit_id(self) -> uuid.UUID | None: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...
    @property
    def kpi_key(self) -> str | None: ...
    @property
    def type(self) -> str: ...
    @property
    def baseline(self) -> float: ...
    @property
    def target(self) -> float | None: ...
    @property
    def start(self) -> datetime | None: ...
    @property
    def due(self) -> datetime | None: ...
    @property
    def pacing(self) -> str: ...
    @property
    def at_risk(self) -> float: ...
    @property
    def off_track(self) -> float: ...
    @property
    def weight(self) -> float: ...
    @property
    def window(self) -> timedelta | None: ...
    @property
    def rollup(self) -> str: ...
    @property
    def rollup_cap(self) -> float: ...
    @property
    def archived_at(self) -> datetime | None: ...
    @property
    def alert_clear_margin(self) -> float: ...
    @property
    def perspective(self) -> str | None: ...
    @property
    def check_in_cadence(self) -> timedelta | None: ...
    @property
    def cycle_id(self) -> uuid.UUID | None: ...
    @property
    def carried_from(self) -> uuid.UUID | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class PlanColumns(Protocol):
    """The columns of a goal the status object's plan part reads: the ORM `Goal`, or the
    tree's `TreeState`."""

    @property
    def start(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def check_in_cadence(self) -> timedelta | None: ...
    @property
    def last_check_in_at(self) -> datetime | None: ...
    @property
    def plan_summary(self) -> dict[str, Any] | None: ...


def plan_dict(goal: PlanColumns, now: datetime) -> dict[str, Any]:
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


def status_dict(
    *, goal_id: uuid.UUID, target: float | None, plan: PlanColumns, state: StoredStatus | None
) -> dict[str, Any]:
    """The status object (SPEC §7, §12) from a `goal_state` row and the goal's plan
    columns, as plain JSON-ready values; `no_data` if the goal was never judged."""
    report = StatusReport.from_state(goal_id=goal_id, target=target, state=state)
    return {**report.to_dict(), **plan_dict(plan, datetime.now(UTC))}


def status_out(goal: Goal, state: StoredStatus | None) -> GoalStatusOut:
    return GoalStatusOut.model_validate(
        status_dict(goal_id=goal.id, target=goal.target, plan=goal, state=state)
    )


def smart_dict(goal: GoalColumns, has_children: bool) -> dict[str, Any]:
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


def definition_dict(goal: GoalColumns, has_children: bool) -> dict[str, Any]:
    """The goal as the API shows it, without `status`: everything that depends only on the
    goal's own row and on whether it has children."""
    return {
        "id": goal.id,
        "title": goal.title,
        "description": goal.description,
        "owner": goal.owner,
        "owner_id": goal.owner_id,
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
        "rollup_cap": goal.rollup_cap,
        "archived_at": goal.archived_at,
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


def goal_dict(goal: Goal, state: StoredStatus | None, has_children: bool) -> dict[str, Any]:
    """The goal as the API shows it, in plain JSON-ready values: the one place its shape is
    built (its definition, then `status`). Single goals are validated into `GoalOut` from
    it; the tree serialises the two parts itself and keeps them per goal
    (`services/api/goals/nodes.py`), because building and serialising every node on every
    request was most of a 1,000-goal tree's time (see docs/performance.md)."""
    return {
        **definition_dict(goal, has_children),
        "status": status_dict(goal_id=goal.id, target=goal.target, plan=goal, state=state),
    }


def goal_out(row: GoalRow) -> GoalOut:
    return GoalOut.model_validate(goal_dict(row.goal, row.state, row.has_children))
