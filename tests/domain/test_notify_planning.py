"""The pure planners of notifying people (northstar/notify/planning.py): grouping, quiet
hours, the owners' default, digest content and periods, reminders and escalation. Plain
rows in, messages out: no database, no clock."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.goals import GoalStatus
from northstar.notify.model import MessageKind, Severity
from northstar.notify.planning import (
    DUE_SOON,
    default_candidates,
    default_matches,
    digest_key,
    due_reminders,
    plan_digest,
    plan_event_messages,
    plan_reminders,
    queued_digest,
    reminder_sends,
    subjects,
)
from northstar.notify.rows import (
    CheckInGoal,
    DigestGoal,
    LatePlan,
    Match,
    OpenAlert,
    RelayedEvent,
)
from northstar.notify.templates import Rendered
from northstar.notify.timing import Cadence, QuietHours, period_to_send

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=60)
GOALS = [uuid.UUID(int=i + 1) for i in range(5)]
CHANNELS = [uuid.UUID(int=100 + i) for i in range(3)]
PERSON = uuid.UUID(int=999)
STATUSES = [s.value for s in GoalStatus]


def status_changed(goal: uuid.UUID, before: str, after: str, at: datetime = NOW) -> RelayedEvent:
    return RelayedEvent(
        uuid.uuid4(),
        "goal.status_changed",
        at,
        {"goal_id": str(goal), "from": before, "to": after},
    )


def alert(goal: uuid.UUID, type_: str, severity: str) -> RelayedEvent:
    return RelayedEvent(
        uuid.uuid4(), type_, NOW, {"goal_id": str(goal), "severity": severity, "kind": "status"}
    )


def every_channel(events: list[RelayedEvent], owner: uuid.UUID | None = None) -> list[Match]:
    """Each event matched by every channel, through two subscriptions each (one lets
    everything through, one only critical)."""
    return [
        Match(i, channel, minimum, owner)
        for i in range(len(events))
        for channel in CHANNELS
        for minimum in (Severity.INFO, Severity.CRITICAL)
    ]


storms = st.lists(
    st.tuples(st.sampled_from(GOALS), st.sampled_from(STATUSES), st.sampled_from(STATUSES)),
    min_size=1,
    max_size=60,
)


@given(storms)
@settings(max_examples=60, deadline=None)
def test_a_storm_of_status_changes_is_one_message_per_goal_and_channel(
    changes: list[tuple[uuid.UUID, str, str]],
) -> None:
    events = [status_changed(goal, before, after) for goal, before, after in changes]
    planned = plan_event_messages(events, every_channel(events), {}, NOW, WINDOW)

    groups = Counter((p.channel_id, p.group_key) for p in planned)
    assert all(n == 1 for n in groups.values())  # at most one per goal and window
    assert {key for _, key in groups} == {f"goal:{goal}" for goal, _, _ in changes}
    for message in planned:
        # every event once, however many subscriptions of the channel matched it
        assert len(message.events) == sum(
            1 for goal, _, _ in changes if message.group_key == f"goal:{goal}"
        )
        assert message.severity == max(
            (Severity(_severity(e["data"]["to"])) for e in message.events), key=lambda s: s.rank
        )
        assert message.due == NOW + WINDOW and message.held_until is None


def _severity(status: str) -> str:
    return {"off_track": "critical", "missed": "critical", "at_risk": "warning"}.get(status, "info")


def test_a_subscription_minimum_keeps_out_what_is_below_it() -> None:
    events = [status_changed(GOALS[0], "on_track", "at_risk")]
    critical_only = [Match(0, CHANNELS[0], Severity.CRITICAL, None)]
    assert plan_event_messages(events, critical_only, {}, NOW, WINDOW) == []
    warning = [Match(0, CHANNELS[0], Severity.WARNING, None)]
    assert len(plan_event_messages(events, warning, {}, NOW, WINDOW)) == 1


quiet_hours = st.builds(
    QuietHours,
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(["UTC", "Asia/Kolkata", "America/Phoenix"]),  # no DST: no skipped times
)


@given(
    st.lists(
        st.tuples(st.sampled_from(GOALS), st.sampled_from(STATUSES), st.sampled_from(STATUSES)),
        min_size=1,
        max_size=20,
    ),
    quiet_hours,
    st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2027, 1, 1),
        timezones=st.just(UTC),
    ),
)
@settings(max_examples=80, deadline=None)
def test_quiet_hours_defer_and_never_drop(
    changes: list[tuple[uuid.UUID, str, str]], quiet: QuietHours, now: datetime
) -> None:
    events = [status_changed(goal, before, after, now) for goal, before, after in changes]
    planned = plan_event_messages(
        events, every_channel(events, PERSON), {PERSON: quiet}, now, WINDOW
    )

    assert sum(len(p.events) for p in planned) == len(events) * len(CHANNELS)  # none dropped
    for message in planned:
        assert message.due >= now + WINDOW  # never earlier than its window
        if message.severity is Severity.CRITICAL:
            assert message.due == now + WINDOW and message.held_until is None
        else:
            assert quiet.holds_until(message.due) is None  # not sent inside quiet hours
            assert (message.held_until is not None) == (message.due > now + WINDOW)


def test_the_owners_default_is_for_critical_alerts_not_already_subscribed() -> None:
    events = [
        alert(GOALS[0], "alert.opened", "critical"),
        alert(GOALS[1], "alert.opened", "warning"),
        alert(GOALS[2], "alert.resolved", "critical"),
        alert(GOALS[3], "alert.updated", "critical"),
    ]
    candidates = default_candidates(events)
    assert [c.idx for c in candidates] == [0, 3]
    recipients = {str(GOALS[0]): (CHANNELS[0], PERSON), str(GOALS[3]): (CHANNELS[1], PERSON)}
    subscribed = [Match(3, CHANNELS[1], Severity.INFO, PERSON)]
    assert default_matches(candidates, recipients, subscribed) == [
        Match(0, CHANNELS[0], Severity.CRITICAL, PERSON)
    ]


def test_a_review_is_about_its_scope_goal_or_the_whole_organisation() -> None:
    review = RelayedEvent(uuid.uuid4(), "review.created", NOW, {"review_id": "r1"})
    scoped = RelayedEvent(
        uuid.uuid4(), "review.created", NOW, {"review_id": "r2", "scope_goal_id": str(GOALS[0])}
    )
    assert [(s.idx, s.goal_id) for s in subjects([review, scoped])] == [
        (0, None),
        (1, str(GOALS[0])),
    ]
    planned = plan_event_messages(
        [review], [Match(0, CHANNELS[0], Severity.CRITICAL, None)], {}, NOW, WINDOW
    )
    assert [p.group_key for p in planned] == ["review:r1"]  # unranked: no minimum applies


@given(
    st.sampled_from([Cadence.DAILY, Cadence.WEEKLY]),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.integers(0, 6),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
)
@settings(max_examples=150, deadline=None)
def test_a_digest_is_never_planned_before_its_time(
    cadence: str, at: time, weekday: int, set_at: datetime, later: timedelta
) -> None:
    now = set_at + later
    period = period_to_send(cadence, at, "Europe/Berlin", now, weekday=weekday, set_at=set_at)
    if period is not None:
        assert period.due_at <= now
        assert period.due_at >= set_at.replace(second=0, microsecond=0)
    if later >= timedelta(days=8):  # a whole period has passed: it has gone out by now
        assert period is not None


def goal_row(title: str, **overrides: object) -> DigestGoal:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "title": title,
        "due": None,
        "status": GoalStatus.ON_TRACK.value,
        "score": 1.0,
        "actual": 10.0,
        "expected": 10.0,
        "target": 20.0,
        "unit": "EUR",
        "cadence": None,
        "check_in_base": NOW - timedelta(days=30),
        "before": None,
    }
    return DigestGoal(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_digest_says_what_changed_what_is_at_risk_and_what_is_due() -> None:
    changed = goal_row("Changed", status="at_risk", before="on_track")
    off = goal_row("Off", status="off_track", before="off_track")
    soon = goal_row("Soon", due=NOW + timedelta(days=10))
    achieved_soon = goal_row("Done", status="achieved", due=NOW + timedelta(days=1))
    check_in = goal_row(
        "Check", cadence=timedelta(days=7), check_in_base=NOW - timedelta(days=6, hours=12)
    )
    goals = [changed, off, soon, achieved_soon, check_in]
    alerts = [OpenAlert(off.id, "status", "critical"), OpenAlert(off.id, "plan", "warning")]
    plans = [LatePlan(soon.id, "milestone", "Kick-off", NOW - timedelta(days=2))]

    weekly = plan_digest(
        period="2026-W10", cadence=Cadence.WEEKLY, now=NOW, goals=goals, alerts=alerts, plans=plans
    )
    assert [(g.title, before) for g, before in weekly.changed] == [("Changed", "on_track")]
    assert [g.title for g in weekly.at_risk] == ["Changed", "Off"]
    assert [(g.title, kind) for g, kind, _ in weekly.open_alerts] == [("Off", "status")]
    assert [what for _, what in weekly.plans_late] == ["milestone Kick-off, due 2026-02-28"]
    assert [g.title for g, _ in weekly.due_soon] == ["Soon"]  # 10 days: within 14
    assert [g.title for g, _ in weekly.check_ins_due] == ["Check"]

    daily = plan_digest(
        period="2026-03-02", cadence=Cadence.DAILY, now=NOW, goals=goals, alerts=[], plans=[]
    )
    assert DUE_SOON[Cadence.DAILY] == timedelta(days=7)
    assert daily.due_soon == []  # 10 days: beyond a daily digest's 7
    assert [g.title for g, _ in daily.check_ins_due] == ["Check"]  # due in 12 hours
    assert digest_key(GOALS[0], "2026-W10") == f"digest:{GOALS[0]}:2026-W10"

    queued = queued_digest(GOALS[0], "2026-W10", CHANNELS[0], Rendered("s", "t", "h", "m"), NOW)
    assert (queued.kind, queued.severity, queued.group_key) == (
        MessageKind.DIGEST,
        Severity.INFO,
        f"digest:{GOALS[0]}:2026-W10",
    )
    assert queued.content == {"subject": "s", "text": "t", "html": "h", "markdown": "m"}
    assert queued.due == NOW and queued.held_until is None


def check_in_goal(last_at: datetime, cadence: timedelta = timedelta(days=7)) -> CheckInGoal:
    return CheckInGoal(
        GOALS[0], "Revenue", cadence, PERSON, uuid.UUID(int=50), last_at,
        "on_track", 1.0, 10.0, 10.0, 20.0, "EUR",
    )  # fmt: skip


def test_reminders_are_due_once_per_missed_check_in_and_escalate() -> None:
    fresh = check_in_goal(NOW - timedelta(days=3))
    late = check_in_goal(NOW - timedelta(days=15))
    due = due_reminders([fresh, late], NOW, escalate_after=2)
    assert [(goal.last_at, r.missed, r.escalate) for goal, r in due] == [(late.last_at, 2, True)]

    lead_channel = uuid.UUID(int=300)
    sends = reminder_sends([CHANNELS[0]], [CHANNELS[0], CHANNELS[1]], [[lead_channel]])
    assert sends == [(CHANNELS[0], False), (CHANNELS[1], False), (lead_channel, True)]

    owner_form = Rendered("owner", "t", "h", "m")
    lead_form = Rendered("lead", "t", "h", "m")
    night = QuietHours(time(11, 0), time(13, 0), "UTC")  # NOW (12:00) is inside
    planned = plan_reminders(
        due[0][1],
        sends,
        {CHANNELS[0]: PERSON, CHANNELS[1]: None, lead_channel: uuid.UUID(int=301)},
        {PERSON: night},
        {False: owner_form, True: lead_form},
        NOW,
    )
    assert [p.kind for p in planned] == [MessageKind.REMINDER] * 3
    owner, team, lead = planned
    assert owner.due == NOW.replace(hour=13) and owner.held_until == owner.due  # held, not dropped
    assert team.due == NOW and team.held_until is None
    assert lead.group_key == owner.group_key + ":lead" and lead.content["subject"] == "lead"
