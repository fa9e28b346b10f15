"""Messages people read (northstar/notify/templates.py): one event, a group, a
digest and a reminder, in text, HTML and Markdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from northstar.notify.templates import (
    MAX_LISTED_EVENTS,
    DigestContent,
    Event,
    GoalSnapshot,
    digest_message,
    goal_message,
    reminder_message,
    review_message,
)

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GOAL = GoalSnapshot(
    "g1", "Revenue <EU> 2000", "off_track", 0.5, 500.0, 1000.0, 2000.0, "EUR", "region=eu"
)
LINK = "https://northstar.example.com/goals/g1"


def test_one_alert_says_what_happened_with_status_score_actual_expected_and_link() -> None:
    message = goal_message(
        GOAL, [Event("alert.opened", AT, {"kind": "status", "severity": "critical"})], LINK
    )
    assert message.subject == "[Critical] Revenue <EU> 2000: Alert opened (status, critical)"
    assert "Status: off track" in message.text
    assert "Score: 0.50" in message.text
    assert "Actual vs expected: 500 EUR against 1,000 EUR expected" in message.text
    assert "Top driver: region=eu" in message.text
    assert f"Open the goal: {LINK}" in message.text
    # HTML escapes what the goal's title holds; Markdown escapes its specials.
    assert "Revenue &lt;EU&gt; 2000" in message.html and "<EU>" not in message.html
    assert f"**[Revenue \\<EU\\> 2000]({LINK})**" in message.markdown


def test_a_group_lists_its_latest_changes_and_counts_the_rest() -> None:
    events = [
        Event(
            "goal.status_changed", AT + timedelta(minutes=i), {"from": "at_risk", "to": "off_track"}
        )
        for i in range(MAX_LISTED_EVENTS + 3)
    ]
    message = goal_message(GOAL, events, LINK)
    assert message.subject == f"[Critical] Revenue <EU> 2000: {len(events)} changes, now off track"
    assert message.text.count("- Status changed from at risk to off track") == MAX_LISTED_EVENTS
    assert "- and 3 earlier changes" in message.text


def test_a_digest_has_a_section_for_each_kind_of_news_and_leaves_out_empty_ones() -> None:
    quiet = GoalSnapshot("g2", "Margin", "on_track", 1.0, 10.0, 10.0, 12.0)
    content = DigestContent(
        period="2026-03-02",
        changed=[(GOAL, "at_risk")],
        at_risk=[GOAL],
        open_alerts=[(GOAL, "status", "critical")],
        due_soon=[(quiet, AT + timedelta(days=3))],
    )
    message = digest_message(content, "https://northstar.example.com")
    assert message.subject == "Northstar digest 2026-03-02"
    for heading in (
        "Goals that changed status",
        "At risk or off track",
        "Open alerts",
        "Goals due soon",
    ):
        assert heading in message.text and heading in message.html
    assert "Check-ins due" not in message.text
    assert "Revenue <EU> 2000: at risk → off track" in message.text
    assert "https://northstar.example.com/goals/g2" in message.html
    empty = digest_message(DigestContent("2026-W10", [], [], [], []), "https://x")
    assert empty.text == "Nothing changed and nothing needs attention."


def test_a_reminder_to_the_lead_says_it_is_escalated() -> None:
    owner = reminder_message(GOAL, AT, 1, LINK, to_lead=False)
    lead = reminder_message(GOAL, AT, 3, LINK, to_lead=True)
    assert owner.subject == "Check-in due: Revenue <EU> 2000"
    assert lead.subject == "[Escalated] Revenue <EU> 2000: 3 check-ins missed"
    assert "has not checked in since 2026-03-02 09:00 UTC" in lead.text


def test_a_new_review_shows_its_scope_counts_worst_first_and_links_to_the_review() -> None:
    data = {
        "review_id": "r1",
        "title": "Q1 <sales> review",
        "held_at": AT.isoformat(),
        "scope_goal_id": "g1",
        "summary": {"goals": 4, "by_status": {"on_track": 2, "off_track": 1, "no_data": 1}},
    }
    message = review_message(data, "https://northstar.example.com/", "Revenue EU 2000")
    link = "https://northstar.example.com/reviews/r1"
    assert message.subject == "Review created: Q1 <sales> review"
    assert message.text.splitlines() == [
        "Q1 <sales> review",
        "Held: 2026-03-02 09:00 UTC",
        "Scope: Revenue EU 2000",
        "Goals: 4 goals",
        "Off track: 1",
        "On track: 2",
        "Without data: 1",
        "",
        f"Open the review: {link}",
    ]
    assert f"<a href='{link}'>Q1 &lt;sales&gt; review</a>" in message.html
    assert "<sales>" not in message.html
    assert message.markdown.startswith(f"**[Q1 \\<sales\\> review]({link})**")
    assert "Off track: **1**" in message.markdown


def test_a_review_without_a_scope_goal_covers_the_whole_organisation() -> None:
    data = {
        "review_id": "r2",
        "title": "Annual",
        "held_at": AT.isoformat(),
        "scope_goal_id": None,
        "summary": {"goals": 1, "by_status": {"at_risk": 1}},
    }
    message = review_message(data, "https://n.example.com", None)
    assert "Scope: the whole organisation" in message.text
    assert "Goals: 1 goal\nAt risk: 1" in message.text
