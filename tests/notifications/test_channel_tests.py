""" "Send a test" (`POST /v1/channels/{id}/test`) and the kinds this server can send
(`GET /v1/channels/kinds`): a test email reaches a real SMTP server (aiosmtpd on
loopback); only who may manage the channel may test it, a few times a minute, audited;
without an SMTP relay email is not offered and the answer says what to set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from northstar.config import OutboundSettings
from northstar.notify.settings import NotificationSettings
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.evaluator.settings import EvaluatorSettings
from tests.api.test_sessions import make_user, signed_in
from tests.notifications.conftest import Mailbox


@pytest.fixture
async def app(
    database_url: str, admin_key: str, notify_settings: EvaluatorSettings
) -> AsyncIterator[FastAPI]:
    fields = set(NotificationSettings.model_fields) | set(OutboundSettings.model_fields)
    app = create_app(
        ApiSettings(
            database_url=database_url,
            bootstrap_admin_key=admin_key,
            **{k: v for k, v in notify_settings.model_dump().items() if k in fields},
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def admin(app: FastAPI, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api",
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as client:
        yield client


async def test_a_person_sends_a_test_to_their_email_channel_and_it_arrives(
    app: FastAPI, admin: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await make_user(admin, "tess@example.com", role="viewer")
    await make_user(admin, "other@example.com", role="member")
    async with signed_in(app, "tess@example.com") as tess:
        kinds = (await tess.get("/v1/channels/kinds")).json()["items"]
        assert {k["kind"]: k["sendable"] for k in kinds} == {
            "email": True,
            "slack": True,
            "teams": True,
            "apprise": True,
        }
        created = await tess.post(
            "/v1/channels", json={"name": "My inbox", "kind": "email", "target": "tess@example.com"}
        )
        assert created.status_code == 201, created.text
        channel = created.json()["id"]

        answer = await tess.post(f"/v1/channels/{channel}/test")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "sent": True,
            "detail": "Sent “Test message for My inbox” to My inbox.",
        }
        assert mailbox.recipients == [["tess@example.com"]]
        assert mailbox.messages[0]["Subject"] == "Test message for My inbox"
        assert "This channel works" in mailbox.messages[0].get_body(("plain",)).get_content()

        # A few tries a minute, then 429 with Retry-After.
        for _ in range(2):
            assert (await tess.post(f"/v1/channels/{channel}/test")).status_code == 200
        refused = await tess.post(f"/v1/channels/{channel}/test")
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "try again in" in refused.json()["detail"]
    assert len(mailbox.messages) == 3

    async with signed_in(app, "other@example.com") as other:
        forbidden = await other.post(f"/v1/channels/{channel}/test")
        assert forbidden.status_code == 403, forbidden.text
    assert len(mailbox.messages) == 3

    audit = (await admin.get("/v1/audit", params={"resource": "notification_channel"})).json()
    tests = [e for e in audit["items"] if e["action"] == "test"]
    assert len(tests) == 3 and tests[0]["resource"]["id"] == channel


async def test_a_failed_test_says_why_without_the_target(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    await make_user(admin, "tom@example.com", role="member")
    async with signed_in(app, "tom@example.com") as tom:
        # A loopback port nothing listens on (private targets are allowed in these tests).
        target = "json://127.0.0.1:9/secret-path"
        created = await tom.post(
            "/v1/channels", json={"name": "Hook", "kind": "apprise", "target": target}
        )
        assert created.status_code == 201, created.text
        answer = await tom.post(f"/v1/channels/{created.json()['id']}/test")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sent"] is False
    assert body["detail"].startswith("Not sent: ")
    assert "secret-path" not in body["detail"]


async def test_without_smtp_email_is_not_sendable_and_the_answer_says_how(
    database_url: str, admin_key: str
) -> None:
    app = create_app(ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as client,
    ):
        kinds = (await client.get("/v1/channels/kinds")).json()["items"]
    email = next(k for k in kinds if k["kind"] == "email")
    assert email["sendable"] is False
    assert "NORTHSTAR_SMTP_HOST" in email["how_to_enable"]
    assert kinds[-1]["kind"] == "email", "sendable kinds first"
