"""The api serves the built web app at `/` without changing any of its own paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from northstar.http.problems import install_problem_handlers
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.api.web.static import IMMUTABLE, NO_CACHE, mount_web_app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Northstar app</title>")
    (tmp_path / "assets" / "index-Ab12Cd.js").write_text("console.log('app')")
    return tmp_path


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def client(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/things")
    async def things() -> dict[str, list[str]]:
        return {"items": []}

    mount_web_app(app, dist)
    async for c in _client(app):
        yield c


async def test_client_routes_get_index_html_uncached(client: httpx.AsyncClient) -> None:
    for path in ("/", "/goals/1b4e28ba-2fa1-11d2-883f-0016d3cca427", "/reviews/x/pack"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "Northstar app" in response.text
        assert response.headers["cache-control"] == NO_CACHE


async def test_hashed_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-Ab12Cd.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert "javascript" in response.headers["content-type"]


async def test_a_missing_asset_is_a_404_not_the_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-Old999.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_paths_outside_the_build_are_not_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/..%2f..%2fetc/passwd")
    assert "root:" not in response.text


async def test_api_paths_keep_their_own_answers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/things")).json() == {"items": []}
    unknown = await client.get("/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    # A method the route lacks stays a 405, not the web app.
    assert (await client.delete("/v1/things")).status_code == 405
    for path in ("/docs", "/openapi.json", "/metrics", "/healthz", "/readyz"):
        response = await client.get(path)
        assert "Northstar app" not in response.text, path


async def test_the_real_api_still_serves_its_document_and_docs(dist: Path) -> None:
    settings = ApiSettings(database_url="postgresql://u@127.0.0.1:1/none", http_port=8000)
    app = create_app(settings)
    async for client in _client(app):
        document = await client.get("/openapi.json")
        assert document.json()["info"]["title"] == "Northstar API"
        assert "/v1/kpis/expression-check" in document.json()["paths"]
        assert "swagger" in (await client.get("/docs")).text.lower()


async def test_without_a_build_the_root_says_how_to_build(tmp_path: Path) -> None:
    app = FastAPI()
    mount_web_app(app, tmp_path / "missing")
    async for client in _client(app):
        response = await client.get("/scorecard")
        assert response.status_code == 503
        assert "make setup" in response.text
