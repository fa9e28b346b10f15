"""Goal rules: references exist, the cascade has no cycles, the period is ordered, a
started goal's target, baseline, thresholds and due change only with a reason (kept as a
revision), and every change is judged at once so the answer carries a real status.

The API shapes are in `shapes.py`, the timeline's sources in `timeline.py`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.locks import Hierarchy, lock_hierarchy
from northstar.db.models import Goal, GoalRevision
from northstar.http.problems import Problem, invalid_field
from services.api.goals.nodes import GoalNodes
from services.api.goals.repository import GoalRepository, GoalRow
from services.api.goals.schemas import (
    GoalCreate,
    GoalUpdate,
    ThresholdsIn,
)
from services.api.judging import evaluate_goals
from services.api.owners import check_owner

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

_COLUMNS = {
    "kpi": "kpi_key",
    "title": "title",
    "description": "description",
    "owner": "owner",
    "owner_id": "owner_id",
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
"""Update fields copied as they are, and the goal column each goes to."""


def not_found(goal_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no goal with id {goal_id}.")


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
            raise invalid_field("kpi", f"there is no KPI with key '{kpi}'")
        if unit_id is not None and not await self.repository.unit_exists(unit_id):
            raise invalid_field("unit_id", f"there is no org unit with id {unit_id}")
        if parent_id is not None and not await self.repository.goal_exists(parent_id):
            raise invalid_field("parent_id", f"there is no goal with id {parent_id}")

    async def _cycle_dates(
        self, cycle_id: uuid.UUID, start: datetime | None, due: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """The goal's dates in a cycle: its own where given, else the cycle's."""
        cycle = await self.repository.cycle(cycle_id)
        if cycle is None:
            raise invalid_field("cycle_id", f"there is no cycle with id {cycle_id}")
        return start or cycle.start, due or cycle.due

    @staticmethod
    def _check_period(start: datetime | None, due: datetime | None) -> None:
        if start is not None and due is not None and due < start:
            raise invalid_field(
                "due", f"due ({due.isoformat()}) is before start ({start.isoformat()})"
            )

    @staticmethod
    def _thresholds(
        given: ThresholdsIn | None, at_risk: float, off_track: float
    ) -> tuple[float, float]:
        if given is not None:
            at_risk = given.at_risk if given.at_risk is not None else at_risk
            off_track = given.off_track if given.off_track is not None else off_track
        if not 0 < off_track <= at_risk:
            raise invalid_field(
                "thresholds",
                f"must satisfy 0 < off_track <= at_risk, got off_track={off_track}, "
                f"at_risk={at_risk}",
            )
        return at_risk, off_track

    async def create(self, body: GoalCreate, now: datetime) -> GoalRow:
        await self._check_references(body.kpi, body.unit_id, body.parent_id)
        await check_owner(self.session, body.owner_id)
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
                owner_id=body.owner_id,
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
        self, goal_id: uuid.UUID, *, body: GoalUpdate, changed_by: str, now: datetime
    ) -> GoalRow:
        """Validate the change, record a revision where the rules ask for one, apply it,
        and judge the goal (and a former parent) at once."""
        goal = (await self.row(goal_id)).goal
        changes = body.model_dump(exclude_unset=True, exclude={"reason", "review_id"})
        at_risk, off_track = await self._validate_change(goal=goal, changes=changes, body=body)
        await self._record_revision(
            goal=goal,
            revised=self._revised(goal, changes, at_risk, off_track),
            body=body,
            changed_by=changed_by,
            now=now,
        )
        old_parent = goal.parent_id
        await self._apply(goal=goal, changes=changes, at_risk=at_risk, off_track=off_track, now=now)
        # The former parent loses a child: re-judge it too.
        moved_from = [old_parent] if old_parent is not None and old_parent != goal.parent_id else []
        await evaluate_goals(self.session, [goal.id, *moved_from], now)
        return await self.row(goal.id)

    async def _validate_change(
        self, *, goal: Goal, changes: dict[str, Any], body: GoalUpdate
    ) -> tuple[float, float]:
        """Check the change against the rules; fills in a cycle's dates in `changes` and
        returns the thresholds the goal will have."""
        for field in _NOT_NULL:
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        await self._check_references(
            changes.get("kpi"), changes.get("unit_id"), changes.get("parent_id")
        )
        await check_owner(self.session, changes.get("owner_id"))
        if changes.get("cycle_id") is not None:
            start, due = await self._cycle_dates(
                changes["cycle_id"], changes.get("start", goal.start), changes.get("due", goal.due)
            )
            changes["start"], changes["due"] = start, due
        if "parent_id" in changes and changes["parent_id"] is not None:
            await self._check_new_parent(goal_id=goal.id, new_parent=changes["parent_id"])
        self._check_period(
            changes.get("start", goal.start) or goal.created_at, changes.get("due", goal.due)
        )
        return self._thresholds(
            body.thresholds if "thresholds" in changes else None, goal.at_risk, goal.off_track
        )

    async def _check_new_parent(self, *, goal_id: uuid.UUID, new_parent: uuid.UUID) -> None:
        """A goal cannot move below itself. Re-parentings are serialised first, then
        checked: see northstar/db/locks.py."""
        await lock_hierarchy(self.session, Hierarchy.GOALS)
        if goal_id in await self.repository.ancestors(new_parent):
            raise invalid_field(
                "parent_id",
                f"goal {new_parent} is this goal or lies below it; "
                "a goal cannot contribute to itself",
            )

    async def _record_revision(
        self,
        *,
        goal: Goal,
        revised: dict[str, dict[str, Any]],
        body: GoalUpdate,
        changed_by: str,
        now: datetime,
    ) -> None:
        """A started goal's revised fields change only with a reason, kept as a revision."""
        started = (goal.start or goal.created_at) <= now
        if not (revised and started):
            return
        if body.reason is None:
            raise invalid_field(
                "reason",
                f"reason is required to change {', '.join(revised)} of a goal that has "
                "started; say why, it is kept in the goal's history",
            )
        if body.review_id is not None and not await self.repository.review_exists(body.review_id):
            raise invalid_field("review_id", f"there is no review with id {body.review_id}")
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

    async def _apply(
        self,
        *,
        goal: Goal,
        changes: dict[str, Any],
        at_risk: float,
        off_track: float,
        now: datetime,
    ) -> None:
        """Write the validated change to the goal and flush it."""
        for field, column in _COLUMNS.items():
            if field in changes:
                setattr(goal, column, changes[field])
        for field in ("type", "pacing", "rollup"):
            if field in changes:
                setattr(goal, field, changes[field].value)
        goal.at_risk, goal.off_track = at_risk, off_track
        goal.updated_at = now
        goal_id = goal.id  # a failed flush expires `goal`: reading it then would be a 500
        try:
            await self.session.flush()
        except IntegrityError:
            raise Problem(
                409, f"Goal {goal_id} or something it refers to changed meanwhile; try again."
            ) from None

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
