"""Cursor pagination (`limit`, `cursor` → `{items, next_cursor}`), keyset-based.

A cursor is the opaque, URL-safe encoding of the sort key of the last item returned, so
pages stay stable while rows are inserted and every page is an index range scan.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from northstar.http.problems import Problem

T = TypeVar("T")

_BAD_CURSOR = "The cursor is not valid; pass next_cursor exactly as returned."

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise Problem(
            400, "The cursor is not valid; pass next_cursor exactly as returned."
        ) from None
    if not isinstance(value, list):
        raise Problem(400, "The cursor is not valid; pass next_cursor exactly as returned.")
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
