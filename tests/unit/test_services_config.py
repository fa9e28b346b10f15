"""Settings fail fast naming the variable; the per-key rate limiter."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from services.ingest.ratelimit import RateLimiter


def run_service(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", ["services.ingest", "services.evaluator", "services.api"])
def test_missing_database_url_is_named(module: str) -> None:
    result = run_service(module, {"NORTHSTAR_KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert result.returncode == 2
    assert "NORTHSTAR_DATABASE_URL: is required but not set" in result.stderr


def test_bad_values_are_named() -> None:
    result = run_service(
        "services.ingest",
        {
            "NORTHSTAR_DATABASE_URL": "mysql://x",
            "NORTHSTAR_KAFKA_BOOTSTRAP": "no-port",
            "NORTHSTAR_HTTP_PORT": "99999",
        },
    )
    assert result.returncode == 2
    for name in ("NORTHSTAR_DATABASE_URL", "NORTHSTAR_KAFKA_BOOTSTRAP", "NORTHSTAR_HTTP_PORT"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_rate_limiter_allows_a_burst_then_refuses() -> None:
    limiter = RateLimiter(events_per_second=10)
    key = uuid.uuid4()
    assert limiter.acquire(key, 20) == 0  # the two-second burst
    assert limiter.acquire(key, 5) >= 1
    assert limiter.acquire(uuid.uuid4(), 5) == 0  # keys have their own buckets
    assert RateLimiter(events_per_second=0).acquire(key, 10**6) == 0  # disabled
    # A request larger than the burst passes on a full bucket rather than never.
    assert RateLimiter(events_per_second=10).acquire(key, 1000) == 0
