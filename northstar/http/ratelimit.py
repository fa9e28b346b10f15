"""Rate limits for the HTTP services, on the `limits` library (moving windows).

Counters live where `NORTHSTAR_RATE_LIMIT_STORAGE` says (northstar/config.py,
`RateLimitSettings`): `memory://` (default) keeps them in the process, so with N api
workers or replicas a client gets at most N times the configured rate; `redis://…` keeps
them in one Redis every process counts in, so a limit holds for the deployment as a whole
(SPEC §19). The reverse proxy in front (docs/security.md) bounds connections either way.

A shared store that cannot be reached is never taken as "no limit": every operation
raises `RateLimitStoreUnavailable`, which the callers answer with 503 and `Retry-After`
(the api's gate and sign-in), and the api's `/readyz` reports the store by name, so an
orchestrator takes the replica out of rotation until Redis is back (docs/security.md,
"Shared limits").

Limits are written as `limits` strings (`"600/minute"`, `"10/second;100/minute"`);
`parse_limits` validates them at start-up so a typo fails fast with the variable named.
Callers name a counter with a namespace and an identifier (`"key", key_id` or `"address",
host`), so the api's per-key and per-address limits and another feature's login throttle
(`"login", email`) share one store without colliding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

T = TypeVar("T")

#: Seconds a client is asked to wait when the shared store is unreachable.
UNAVAILABLE_RETRY_AFTER = 5
#: Prefix of every key the limits write in a shared Redis.
REDIS_KEY_PREFIX = "northstar-ratelimit"
# An unreachable Redis must fail a request quickly, not hold it for the OS's TCP timeout.
_REDIS_TIMEOUT_SECONDS = 2.0


class RateLimitStoreUnavailable(RuntimeError):
    """The shared counter store (Redis) did not answer: refuse rather than not count."""


def limit_storage(url: str = "memory://") -> Storage:
    """The `limits` storage for a `NORTHSTAR_RATE_LIMIT_STORAGE` URL (validated by the
    settings): process memory, or Redis through redis-py's asyncio client. Nothing is
    connected here; the first counted hit connects."""
    if url.startswith("memory://"):
        return MemoryStorage()
    return RedisStorage(
        "async+" + url,
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=REDIS_KEY_PREFIX,
        socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
        socket_timeout=_REDIS_TIMEOUT_SECONDS,
    )


def parse_limits(text: str) -> list[RateLimitItem]:
    """`"600/minute"` or several separated by `;`; ValueError when malformed. An empty
    string means no limit."""
    if not text.strip():
        return []
    return list(parse_many(text))


class RateLimiter:
    """Counts hits per (namespace, identifier) against one or more limits, in the storage
    `storage_url` names (one instance per process: the gate and sign-in share it)."""

    def __init__(self, storage_url: str = "memory://") -> None:
        self.shared = not storage_url.startswith("memory://")
        self._storage = limit_storage(storage_url)
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def check(self) -> None:
        """Readiness: raises unless the store answers (memory always does)."""
        if not await self._guard(self._storage.check()):
            raise RateLimitStoreUnavailable("the rate limit store did not answer a ping")

    async def _guard(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except (StorageError, OSError, TimeoutError) as error:
            cause = error.storage_error if isinstance(error, StorageError) else error
            raise RateLimitStoreUnavailable(
                f"rate limit store unreachable: {type(cause).__name__}: {cause}"
            ) from error

    async def hit(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> float:
        """Count one hit against each limit. 0 when every limit allowed it, else the
        seconds until the fullest limit has room again (for `Retry-After`)."""
        for limit in limits:
            if not await self._guard(self._limiter.hit(limit, namespace, identifier)):
                return await self.retry_after(limit, namespace, identifier)
        return 0.0

    async def exceeded(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> float:
        """Like `hit` but without counting: 0 while every limit has room, else the seconds
        until it has. For throttles that count only failures (bad keys, bad passwords)."""
        for limit in limits:
            if not await self._guard(self._limiter.test(limit, namespace, identifier)):
                return await self.retry_after(limit, namespace, identifier)
        return 0.0

    async def retry_after(self, limit: RateLimitItem, namespace: str, identifier: str) -> float:
        stats = await self._guard(self._limiter.get_window_stats(limit, namespace, identifier))
        return max(1.0, stats.reset_time - time.time())

    async def clear(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> None:
        """Forget the counts (e.g. a successful login ends its failure streak)."""
        for limit in limits:
            await self._guard(self._limiter.clear(limit, namespace, identifier))


def retry_after_header(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (never 0: that invites a tight loop)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
