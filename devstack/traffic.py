"""Demo traffic: a small online business pushing metric events to ingest.

`python -m devstack.traffic --ingest URL --key KEY --rate N` sends about N events a
second, in batches, until stopped. Without `--key` it creates an `events:write` key
through the api with the admin key (`--admin-key` or `NORTHSTAR_BOOTSTRAP_ADMIN_KEY`).

The business: visits and signups by region and channel; orders with their revenue and
cost; support tickets with resolution times and satisfaction scores by team. Each batch
is retried with the same event ids after 429/503 or a network error (honouring
`Retry-After`, with exponential backoff), so ingest's dedupe on `(source, event_id)`
keeps retried batches from counting twice.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import httpx

log = logging.getLogger("devstack.traffic")

Event = dict[str, Any]

REGIONS = ("eu", "na", "apac", "latam")
REGION_WEIGHTS = (0.35, 0.4, 0.18, 0.07)
CHANNELS = ("web", "mobile", "partner", "retail")
CHANNEL_WEIGHTS = (0.5, 0.3, 0.12, 0.08)
TEAMS = ("support-eu", "support-na", "support-apac")
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (0.3, 0.5, 0.15, 0.05)
COST_CATEGORIES = ("goods", "shipping", "payment_fees")

#: Relative frequency of each kind of business activity in the event stream.
ACTIVITY_WEIGHTS = {"visit": 0.45, "signup": 0.1, "order": 0.2, "ticket": 0.15, "resolution": 0.1}

#: Every metric this generator produces; the demo seed defines KPIs over these.
METRICS = (
    "visits",
    "signups",
    "orders",
    "revenue",
    "cost",
    "tickets_opened",
    "ticket_resolution_hours",
    "csat_score",
)


class TrafficError(RuntimeError):
    """The generator cannot continue (e.g. its key was rejected)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _event(metric: str, value: float, dimensions: dict[str, str], at: datetime) -> Event:
    return {
        "event_id": f"demo-{uuid.uuid4().hex}",
        "metric": metric,
        "value": value,
        "timestamp": at.isoformat(),
        "dimensions": dimensions,
    }


def business_activity(rng: random.Random, at: datetime) -> list[Event]:
    """The events of one piece of business activity (an order yields orders+revenue+cost)."""
    kind = rng.choices(list(ACTIVITY_WEIGHTS), weights=list(ACTIVITY_WEIGHTS.values()))[0]
    region = rng.choices(REGIONS, weights=REGION_WEIGHTS)[0]
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    team = TEAMS[min(REGIONS.index(region), len(TEAMS) - 1)]
    if kind == "visit":
        return [
            _event("visits", float(rng.randint(1, 40)), {"region": region, "channel": channel}, at)
        ]
    if kind == "signup":
        return [_event("signups", 1.0, {"region": region, "channel": channel}, at)]
    if kind == "order":
        revenue = round(rng.lognormvariate(math.log(60.0), 0.6), 2)
        category = rng.choice(COST_CATEGORIES)
        cost_share = {"goods": 0.55, "shipping": 0.08, "payment_fees": 0.03}[category]
        cost = round(revenue * cost_share * rng.uniform(0.8, 1.2), 2)
        dims = {"region": region, "channel": channel}
        return [
            _event("orders", 1.0, dims, at),
            _event("revenue", revenue, dims, at),
            _event("cost", cost, {**dims, "category": category}, at),
        ]
    if kind == "ticket":
        priority = rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0]
        return [_event("tickets_opened", 1.0, {"team": team, "priority": priority}, at)]
    hours = round(rng.lognormvariate(math.log(6.0), 0.8), 2)
    # Slow resolutions make for unhappy customers: the score leans on the hours.
    base = 4.6 - min(hours, 48.0) / 16.0
    score = float(max(1, min(5, round(rng.gauss(base, 0.7)))))
    return [
        _event("ticket_resolution_hours", hours, {"team": team}, at),
        _event("csat_score", score, {"team": team}, at),
    ]


def generate_batch(rng: random.Random, size: int, at: datetime | None = None) -> list[Event]:
    """At least `size` events (an activity is never split across batches)."""
    at = at or _now()
    events: list[Event] = []
    while len(events) < size:
        events.extend(business_activity(rng, at))
    return events


