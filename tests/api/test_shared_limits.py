"""Shared rate limits (SPEC §19): with `NORTHSTAR_RATE_LIMIT_STORAGE=redis://…` every api
process counts in one Redis, so two processes together allow the configured rate, not
twice it; and a Redis that does not answer makes the api refuse (503 + Retry-After, not
ready), never stop limiting. Against a real `redis-server` the harness starts."""

from __future__ import annotations

import subprocess
import sys

import httpx

from devstack.processes import free_port
from devstack.redis import RedisServer
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import StartService

PER_KEY = 12
PER_ACCOUNT = 3


def test_two_api_processes_share_one_budget(
    start_service: StartService, redis_url: str, admin_key: str
) -> None:
    env = {
        "NORTHSTAR_RATE_LIMIT_STORAGE": redis_url,
        "NORTHSTAR_RATE_LIMIT_PER_KEY": f"{PER_KEY}/minute",
        "NORTHSTAR_LOGIN_LIMIT_PER_ACCOUNT": f"{PER_ACCOUNT}/minute",
    }
    apis = [start_service("api", name=f"api-{n}", env=env) for n in (1, 2)]
    clients = [httpx.Client(base_url=api.url, timeout=10.0) for api in apis]
    try:
        # The key's budget: requests alternate between the processes.
        statuses = [
            clients[n % 2].get("/v1/units", headers={"Authorization": f"Bearer {admin_key}"})
            for n in range(2 * PER_KEY)
        ]
        codes = [r.status_code for r in statuses]
        assert codes.count(200) == PER_KEY, codes  # per process it would be 2 * PER_KEY
        assert codes[PER_KEY:] == [429] * PER_KEY, codes
        assert all(int(r.headers["Retry-After"]) >= 1 for r in statuses[PER_KEY:])

        # The sign-in throttle: failures counted on one process throttle the other.
        wrong = {"email": "nobody@example.org", "password": "not the password at all"}
        failures = [clients[n % 2].post("/v1/auth/login", json=wrong) for n in range(PER_ACCOUNT)]
        assert [r.status_code for r in failures] == [401] * PER_ACCOUNT
        for client in clients:
            throttled = client.post("/v1/auth/login", json=wrong)
            assert throttled.status_code == 429, throttled.text
            assert int(throttled.headers["Retry-After"]) >= 1
        for api in apis:
            assert httpx.get(f"{api.url}/readyz").json()["checks"]["rate_limit_storage"] == "ok"
    finally:
        for client in clients:
            client.close()


async def test_an_unreachable_store_refuses_with_503_until_it_is_back(
    database_url: str, admin_key: str
) -> None:
    port = free_port()
    app = create_app(
        ApiSettings(
            database_url=database_url,
            bootstrap_admin_key=admin_key,
            rate_limit_storage=f"redis://127.0.0.1:{port}/0",
        )
    )
    key = {"Authorization": f"Bearer {admin_key}"}
    wrong = {"email": "nobody@example.org", "password": "not the password at all"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        for response in (
            await client.get("/v1/units", headers=key),
            await client.post("/v1/auth/login", json=wrong),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["Retry-After"] == "5"
            assert (
                "rate limit store" in response.json()["detail"]
                or "throttle" in (response.json()["detail"])
            )
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["rate_limit_storage"] != "ok"

        # Retryable: once Redis answers on that address, the same process serves again.
        with RedisServer(port=port):
            assert (await client.get("/v1/units", headers=key)).status_code == 200
            assert (await client.post("/v1/auth/login", json=wrong)).status_code == 401
            assert (await client.get("/readyz")).status_code == 200


def test_a_bad_storage_url_fails_fast_naming_the_variable() -> None:
    for bad in ("mysql://localhost", "redis://", "localhost:6379"):
        result = subprocess.run(
            [sys.executable, "-m", "services.api"],
            env={
                "PATH": "/usr/bin:/bin",
                "NORTHSTAR_DATABASE_URL": "postgresql://x@127.0.0.1:9/x",
                "NORTHSTAR_RATE_LIMIT_STORAGE": bad,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert "NORTHSTAR_RATE_LIMIT_STORAGE" in result.stderr
        assert "Traceback" not in result.stderr
