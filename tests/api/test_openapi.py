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


async def test_errors_are_documented_as_problem_json_with_the_bearer_scheme(
    client: httpx.AsyncClient,
) -> None:
    document = ok(await client.get("/openapi.json"))
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer <key>`.",
    }
    assert {"bearer": []} in document["security"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("400", "401", "403", "404", "422", "429", "500"):
                assert code in responses, (method, path, code)
            for code, response in responses.items():
                if code[0] in "45":
                    media = list(response["content"])
                    # The browser sign-in routes also answer a page in words (docs/sso.md).
                    if path.startswith("/v1/auth/oidc/"):
                        media = [m for m in media if m != "text/html"]
                    assert media == ["application/problem+json"], (method, path, code)
    login = document["paths"]["/v1/auth/login"]["post"]
    assert login["security"] == []


async def test_docs_and_redoc_need_no_internet(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "cdn." not in html and "https://" not in html.replace("https://fastapi", "")
        for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/redoc.standalone.js"):
            if asset.rsplit("/", 1)[1].split(".")[0] in html:
                response = await client.get(asset)
                assert response.status_code == 200 and len(response.content) > 100_000
    assert "/docs-assets/swagger-ui-bundle.js" in (await client.get("/docs")).text
    assert "/docs-assets/redoc.standalone.js" in (await client.get("/redoc")).text
