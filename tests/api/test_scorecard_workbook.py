"""`GET /v1/goals/scorecard.xlsx`: the scorecard as an Excel workbook that openpyxl reads
back, goals in cascade order with names (unit, owner, KPI) and numbers as numbers; a
viewer may download it; archived goals are left out."""

from __future__ import annotations

import io

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook

from tests.api.conftest import ok
from tests.api.test_sessions import make_user, signed_in


async def test_the_scorecard_downloads_as_a_workbook_a_viewer_may_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(client, "olga@example.org", role="member")
    await make_user(client, "vera@example.org", role="viewer")
    unit = ok(await client.post("/v1/units", json={"name": "Sales", "kind": "department"}), 201)
    ok(
        await client.post(
            "/v1/kpis",
            json={
                "key": "revenue",
                "name": "Revenue",
                "expression": "sum(revenue)",
                "kind": "lagging",
                "unit": "EUR",
            },
        ),
        201,
    )
    parent = ok(await client.post("/v1/goals", json={"title": "Grow"}), 201)
    child = ok(
        await client.post(
            "/v1/goals",
            json={
                "title": "Revenue 2027",
                "kpi": "revenue",
                "target": 44_600_000,
                "parent_id": parent["id"],
                "unit_id": unit["id"],
                "owner_id": owner["id"],
            },
        ),
        201,
    )
    ok(await client.post("/v1/goals", json={"title": "Hire", "owner": "COO"}), 201)
    old = ok(await client.post("/v1/goals", json={"title": "Old", "parent_id": parent["id"]}), 201)
    ok(await client.patch(f"/v1/goals/{old['id']}", json={"archived": True}))

    async with signed_in(app, "vera@example.org") as viewer:
        answer = await viewer.get("/v1/goals/scorecard.xlsx")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in answer.headers["content-disposition"]
    assert ".xlsx" in answer.headers["content-disposition"]

    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    by_title = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["Grow", "Revenue 2027", "Hire"], (
        "cascade order, the archived goal left out"
    )
    revenue = by_title["Revenue 2027"]
    assert revenue["Parent goal"] == "Grow"
    assert revenue["Unit"] == "Sales"
    assert revenue["Owner"] == "Olga"
    assert revenue["KPI"] == "Revenue"
    assert revenue["Target"] == 44_600_000
    assert revenue["Measured in"] == "EUR"
    assert revenue["Status"] in ("No data", "On track", "Not started", "Off track", "At risk")
    assert by_title["Hire"]["Owner"] == "COO"
    assert sheet.cell(3, 1).alignment.indent == 1, "a child is indented under its parent"
    assert child["id"]  # created through the api like any goal


async def test_the_workbook_is_not_taken_for_a_goal_id(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/goals/scorecard.xlsx")
    assert answer.status_code == 200
    missing = await client.get("/v1/goals/scorecard.pdf")
    assert missing.status_code == 422


async def test_titles_that_a_worksheet_cannot_hold_or_would_run_stay_plain_text(
    client: httpx.AsyncClient,
) -> None:
    """A control character in a title (found by schemathesis: the workbook answered 500) is
    dropped, and a title that looks like a formula stays text: nothing in a goal's name
    runs in the reader's spreadsheet program."""
    ok(await client.post("/v1/goals", json={"title": "Q1\x01 plan"}), 201)
    formula = '=HYPERLINK("http://127.0.0.1/", "click")'
    ok(await client.post("/v1/goals", json={"title": formula}), 201)

    answer = await client.get("/v1/goals/scorecard.xlsx")
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = {row[0].value: row[0] for row in sheet.iter_rows(min_row=2)}
    assert set(cells) == {"Q1 plan", formula}
    assert cells[formula].data_type == "s", "a title is never a formula"
