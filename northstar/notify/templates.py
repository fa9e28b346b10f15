"""Every message a person reads, in one place: subject, plain text, HTML and Markdown.

Pure functions from plain values to `Rendered`. The dispatcher picks the form a channel
shows best: HTML (with the plain text as the alternative part) for email, Markdown for
Slack and Teams (Apprise turns it into their rich formats: Slack mrkdwn attachments, a
Teams MessageCard), plain text for any other Apprise target.

A message is about one goal and carries every event of its grouping window, newest last;
the header always shows the goal as it is when the message is sent (status, score, actual
against expected, the top driver when one is known) and a link to it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from northstar.domain.alerts import AlertEventType, AlertKind
from northstar.domain.goals import GoalStatus
from northstar.notify.model import CHECK_IN_DUE, Severity, severity_of
from northstar.outbox import GOAL_STATUS_CHANGED

# Events listed one by one in a grouped message; the rest are counted.
MAX_LISTED_EVENTS = 10

_STATUS_WORDS: dict[str, str] = {
    GoalStatus.ON_TRACK: "on track",
    GoalStatus.AT_RISK: "at risk",
    GoalStatus.OFF_TRACK: "off track",
    GoalStatus.ACHIEVED: "achieved",
    GoalStatus.MISSED: "missed",
    GoalStatus.NOT_STARTED: "not started",
    GoalStatus.NO_DATA: "without data",
}
# How a review lists its goals' statuses: worst first.
_REVIEW_ORDER: list[str] = [
    GoalStatus.OFF_TRACK,
    GoalStatus.MISSED,
    GoalStatus.AT_RISK,
    GoalStatus.ON_TRACK,
    GoalStatus.ACHIEVED,
    GoalStatus.NOT_STARTED,
]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    markdown: str


@dataclass(frozen=True, slots=True)
class GoalSnapshot:
    """The goal as the message shows it (read when the message is sent)."""

    id: str
    title: str
    status: str | None = None
    score: float | None = None
    actual: float | None = None
    expected: float | None = None
    target: float | None = None
    unit: str = ""
    driver: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox event as it was queued: `{type, occurred_at, data}`."""

    type: str
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return severity_of(self.type, self.data)


def status_words(status: str | None) -> str:
    return _STATUS_WORDS.get(status or "", status or "unknown")


def number(value: float | None, unit: str = "") -> str:
    """`12,345.6 EUR`: grouped, at most one decimal for large values, 3 significant for small."""
    if value is None:
        return "n/a"
    text = f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text} {unit}".strip()


def describe(event: Event) -> str:
    """One line for one event, e.g. `Alert opened (status, critical)`."""
    data = event.data
    if event.type == GOAL_STATUS_CHANGED:
        before, after = status_words(data.get("from")), status_words(data.get("to"))
        return f"Status changed from {before} to {after}"
    if event.type.startswith("alert."):
        escalated = data.get("severity") == Severity.CRITICAL
        verbs: dict[str, str] = {
            AlertEventType.OPENED: "opened",
            AlertEventType.UPDATED: "escalated" if escalated else "changed",
            AlertEventType.ACKNOWLEDGED: "acknowledged",
            AlertEventType.RESOLVED: "resolved",
        }
        verb = verbs.get(event.type, event.type.removeprefix("alert."))
        kind, severity = data.get("kind", AlertKind.STATUS), data.get("severity", Severity.WARNING)
        line = f"Alert {verb} ({kind}, {severity})"
        if event.type == AlertEventType.ACKNOWLEDGED and data.get("note"):
            line += f": {data['note']}"
        return line
    if event.type == CHECK_IN_DUE:
        return "Check-in due"
    return event.type


def goal_message(goal: GoalSnapshot, events: Sequence[Event], link: str) -> Rendered:
    """The message for one goal and the events of one grouping window."""
    severity = max((e.severity for e in events), key=lambda s: s.rank, default=Severity.INFO)
    prefix = {Severity.CRITICAL: "[Critical] ", Severity.WARNING: "[Warning] "}.get(severity, "")
    if len(events) == 1:
        subject = f"{prefix}{goal.title}: {describe(events[0])}"
    else:
        subject = f"{prefix}{goal.title}: {len(events)} changes, now {status_words(goal.status)}"
    facts = _goal_facts(goal)
    lines = [describe(e) + f" at {_clock(e.occurred_at)}" for e in events[-MAX_LISTED_EVENTS:]]
    hidden = len(events) - len(lines)
    more = f"and {hidden} earlier change{'s' if hidden != 1 else ''}" if hidden > 0 else None
    text = "\n".join(
        [
            goal.title,
            *[f"{k}: {v}" for k, v in facts],
            "",
            *[f"- {line}" for line in lines],
            *([f"- {more}"] if more else []),
            "",
            f"Open the goal: {link}",
        ]
    )
    markdown = "\n".join(
        [
            f"**[{_md(goal.title)}]({link})**",
            " · ".join(f"{k}: **{_md(v)}**" for k, v in facts),
            "",
            *[f"- {_md(line)}" for line in lines],
            *([f"- {more}"] if more else []),
        ]
    )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    if more:
        items += f"<li>{html.escape(more)}</li>"
    body = (
        f"<h2><a href='{html.escape(link)}'>{html.escape(goal.title)}</a></h2>"
        f"{_html_facts(facts)}<ul>{items}</ul>{_html_link('Open the goal', link)}"
    )
    return Rendered(subject, text, _page(subject, body), markdown)


