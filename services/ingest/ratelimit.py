"""Per-key token buckets: how many events a key may push per second (burst: two seconds)."""

from __future__ import annotations

import math
import time
import uuid


class RateLimiter:
    def __init__(self, events_per_second: float) -> None:
        self._rate = events_per_second
        self._burst = events_per_second * 2
        self._buckets: dict[uuid.UUID, tuple[float, float]] = {}

    def acquire(self, key: uuid.UUID, events: int) -> float:
        """Take `events` tokens. Returns 0 when allowed, else the seconds to wait."""
        if self._rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        # A request larger than the burst costs a full bucket, so it can always pass eventually.
        cost = min(float(events), self._burst)
        if cost > tokens:
            self._buckets[key] = (tokens, now)
            return max(1.0, math.ceil((cost - tokens) / self._rate))
        self._buckets[key] = (tokens - cost, now)
        return 0.0
