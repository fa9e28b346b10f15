"""Sources' logic for the api: checking a definition (kind, schedule, cursor, host), the
response shapes, and the preview (one pull, nothing stored or sent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from northstar.db.models import Source, SourceRun
from northstar.domain.durations import DurationError, format_duration, parse_duration
from northstar.domain.sources import (
    MAX_LOOKBACK,
    Schedule,
    ScheduleError,
    parse_schedule,
    pull_window,
)
from northstar.http.problems import Problem
from northstar.http.ssrf import DestinationRefused, check_destination, resolve_host
from northstar.sources.kinds import KINDS
from northstar.sources.runner import pull
from northstar.sources.spec import Connection, SourceConfigError, SourceError, SourceSpec
from services.api.sources.schemas import (
    ConnectionIn,
    CursorIn,
    CursorOut,
    PreviewEvent,
    PreviewOut,
    PreviewProblem,
    RunOut,
    RunStatus,
    SourceKindName,
    SourceOut,
    SourcePreview,
)


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"The request is invalid: {field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def connection_of(body: ConnectionIn) -> Connection:
    return Connection(url=body.url, headers=dict(body.headers), token=body.token)


def check_definition(
    kind: str, connection: Connection | None, query: str, mapping: dict[str, Any]
) -> str | None:
    """The host the connection reaches (None without a connection); 422 in words when
    the definition cannot work."""
    try:
        KINDS[kind].check(connection, query, mapping)
        return None if connection is None else KINDS[kind].host(connection)
    except SourceConfigError as error:
        raise invalid(error.field, error.message) from None


def schedule_of(raw: dict[str, str]) -> Schedule:
    try:
        return parse_schedule(raw)
    except ScheduleError as error:
        raise invalid("schedule", str(error)) from None


def cursor_of(body: CursorIn) -> tuple[timedelta, timedelta]:
    try:
        lookback = parse_duration(body.lookback)
    except DurationError as error:
        raise invalid("cursor.lookback", str(error)) from None
    try:
        settle = parse_duration(body.settle) if body.settle not in ("PT0S", "P0D") else timedelta()
    except DurationError as error:
        raise invalid("cursor.settle", str(error)) from None
    if lookback > MAX_LOOKBACK:
        raise invalid(
            "cursor.lookback",
            "may be at most P7D: the dedupe ledger must still know every row a run asks for "
            "again (docs/sources.md)",
        )
    return lookback, settle


async def check_host(kind: str, connection: Connection, *, allow_private: bool) -> None:
    """The SSRF rules at registration (SPEC §6 address rules): 422 for a refused host."""
    try:
        if kind == SourceKindName.SQL:
            url = make_url(connection.url)
            if url.host:
                port = url.port or (5432 if url.drivername.startswith("postgres") else 3306)
                try:
                    await resolve_host(url.host, port, allow_private=allow_private)
                except DestinationRefused as refused:
                    if "does not resolve" not in str(refused):
                        raise
        else:
            probe = connection.url.replace("{start}", "").replace("{end}", "")
            if urlsplit(probe).hostname:
                await check_destination(probe, allow_private=allow_private)
    except DestinationRefused as refused:
        raise invalid("connection.url", str(refused)) from None


def run_out(run: SourceRun) -> RunOut:
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = (run.finished_at - run.started_at).total_seconds()
    return RunOut(
        id=run.id,
        source_id=run.source_id,
        trigger=run.trigger,
        status=RunStatus(run.status),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_seconds=duration,
        window_start=run.window_start,
        window_end=run.window_end,
        rows=run.rows,
        events=run.events,
        duplicates=run.duplicates,
        rejected=run.rejected,
        error=run.error,
    )


def source_out(source: Source, last_run: SourceRun | None) -> SourceOut:
    return SourceOut(
        id=source.id,
        name=source.name,
        kind=SourceKindName(source.kind),
        connection_host=source.connection_host,
        query=source.query,
        metric=source.metric,
        mapping=source.mapping,
        schedule=source.schedule,
        timeout_seconds=source.timeout_seconds,
        max_rows=source.max_rows,
        cursor=CursorOut(
            lookback=format_duration(source.lookback),
            settle=format_duration(source.settle) if source.settle else "PT0S",
            since=source.since,
        ),
        enabled=source.enabled,
        next_run_at=source.next_run_at,
        watermark=source.watermark,
        consecutive_failures=source.consecutive_failures,
        last_run=None if last_run is None else run_out(last_run),
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def audit_view(source: Source) -> dict[str, Any]:
    """What the audit trail keeps of a source: everything but the connection."""
    return {
        "name": source.name,
        "kind": source.kind,
        "connection_host": source.connection_host,
        "query": source.query,
        "metric": source.metric,
        "mapping": source.mapping,
        "schedule": source.schedule,
        "timeout_seconds": source.timeout_seconds,
        "max_rows": source.max_rows,
        "lookback": format_duration(source.lookback),
        "enabled": source.enabled,
    }


async def preview(body: SourcePreview, *, allow_private: bool) -> PreviewOut:
    """Run the source once with a small row limit; store and send nothing."""
    connection = connection_of(body.connection)
    check_definition(body.kind, connection, body.query, body.mapping)
    lookback, settle = cursor_of(body.cursor)
    await check_host(body.kind, connection, allow_private=allow_private)
    now = datetime.now(UTC)
    window = pull_window(
        now=now, watermark=None, lookback=lookback, settle=settle, since=body.cursor.since
    )
    spec = SourceSpec(
        name=body.name,
        kind=body.kind,
        connection=connection,
        query=body.query,
        metric=body.metric,
        mapping=body.mapping,
        timeout_seconds=body.timeout_seconds,
    )
    try:
        result = await pull(
            spec, window, limit=body.limit, allow_private=allow_private, received_at=now
        )
    except SourceError as error:
        raise Problem(422, f"The preview failed: {error}.") from None
    return PreviewOut(
        window_start=window.start,
        window_end=window.end,
        rows=result.pulled.rows,
        events=[
            PreviewEvent(
                event_id=e.event_id,
                source=e.source,
                metric=e.metric,
                value=e.value,
                timestamp=e.timestamp,
                dimensions=e.dimensions,
            )
            for e in result.events
        ],
        problems=[PreviewProblem(index=p.index, message=p.message) for p in result.problems],
    )
