"""Sign-in throttling per account and per client address, on the shared rate limiter
(`northstar.http.ratelimit`, the `limits` library's moving windows).

Only failed attempts count; once either limit is reached every attempt for that account
or from that address is refused with 429 and `Retry-After` until the window has room
again, whether or not the password would be right. Unknown emails count like known ones,
so the answer says nothing about which emails exist. Counters live in the process: with
several api workers each counts on its own (see the module above).
"""

from __future__ import annotations

import math

from northstar.http.ratelimit import RateLimiter, parse_limits


class LoginThrottle:
    def __init__(self, per_account: str, per_address: str) -> None:
        self._limiter = RateLimiter()
        self._account = parse_limits(per_account)
        self._address = parse_limits(per_address)

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds until an attempt may be made, or None when it may be made now."""
        wait = max(
            await self._limiter.exceeded(self._account, "login-account", email),
            await self._limiter.exceeded(self._address, "login-address", address),
        )
        return max(1, math.ceil(wait)) if wait else None

    async def failed(self, email: str, address: str) -> None:
        await self._limiter.hit(self._account, "login-account", email)
        await self._limiter.hit(self._address, "login-address", address)
