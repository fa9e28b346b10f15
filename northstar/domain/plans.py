"""Plans and check-ins (SPEC §12), as pure rules: an initiative's progress and lateness,
a goal's plan summary, when its next check-in is due, and the `plan` alert's condition.

Everything takes plain values (including `now`) and returns plain values; the api and the
evaluator feed it rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class InitiativeStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def closed(self) -> bool:
        """Done or cancelled: nothing is late any more, and carry-forward leaves it behind."""
        return self in (InitiativeStatus.DONE, InitiativeStatus.CANCELLED)


DEFAULT_PERSPECTIVES = ("financial", "customer", "internal_process", "learning_growth")
"""The balanced scorecard's four perspectives; goals may use any other name as well."""


@dataclass(frozen=True, slots=True)
class MilestoneFacts:
    due: datetime | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class InitiativeFacts:
    """What the rules need of one initiative."""

    status: InitiativeStatus
    due: datetime | None
    milestones: Sequence[MilestoneFacts]
    budget_amount: Decimal | None = None
    budget_currency: str | None = None
    spent: Decimal = Decimal(0)


def progress(milestones: Sequence[MilestoneFacts], status: InitiativeStatus) -> float:
    """The share of milestones done (0..1). Without milestones: 1 when the initiative is
    done, else 0, so a plan without steps still reads as finished once it is."""
    if not milestones:
        return 1.0 if status is InitiativeStatus.DONE else 0.0
    return sum(1 for m in milestones if m.done_at is not None) / len(milestones)


def late_items(initiative: InitiativeFacts, now: datetime) -> list[str]:
    """Why the initiative is late at `now`: `initiative` when it is past its due and not
    closed, `milestone` for each milestone past due and not done. A closed (done or
    cancelled) initiative is never late; its open milestones no longer matter."""
    if initiative.status.closed:
        return []
    late = ["initiative"] if initiative.due is not None and initiative.due < now else []
    late += [
        "milestone"
        for m in initiative.milestones
        if m.due is not None and m.due < now and m.done_at is None
    ]
    return late


def is_late(initiative: InitiativeFacts, now: datetime) -> bool:
    return bool(late_items(initiative, now))


def plan_summary(initiatives: Iterable[InitiativeFacts]) -> dict[str, Any]:
    """A goal's initiatives in one object, for the status object and the tree:
    `{count, by_status: {status: n}, progress, budget: [{currency, amount, spent}]}`, one
    budget entry per currency (amounts in different currencies are never added up);
    `progress` is the mean of the initiatives' progress, cancelled ones left out. It holds
    nothing that changes with time alone (lateness is the `plan` alert's business), so it
    can be stored with the goal when an initiative changes."""
    by_status = {s.value: 0 for s in InitiativeStatus}
    budgets: dict[str, list[Decimal]] = {}
    count = 0
    progresses: list[float] = []
    for item in initiatives:
        count += 1
        by_status[item.status.value] += 1
        if item.status is not InitiativeStatus.CANCELLED:
            progresses.append(progress(item.milestones, item.status))
        if item.budget_currency is not None and item.budget_amount is not None:
            totals = budgets.setdefault(item.budget_currency, [Decimal(0), Decimal(0)])
            totals[0] += item.budget_amount
            totals[1] += item.spent
    return {
        "count": count,
        "by_status": by_status,
        "progress": sum(progresses) / len(progresses) if progresses else None,
        "budget": [
            {"currency": currency, "amount": float(amount), "spent": float(spent)}
            for currency, (amount, spent) in sorted(budgets.items())
        ],
    }


EMPTY_PLAN_SUMMARY = plan_summary([])


def check_in_due(
    cadence: timedelta | None, last_at: datetime | None, since: datetime, now: datetime
) -> dict[str, Any] | None:
    """`{last_at, due_at, overdue}` for a goal with a check-in cadence, else None.

    The next check-in is due one cadence after the last one, or after `since` (the goal's
    start, or its creation) when there was none yet. Cadences are fixed spans like every
    duration in Northstar (`P1M` is 30 days, `northstar.domain.durations`)."""
    if cadence is None:
        return None
    due_at = (last_at or since) + cadence
    return {"last_at": last_at, "due_at": due_at, "overdue": now > due_at}


def plan_status(
    *,
    cadence: timedelta | None,
    last_check_in_at: datetime | None,
    since: datetime,
    summary: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The status object's plan part (SPEC §12): `check_in` (latest check-in, when the
    next is due, whether it is overdue; null with neither a cadence nor a check-in) and
    `initiatives` (the goal's plan summary; null without initiatives)."""
    check_in = check_in_due(cadence, last_check_in_at, since, now)
    if check_in is None and last_check_in_at is not None:
        check_in = {"last_at": last_check_in_at, "due_at": None, "overdue": False}
    return {"check_in": check_in, "initiatives": summary}
