"""`/healthz`, `/readyz` and `/metrics`, the same on every service (SPEC §1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from northstar.http.problems import json_response, problem_response

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
# Given the request, whether it may read the private registry: False for a request without
# credentials; raises (401/403 as an AuthError) for credentials that do not allow it.
MetricsAccess = Callable[[Request], Awaitable[bool]]


def database_check(engine: AsyncEngine) -> Check:
    """Readiness of PostgreSQL: a pooled connection answers `SELECT 1`."""

    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def health_router(
    checks: Mapping[str, Check],
    *,
    registry: CollectorRegistry,
    timeout: float = 3.0,
    private: tuple[CollectorRegistry, MetricsAccess] | None = None,
) -> APIRouter:
    """Health endpoints. Each readiness check raises when its dependency is unreachable
    or its part of the pipeline is in trouble; `/readyz` names each failing check with
    its message.

    `/metrics` serves `registry` to anyone; `private` (a registry and who may read it) is
    added for requests its access check lets through (the api's business gauges)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @router.get("/readyz")
    async def readyz() -> Response:
        async def run(name: str, check: Check) -> tuple[str, str | None]:
            try:
                await asyncio.wait_for(check(), timeout)
                return name, None
            except Exception as error:  # readiness reports any failure, by name
                log.warning(
                    "readiness check failed", extra={"dependency": name, "error": repr(error)}
                )
                return name, f"{type(error).__name__}: {error}"

        results = await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        failing = {name: error for name, error in results if error is not None}
        if failing:
            names = "; ".join(f"{name}: {failing[name]}" for name in sorted(failing))
            return problem_response(
                503,
                f"Not ready: {names}",
                headers={"Retry-After": "5"},
                checks={n: ("ok" if e is None else e) for n, e in results},
            )
        return json_response({"status": "ready", "checks": {n: "ok" for n, _ in results}})

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        # Serialising thousands of series takes long enough to stall every other request
        # if done on the event loop; collectors only read immutable snapshots, so a worker
        # thread is safe.
        body = await asyncio.to_thread(generate_latest, registry)
        if private is not None and await private[1](request):
            body += await asyncio.to_thread(generate_latest, private[0])
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
