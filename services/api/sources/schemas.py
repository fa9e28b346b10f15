"""Request and response bodies of `/v1/sources` (SPEC §16)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,79}$"
METRIC_PATTERN = r"^[a-z][a-z0-9_.]{0,99}$"


class SourceKindName(StrEnum):
    SQL = "sql"
    PROMETHEUS = "prometheus"
    HTTP_JSON = "http_json"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectionIn(_Strict):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="sql: a database URL (`postgresql://user:pass@host:5432/db`, "
        "`mysql://…` for MySQL and MariaDB); prometheus: the server's base URL; http_json: "
        "the document's URL, which may hold `{start}` and `{end}`. Write-only: stored "
        "encrypted, never shown back.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="http kinds: extra request headers (write-only)."
    )
    token: str | None = Field(
        default=None,
        max_length=4000,
        description="http kinds: sent as `Authorization: Bearer <token>` (write-only).",
    )


class CursorIn(_Strict):
    lookback: str = Field(
        default="PT1H",
        description="ISO-8601 duration: each run asks for rows from the watermark (the "
        "newest row time stored) minus this, so late rows are still picked up. At most P7D.",
    )
    settle: str = Field(
        default="PT0S",
        description="ISO-8601 duration: rows younger than this are left for a later run "
        "(values still changing, e.g. today's total).",
    )
    since: datetime | None = Field(
        default=None, description="Where the first run starts (default: one lookback ago)."
    )


MAPPING_DESCRIPTION = (
    "sql: `{time, value, dimensions: [columns]}` column names (default `time`, `value`, "
    "every other column a dimension); http_json: JMESPath expressions on each row, "
    "`dimensions` a list of field names or `{dimension: expression}`; prometheus: "
    "`{step: ISO-8601 duration (default PT1M), dimensions: [labels to keep]}`."
)
SCHEDULE_DESCRIPTION = (
    '`{"cron": "*/15 * * * *"}` (five fields, UTC) or `{"every": "PT15M"}` (at least PT10S; '
    "slots aligned to the Unix epoch)."
)


class SourceBase(_Strict):
    kind: SourceKindName
    query: str = Field(
        max_length=20_000,
        description="sql: a SELECT (it may use `:start` and `:end`, the run's window); "
        "prometheus: PromQL; http_json: a JMESPath expression selecting the rows (`@`: the "
        "document is the list).",
    )
    metric: str = Field(pattern=METRIC_PATTERN, description="The metric the values feed.")
    mapping: dict[str, Any] = Field(default_factory=dict, description=MAPPING_DESCRIPTION)
    timeout_seconds: float = Field(
        default=30, gt=0, le=600, description="Per-run timeout (SQL: the statement timeout)."
    )
    max_rows: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Row cap: a run that gets more rows fails, storing nothing.",
    )
    cursor: CursorIn = Field(default_factory=CursorIn)


class SourceCreate(SourceBase):
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique; pulled events carry `pull:<name>` as their source. It cannot "
        "change later (it is half of every pulled value's dedupe key).",
    )
    connection: ConnectionIn
    schedule: dict[str, str] = Field(description=SCHEDULE_DESCRIPTION)
    enabled: bool = True


class SourceUpdate(_Strict):
    connection: ConnectionIn | None = Field(
        default=None, description="A new connection; absent: the stored one is kept."
    )
    query: str | None = Field(default=None, max_length=20_000)
    metric: str | None = Field(default=None, pattern=METRIC_PATTERN)
    mapping: dict[str, Any] | None = None
    schedule: dict[str, str] | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    max_rows: int | None = Field(default=None, ge=1, le=1_000_000)
    cursor: CursorIn | None = None
    enabled: bool | None = None


class SourcePreview(SourceBase):
    name: str = Field(default="preview", pattern=NAME_PATTERN)
    connection: ConnectionIn
    schedule: dict[str, str] | None = Field(default=None, description="Ignored.")
    enabled: bool | None = Field(default=None, description="Ignored.")
    limit: int = Field(default=20, ge=1, le=500, description="Rows to fetch at most.")


class CursorOut(BaseModel):
    lookback: str
    settle: str
    since: datetime | None


class RunOut(BaseModel):
    id: uuid.UUID
    source_id: uuid.UUID
    trigger: str = Field(description="`schedule` or `manual` (run now).")
    status: RunStatus = Field(
        description="`queued` until a collector takes it, then `running`, then "
        "`succeeded` or `failed`."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    window_start: datetime | None
    window_end: datetime | None
    rows: int | None = Field(description="Rows the source returned.")
    events: int | None = Field(description="Values stored by this run (new ones).")
    duplicates: int | None = Field(description="Values already stored by an earlier run.")
    rejected: int | None = Field(description="Rows left out (the error says why).")
    error: str | None = Field(description="Why the run failed, or which rows it left out.")


class SourceOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: SourceKindName
    connection_host: str = Field(
        description="The host the connection reaches; the connection itself is never shown."
    )
    query: str
    metric: str
    mapping: dict[str, Any]
    schedule: dict[str, str]
    timeout_seconds: float
    max_rows: int
    cursor: CursorOut
    enabled: bool
    next_run_at: datetime
    watermark: datetime | None = Field(description="The newest row time stored so far.")
    consecutive_failures: int
    last_run: RunOut | None
    created_at: datetime
    updated_at: datetime


class PreviewEvent(BaseModel):
    event_id: str
    source: str
    metric: str
    value: float
    timestamp: datetime
    dimensions: dict[str, str]


class PreviewProblem(BaseModel):
    index: int
    message: str


class PreviewOut(BaseModel):
    window_start: datetime
    window_end: datetime
    rows: list[dict[str, Any]] = Field(description="The rows as the source returned them.")
    events: list[PreviewEvent] = Field(description="The events they would become.")
    problems: list[PreviewProblem] = Field(description="Rows left out, and why.")
