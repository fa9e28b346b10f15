"""The api defends itself: bodies over the limit are refused before they are read,
credentials are checked before a body is, and floods of requests or of wrong keys are
answered 429 with Retry-After."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from northstar.auth.authenticator import Authenticator, AuthError
from northstar.auth.keys import Scope
from northstar.db.engine import create_engine
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.api.conftest import ok
from tests.conftest import StartService

MiB = 1024 * 1024


@asynccontextmanager
async def _api(
    database_url: str, admin_key: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key, **settings)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


class Body:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk, self.read = size, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            self.read += self.chunk
            yield b"x" * self.chunk


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_an_anonymous_body_is_never_read(client: httpx.AsyncClient) -> None:
    body = Body(200 * MiB)
    response = await client.post(
        "/v1/goals", content=body, headers={"Authorization": "", "Content-Type": "application/json"}
    )
    _problem(response, 401)
    assert body.read <= 64 * 1024


async def test_a_wrong_key_is_refused_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    body = Body(200 * MiB)
    response = await client.post(
        "/v1/goals",
        content=body,
        headers={"Authorization": "Bearer ns_00000000_" + "x" * 43},
    )
    _problem(response, 401)
    assert body.read <= 64 * 1024


async def test_a_declared_body_over_the_limit_is_a_413_unread(client: httpx.AsyncClient) -> None:
    body = Body(2 * MiB)
    response = await client.post(
        "/v1/goals", content=body, headers={"Content-Length": str(2 * MiB)}
    )
    assert "limit of 1048576 bytes" in _problem(response, 413)["detail"]
    assert body.read <= 64 * 1024


async def test_a_streamed_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    body = Body(50 * MiB)
    _problem(await client.post("/v1/goals", content=body), 413)
    assert body.read <= 1 * MiB + 64 * 1024


def _answer_without_body(port: int, length: int) -> bytes:
    """Send only the headers of a POST announcing `length` bytes; the answer, which must
    come at once."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/goals HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % length
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert time.monotonic() - started < 2
    assert b"application/problem+json" in answer
    return answer


def test_a_real_api_answers_without_waiting_for_the_body(start_service: StartService) -> None:
    """Over a socket: the headers announce a body, none of it is sent, the answer comes."""
    api = start_service("api")
    assert _answer_without_body(api.port, 220_200_960).startswith(b"HTTP/1.1 413")
    assert _answer_without_body(api.port, 900_000).startswith(b"HTTP/1.1 401")


async def test_requests_over_the_per_key_limit_are_a_429(database_url: str, admin_key: str) -> None:
    async with _api(database_url, admin_key, rate_limit_per_key="5/minute") as client:
        headers = {"Authorization": f"Bearer {admin_key}"}
        created = await client.post(
            "/v1/api-keys", json={"name": "other", "scopes": ["read"]}, headers=headers
        )
        other = {"Authorization": f"Bearer {ok(created, 201)['key']}"}
        for _ in range(4):
            ok(await client.get("/v1/units", headers=headers))
        response = await client.get("/v1/units", headers=headers)
        _problem(response, 429)
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # Another key is not held up by this one.
        ok(await client.get("/v1/units", headers=other))


async def test_requests_over_the_per_address_limit_are_a_429(
    database_url: str, admin_key: str
) -> None:
    async with _api(database_url, admin_key, rate_limit_per_address="3/minute") as client:
        for _ in range(3):
            _problem(await client.get("/v1/units"), 401)
        response = await client.get("/v1/units", headers={"Authorization": f"Bearer {admin_key}"})
        _problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        # Health and metrics are not /v1: never limited.
        assert (await client.get("/healthz")).status_code == 200


async def test_wrong_keys_are_throttled_per_address(database_url: str, admin_key: str) -> None:
    async with _api(database_url, admin_key, failed_auth_limit="3/minute") as client:
        for n in range(3):
            _problem(
                await client.get("/v1/units", headers={"Authorization": f"Bearer guess-{n:012d}"}),
                401,
            )
        response = await client.get(
            "/v1/units", headers={"Authorization": "Bearer guess-000000000099"}
        )
        detail = _problem(response, 429)["detail"]
        assert "wrong API key" in detail
        assert int(response.headers["retry-after"]) >= 1


async def test_a_key_not_in_a_key_format_costs_no_query() -> None:
    """The authenticator's engine points at a port nothing listens on: any query would
    fail with a connection error, not the 401."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(f"postgresql://nobody@127.0.0.1:{port}/none", pool_size=1)
    authenticator = Authenticator(engine)
    try:
        for secret in ("short", "has spaces in it, sixteen+", "x" * 300, "ns_\u00e9" * 8):
            with pytest.raises(AuthError) as refused:
                await authenticator.authenticate(f"Bearer {secret}", Scope.READ)
            assert refused.value.status == 401
        with pytest.raises(OSError):
            await authenticator.authenticate("Bearer " + "a" * 40, Scope.READ)
    finally:
        await engine.dispose()
