"""A cursor the client mangled (or made: cursors are signed) is a 400 with a clear detail on
every paginated list."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

LISTS = [
    "/v1/goals",
    "/v1/units",
    "/v1/kpis",
    "/v1/alerts",
    "/v1/reviews",
    "/v1/webhooks",
    "/v1/api-keys",
    "/v1/metrics",
]


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


@pytest.mark.parametrize("path", LISTS)
async def test_mangled_cursors_are_a_400(client: httpx.AsyncClient, path: str) -> None:
    for cursor in ("not-base64!", _cursor({"not": "a list"}), _cursor(["yesterday", "x"])):
        response = await client.get(path, params={"cursor": cursor})
        assert response.status_code == 400, (path, cursor, response.text)
        assert "next_cursor exactly as returned" in response.json()["detail"]
