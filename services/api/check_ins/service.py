"""Check-in rules. A check-in is stored, the goal's `last_check_in_at` moves, and a value
on a manual KPI is written to the outbox as an ordinary metric event, all in one
transaction: the value reaches the store only through the events topic (stored, deduped on
`(check-in, <id>)`, rolled up and evaluated like a pushed event), and it does so if and
only if the check-in committed. A retried request with the same `id` finds the check-in
stored and writes nothing again, and a relayed event delivered twice is deduplicated by
the evaluator, so a check-in moves its goal once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from northstar.db.models import CheckIn
from northstar.events.validation import MAX_FUTURE
from northstar.http.problems import Problem, invalid_field
from northstar.outbox import METRIC_EVENT_TYPE, add_event
from services.api.check_ins.repository import CheckInRepository
from services.api.check_ins.schemas import CheckInCreate, CheckInOut

CHECK_IN_SOURCE = "check-in"
"""The `source` of the events check-in values become (their dedupe namespace)."""


def check_in_out(row: CheckIn) -> CheckInOut:
    return CheckInOut(
        id=row.id,
        goal_id=row.goal_id,
        author=row.author,
        at=row.at,
        comment=row.comment,
        confidence=row.confidence,
        blockers=row.blockers,
        value=row.value,
    )


class CheckInService:
    def __init__(self, repository: CheckInRepository) -> None:
        self.repository = repository

    async def create(
        self, goal_id: uuid.UUID, body: CheckInCreate, author: str, now: datetime
    ) -> tuple[CheckIn, bool]:
        """The check-in, and whether this request created it (False: a retry)."""
        goal = await self.repository.goal_with_kpi(goal_id)
        if goal is None:
            raise Problem(404, f"There is no goal with id {goal_id}.")
        if body.id is not None:
            existing = await self.repository.get(body.id)
            if existing is not None:
                return self._replayed(existing, goal_id)
        at = body.at or now
        if at - now > MAX_FUTURE:
            raise invalid_field("at", "is more than 24 hours in the future")
        if at.year < 1970:
            raise invalid_field("at", "is before 1970")
        if body.value is not None and goal.source != "manual":
            raise invalid_field(
                "value",
                "only a goal on a manual KPI takes a value"
                + (f"; KPI '{goal.key}' gets its values from events" if goal.key else ""),
            )
        check_in_id = body.id or uuid.uuid4()
        inserted = await self.repository.insert(
            {
                "id": check_in_id,
                "goal_id": goal_id,
                "author": author,
                "at": at,
                "comment": body.comment,
                "confidence": body.confidence,
                "blockers": body.blockers,
                "value": body.value,
            }
        )
        if not inserted:  # a concurrent retry stored it first
            stored = await self.repository.get(check_in_id)
            assert stored is not None
            return self._replayed(stored, goal_id)
        await self.repository.touch_goal(goal_id, at)
        if body.value is not None:
            await add_event(
                await self.repository.session.connection(),
                type=METRIC_EVENT_TYPE,
                key=f"{CHECK_IN_SOURCE}/{check_in_id}",
                occurred_at=now,
                data={
                    "event_id": str(check_in_id),
                    "source": CHECK_IN_SOURCE,
                    "metric": goal.metrics[0],
                    "value": body.value,
                    "timestamp": at,
                    "dimensions": {},
                },
            )
        stored = await self.repository.get(check_in_id)
        assert stored is not None
        return stored, True

    @staticmethod
    def _replayed(existing: CheckIn, goal_id: uuid.UUID) -> tuple[CheckIn, bool]:
        if existing.goal_id != goal_id:
            raise Problem(
                409, f"Check-in {existing.id} exists already on another goal; use a new id."
            )
        return existing, False
