"""Field types more than one feature's schemas use: KPI keys and ISO-8601 durations."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from northstar.domain.durations import parse_duration

KPI_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


def _iso_duration(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 duration string such as 'P1D' or 'PT15M'")
    return parse_duration(value)  # DurationError is a ValueError: pydantic reports it


IsoDuration = Annotated[
    timedelta,
    BeforeValidator(_iso_duration),
    WithJsonSchema({"type": "string", "format": "duration", "examples": ["PT6H", "P30D"]}),
]
"""A positive ISO-8601 duration given as text (``PT15M``, ``P1D``, ``P2W``)."""
