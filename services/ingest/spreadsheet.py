"""`text/csv` bodies → event objects (SPEC §3), so spreadsheets import through the one
validator every other format uses.

The header names the columns: `metric` and `value` are required; `timestamp`, `event_id`
and `source` are optional; `dimensions.<name>` columns become dimensions. An empty cell is
an absent field (an empty dimension cell: no such dimension on that row). Values are
numbers as text (`12.5`, `-3`, `1e6`); a cell that is not one is reported on its row.
Rows are numbered from 0 after the header, as `index`, like the events of a JSON batch.

A header problem (a missing required column, an unknown or repeated one) is the body's
fault, not a row's: it is a `BodyError` (400). The body is UTF-8 (a byte-order mark is
allowed); quoting follows RFC 4180, through the standard library's `csv` reader.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from northstar.events.model import FieldError

CSV = "text/csv"
_REQUIRED = ("metric", "value")
_OPTIONAL = frozenset({"timestamp", "event_id", "source"})
_DIMENSION = "dimensions."


class CsvHeaderError(ValueError):
    """The header row cannot be read as an events table."""


def parse_csv(raw: bytes, errors: list[FieldError]) -> list[dict[str, Any] | None]:
    """One event object per data row, in order; a row whose value cell is not a number
    gets its error in `errors` and a `None` in its place (validation skips it)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvHeaderError(f"The CSV body is not UTF-8: {error}") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvHeaderError("The CSV body is empty; its first row must be the header.")
        columns = _columns([name.strip() for name in header])
        rows: list[dict[str, Any] | None] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # a blank line (spreadsheets like to end with one)
            rows.append(_event(record, columns, len(rows), errors))
    except csv.Error as error:
        raise CsvHeaderError(
            f"The CSV body is malformed at line {reader.line_num}: {error}"
        ) from None
    return rows


def _columns(header: list[str]) -> list[tuple[str, str | None]]:
    """Each column as (field, dimension key or None)."""
    seen: set[str] = set()
    columns: list[tuple[str, str | None]] = []
    for name in header:
        if name in seen:
            raise CsvHeaderError(f"The CSV header names column '{name}' twice.")
        seen.add(name)
        if name.startswith(_DIMENSION) and len(name) > len(_DIMENSION):
            columns.append(("dimensions", name[len(_DIMENSION) :]))
        elif name in _REQUIRED or name in _OPTIONAL:
            columns.append((name, None))
        else:
            raise CsvHeaderError(
                f"The CSV header has an unknown column '{name}'; columns are metric, value, "
                "timestamp, event_id, source and dimensions.<name>."
            )
    missing = [name for name in _REQUIRED if name not in seen]
    if missing:
        raise CsvHeaderError(f"The CSV header lacks the column(s) {', '.join(missing)}.")
    return columns


def _event(
    record: list[str],
    columns: list[tuple[str, str | None]],
    index: int,
    errors: list[FieldError],
) -> dict[str, Any] | None:
    if len(record) != len(columns):
        errors.append(
            FieldError(index, "", f"has {len(record)} cells; the header has {len(columns)}")
        )
        return None
    event: dict[str, Any] = {}
    dimensions: dict[str, str] = {}
    for (field, dimension), cell in zip(columns, record, strict=True):
        if cell == "":
            continue
        if dimension is not None:
            dimensions[dimension] = cell
        elif field == "value":
            try:
                event["value"] = float(cell)
            except ValueError:
                errors.append(FieldError(index, "value", f"'{cell[:50]}' is not a number"))
                return None
        else:
            event[field] = cell
    if dimensions:
        event["dimensions"] = dimensions
    return event
