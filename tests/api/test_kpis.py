"""`/v1/kpis`: CRUD, expression errors with their position, delete rules, re-evaluation on
a new expression, and the time series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import Ingest, ok

RATIO = '100*sum(x{region="eu"})/sum(y{region="eu"})'


def _kpi(key: str, expression: str, **extra: object) -> dict[str, object]:
    return {"key": key, "name": key.title(), "expression": expression, "kind": "lagging"} | extra


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    created = ok(
        await client.post(
            "/v1/kpis",
            json=_kpi(
                "conversion", RATIO, unit="%", description="Won per lead", max_staleness="P2W"
            ),
        ),
        201,
    )
    assert created["expression"] == '100 * sum(x{region="eu"}) / sum(y{region="eu"})'
    assert created["metrics"] == ["x", "y"]
    assert created["max_staleness"] == "P14D"
    assert created["unit"] == "%"
    assert created["kind"] == "lagging"

    assert ok(await client.get("/v1/kpis/conversion"))["name"] == "Conversion"

    patched = ok(
        await client.patch(
            "/v1/kpis/conversion",
            json={"name": "Conversion EU", "kind": "leading", "max_staleness": "PT6H"},
        )
    )
    assert patched["name"] == "Conversion EU"
    assert patched["kind"] == "leading"
    assert patched["max_staleness"] == "PT6H"
    assert patched["expression"] == created["expression"]

    cleared = ok(await client.patch("/v1/kpis/conversion", json={"max_staleness": None}))
    assert cleared["max_staleness"] is None

    rewritten = ok(
        await client.patch("/v1/kpis/conversion", json={"expression": "sum( revenue )-sum(cost)"})
    )
    assert rewritten["expression"] == "sum(revenue) - sum(cost)"
    assert rewritten["metrics"] == ["cost", "revenue"]

    ok(await client.delete("/v1/kpis/conversion"), 204)
    gone = await client.get("/v1/kpis/conversion")
    assert gone.status_code == 404
    assert "'conversion'" in gone.json()["detail"]


async def test_validation_and_conflicts(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/kpis", json=_kpi("revenue", "sum(revenue)")), 201)
    duplicate = await client.post("/v1/kpis", json=_kpi("revenue", "sum(revenue)"))
    assert duplicate.status_code == 409
    assert "revenue" in duplicate.json()["detail"]

    for key in ("Revenue", "1abc", "a-b", "x" * 65):
        response = await client.post("/v1/kpis", json=_kpi(key, "sum(a)"))
        assert response.status_code == 422, key
        assert response.json()["errors"][0]["field"] == "key"

    bad_kind = await client.post("/v1/kpis", json=_kpi("k", "sum(a)", kind="middling"))
    assert bad_kind.status_code == 422

    bad_duration = await client.post("/v1/kpis", json=_kpi("k", "sum(a)", max_staleness="6h"))
    assert bad_duration.status_code == 422
    assert bad_duration.json()["errors"][0]["field"] == "max_staleness"

    no_key_change = await client.patch("/v1/kpis/revenue", json={"key": "other"})
    assert no_key_change.status_code == 422

    assert (await client.get("/v1/kpis/missing")).status_code == 404
    assert (await client.patch("/v1/kpis/missing", json={"name": "x"})).status_code == 404
    assert (await client.delete("/v1/kpis/missing")).status_code == 404


async def test_expression_error_points_at_the_position(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/kpis", json=_kpi("broken", "sum(revenue)) * 2"))
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"] == [
        {"field": "expression", "message": "unexpected ')'", "position": 12}
    ]
    # The detail shows the text with a caret under the offending character.
    assert "position 12" in problem["detail"]
    lines = problem["detail"].splitlines()
    assert lines[-2] == "  sum(revenue)) * 2"
    assert lines[-1] == "  " + " " * 12 + "^"

    unknown = await client.post("/v1/kpis", json=_kpi("broken", "median(x)"))
    assert unknown.json()["errors"][0]["position"] == 0
    assert "unknown function" in unknown.json()["errors"][0]["message"]

    ok(await client.post("/v1/kpis", json=_kpi("fine", "sum(a)")), 201)
    patched = await client.patch("/v1/kpis/fine", json={"expression": 'sum(a{region="eu)'})
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["position"] == 13
    assert ok(await client.get("/v1/kpis/fine"))["expression"] == "sum(a)"


async def test_delete_refused_while_goals_use_it(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/kpis", json=_kpi("revenue", "sum(revenue)")), 201)
    goal = ok(await client.post("/v1/goals", json={"title": "G", "kpi": "revenue"}), 201)
    blocked = await client.delete("/v1/kpis/revenue")
    assert blocked.status_code == 409
    assert "1 goal" in blocked.json()["detail"]
    ok(await client.delete(f"/v1/goals/{goal['id']}"), 204)
    ok(await client.delete("/v1/kpis/revenue"), 204)


async def test_new_expression_re_evaluates_goals(client: httpx.AsyncClient, ingest: Ingest) -> None:
    now = datetime.now(UTC)
    await ingest(
        [("x", 90.0, now - timedelta(hours=1), {}), ("y", 50.0, now - timedelta(hours=1), {})]
    )
    ok(await client.post("/v1/kpis", json=_kpi("level", "sum(x)")), 201)
    goal = ok(
        await client.post(
            "/v1/goals",
            json={
                "title": "Keep the level",
                "kpi": "level",
                "type": "stay_above",
                "target": 80,
                "pacing": "none",
                "start": (now - timedelta(days=1)).isoformat(),
                "due": (now + timedelta(days=1)).isoformat(),
            },
        ),
        201,
    )
    assert goal["status"]["status"] == "on_track"
    assert goal["status"]["actual"] == 90.0

    ok(await client.patch("/v1/kpis/level", json={"expression": "sum(y)"}))
    status = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    assert status["actual"] == 50.0
    assert status["status"] == "off_track"


async def test_values_series(client: httpx.AsyncClient, ingest: Ingest) -> None:
    now = datetime.now(UTC)
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    eu, us = {"region": "eu"}, {"region": "us"}
    await ingest(
        [
            ("x", 10.0, base + timedelta(minutes=10), eu),
            ("x", 20.0, base + timedelta(minutes=20), eu),
            ("x", 1000.0, base + timedelta(minutes=20), us),
            ("y", 50.0, base + timedelta(minutes=30), eu),
            ("y", 999.0, base + timedelta(minutes=30), us),
            ("x", 30.0, base + timedelta(hours=1, minutes=5), eu),
            ("y", 30.0, base + timedelta(hours=1, minutes=5), eu),
            ("x", 5.0, base + timedelta(hours=2, minutes=5), eu),  # y is 0 → no value
        ]
    )
    ok(await client.post("/v1/kpis", json=_kpi("conversion", RATIO)), 201)

    series = ok(
        await client.get(
            "/v1/kpis/conversion/values",
            params={
                "from": (base + timedelta(minutes=7)).isoformat(),
                "to": (base + timedelta(hours=3)).isoformat(),
                "step": "PT1H",
            },
        )
    )
    assert series["key"] == "conversion"
    assert series["step"] == "PT1H"
    assert datetime.fromisoformat(series["from"]) == base  # aligned down to the step
    assert [(datetime.fromisoformat(p["time"]), p["value"]) for p in series["points"]] == [
        (base, 60.0),
        (base + timedelta(hours=1), 100.0),
        (base + timedelta(hours=2), None),
    ]

    default = ok(await client.get("/v1/kpis/conversion/values"))
    assert default["step"] == "PT1H"  # 7 days / 500 points → rounded up to 1 hour
    assert datetime.fromisoformat(default["to"]) >= now
    assert [p["value"] for p in default["points"]] == [60.0, 100.0, None]

    short = ok(
        await client.get(
            "/v1/kpis/conversion/values",
            params={"from": base.isoformat(), "to": (base + timedelta(hours=1)).isoformat()},
        )
    )
    assert short["step"] == "PT1M"
    # Each minute on its own: x without y has no value, y without x is 0.
    assert [(datetime.fromisoformat(p["time"]), p["value"]) for p in short["points"]] == [
        (base + timedelta(minutes=10), None),
        (base + timedelta(minutes=20), None),
        (base + timedelta(minutes=30), 0.0),
    ]

    for params, field in (
        ({"step": "PT30S"}, "step"),
        ({"step": "PT1M"}, "step"),  # 7 days of minutes is more than 5000 points
        ({"step": "soon"}, "step"),
        ({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}, "from"),
    ):
        response = await client.get("/v1/kpis/conversion/values", params=params)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["field"] == field
    naive = await client.get("/v1/kpis/conversion/values", params={"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert (await client.get("/v1/kpis/missing/values")).status_code == 404


async def test_expression_check_parses_without_saving(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/v1/kpis/expression-check", json={"expression": 'sum(revenue{region="eu"})/sum(orders)'}
    )
    assert ok.status_code == 200
    assert ok.json()["metrics"] == ["orders", "revenue"]
    assert ok.json()["expression"].startswith("sum(revenue{")
    bad = await client.post("/v1/kpis/expression-check", json={"expression": "sum(revenue)) * 2"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "expression", "message": "unexpected ')'", "position": 12}
    ]
    assert (await client.get("/v1/kpis")).json()["items"] == []


async def test_expression_check_warns_of_names_not_in_the_catalogue(
    client: httpx.AsyncClient, ingest: Ingest
) -> None:
    await ingest([("revenue", 10.0, datetime.now(UTC), {"region": "eu"})])
    checked = await client.post(
        "/v1/kpis/expression-check",
        json={"expression": 'sum(revenue{regoin="eu"}) / sum(revenu)'},
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["warnings"] == [
        {
            "metric": "revenu",
            "label": None,
            "suggestion": "revenue",
            "message": "no event has carried the metric “revenu” yet; did you mean “revenue”?",
        },
        {
            "metric": "revenue",
            "label": "regoin",
            "suggestion": "region",
            "message": "no “revenue” event has carried the label “regoin” yet; "
            "did you mean “region”?",
        },
    ]
    fine = await client.post(
        "/v1/kpis/expression-check", json={"expression": 'sum(revenue{region="eu"})'}
    )
    assert fine.json()["warnings"] == []