@dataclass(frozen=True, slots=True)
class DigestContent:
    """What a digest summarises, each a list of goals (or alerts) as snapshots."""

    period: str
    changed: Sequence[tuple[GoalSnapshot, str | None]]  # goal and its status before
    at_risk: Sequence[GoalSnapshot]
    open_alerts: Sequence[tuple[GoalSnapshot, str, str]]  # goal, kind, severity
    due_soon: Sequence[tuple[GoalSnapshot, datetime]]
    check_ins_due: Sequence[tuple[GoalSnapshot, datetime]] = ()
    plans_late: Sequence[tuple[GoalSnapshot, str]] = ()  # goal, what is late


Section = tuple[str, list[tuple[str, str]]]  # a heading, and (goal title, what) lines


def digest_message(content: DigestContent, base_url: str) -> Rendered:
    """The daily or weekly summary: sections with nothing in them are left out."""
    sections = [section for section in _digest_sections(content) if section[1]]
    subject = f"Northstar digest {content.period}"
    if not sections:
        quiet = "Nothing changed and nothing needs attention."
        return Rendered(subject, quiet, _page(subject, f"<p>{quiet}</p>"), quiet)
    goals = _digest_goals_by_title(content)

    def link(name: str) -> str:
        return goal_link(base_url, goals[name].id)

    text_lines: list[str] = [subject, ""]
    md_lines: list[str] = [f"**{subject}**", ""]
    body = ""
    for title, entries in sections:
        text_lines += [title, *[f"- {name}: {what}" for name, what in entries], ""]
        md_lines += [
            f"**{title}**",
            *[f"- [{_md(name)}]({link(name)}): {_md(what)}" for name, what in entries],
            "",
        ]
        body += (
            f"<h3>{html.escape(title)}</h3><ul>"
            + "".join(
                f"<li><a href='{html.escape(link(name))}'>{html.escape(name)}</a>: "
                f"{html.escape(what)}</li>"
                for name, what in entries
            )
            + "</ul>"
        )
    return Rendered(
        subject, "\n".join(text_lines).strip(), _page(subject, body), "\n".join(md_lines).strip()
    )


def _digest_sections(content: DigestContent) -> list[Section]:
    """Every section of a digest, in the order it shows them (empty ones included)."""
    return [
        (
            "Goals that changed status",
            [
                (g.title, f"{status_words(before)} → {status_words(g.status)}")
                for g, before in content.changed
            ],
        ),
        (
            "At risk or off track",
            [
                (g.title, f"{status_words(g.status)}, {_actual_vs_expected(g)}")
                for g in content.at_risk
            ],
        ),
        (
            "Open alerts",
            [(g.title, f"{kind}, {severity}") for g, kind, severity in content.open_alerts],
        ),
        ("Milestones late", [(g.title, what) for g, what in content.plans_late]),
        ("Check-ins due", [(g.title, f"due {_clock(at)}") for g, at in content.check_ins_due]),
        ("Goals due soon", [(g.title, f"due {_clock(at)}") for g, at in content.due_soon]),
    ]


def _digest_goals_by_title(content: DigestContent) -> dict[str, GoalSnapshot]:
    """The goals a digest names, by title (the last one of a title wins, as links go)."""
    return {
        g.title: g
        for g in [
            *(g for g, _ in content.changed),
            *content.at_risk,
            *(g for g, _, _ in content.open_alerts),
            *(g for g, _ in content.check_ins_due),
            *(g for g, _ in content.plans_late),
            *(g for g, _ in content.due_soon),
        ]
    }


def reminder_message(
    goal: GoalSnapshot, due_at: datetime, missed: int, link: str, *, to_lead: bool
) -> Rendered:
    """A check-in reminder to the owner, or (escalated) to the unit lead."""
    late = f"{missed} check-in{'s' if missed != 1 else ''} missed"
    subject = f"[Escalated] {goal.title}: {late}" if to_lead else f"Check-in due: {goal.title}"
    intro = (
        f"The owner of {goal.title} has not checked in since {_clock(due_at)} ({late})."
        if to_lead
        else f"The check-in for {goal.title} was due at {_clock(due_at)} ({late})."
    )
    facts = _goal_facts(goal)
    text = "\n".join([intro, *[f"{k}: {v}" for k, v in facts], "", f"Check in: {link}"])
    markdown = "\n".join(
        [_md(intro), " · ".join(f"{k}: **{_md(v)}**" for k, v in facts), f"[Check in]({link})"]
    )
    body = f"<p>{html.escape(intro)}</p>{_html_facts(facts)}{_html_link('Check in', link)}"
    return Rendered(subject, text, _page(subject, body), markdown)


