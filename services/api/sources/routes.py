"""`/v1/sources` (admins and editors: a source holds credentials and makes the server
reach a host people name). CRUD, run now, the run log and the preview (SPEC §16)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from northstar.auth.policy import Action
from northstar.config import OutboundSettings
from northstar.crypto import SecretBox
from northstar.db.models import Source, SourceRun
from northstar.http.problems import Problem
from services.api.access import Actor, Permit
from services.api.audit import Audit
from services.api.dependencies import Session
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_cursor,
    decode_time_key,
    encode_cursor,
    encode_time_key,
)
from services.api.sources.repository import SourceRepository
from services.api.sources.schemas import (
    PreviewOut,
    RunOut,
    SourceCreate,
    SourceOut,
    SourcePreview,
    SourceUpdate,
)
from services.api.sources.service import (
    audit_view,
    check_definition,
    check_host,
    connection_of,
    cursor_of,
    preview,
    run_out,
    schedule_of,
    source_out,
)

router = APIRouter(prefix="/v1/sources", tags=["sources"])

SourceManager = Annotated[Actor, Depends(Permit(Action.SOURCES_MANAGE))]


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.webhook_box
    return box


def _allow_private(request: Request) -> bool:
    settings: OutboundSettings = request.app.state.outbound
    return settings.webhook_allow_private_networks


def _not_found(source_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no source with id {source_id}.")


async def _out(repository: SourceRepository, source: Source) -> SourceOut:
    runs = await repository.runs_by_id([source.last_run_id] if source.last_run_id else [])
    return source_out(source, runs.get(source.last_run_id) if source.last_run_id else None)


@router.get(
    "",
    response_model=Page[SourceOut],
    summary="List sources (connections are never shown)",
)
async def list_sources(
    session: Session, _: SourceManager, limit: Limit = 100, cursor: Cursor = None
) -> Page[SourceOut]:
    repository = SourceRepository(session)
    key = decode_cursor(cursor)
    sources = await repository.page(limit + 1, str(key[0]) if key else None)
    next_cursor = None
    if len(sources) > limit:
        sources = sources[:limit]
        next_cursor = encode_cursor([sources[-1].name])
    runs = await repository.runs_by_id([s.last_run_id for s in sources if s.last_run_id])
    items = [source_out(s, runs.get(s.last_run_id) if s.last_run_id else None) for s in sources]
    return Page[SourceOut](items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=SourceOut,
    summary="Create a source",
    description="The connection is stored encrypted and never shown back. Its host must "
    "resolve to a public address unless NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS is set "
    "(link-local and metadata addresses never): else 422. 409 when the name is taken. The "
    "first run is due at the schedule's next slot.",
)
async def create_source(
    body: SourceCreate, session: Session, actor: SourceManager, request: Request, audit: Audit
) -> SourceOut:
    connection = connection_of(body.connection)
    host = check_definition(body.kind, connection, body.query, body.mapping)
    schedule = schedule_of(body.schedule)
    lookback, settle = cursor_of(body.cursor)
    await check_host(body.kind, connection, allow_private=_allow_private(request))
    repository = SourceRepository(session)
    if await repository.by_name(body.name) is not None:
        raise Problem(409, f"A source named {body.name!r} exists already; pick another name.")
    now = datetime.now(UTC)
    source = await repository.add(
        Source(
            name=body.name,
            kind=body.kind.value,
            connection=connection.seal(_box(request)),
            connection_host=host or "",
            query=body.query,
            metric=body.metric,
            mapping=body.mapping,
            schedule=schedule.as_dict(),
            timeout_seconds=body.timeout_seconds,
            max_rows=body.max_rows,
            lookback=lookback,
            settle=settle,
            since=body.cursor.since,
            enabled=body.enabled,
            next_run_at=schedule.next_slot(now),
            created_by=actor.name,
        )
    )
    audit.record("create", "source", source.id, after=audit_view(source))
    out = await _out(repository, source)
    await session.commit()
    return out


@router.post(
    "/preview",
    response_model=PreviewOut,
    summary="Run a source once and show what it would store, storing nothing",
    description="The same body as a source, plus `limit` (rows, default 20). Asks for the "
    "window a first run would (from `cursor.since`, or one lookback ago). 422 in words when "
    "the definition is invalid or the source fails (a query that writes, a timeout, a "
    "connection refused).",
)
async def preview_source(body: SourcePreview, _: SourceManager, request: Request) -> PreviewOut:
    return await preview(body, allow_private=_allow_private(request))


@router.get("/{source_id}", response_model=SourceOut, summary="Get a source")
async def get_source(source_id: uuid.UUID, session: Session, _: SourceManager) -> SourceOut:
    repository = SourceRepository(session)
    source = await repository.get(source_id)
    if source is None:
        raise _not_found(source_id)
    return await _out(repository, source)


@router.patch(
    "/{source_id}",
    response_model=SourceOut,
    summary="Change a source",
    description="Fields absent are kept; so is the connection unless a new one is given. "
    "The name cannot change (it is half of every pulled value's dedupe key). A new schedule "
    "takes effect from its next slot.",
)
async def update_source(
    source_id: uuid.UUID,
    body: SourceUpdate,
    session: Session,
    _: SourceManager,
    request: Request,
    audit: Audit,
) -> SourceOut:
    repository = SourceRepository(session)
    source = await repository.get(source_id, for_update=True)
    if source is None:
        raise _not_found(source_id)
    before = audit_view(source)
    connection = connection_of(body.connection) if body.connection is not None else None
    query = body.query if body.query is not None else source.query
    mapping = body.mapping if body.mapping is not None else source.mapping
    host = check_definition(source.kind, connection, query, mapping)
    if connection is not None:
        await check_host(source.kind, connection, allow_private=_allow_private(request))
        source.connection = connection.seal(_box(request))
        source.connection_host = host or ""
    if body.schedule is not None:
        schedule = schedule_of(body.schedule)
        source.schedule = schedule.as_dict()
        source.next_run_at = schedule.next_slot(datetime.now(UTC))
    if body.cursor is not None:
        source.lookback, source.settle = cursor_of(body.cursor)
        source.since = body.cursor.since
    for name in ("query", "metric", "mapping", "timeout_seconds", "max_rows", "enabled"):
        value = getattr(body, name)
        if value is not None:
            setattr(source, name, value)
    source.updated_at = datetime.now(UTC)
    await session.flush()
    audit.record("update", "source", source.id, before=before, after=audit_view(source))
    out = await _out(repository, source)
    await session.commit()
    return out


@router.delete(
    "/{source_id}",
    status_code=204,
    summary="Delete a source and its run log",
    description="Values it stored stay. A run in flight finishes without recording.",
)
async def delete_source(
    source_id: uuid.UUID, session: Session, _: SourceManager, audit: Audit
) -> Response:
    repository = SourceRepository(session)
    source = await repository.get(source_id, for_update=True)
    if source is None:
        raise _not_found(source_id)
    before = audit_view(source)
    await repository.delete(source)
    audit.record("delete", "source", source_id, before=before)
    await session.commit()
    return Response(status_code=204)


@router.post(
    "/{source_id}/runs",
    status_code=202,
    response_model=RunOut,
    summary="Run a source now",
    description="Queues a run (status `queued`); a collector takes it within about a "
    "second and it becomes `running`, then `succeeded` or `failed`: follow it with "
    "`GET /v1/sources/{id}/runs`. Works for a disabled source too.",
)
async def run_now(
    source_id: uuid.UUID, session: Session, actor: SourceManager, audit: Audit
) -> RunOut:
    repository = SourceRepository(session)
    source = await repository.get(source_id)
    if source is None:
        raise _not_found(source_id)
    run = await repository.add_run(
        SourceRun(
            source_id=source_id,
            trigger="manual",
            status="queued",
            created_at=datetime.now(UTC),
            requested_by=actor.name,
        )
    )
    audit.record("run", "source", source_id, after={"run_id": str(run.id)})
    out = run_out(run)
    await session.commit()
    return out


@router.get(
    "/{source_id}/runs",
    response_model=Page[RunOut],
    summary="The source's run log, newest first",
)
async def list_runs(
    source_id: uuid.UUID,
    session: Session,
    _: SourceManager,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[RunOut]:
    repository = SourceRepository(session)
    if await repository.get(source_id) is None:
        raise _not_found(source_id)
    runs = await repository.runs(source_id, limit + 1, decode_time_key(cursor))
    next_cursor = None
    if len(runs) > limit:
        runs = runs[:limit]
        next_cursor = encode_time_key(runs[-1].created_at, runs[-1].id)
    return Page[RunOut](items=[run_out(r) for r in runs], next_cursor=next_cursor)
