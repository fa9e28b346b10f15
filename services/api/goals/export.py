"""The scorecard as an Excel workbook (`GET /v1/goals/export.xlsx`, issue 24): one row per
live goal, cascade order (each goal after its parent, indented by depth), with its unit,
owner, status, score, actual, expected and target in the KPI's unit, and due date.

Built with openpyxl from the same rows the api shows; numbers stay numbers (a reader
sums and sorts them), scores are formatted as percentages and dates as dates.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HEADERS = (
    "Goal",
    "Unit",
    "Owner",
    "Status",
    "Score",
    "Actual",
    "Expected",
    "Target",
    "KPI unit",
    "Due",
)
STATUS_WORDS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "achieved": "Achieved",
    "missed": "Missed",
    "no_data": "No data",
    "not_started": "Not started",
}


@dataclass(frozen=True, slots=True)
class ExportRow:
    title: str
    depth: int
    unit: str
    owner: str
    status: str
    score: float | None
    actual: float | None
    expected: float | None
    target: float | None
    kpi_unit: str
    due: datetime | None


def cascade(
    goals: Sequence[Mapping[str, object]],
) -> list[tuple[int, Mapping[str, object]]]:
    """The goals in cascade order (roots oldest first, each followed by its subtree) with
    their depth; a goal whose parent is not among them counts as a root."""
    ids = {g["id"] for g in goals}
    children: dict[object, list[Mapping[str, object]]] = {}
    for goal in goals:
        parent = goal["parent_id"] if goal["parent_id"] in ids else None
        children.setdefault(parent, []).append(goal)
    out: list[tuple[int, Mapping[str, object]]] = []
    pending = [(0, g) for g in reversed(children.get(None, []))]
    seen: set[object] = set()
    while pending:
        depth, goal = pending.pop()
        if goal["id"] in seen:
            continue
        seen.add(goal["id"])
        out.append((depth, goal))
        pending += [(depth + 1, c) for c in reversed(children.get(goal["id"], []))]
    return out


def workbook_bytes(rows: Sequence[ExportRow], generated_at: datetime) -> bytes:
    """The workbook: a "Scorecard" sheet with a header row, frozen, and one row per goal."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Scorecard"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(
            [
                row.title,
                row.unit,
                row.owner,
                STATUS_WORDS.get(row.status, row.status),
                row.score,
                row.actual,
                row.expected,
                row.target,
                row.kpi_unit,
                row.due.replace(tzinfo=None) if row.due else None,
            ]
        )
        line = sheet.max_row
        sheet.cell(line, 1).alignment = Alignment(indent=row.depth)
        sheet.cell(line, 5).number_format = "0%"
        sheet.cell(line, 10).number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGHIJ", (48, 18, 18, 12, 8, 14, 14, 14, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append([])
    sheet.append([f"Generated {generated_at.isoformat(timespec='seconds')} (dates in UTC)"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
