"""Passwords and secrets never reach the logs: every flow that carries one (sign-in right
and wrong, creating a user, an invitation and its acceptance, a password change, API keys,
a webhook secret, the session and CSRF tokens) is run with every logger at DEBUG, and each
record — message, arguments and structured fields, as the JSON formatter writes them — is
searched for every secret."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from northstar.logs import JsonFormatter
from tests.api.conftest import ok

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another correct horse battery"
INVITED_PASSWORD = "an invited person's passphrase"
WEBHOOK_SECRET = "whsec-this-must-never-be-logged-123"


async def test_no_secret_is_ever_logged(
    app: FastAPI, client: httpx.AsyncClient, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, NEW_PASSWORD, INVITED_PASSWORD, WEBHOOK_SECRET, admin_key]

    user = ok(
        await client.post(
            "/v1/users",
            json={
                "email": "lou@example.org",
                "name": "Lou",
                "role": "editor",
                "password": PASSWORD,
            },
        ),
        201,
    )
    invited = ok(
        await client.post("/v1/users", json={"email": "ivy@example.org", "name": "Ivy"}), 201
    )
    secrets.append(invited["invitation"]["token"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as web:
        wrong = await web.post(
            "/v1/auth/login", json={"email": "lou@example.org", "password": PASSWORD + "x"}
        )
        assert wrong.status_code == 401
        secrets.append(PASSWORD + "x")
        signed_in = ok(
            await web.post(
                "/v1/auth/login", json={"email": "lou@example.org", "password": PASSWORD}
            )
        )
        secrets += [signed_in["csrf_token"], web.cookies["northstar_session"]]
        web.headers["X-CSRF-Token"] = signed_in["csrf_token"]
        mine = ok(
            await web.post("/v1/me/api-keys", json={"name": "laptop", "scopes": ["read"]}), 201
        )
        secrets.append(mine["key"])
        ok(await web.post("/v1/auth/logout"), 204)
        ok(
            await web.post(
                "/v1/auth/accept-invitation",
                json={"token": invited["invitation"]["token"], "password": INVITED_PASSWORD},
            )
        )
    ok(await client.patch(f"/v1/users/{user['id']}", json={"password": NEW_PASSWORD}))
    key = ok(await client.post("/v1/api-keys", json={"name": "ci", "scopes": ["read"]}), 201)
    secrets.append(key["key"])
    ok(
        await client.post(
            "/v1/webhooks",
            json={
                "url": "http://127.0.0.1:9/hook",
                "events": ["alert.opened"],
                "secret": WEBHOOK_SECRET,
            },
        ),
        201,
    )
    # A refused body that carries a password is not echoed into the logs either.
    weak = await client.post(
        "/v1/users",
        json={"email": "w@example.org", "name": "W", "password": "hunter2hunter2"},
    )
    assert weak.status_code == 201 or weak.status_code == 422
    secrets.append("hunter2hunter2")

    formatter = JsonFormatter()
    logged = "\n".join(
        formatter.format(record) + " " + record.getMessage() for record in caplog.records
    )
    assert len(caplog.records) > 10, "the flows logged nothing: the test would prove nothing"
    for secret in secrets:
        assert secret not in logged, f"a secret ({secret[:4]}…) is in the logs"
