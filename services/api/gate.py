"""The api's gate: what every `/v1` request passes before a route reads its body.

    control characters in the path or query? ─ 400
      → rate limit per client address ─ 429 + Retry-After
      → no credentials? ─ 401 (a session cookie passes on: the route's dependency checks it)
      → too many failed keys from this address lately? ─ 429 + Retry-After, no query
      → key format, then the key itself (cached lookup) ─ 401, counted as a failure
      → rate limit per key ─ 429 + Retry-After
      → the route (which checks the key's scope, parses the body, …)

A shared rate limit store (`NORTHSTAR_RATE_LIMIT_STORAGE=redis://…`) that does not answer
makes every step that counts answer 503 + Retry-After: the limits are never silently off.

FastAPI reads and parses a body before it resolves a route's dependencies, so without this
gate an anonymous client could make the api read and parse any body it liked. The body
limit (northstar/http/bodylimit.py) sits in front of the gate; the gate hands the
principal it found to the route in `request.state.principal`, so the key is looked up
once. Paths in `PUBLIC_PATHS` (signing in) pass without credentials: their own throttles
protect them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Protocol
from urllib.parse import unquote

from limits import RateLimitItem
from starlette.types import ASGIApp, Receive, Scope, Send

from northstar.auth.authenticator import Authenticator, AuthError
from northstar.http.problems import problem_response
from northstar.http.ratelimit import (
    UNAVAILABLE_RETRY_AFTER,
    RateLimiter,
    RateLimitStoreUnavailable,
    retry_after_header,
)

log = logging.getLogger("northstar.api.gate")

PUBLIC_PATHS: frozenset[str] = frozenset(
    {"/v1/auth/login", "/v1/auth/logout", "/v1/auth/accept-invitation"}
)
SESSION_COOKIE = b"northstar_session="
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ApiGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        limiter: RateLimiter,
        per_key: list[RateLimitItem],
        per_address: list[RateLimitItem],
        failed_auth: list[RateLimitItem],
        public_paths: Collection[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limiter = limiter
        self.per_key = per_key
        self.per_address = per_address
        self.failed_auth = failed_auth
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or (not path.startswith("/v1/") and path != "/v1"):
            await self.app(scope, receive, send)
            return

        async def refuse(status: int, detail: str, headers: dict[str, str] | None = None) -> None:
            response = problem_response(status, detail, headers=headers, instance=path)
            await response(scope, receive, send)

        try:
            passed = await self._check(scope, path, refuse)
        except RateLimitStoreUnavailable as error:
            log.error("rate limit store unreachable", extra={"error": str(error)})
            await refuse(
                503,
                "The rate limit store is unreachable; retry after Retry-After seconds.",
                {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
            )
            return
        if passed:
            await self.app(scope, receive, send)

    async def _check(self, scope: Scope, path: str, refuse: _Refuse) -> bool:
        """True when the request may go on to the route; False once it was refused."""
        query = unquote(scope.get("query_string", b"").decode("latin-1"))
        if _CONTROL.search(path) or _CONTROL.search(query):
            await refuse(400, "The path or query holds a control character (such as NUL).")
            return False

        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = await self.limiter.hit(self.per_address, "address", address)
        if wait:
            await refuse(429, _SLOW_DOWN.format(what="client address"), retry_after_header(wait))
            return False

        authorization = None
        cookie = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"cookie":
                cookie = value
        if authorization is None and (path in self.public_paths or SESSION_COOKIE in cookie):
            return True

        wait = await self.limiter.exceeded(self.failed_auth, "failed-auth", address)
        if wait:
            await refuse(
                429,
                "Too many requests with a wrong API key from this address; wait and retry "
                "with a valid key.",
                retry_after_header(wait),
            )
            return False
        try:
            principal = await self.authenticator.principal(authorization)
        except AuthError as error:
            if authorization is not None:
                await self.limiter.hit(self.failed_auth, "failed-auth", address)
            await refuse(error.status, error.detail, {"WWW-Authenticate": "Bearer"})
            return False

        wait = await self.limiter.hit(self.per_key, "key", str(principal.key_id))
        if wait:
            await refuse(429, _SLOW_DOWN.format(what="API key"), retry_after_header(wait))
            return False
        scope.setdefault("state", {})["principal"] = principal
        return True


class _Refuse(Protocol):
    async def __call__(
        self, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None: ...


_SLOW_DOWN = "Too many requests for this {what}; wait for Retry-After seconds, then retry."