def review_message(data: Mapping[str, Any], base_url: str, scope_title: str | None) -> Rendered:
    """A new review (`review.created`): its title, when it was held, what it covers and
    how its goals stood (counts by status, worst first), with a link to the review."""
    title = str(data.get("title") or "A review")
    link = review_link(base_url, str(data.get("review_id")))
    held = data.get("held_at")
    when = _clock(datetime.fromisoformat(held)) if isinstance(held, str) else "n/a"
    scope = scope_title if data.get("scope_goal_id") else "the whole organisation"
    summary = data.get("summary") or {}
    counts = dict(summary.get("by_status") or {})
    order = _REVIEW_ORDER
    ranked = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    goals = int(summary.get("goals") or 0)
    facts = [
        ("Held", when),
        ("Scope", scope or "a goal"),
        ("Goals", f"{goals} goal{'s' if goals != 1 else ''}"),
        *[(status_words(k).capitalize(), str(counts[k])) for k in ranked],
    ]
    subject = f"Review created: {title}"
    text = "\n".join([title, *[f"{k}: {v}" for k, v in facts], "", f"Open the review: {link}"])
    markdown = "\n".join(
        [f"**[{_md(title)}]({link})**", " · ".join(f"{k}: **{_md(v)}**" for k, v in facts)]
    )
    body = (
        f"<h2><a href='{html.escape(link)}'>{html.escape(title)}</a></h2>"
        f"{_html_facts(facts)}{_html_link('Open the review', link)}"
    )
    return Rendered(subject, text, _page(subject, body), markdown)


def test_message(channel_name: str, sent_by: str, at: datetime, base_url: str) -> Rendered:
    """The message "send a test" sends (`POST /v1/channels/{id}/test`): that the channel
    works, who asked and when, and where its settings are."""
    link = f"{base_url.rstrip('/')}/notifications"
    subject = f"Test message for {channel_name}"
    facts = [("Channel", channel_name), ("Sent by", sent_by), ("At", _clock(at))]
    lead = "This channel works: Northstar's messages to it arrive here."
    text = "\n".join([lead, *[f"{k}: {v}" for k, v in facts], "", f"Settings: {link}"])
    markdown = "\n".join(
        [_md(lead), " · ".join(f"{k}: **{_md(v)}**" for k, v in facts), f"[Settings]({link})"]
    )
    body = f"<p>{html.escape(lead)}</p>{_html_facts(facts)}{_html_link('Settings', link)}"
    return Rendered(subject, text, _page(subject, body), markdown)


def review_link(base_url: str, review_id: str) -> str:
    """Where the web app shows a review."""
    return f"{base_url.rstrip('/')}/reviews/{review_id}"


def goal_link(base_url: str, goal_id: str) -> str:
    """Where the web app shows a goal."""
    return f"{base_url.rstrip('/')}/goals/{goal_id}"


def _html_facts(facts: Sequence[tuple[str, str]]) -> str:
    """One `name: value` line per fact (also how the plain-text part of an email reads,
    which Apprise derives from this HTML)."""
    lines = "<br>".join(f"{html.escape(k)}: <b>{html.escape(v)}</b>" for k, v in facts)
    return f"<p>{lines}</p>"


def _html_link(label: str, url: str) -> str:
    """A link whose address is visible, so it survives in the plain-text part."""
    href = html.escape(url)
    return f"<p>{html.escape(label)}: <a href='{href}'>{href}</a></p>"


def _goal_facts(goal: GoalSnapshot) -> list[tuple[str, str]]:
    facts = [("Status", status_words(goal.status))]
    if goal.score is not None:
        facts.append(("Score", f"{goal.score:.2f}"))
    facts.append(("Actual vs expected", _actual_vs_expected(goal)))
    if goal.target is not None:
        facts.append(("Target", number(goal.target, goal.unit)))
    if goal.driver:
        facts.append(("Top driver", goal.driver))
    return facts


def _actual_vs_expected(goal: GoalSnapshot) -> str:
    return f"{number(goal.actual, goal.unit)} against {number(goal.expected, goal.unit)} expected"


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _md(text: str) -> str:
    """Escape the characters Markdown (and Slack's mrkdwn) would take as formatting."""
    for char in "\\*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text


def _page(subject: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(subject)}</title></head>"
        "<body style='font-family: sans-serif'>"
        f"{body}<p style='color:#888'>Sent by Northstar.</p></body></html>"
    )
