"""The OpenAPI document describes every units, KPIs and goals route and field."""

from __future__ import annotations

import httpx

from tests.api.conftest import ok


async def test_every_route_and_field_is_described(client: httpx.AsyncClient) -> None:
    document = ok(await client.get("/openapi.json"))
    paths = {
        p: ops
        for p, ops in document["paths"].items()
        if p.startswith(("/v1/units", "/v1/kpis", "/v1/goals"))
    }
    assert "/v1/goals/tree" in paths
    assert "/v1/kpis/{key}/values" in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
    schemas = document["components"]["schemas"]
    for name in ("GoalOut", "GoalStatusOut", "KpiOut", "UnitOut", "GoalHistory", "KpiValues"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)
