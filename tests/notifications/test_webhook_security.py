"""Webhooks the standard way: Standard Webhooks signatures a receiver verifies with the
`standardwebhooks` library (replays refused), rotation with several active secrets,
secrets encrypted at rest, and the SSRF guard (a loopback receiver refused by default at
creation and at delivery, accepted with NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import webhooks as standard
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from northstar.http.ssrf import refusal
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import add_events, alert_data, create_webhook, deliveries, running
from tests.support import Received, Receiver, eventually, fetch, fetchval

REFUSED_BY_DEFAULT = [
    "127.0.0.1",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]
REFUSED_ALWAYS = ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "0.0.0.0", "::"]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_private_addresses_are_refused_unless_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip, allow_private=False) is not None
    assert refusal(ip, allow_private=True) is None


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_link_local_metadata_and_unspecified_are_always_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=True) is not None


def test_public_addresses_are_allowed() -> None:
    for address in ("8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"):
        assert refusal(ipaddress.ip_address(address), allow_private=False) is None


@pytest.fixture
async def strict_api(database_url: str, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The api with its defaults: private networks not allowed."""
    app: FastAPI = create_app(ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as client,
    ):
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://localhost:9090/-/quit",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8000/",
    ],
)
async def test_webhooks_to_internal_addresses_are_a_422(
    strict_api: httpx.AsyncClient, url: str
) -> None:
    response = await strict_api.post("/v1/webhooks", json={"url": url, "events": ["alert.opened"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "url"


async def test_allowing_private_networks_still_refuses_metadata(api: httpx.AsyncClient) -> None:
    """`api` allows private networks (tests/notifications/conftest.py)."""
    ok = await api.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["alert.opened"]}
    )
    assert ok.status_code == 201, ok.text
    for url in ("http://169.254.169.254/", "http://[fe80::1]/"):
        refused = await api.post("/v1/webhooks", json={"url": url, "events": ["alert.opened"]})
        assert refused.status_code == 422, refused.text


async def test_delivery_to_loopback_is_refused_by_default_and_made_when_allowed(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    """The check runs again at delivery: a URL accepted earlier (or a name re-pointed since)
    gets nothing from an evaluator that does not allow private networks."""
    receiver = receivers(lambda request: 204)
    hook = await create_webhook(api, receiver.url, ["alert.opened"])
    goal = str(uuid.uuid4())
    strict = settings.model_copy(
        update={"webhook_allow_private_networks": False, "webhook_max_attempts": 1}
    )
    async with running(strict, engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal))])
        [log] = await eventually(
            lambda: deliveries(api, hook["id"], status="failed"), lambda d: len(d) == 1, within=10
        )
    assert receiver.received == []
    assert log["last_error"].startswith("destination refused: 127.0.0.1 is a loopback address")

    async with running(settings, engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal))])
        await eventually(
            lambda: asyncio.sleep(0, receiver.received), lambda r: len(r) == 1, within=10
        )


async def _deliver_one(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    receiver: Receiver,
) -> Received:
    goal = str(uuid.uuid4())
    before = len(receiver.received)
    async with running(settings, engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal))])
        received = await eventually(
            lambda: asyncio.sleep(0, receiver.received), lambda r: len(r) > before, within=10
        )
    return received[-1]


def _later(minutes: float) -> type[datetime]:
    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(minutes=minutes)

    return Later


async def test_deliveries_verify_with_standardwebhooks_and_replays_are_refused(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = receivers(lambda request: 204)
    hook = await create_webhook(api, receiver.url, ["alert.opened"])
    assert hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) == 32
    request = await _deliver_one(settings, engine, receiver)

    verifier = Webhook(hook["secret"])
    envelope = verifier.verify(request.body, request.headers)
    assert envelope["type"] == "alert.opened"
    assert request.headers["webhook-id"] == request.headers["x-northstar-delivery"]
    assert request.headers["webhook-signature"].startswith("v1,")

    # A replay with a fresh timestamp: the signature no longer matches.
    forged = dict(request.headers, **{"webhook-timestamp": str(int(datetime.now(UTC).timestamp()))})
    forged["webhook-timestamp"] = str(int(forged["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body, forged)
    # The same request replayed ten minutes later: too old.
    monkeypatch.setattr(standard, "datetime", _later(10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(request.body, request.headers)


async def test_rotation_signs_with_every_active_secret(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda request: 204)
    old_secret = "an-old-plain-secret-of-the-receiver"
    hook = await create_webhook(api, receiver.url, ["alert.opened"], secret=old_secret)
    [old] = (await api.get(f"/v1/webhooks/{hook['id']}/secrets")).json()
    assert set(old) == {"id", "created_at", "expires_at"}  # never the value

    added = await api.post(f"/v1/webhooks/{hook['id']}/secrets", json={})
    assert added.status_code == 201, added.text
    new = added.json()
    request = await _deliver_one(settings, engine, receiver)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new["secret"]).verify(request.body, request.headers)
    Webhook(old_secret.encode()).verify(request.body, request.headers)

    retired = await api.delete(f"/v1/webhooks/{hook['id']}/secrets/{old['id']}")
    assert retired.status_code == 204, retired.text
    request = await _deliver_one(settings, engine, receiver)
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new["secret"]).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret.encode()).verify(request.body, request.headers)

    last = await api.delete(f"/v1/webhooks/{hook['id']}/secrets/{new['id']}")
    assert last.status_code == 409, last.text
    assert last.headers["content-type"] == "application/problem+json"


async def test_secrets_are_encrypted_at_rest(
    api: httpx.AsyncClient, database_url: str, admin_key: str
) -> None:
    secret = "a-secret-that-must-not-be-in-the-database"
    hook = await create_webhook(api, "http://127.0.0.1:9/hook", ["alert.opened"], secret=secret)
    rows = await fetch(
        database_url,
        "SELECT ciphertext FROM webhook_secrets WHERE webhook_id = $1",
        uuid.UUID(hook["id"]),
    )
    assert len(rows) == 1 and secret not in rows[0]["ciphertext"]

    # A secret stored before encryption (migration 0005 moves them over as `plain:`) is
    # encrypted at the api's next start.
    await fetchval(
        database_url,
        "UPDATE webhook_secrets SET ciphertext = 'plain:' || $2 WHERE webhook_id = $1 RETURNING 1",
        uuid.UUID(hook["id"]),
        secret,
    )
    app = create_app(ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key))
    async with app.router.lifespan_context(app):
        pass
    stored = await fetchval(
        database_url,
        "SELECT ciphertext FROM webhook_secrets WHERE webhook_id = $1",
        uuid.UUID(hook["id"]),
    )
    assert isinstance(stored, str) and not stored.startswith("plain:") and secret not in stored
