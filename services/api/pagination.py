"""Cursor pagination (`limit`, `cursor` → `{items, next_cursor}`), keyset-based.

A cursor is the opaque, URL-safe encoding of the sort key of the last item returned, so
pages stay stable while rows are inserted and every page is an index range scan.

Cursors are signed: `<base64 key>.<base64 HMAC-SHA256 of it>` under the server's cursor
secret (`NORTHSTAR_CURSOR_SECRET`, see docs/security.md). A client can only hand back a
position the server gave out, so no crafted value (a year-1 date, a string where a uuid
belongs) ever reaches a query; anything else in its place is a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from northstar.http.problems import Problem

T = TypeVar("T")
R = TypeVar("R")

_BAD_CURSOR = "The cursor is not valid; pass next_cursor exactly as returned."

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def first_page_rows(
    rows: Sequence[R], limit: int, cursor_after: Callable[[R], str]
) -> tuple[Sequence[R], str | None]:
    """The rows of a page and the cursor to the next, from a query for `limit + 1` rows.

    The extra row only says there is a next page; the cursor points after the last row
    kept (`cursor_after` builds it, usually `encode_time_key(row.created_at, row.id)`)."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    return kept, cursor_after(kept[-1])


def page_of(
    rows: Sequence[R],
    limit: int,
    cursor_after: Callable[[R], str],
    out: Callable[[R], T],
) -> Page[T]:
    """The `Page` answering a list route, from a query for `limit + 1` rows."""
    kept, next_cursor = first_page_rows(rows, limit, cursor_after)
    return Page[T](items=[out(row) for row in kept], next_cursor=next_cursor)


class _CursorKey:
    """The signing secret, set once by the app at start-up (`use_cursor_secret`)."""

    secret = b""


def use_cursor_secret(secret: bytes) -> None:
    """Sign and check cursors with `secret` from now on (every worker and replica must use
    the same one, or a cursor from one is refused by another)."""
    if len(secret) < 16:
        raise ValueError("the cursor secret must be at least 16 bytes")
    _CursorKey.secret = secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> bytes:
    if not _CursorKey.secret:
        raise RuntimeError("use_cursor_secret was never called")
    return hmac.new(_CursorKey.secret, payload.encode(), hashlib.sha256).digest()


def encode_cursor(key: list[Any]) -> str:
    payload = _b64(orjson.dumps(key))
    return f"{payload}.{_b64(_signature(payload))}"


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The position a cursor of `encode_cursor` holds; 400 if it is not one the server
    signed."""
    if cursor is None:
        return None
    payload, _, signature = cursor.partition(".")
    try:
        if not hmac.compare_digest(_unb64(signature), _signature(payload)):
            raise Problem(400, _BAD_CURSOR)
        value = orjson.loads(_unb64(payload))
    except (ValueError, orjson.JSONDecodeError):
        raise Problem(400, _BAD_CURSOR) from None
    if not isinstance(value, list):
        raise Problem(400, _BAD_CURSOR)
    return value


def encode_time_key(moment: datetime, item_id: uuid.UUID) -> str:
    """The cursor after an item of a list ordered by a timestamp, then id."""
    return encode_cursor([moment.isoformat(), str(item_id)])


def decode_time_key(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The `(timestamp, id)` position an `encode_time_key` cursor holds; 400 if mangled."""
    after = decode_cursor(cursor)
    if after is None:
        return None
    try:
        return datetime.fromisoformat(after[0]), uuid.UUID(after[1])
    except (IndexError, TypeError, ValueError):
        raise Problem(400, _BAD_CURSOR) from None
