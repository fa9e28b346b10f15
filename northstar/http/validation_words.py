"""Request validation errors in words a person can act on, instead of the validator's.

Pydantic says "String should match pattern '^([01]\\d|2[0-3]):[0-5]\\d$'" or "Input should
be a valid UUID, invalid character: …"; the web app shows a 422's messages next to the
fields they are about, so they must read as a sentence about that field ("must be a time
of day as HH:MM, e.g. 08:30"). `in_words` maps the error types people meet; anything else
keeps the validator's message, with "Input should be" turned into "must be".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The HH:MM pattern the notification schemas use for local times.
_TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d$"


def _characters(n: object) -> str:
    return f"{n} character{'s' if n != 1 else ''}"


def in_words(error: Mapping[str, Any]) -> str:
    """One pydantic error (`exc.errors()` item) as a phrase about its field."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    message = str(error.get("msg", "is not valid"))
    if kind == "missing":
        return "is required"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else (f"must be at least {_characters(ctx.get('min_length'))}")
        )
    if kind == "string_too_long":
        return f"must be at most {_characters(ctx.get('max_length'))}"
    if kind == "too_long":
        return f"may hold at most {ctx.get('max_length')} items"
    if kind == "too_short":
        return f"must hold at least {ctx.get('min_length')} items"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == _TIME_OF_DAY:
            return "must be a time of day as HH:MM, e.g. 08:30"
        return "is not in the expected form"
    if kind.startswith("uuid"):
        return "must be an id (a UUID such as 3f2b8c1e-…)"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        return f"must be {words} {bound}"
    if kind in ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"):
        return "must be a date and time (RFC 3339, e.g. 2026-03-02T08:30:00Z)"
    if kind == "timezone_aware":
        return "must carry a time zone offset (e.g. 2026-03-02T08:30:00+01:00)"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind in ("enum", "literal_error"):
        return "must be " + str(ctx.get("expected", message.removeprefix("Input should be ")))
    return message.replace("Input should be", "must be", 1)
