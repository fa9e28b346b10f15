"""`text/csv` bodies → event objects (services/ingest/spreadsheet.py)."""

from __future__ import annotations

import re

import pytest

from northstar.events.model import FieldError
from services.ingest.bodies import BodyError, parse_body
from services.ingest.spreadsheet import CSV, CsvHeaderError, parse_csv


def test_rows_become_event_objects() -> None:
    errors: list[FieldError] = []
    rows = parse_csv(
        b"\xef\xbb\xbfmetric,value,timestamp,event_id,source,dimensions.region,dimensions.plan\r\n"
        b'revenue,12.5,2026-01-31T12:00:00Z,r-1,billing,eu,"pro, yearly"\r\n'
        b"revenue,-3,,,,,\r\n"
        b"\r\n"
        b"revenue,1e6,,r-3,,us,\r\n",
        errors,
    )
    assert errors == []
    assert rows == [
        {
            "metric": "revenue",
            "value": 12.5,
            "timestamp": "2026-01-31T12:00:00Z",
            "event_id": "r-1",
            "source": "billing",
            "dimensions": {"region": "eu", "plan": "pro, yearly"},
        },
        {"metric": "revenue", "value": -3.0},
        {"metric": "revenue", "value": 1e6, "event_id": "r-3", "dimensions": {"region": "us"}},
    ]


def test_bad_cells_are_reported_on_their_row_numbered_from_zero() -> None:
    errors: list[FieldError] = []
    rows = parse_csv(b"metric,value\nrevenue,1\nrevenue,lots\nrevenue\nrevenue,2\n", errors)
    assert rows == [
        {"metric": "revenue", "value": 1.0},
        None,
        None,
        {"metric": "revenue", "value": 2.0},
    ]
    assert [(e.index, e.field) for e in errors] == [(1, "value"), (2, "")]
    assert errors[0].message == "'lots' is not a number"
    assert errors[1].message == "has 1 cells; the header has 2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"metric,timestamp\nx,2026-01-01T00:00:00Z\n", "lacks the column(s) value"),
        (b"metric,value,colour\nx,1,red\n", "unknown column 'colour'"),
        (b"metric,value,value\nx,1,2\n", "column 'value' twice"),
        (b"metric,value\n\xff\xfe,1\n", "not UTF-8"),
    ],
)
def test_header_and_encoding_problems_are_the_body_s(body: bytes, message: str) -> None:
    with pytest.raises(CsvHeaderError, match=re.escape(message)):
        parse_csv(body, [])
    if body:  # an empty body is refused before any format is parsed
        with pytest.raises(BodyError, match=re.escape(message)):
            parse_body(body, CSV, [])


def test_validation_applies_as_for_json() -> None:
    """CSV rows go through the same validator: a bad metric name is a field error."""
    from datetime import UTC, datetime

    from northstar.events.validation import validate_event

    errors: list[FieldError] = []
    [row] = parse_csv(b"metric,value\nRevenue!,1\n", errors)
    assert (
        validate_event(row, 0, default_source="k", received_at=datetime.now(UTC), errors=errors)
        is None
    )
    assert [(e.index, e.field) for e in errors] == [(0, "metric")]
