"""Sign-in throttling per account and per client address (the `limits` library).

Only failed attempts count, in a moving window; once either limit is reached every
attempt for that account or from that address is refused with 429 and `Retry-After`
until the window has room again, whether or not the password would be right. Unknown
emails count like known ones, so the answer says nothing about which emails exist.

The counters live in the process (`limits`' memory storage): with several api workers
each counts on its own, so the effective limit is the configured one times the workers.
"""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies


class LoginThrottle:
    def __init__(self, per_account: str, per_address: str) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._account = parse(per_account)
        self._address = parse(per_address)

    def retry_after(self, email: str, address: str) -> int | None:
        """Seconds until an attempt may be made, or None when it may be made now."""
        waits = []
        for limit, key in ((self._account, email), (self._address, address)):
            if not self._limiter.test(limit, "login", key):
                reset_at = self._limiter.get_window_stats(limit, "login", key).reset_time
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits) if waits else None

    def failed(self, email: str, address: str) -> None:
        self._limiter.hit(self._account, "login", email)
        self._limiter.hit(self._address, "login", address)
