"""Spreadsheet import rate: `text/csv` files against the same rows as JSON batches.

Both are sent one request at a time by one client to the same ingest process in the same
run, so their ratio says what the CSV path costs per row, whatever the machine's load. A
CSV file holds `ROWS_PER_FILE` rows (one request, within the 5 MiB limit); JSON carries
the same rows in batches of `JSON_BATCH` (its per-request event limit).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from bench.workload import event_dicts

ROWS_PER_FILE = 50_000
JSON_BATCH = 10_000


def _csv(events: list[dict[str, object]]) -> bytes:
    lines = ["metric,value,timestamp,event_id,dimensions.region,dimensions.channel\n"]
    for e in events:
        dims = e["dimensions"]
        assert isinstance(dims, dict)
        lines.append(
            f"{e['metric']},{e['value']},{e['timestamp']},{e['event_id']},"
            f"{dims['region']},{dims['channel']}\n"
        )
    return "".join(lines).encode()


async def rates(url: str, key: str, files: int) -> tuple[float, float]:
    """(CSV rows/s, JSON events/s) for `files` files of `ROWS_PER_FILE` rows each."""
    rng = random.Random(11)
    start = datetime.now(UTC) - timedelta(hours=1)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=120) as client:

        async def send(body: bytes, content_type: str, expect: int) -> None:
            response = await client.post(
                f"{url}/v1/events", content=body, headers={**headers, "Content-Type": content_type}
            )
            if response.status_code != 202 or response.json()["accepted"] != expect:
                raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")

        def batch(prefix: str) -> list[dict[str, object]]:
            return event_dicts(
                rng, ROWS_PER_FILE, start=start, spread=timedelta(minutes=50), id_prefix=prefix
            )

        await send(_csv(batch("warm")), "text/csv", ROWS_PER_FILE)
        csv_seconds = json_seconds = 0.0
        for run in range(files):
            body = _csv(batch(f"csv{run}-"))
            started = time.perf_counter()
            await send(body, "text/csv", ROWS_PER_FILE)
            csv_seconds += time.perf_counter() - started

            events = batch(f"json{run}-")
            bodies = [
                orjson.dumps({"events": events[i : i + JSON_BATCH]})
                for i in range(0, len(events), JSON_BATCH)
            ]
            started = time.perf_counter()
            for body in bodies:
                await send(body, "application/json", JSON_BATCH)
            json_seconds += time.perf_counter() - started
    rows = files * ROWS_PER_FILE
    return rows / csv_seconds, rows / json_seconds
