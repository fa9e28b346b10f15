"""`python -m bench.loadgen`: HTTP load on ingest from a process of its own.

A deliberately small HTTP/1.1 client on asyncio streams (keep-alive, Content-Length
bodies, nothing else): a general-purpose client spends more CPU per request than the
server under test, and on a two-core machine every cycle the load generator burns is
one the services do not get. Each of `--connections` connections posts bodies in a
loop, back to back (`--rate 0`) or paced to a total events/s. Only 202 answers count as
accepted. The result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from bench.workload import body_template, fill


class HttpError(RuntimeError):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs bodies."""

    def __init__(self, host: str, port: int, path: str, key: str) -> None:
        self._host, self._port, self._path = host, port, path
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            "Content-Length: "
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(self._head + b"%d\r\n\r\n" % len(body) + body)
        status_line = await self._reader.readline()
        if not status_line:
            await self.close()
            raise HttpError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        closing = False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                closing = True
        payload = await self._reader.readexactly(length) if length else b""
        if closing:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class Stats:
    requests: int = 0
    accepted: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


async def _worker(
    conn: Connection,
    template: bytes,
    counter: list[int],
    stats: Stats,
    measure_from: float,
    until: float,
    interval: float,
    offset: float,
) -> None:
    next_at = time.monotonic() + offset
    while True:
        now = time.monotonic()
        if now >= until:
            return
        if interval:
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
        counter[0] += 1
        body = fill(template, counter[0])
        sent = time.monotonic()
        try:
            status, payload = await conn.post(body)
        except (OSError, HttpError, asyncio.IncompleteReadError):
            await conn.close()
            status, payload = 0, b""
        done = time.monotonic()
        if sent < measure_from or done > until:
            continue
        stats.requests += 1
        stats.statuses[str(status)] = stats.statuses.get(str(status), 0) + 1
        stats.latencies_ms.append((done - sent) * 1000)
        if status == 202:
            stats.accepted += orjson.loads(payload)["accepted"]
        else:
            stats.failed += 1


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    host, _, port = args.url.removeprefix("http://").rstrip("/").rpartition(":")
    rng = random.Random(args.seed)
    template = body_template(
        rng, args.batch, at=datetime.now(UTC) - timedelta(seconds=30), spread=timedelta(seconds=30)
    )
    stats = Stats()
    counter = [args.seed * 10_000_000]
    started = time.monotonic()
    measure_from = started + args.warmup
    until = measure_from + args.duration
    # Paced mode: each connection sends one batch every `interval` seconds, staggered.
    interval = args.connections * args.batch / args.rate if args.rate else 0.0
    conns = [Connection(host, int(port), "/v1/events", args.key) for _ in range(args.connections)]
    await asyncio.gather(
        *(
            _worker(
                c,
                template,
                counter,
                stats,
                measure_from,
                until,
                interval,
                i * interval / len(conns),
            )
            for i, c in enumerate(conns)
        )
    )
    for c in conns:
        await c.close()
    return {
        "seconds": args.duration,
        "requests": stats.requests,
        "accepted": stats.accepted,
        "failed": stats.failed,
        "statuses": stats.statuses,
        "events_per_second": stats.accepted / args.duration,
        "p50_ms": _percentile(stats.latencies_ms, 0.50),
        "p95_ms": _percentile(stats.latencies_ms, 0.95),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="ingest base URL, http://host:port")
    parser.add_argument("--key", required=True, help="an events:write API key")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000, help="events per request")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s in total; 0 = max")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    result = asyncio.run(run(args))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
