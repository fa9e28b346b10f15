"""Sign-in throttling per account and per client address, on the process's rate limiter
(`northstar.http.ratelimit`, the `limits` library's moving windows).

Only failed attempts count; once either limit is reached every attempt for that account
or from that address is refused with 429 and `Retry-After` until the window has room
again, whether or not the password would be right. Unknown emails count like known ones,
so the answer says nothing about which emails exist. The counters live where
`NORTHSTAR_RATE_LIMIT_STORAGE` says: in the process (each api worker counts on its own) or
in a shared Redis (every worker and replica counts together). A shared store that does not
answer refuses sign-in with 503 and `Retry-After`: an unthrottled sign-in is never the
fallback.
"""

from __future__ import annotations

import logging
import math

from northstar.http.problems import Problem
from northstar.http.ratelimit import (
    UNAVAILABLE_RETRY_AFTER,
    RateLimiter,
    RateLimitStoreUnavailable,
    parse_limits,
)

log = logging.getLogger("northstar.api.sessions")


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, per_account: str, per_address: str) -> None:
        self._limiter = limiter
        self._account = parse_limits(per_account)
        self._address = parse_limits(per_address)

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds until an attempt may be made, or None when it may be made now."""
        try:
            wait = max(
                await self._limiter.exceeded(self._account, "login-account", email),
                await self._limiter.exceeded(self._address, "login-address", address),
            )
        except RateLimitStoreUnavailable as error:
            raise _unavailable(error) from error
        return max(1, math.ceil(wait)) if wait else None

    async def failed(self, email: str, address: str) -> None:
        try:
            await self._limiter.hit(self._account, "login-account", email)
            await self._limiter.hit(self._address, "login-address", address)
        except RateLimitStoreUnavailable as error:
            raise _unavailable(error) from error


def _unavailable(error: RateLimitStoreUnavailable) -> Problem:
    log.error("rate limit store unreachable", extra={"error": str(error)})
    return Problem(
        503,
        "Sign-in is unavailable for a moment (its throttle cannot be checked); "
        "retry after Retry-After seconds.",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )
