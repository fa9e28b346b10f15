"""The OpenAPI document as the services really answer, and `/docs` and `/redoc` offline.

FastAPI documents what a route declares; the errors every route can answer come from
middleware and exception handlers it does not see (the gate's 401/429, the body limit's
413, the problem handlers' 422/500). `document_errors` adds them to every operation,
with the media type they really have (`application/problem+json`, RFC 9457), and the
security schemes: the bearer key, and (for the api) the session cookie.

Which codes an operation under /v1 gets: always 400, 401, 403, 404, 422, 429, 500 and
503 (the gate and the handlers can answer them on any route: a control character in the
URL, a bad key, a `root` or a reference that is gone, a shared rate limit store that does
not answer); 413 when it takes a body; 409 when it
changes state. An operation may document a code it rarely answers; it never answers one
it does not document (schemathesis checks that: tests/api/test_schemathesis.py).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from northstar.http.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, and what to do."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each invalid field (validation errors).",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "Malformed request (body, cursor or a control character in the URL).",
    "401": "No credentials, or a key that is unknown, expired or revoked.",
    "403": "The credentials lack the permission.",
    "404": "No such resource.",
    "409": "Conflicts with the current state of a resource; the detail says which.",
    "413": "The request body is over the size limit.",
    "422": "A value is invalid or out of range; `errors` lists them.",
    "429": "Too many requests; wait `Retry-After` seconds.",
    "500": "The server failed; the error is logged under the X-Request-ID.",
    "503": "A dependency (the shared rate limit store) is unreachable; retry after "
    "`Retry-After` seconds.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
_CHANGES = frozenset({"post", "put", "patch", "delete"})


def _problem_response(code: str, description: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or _DESCRIPTIONS.get(code, "Error."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in ("429", "503"):
        response["headers"] = _RETRY_AFTER
    return response


def patch_document(
    schema: dict[str, Any], *, public_paths: Collection[str], session_cookie: str | None
) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    schemes: dict[str, Any] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer <key>`.",
        }
    }
    if session_cookie:
        schemes["session"] = {
            "type": "apiKey",
            "in": "cookie",
            "name": session_cookie,
            "description": "A browser session (POST /v1/auth/login).",
        }
    components["securitySchemes"] = schemes
    schema["security"] = [{name: []} for name in schemes]

    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
                continue
            public = path in public_paths or not path.startswith("/v1")
            responses: dict[str, Any] = operation.setdefault("responses", {})
            # Any /v1 request may be malformed (400: a control character in the URL), lack
            # or fail authentication or a permission, name something that is gone, be
            # invalid, be throttled, or meet a shared rate limit store that is down.
            codes = {"400", "401", "403", "404", "422", "429", "500", "503"}
            if public:
                operation["security"] = []
            if "requestBody" in operation:
                codes.add("413")
            if method in _CHANGES:
                codes.add("409")
            if not path.startswith("/v1"):
                codes = {"500"}
            for code in codes | {c for c in responses if c[0] in "45"}:
                described = responses.get(code, {}).get("description")
                responses[code] = _problem_response(code, described)
    return schema


def document_errors(
    app: FastAPI, *, public_paths: Collection[str] = (), session_cookie: str | None = None
) -> None:
    """Make `app.openapi()` describe every error (see the module docstring)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = patch_document(
                original(), public_paths=public_paths, session_cookie=session_cookie
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_ASSETS = Path(fastapi_offline.__file__).parent / "static"
_ASSET_PATH = "/docs-assets"


def serve_docs_offline(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` with their scripts served by the app itself from
    the `fastapi-offline` package: they work without internet. Create the app with
    `docs_url=None, redoc_url=None`."""
    app.mount(_ASSET_PATH, StaticFiles(directory=_ASSETS), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — docs",
            swagger_js_url=f"{_ASSET_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSET_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSET_PATH}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — reference",
            redoc_js_url=f"{_ASSET_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{_ASSET_PATH}/favicon.png",
            with_google_fonts=False,
        )
