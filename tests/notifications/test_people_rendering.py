"""Messages as Slack and Microsoft Teams receive them, checked against each service's
documented payload format, without sending anything: the HTTP layer under Apprise
(`requests.Session.send`) is replaced by a recorder, since the network rule forbids
reaching hooks.slack.com or logic.azure.com from tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import requests

from northstar.notify.model import Severity
from northstar.notify.templates import Event, GoalSnapshot, Rendered, goal_message
from services.evaluator.notify.notifier import deliver

SLACK_HOOK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
TEAMS_FLOW = (
    "https://prod-00.westus.logic.azure.com:443/workflows/abc123/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tSig"
)
LINK = "http://northstar.example.com/goals/g1"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[requests.PreparedRequest]]:
    recorded: list[requests.PreparedRequest] = []

    def record(
        self: requests.Session, request: requests.PreparedRequest, **_: object
    ) -> requests.Response:
        recorded.append(request)
        answer = requests.Response()
        answer.status_code, answer._content, answer.url = 200, b"ok", request.url or ""
        answer.request = request
        return answer

    monkeypatch.setattr(requests.Session, "send", record)
    yield recorded


def message() -> tuple[GoalSnapshot, Rendered]:
    goal = GoalSnapshot("g1", "Revenue EU 2000", "off_track", 0.5, 500, 1000, 2000, "EUR")
    events = [
        Event(
            "goal.status_changed",
            datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            {"from": "at_risk", "to": "off_track"},
        ),
        Event(
            "alert.updated",
            datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
            {"kind": "status", "severity": "critical"},
        ),
    ]
    return goal, goal_message(goal, events, LINK)


async def test_slack_gets_an_incoming_webhook_payload_with_mrkdwn(
    sent: list[requests.PreparedRequest],
) -> None:
    _, rendered = message()
    assert (
        await deliver(
            "slack", SLACK_HOOK, rendered, Severity.CRITICAL, send_timeout=5, allow_private=False
        )
        is None
    )
    [request] = sent
    assert request.method == "POST" and request.url == SLACK_HOOK
    assert request.headers["Content-Type"].startswith("application/json")
    payload = orjson.loads(request.body or b"")
    # https://api.slack.com/reference/messaging/attachments: title, text (mrkdwn), color.
    [attachment] = payload["attachments"]
    assert attachment["title"] == "[Critical] Revenue EU 2000: 2 changes, now off track"
    assert attachment["color"].startswith("#")
    assert payload["mrkdwn"] is True
    # Slack's mrkdwn: links are <url|text>, bold is *text*.
    assert f"*<{LINK}|Revenue EU 2000>*" in attachment["text"]
    assert "Status: *off track*" in attachment["text"]
    assert "Alert escalated (status, critical)" in attachment["text"]


async def test_slack_block_kit_when_the_target_asks_for_blocks(
    sent: list[requests.PreparedRequest],
) -> None:
    _, rendered = message()
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/?blocks=yes"
    assert (
        await deliver(
            "slack", url, rendered, Severity.CRITICAL, send_timeout=5, allow_private=False
        )
        is None
    )
    payload = orjson.loads(sent[0].body or b"")
    # https://api.slack.com/reference/block-kit/blocks: header (plain_text), section (mrkdwn).
    blocks = payload["attachments"][0]["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "[Critical] Revenue EU 2000: 2 changes, now off track",
            "emoji": True,
        },
    }
    assert blocks[1]["type"] == "section" and blocks[1]["text"]["type"] == "mrkdwn"
    assert f"<{LINK}|Revenue EU 2000>" in blocks[1]["text"]["text"]


async def test_teams_gets_an_adaptive_card_through_workflows(
    sent: list[requests.PreparedRequest],
) -> None:
    _, rendered = message()
    assert (
        await deliver(
            "teams", TEAMS_FLOW, rendered, Severity.WARNING, send_timeout=5, allow_private=False
        )
        is None
    )
    [request] = sent
    assert request.url == TEAMS_FLOW
    payload = orjson.loads(request.body or b"")
    # https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/
    # cards-reference#adaptive-card: a message whose attachment is an Adaptive Card.
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert tuple(int(p) for p in card["version"].split(".")) >= (1, 2)
    texts = {block.get("id"): block for block in card["body"] if block["type"] == "TextBlock"}
    assert texts["title"]["text"] == "[Critical] Revenue EU 2000: 2 changes, now off track"
    # Adaptive Card TextBlocks take Markdown: **bold** and [text](url).
    assert f"**[Revenue EU 2000]({LINK})**" in texts["body"]["text"]
    assert texts["body"]["wrap"] is True
