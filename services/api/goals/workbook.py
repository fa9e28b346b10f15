"""The scorecard as an Excel workbook (`GET /v1/goals/scorecard.xlsx`), built with openpyxl.

One sheet, one row per goal in cascade order (each goal under its parent, the title indented
by its depth), with what the web app's scorecard shows: status in words, score, actual,
expected and target as numbers in the KPI's unit, the forecast, owner and unit by name.
Numbers stay numbers (a person sorts and sums them in Excel); the score is a percentage
cell. Pure: the route reads the rows and names, this turns them into bytes.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from services.api.goals.schemas import GoalOut

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATUS_WORDS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "achieved": "Achieved",
    "missed": "Missed",
    "no_data": "No data",
    "not_started": "Not started",
}

HEADER = (
    "Goal",
    "Parent goal",
    "Unit",
    "Owner",
    "KPI",
    "Status",
    "Score",
    "Actual",
    "Expected",
    "Target",
    "Measured in",
    "Forecast",
    "Forecast at due",
    "Start",
    "Due",
)
_WIDTHS = (42, 30, 18, 20, 22, 12, 9, 14, 14, 14, 12, 16, 15, 12, 12)


@dataclass(frozen=True, slots=True)
class ScorecardNames:
    """What the sheet prints instead of ids."""

    units: Mapping[uuid.UUID, str]
    kpis: Mapping[str, tuple[str, str]]  # key -> (name, unit)
    people: Mapping[uuid.UUID, str]


def cascade(goals: Sequence[GoalOut]) -> list[tuple[int, GoalOut]]:
    """Goals depth-first, each under its parent (siblings in the given order), with their
    depth; a goal whose parent is not in `goals` is a root."""
    ids = {g.id for g in goals}
    children: dict[uuid.UUID | None, list[GoalOut]] = {}
    for goal in goals:
        parent = goal.parent_id if goal.parent_id in ids else None
        children.setdefault(parent, []).append(goal)
    ordered: list[tuple[int, GoalOut]] = []
    stack = [(0, g) for g in reversed(children.get(None, []))]
    while stack:
        depth, goal = stack.pop()
        ordered.append((depth, goal))
        stack.extend((depth + 1, c) for c in reversed(children.get(goal.id, [])))
    return ordered


def _text(value: str) -> str:
    """Text as a worksheet can hold it: the control characters XML 1.0 forbids (a title may
    carry them; openpyxl refuses the cell) are dropped."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _owner(goal: GoalOut, names: ScorecardNames) -> str:
    if goal.owner_id is not None and goal.owner_id in names.people:
        return names.people[goal.owner_id]
    return goal.owner or ""


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def scorecard_workbook(goals: Sequence[GoalOut], names: ScorecardNames, at: datetime) -> bytes:
    """The `.xlsx` bytes of the scorecard as it stands at `at`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "Scorecard"
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    titles = {g.id: g.title for g in goals}
    for depth, goal in cascade(goals):
        status = goal.status
        kpi_name, unit = names.kpis.get(goal.kpi or "", ("", ""))
        forecast = status.forecast
        sheet.append(
            [
                _text(goal.title),
                _text(titles.get(goal.parent_id, "") if goal.parent_id else ""),
                _text(names.units.get(goal.unit_id, "") if goal.unit_id else ""),
                _text(_owner(goal, names)),
                _text(kpi_name or (goal.kpi or "roll-up of its goals")),
                STATUS_WORDS.get(status.status.value, status.status.value),
                status.score,
                status.actual,
                status.expected,
                status.target,
                "" if unit == "count" else unit,
                forecast.status.value.replace("_", " ") if forecast else "",
                forecast.value if forecast else None,
                _day(goal.start),
                _day(goal.due),
            ]
        )
        row = sheet.max_row
        for cell in sheet[row]:
            # A name is never a formula: "=HYPERLINK(…)" as a goal title stays text.
            if cell.data_type == "f":
                cell.data_type = "s"
        sheet.cell(row, 1).alignment = Alignment(
            indent=min(depth, 250)
        )  # Excel indents 250 at most
        sheet.cell(row, 7).number_format = "0%"
        for column in (8, 9, 10, 13):
            sheet.cell(row, column).number_format = "#,##0.##"
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADER))}{sheet.max_row}"
    book.properties.title = "Northstar scorecard"
    book.properties.created = at.replace(tzinfo=None)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
