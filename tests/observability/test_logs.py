"""Every service logs one JSON object a line with NORTHSTAR_LOG_FORMAT=json, and the lines
carry the context needed to find them: the request id on api and ingest (the same id the
client sent or got back in X-Request-ID), the partition/offset range on evaluator batches.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from devstack.processes import ServiceProcess
from tests.conftest import StartService
from tests.support import eventually

JSON_LOGS = {"NORTHSTAR_LOG_FORMAT": "json"}


def json_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every line the service wrote, parsed; the harness' own `=== start` markers aside."""
    entries = []
    for line in service.log_path.read_text().splitlines():
        if not line.strip() or line.startswith("=== "):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(
                f"{service.name} wrote a line that is not JSON: {line!r}"
            ) from None
        assert isinstance(entry, dict), line
        assert {"ts", "level", "logger", "msg"} <= set(entry), line
        entries.append(entry)
    return entries


async def test_services_log_json_lines_with_request_and_batch_context(
    start_service: StartService, admin_key: str
) -> None:
    api = start_service("api", env=JSON_LOGS)
    ingest = start_service("ingest", env=JSON_LOGS)
    evaluator = start_service("evaluator", env={**JSON_LOGS, "NORTHSTAR_LOG_LEVEL": "DEBUG"})

    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{api.url}/v1/api-keys",
            json={"name": "log-test", "scopes": ["events:write"]},
            headers={"Authorization": f"Bearer {admin_key}", "X-Request-ID": "req-api-1"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == "req-api-1"
        pushed = await client.post(
            f"{ingest.url}/v1/events",
            json={"metric": "orders", "value": 1},
            headers={"Authorization": f"Bearer {created.json()['key']}"},
        )
        assert pushed.status_code == 202, pushed.text
        generated_id = pushed.headers["x-request-id"]

    async def request_lines() -> list[dict[str, Any]]:
        return [e for s in (api, ingest) for e in json_lines(s) if "request_id" in e]

    lines = await eventually(
        request_lines,
        lambda found: {e["request_id"] for e in found} >= {"req-api-1", generated_id},
        within=10,
        what="request log lines with both request ids",
    )
    by_id = {e["request_id"]: e for e in lines}
    assert by_id["req-api-1"]["msg"] == "POST /v1/api-keys 201"
    assert by_id[generated_id]["msg"] == "POST /v1/events 202"
    assert by_id[generated_id]["logger"] == "northstar.request"
    assert isinstance(by_id[generated_id]["duration_ms"], int | float)

    async def batch_lines() -> list[dict[str, Any]]:
        return [e for e in json_lines(evaluator) if "batch" in e]

    batches = await eventually(
        batch_lines, bool, within=15, what="an evaluator log line with batch context"
    )
    # `partition:first-last` per partition, comma-separated.
    for part in batches[0]["batch"].split(","):
        partition, _, offsets = part.partition(":")
        first, _, last = offsets.partition("-")
        assert partition.isdigit() and first.isdigit() and last.isdigit(), batches[0]
