"""RFC 9457 problem details: every error any service answers is `application/problem+json`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from northstar.auth.authenticator import AuthError
from northstar.http.validation_words import in_words

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)

# What the database (or its driver, encoding a parameter) says about a value it cannot
# take: class 22 "data exception" (a NUL in text, a date out of its range, a number too
# large) or a client-side encoding failure. Python's own OverflowError is the same story
# one step earlier (a date moved past year 9999 by its offset or a duration).
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions._base.DataError,
    OverflowError,
)
_DATA_DETAIL = (
    "A value in the request is out of the range the server can store or compute with "
    "(a date before year 1 or past 9999 once its offset or a duration is applied, a number "
    "too large) or holds a character it cannot store (NUL); correct it and retry."
)


class Problem(Exception):
    """An error answer. `extra` members are added to the problem object (e.g. `errors`)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = extra


def invalid_field(field: str, message: str) -> Problem:
    """A 422 about one field of the request: the detail in words, and `errors` naming the
    field so a form can show the message next to it."""
    return Problem(
        422,
        f"The request is invalid: {field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        errors.append({"field": ".".join(loc) or None, "message": in_words(err)})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            headers=exc.headers,
            instance=request.url.path,
            **exc.extra,
        )

    async def on_auth(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.detail, headers=headers, instance=request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        return problem_response(
            422, f"The request is invalid: {summary}", errors=errors, instance=request.url.path
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is no resource at {request.url.path}."
        headers = exc.headers
        if exc.status_code == 405:
            detail = f"{request.method} is not supported on {request.url.path}."
            # Starlette names the methods of the first route matching the path only; a
            # path served by several routes (GET and DELETE apart) allows them all.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return problem_response(exc.status_code, detail, headers=headers, instance=request.url.path)

    async def on_data(request: Request, exc: Exception) -> Response:
        if _is_data_error(exc):
            return problem_response(422, _DATA_DETAIL, instance=request.url.path)
        # A constraint a route did not check first: the request refers to something that
        # is not there (or no longer), or repeats something unique. The client's to fix.
        state = _sqlstate(exc)
        if state == "23503":
            return problem_response(422, _MISSING_DETAIL, instance=request.url.path)
        if state == "23505":
            return problem_response(409, _DUPLICATE_DETAIL, instance=request.url.path)
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        return problem_response(
            500,
            "The server failed to answer this request; the error is logged. Retry later, and "
            "report the X-Request-ID if it persists.",
            instance=request.url.path,
        )

    app.add_exception_handler(Problem, on_problem)
    for data_error in (DBAPIError, asyncpg.PostgresError, *_DATA_ERRORS):
        app.add_exception_handler(data_error, on_data)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


_MISSING_DETAIL = (
    "The request refers to something that does not exist (or was just deleted); check the "
    "ids it names."
)
_DUPLICATE_DETAIL = "Something with the same unique value exists already (or was just made)."


def _sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL error code behind `exc`, if any."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            return state
        pending += [error.__cause__, error.__context__, getattr(error, "orig", None)]
    return None


def _is_data_error(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps, is about a value the request sent."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, _DATA_ERRORS):
            return True
        pending += [error.__cause__, error.__context__, getattr(error, "orig", None)]
    return False


def _json_default(value: Any) -> Any:
    # asyncpg hands out its own UUID type, which orjson does not know natively.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(content: Any) -> bytes:
    """`content` as the JSON every answer uses: orjson, compact, datetimes as RFC 3339 (UTC
    as `Z`), UUIDs as strings. Parts of a document serialised apart and joined with the
    separators (`,`, `:`) give the same bytes as the whole document serialised at once."""
    return orjson.dumps(
        content, default=_json_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
    )


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer serialised by `json_bytes`."""
    return Response(
        json_bytes(content), status_code=status, media_type="application/json", headers=headers
    )
