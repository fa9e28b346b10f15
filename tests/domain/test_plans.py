"""Plans and check-ins, the pure rules (northstar/domain/plans.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from northstar.domain.plans import (
    InitiativeFacts,
    InitiativeStatus,
    MilestoneFacts,
    check_in_due,
    is_late,
    late_items,
    plan_summary,
    progress,
)

NOW = datetime(2027, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PAST, FUTURE = NOW - DAY, NOW + DAY


def _initiative(
    status: InitiativeStatus = InitiativeStatus.IN_PROGRESS, **kw: object
) -> InitiativeFacts:
    return InitiativeFacts(status=status, **{"due": None, "milestones": [], **kw})  # type: ignore[arg-type]


def test_progress_is_the_share_of_milestones_done() -> None:
    steps = [MilestoneFacts(PAST, PAST), MilestoneFacts(FUTURE, None), MilestoneFacts(None, None)]
    assert progress(steps, InitiativeStatus.IN_PROGRESS) == 1 / 3
    assert progress([], InitiativeStatus.IN_PROGRESS) == 0.0
    assert progress([], InitiativeStatus.DONE) == 1.0


def test_lateness() -> None:
    assert late_items(_initiative(due=PAST), NOW) == ["initiative"]
    assert late_items(_initiative(milestones=[MilestoneFacts(PAST, None)]), NOW) == ["milestone"]
    assert not is_late(_initiative(milestones=[MilestoneFacts(PAST, PAST)]), NOW)
    assert not is_late(_initiative(due=FUTURE, milestones=[MilestoneFacts(FUTURE, None)]), NOW)
    for closed in (InitiativeStatus.DONE, InitiativeStatus.CANCELLED):
        assert not is_late(
            _initiative(closed, due=PAST, milestones=[MilestoneFacts(PAST, None)]), NOW
        )


def test_summary_counts_by_status_and_keeps_currencies_apart() -> None:
    summary = plan_summary(
        [
            _initiative(budget_amount=Decimal("100"), budget_currency="EUR", spent=Decimal("40")),
            _initiative(
                InitiativeStatus.DONE,
                budget_amount=Decimal("50.5"),
                budget_currency="EUR",
                spent=Decimal("50.5"),
            ),
            _initiative(
                InitiativeStatus.CANCELLED, budget_amount=Decimal(10), budget_currency="USD"
            ),
        ]
    )
    assert summary["count"] == 3
    assert summary["by_status"] == {
        "planned": 0,
        "in_progress": 1,
        "blocked": 0,
        "done": 1,
        "cancelled": 1,
    }
    assert summary["progress"] == 0.5  # cancelled left out: (0 + 1) / 2
    assert summary["budget"] == [
        {"currency": "EUR", "amount": 150.5, "spent": 90.5},
        {"currency": "USD", "amount": 10.0, "spent": 0.0},
    ]


def test_check_in_due() -> None:
    start = NOW - 10 * DAY
    assert check_in_due(None, None, start, NOW) is None
    assert check_in_due(7 * DAY, None, start, NOW) == {
        "last_at": None,
        "due_at": start + 7 * DAY,
        "overdue": True,
    }
    assert check_in_due(7 * DAY, PAST, start, NOW) == {
        "last_at": PAST,
        "due_at": PAST + 7 * DAY,
        "overdue": False,
    }


@given(st.lists(st.booleans(), min_size=1, max_size=30))
def test_progress_is_bounded_and_grows_with_each_milestone_done(done: list[bool]) -> None:
    steps = [MilestoneFacts(None, NOW if d else None) for d in done]
    share = progress(steps, InitiativeStatus.IN_PROGRESS)
    assert 0 <= share <= 1
    if not all(done):
        first_open = done.index(False)
        more = [
            MilestoneFacts(None, NOW if d or i == first_open else None) for i, d in enumerate(done)
        ]
        assert progress(more, InitiativeStatus.IN_PROGRESS) > share
