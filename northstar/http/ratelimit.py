"""Rate limits for the HTTP services, on the `limits` library (moving windows).

One `RateLimiter` per process holds every counter in memory: a limit is per process, so
with N api workers or replicas a client gets at most N times the configured rate. That is
the trade made for no extra moving part; the reverse proxy in front (docs/security.md)
bounds connections as a whole.

Limits are written as `limits` strings (`"600/minute"`, `"10/second;100/minute"`);
`parse_limits` validates them at start-up so a typo fails fast with the variable named.
Callers name a counter with a namespace and an identifier (`"key", key_id` or `"address",
host`), so the api's per-key and per-address limits and another feature's login throttle
(`"login", email`) share one store without colliding.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


def parse_limits(text: str) -> list[RateLimitItem]:
    """`"600/minute"` or several separated by `;`; ValueError when malformed. An empty
    string means no limit."""
    if not text.strip():
        return []
    return list(parse_many(text))


class RateLimiter:
    """Counts hits per (namespace, identifier) against one or more limits."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> float:
        """Count one hit against each limit. 0 when every limit allowed it, else the
        seconds until the fullest limit has room again (for `Retry-After`)."""
        for limit in limits:
            if not await self._limiter.hit(limit, namespace, identifier):
                return await self.retry_after(limit, namespace, identifier)
        return 0.0

    async def exceeded(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> float:
        """Like `hit` but without counting: 0 while every limit has room, else the seconds
        until it has. For throttles that count only failures (bad keys, bad passwords)."""
        for limit in limits:
            if not await self._limiter.test(limit, namespace, identifier):
                return await self.retry_after(limit, namespace, identifier)
        return 0.0

    async def retry_after(self, limit: RateLimitItem, namespace: str, identifier: str) -> float:
        stats = await self._limiter.get_window_stats(limit, namespace, identifier)
        return max(1.0, stats.reset_time - time.time())

    async def clear(self, limits: list[RateLimitItem], namespace: str, identifier: str) -> None:
        """Forget the counts (e.g. a successful login ends its failure streak)."""
        for limit in limits:
            await self._limiter.clear(limit, namespace, identifier)


def retry_after_header(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (never 0: that invites a tight loop)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
