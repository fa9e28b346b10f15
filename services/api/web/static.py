"""Serve the built web app at `/` without touching the api's own paths.

Rules, in order:
- paths the api owns (`/v1`, `/docs`, `/redoc`, `/openapi.json`, `/metrics`, `/healthz`,
  `/readyz`) are never matched by the web route, so the api answers them exactly as it
  would without the web app (its 404 and 405 problems included);
- a file that exists in the build is sent as is. Vite names files under `assets/` by
  their content hash, so those are cached for a year and marked immutable;
- any other GET is a client-side route (`/goals/…`, `/reviews/…`): `index.html`, never
  cached, so a new deploy is picked up on the next navigation. A missing `assets/…`
  file is a 404, not `index.html` served as JavaScript.

When the build is missing (a checkout without `make setup`) `/` says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

# Where `npm run build` writes, relative to the repository (and to /app in the image).
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"

API_PREFIXES = frozenset({"v1", "docs", "redoc", "openapi.json", "metrics", "healthz", "readyz"})
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"

_MISSING_BUILD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Northstar</title></head><body><main><h1>Northstar</h1>
<p>The web app has not been built. Run <code>make setup</code> (or
<code>make web</code>) in the repository, then reload.</p>
<p>The REST API is described at <a href="/docs">/docs</a>.</p></main></body></html>"""


class _WebAppRoute(Route):
    """A catch-all GET route that never matches a path the api owns."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            first = scope["path"].lstrip("/").split("/", 1)[0]
            if first in API_PREFIXES:
                return Match.NONE, {}
        return super().matches(scope)


def mount_web_app(app: FastAPI, dist: Path = DEFAULT_DIST) -> None:
    """Add the web app as the last route of `app` (after every api route)."""
    root = dist.resolve()

    async def web_app(request: Request) -> Response:
        path: str = request.path_params["path"]
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(
                _MISSING_BUILD, status_code=503, headers={"Cache-Control": NO_CACHE}
            )
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                cache = IMMUTABLE if path.startswith("assets/") else NO_CACHE
                return FileResponse(candidate, headers={"Cache-Control": cache})
            if path.startswith("assets/"):
                raise HTTPException(status_code=404, detail=f"No such asset: /{path}")
        return FileResponse(index, headers={"Cache-Control": NO_CACHE})

    app.router.routes.append(
        _WebAppRoute("/{path:path}", web_app, methods=["GET", "HEAD"], include_in_schema=False)
    )