def create_ingest_key(api_url: str, admin_key: str, *, timeout: float = 60.0) -> str:
    """Create an `events:write` key named `demo-traffic`; waits for the api to come up."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api_url, timeout=10.0) as client:
        while True:
            try:
                response = client.post(
                    "/v1/api-keys",
                    json={"name": "demo-traffic", "scopes": ["events:write"]},
                    headers={"Authorization": f"Bearer {admin_key}"},
                )
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise TrafficError(f"api at {api_url} unreachable: {exc}") from exc
                time.sleep(1.0)
                continue
            if response.status_code in (200, 201):
                key: str = response.json()["key"]
                return key
            raise TrafficError(
                f"creating the demo key failed: HTTP {response.status_code} {response.text[:300]}"
            )


@dataclass
class TrafficStats:
    batches: int = 0
    accepted: int = 0
    retries: int = 0
    dropped: int = 0


@dataclass
class TrafficGenerator:
    """Sends batches to ingest at `rate` events per second until `stop` is set."""

    ingest_url: str
    key: str
    rate: float = 20.0
    batch_size: int = 10
    rng: random.Random = field(default_factory=random.Random)
    stop: threading.Event = field(default_factory=threading.Event)
    max_backoff: float = 30.0
    stats: TrafficStats = field(default_factory=TrafficStats)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None

    def _wait(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self.stop.wait(seconds)

    def send(self, client: httpx.Client, events: list[Event]) -> bool:
        """Deliver one batch, retrying on 429/503/network errors; False if it was dropped."""
        backoff = 0.5
        while not self.stop.is_set():
            try:
                response = client.post("/v1/events", json={"events": events})
            except httpx.TransportError as exc:
                delay = backoff
                log.warning("ingest unreachable (%s); retrying in %.1fs", exc, delay)
            else:
                if response.status_code == 202:
                    self.stats.accepted += int(response.json().get("accepted", len(events)))
                    return True
                if response.status_code in (429, 503):
                    delay = max(backoff, _retry_after(response))
                    log.warning(
                        "ingest answered %s; retrying in %.1fs", response.status_code, delay
                    )
                elif response.status_code in (401, 403):
                    detail = response.text[:300]
                    raise TrafficError(
                        f"ingest rejected the key: HTTP {response.status_code} {detail}"
                    )
                else:
                    self.stats.dropped += len(events)
                    log.error(
                        "ingest rejected a batch of %s events: HTTP %s %s",
                        len(events),
                        response.status_code,
                        response.text[:500],
                    )
                    return False
            self.stats.retries += 1
            self._wait(delay)
            backoff = min(backoff * 2, self.max_backoff)
        return False

    def run(self, duration: float | None = None) -> TrafficStats:
        """Send until `stop` is set or `duration` seconds have passed."""
        started = time.monotonic()
        sent = 0
        last_report = started
        with httpx.Client(
            base_url=self.ingest_url,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30.0,
            transport=self.transport,
        ) as client:
            while not self.stop.is_set():
                now = time.monotonic()
                if duration is not None and now - started >= duration:
                    break
                # Pace by the schedule, not by the last send, so retries do not lower the rate.
                due = started + sent / self.rate
                if due > now:
                    self._wait(due - now)
                    continue
                batch = generate_batch(self.rng, self.batch_size)
                self.send(client, batch)
                sent += len(batch)
                self.stats.batches += 1
                if now - last_report >= 10.0:
                    last_report = now
                    log.info(
                        "sent %s events (%s accepted, %s retries, %s dropped)",
                        sent,
                        self.stats.accepted,
                        self.stats.retries,
                        self.stats.dropped,
                    )
        return self.stats


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "1")
    try:
        return max(0.0, float(value))
    except ValueError:
        log.warning("unparseable Retry-After %r; waiting 1s", value)
        return 1.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.traffic", description=__doc__)
    parser.add_argument("--ingest", default="http://127.0.0.1:8001", help="ingest base URL")
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="api base URL")
    parser.add_argument(
        "--key",
        default=os.environ.get("NORTHSTAR_TRAFFIC_KEY"),
        help="an events:write key (default: create one with the admin key)",
    )
    parser.add_argument("--admin-key", default=os.environ.get("NORTHSTAR_BOOTSTRAP_ADMIN_KEY"))
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much
    if args.rate <= 0 or args.batch_size <= 0:
        parser.error("--rate and --batch-size must be positive")

    key = args.key
    if not key:
        if not args.admin_key:
            parser.error(
                "give --key, or --admin-key (or NORTHSTAR_BOOTSTRAP_ADMIN_KEY) to make one"
            )
        key = create_ingest_key(args.api, args.admin_key)
        log.info("created events:write key 'demo-traffic'")

    generator = TrafficGenerator(
        ingest_url=args.ingest,
        key=key,
        rate=args.rate,
        batch_size=args.batch_size,
        rng=random.Random(args.seed),
    )

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received; stopping", signal.Signals(signum).name)
        generator.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("sending about %.0f events/s to %s", args.rate, args.ingest)
    try:
        stats = generator.run(args.duration)
    except TrafficError as exc:
        log.error("%s", exc)
        return 2
    log.info(
        "done: %s batches, %s events accepted, %s retries, %s dropped",
        stats.batches,
        stats.accepted,
        stats.retries,
        stats.dropped,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
