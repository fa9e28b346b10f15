"""`/v1/kpis`: anyone reads; editors, admins and the leads of a KPI's unit subtree create,
change and delete (SPEC §11; a KPI without a unit is editors' and admins')."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime

from northstar.auth.policy import Action
from northstar.db.models import Kpi
from northstar.domain.catalogue import catalogue_warnings
from northstar.domain.durations import format_duration
from northstar.domain.expressions import format_expression, metrics
from services.api.audit import Audit
from services.api.dependencies import Actor, Permit, Reader, Session
from services.api.fields import KPI_KEY_PATTERN
from services.api.kpis.repository import KpiRepository
from services.api.kpis.schemas import (
    AnomalySettings,
    ExpressionCheck,
    ExpressionChecked,
    ExpressionWarning,
    KpiCreate,
    KpiKind,
    KpiOut,
    KpiSource,
    KpiUpdate,
    KpiValues,
)
from services.api.kpis.service import KpiService, parse_kpi_expression
from services.api.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor, page_of
from services.api.resources import kpi_in_body, kpi_in_path, kpi_in_path_and_body

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])

# Editors and admins everywhere; a unit lead for the KPIs of their unit's subtree (SPEC §11).
NewKpi = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, kpi_in_body))]
ChangedKpi = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, kpi_in_path_and_body))]
DeletedKpi = Annotated[Actor, Depends(Permit(Action.GOALS_WRITE, kpi_in_path))]

KpiKey = Annotated[str, Path(description="The KPI's key.", max_length=64)]


def _out(kpi: Kpi) -> KpiOut:
    return KpiOut(
        key=kpi.key,
        name=kpi.name,
        description=kpi.description,
        unit=kpi.unit,
        expression=kpi.expression,
        kind=KpiKind(kpi.kind),
        max_staleness=format_duration(kpi.max_staleness) if kpi.max_staleness else None,
        metrics=list(kpi.metrics),
        source=KpiSource(kpi.source),
        category=kpi.category,
        owner_id=kpi.owner_id,
        unit_id=kpi.unit_id,
        anomaly=AnomalySettings.model_validate(kpi.anomaly) if kpi.anomaly else None,
        created_at=kpi.created_at,
        updated_at=kpi.updated_at,
    )


def _service(session: Session) -> KpiService:
    return KpiService(KpiRepository(session))


@router.post(
    "",
    status_code=201,
    response_model=KpiOut,
    summary="Create a KPI",
    description="The expression is parsed (never run as code) and stored in canonical form. "
    "A bad expression is a 422 whose `errors[0].position` points at the fault; a key in "
    f"use is a 409. Keys match `{KPI_KEY_PATTERN}`.",
)
async def create_kpi(body: KpiCreate, session: Session, _: NewKpi, audit: Audit) -> KpiOut:
    out = _out(await _service(session).create(body))
    audit.record("create", "kpi", out.key, after=out)
    await session.commit()
    return out


@router.post(
    "/expression-check",
    response_model=ExpressionChecked,
    summary="Check a KPI expression",
    description="Parses an expression without saving anything, as creating a KPI would: "
    "200 with its canonical form and metrics, or the same 422 (with `errors[0].position`) a "
    "bad expression gets on create. `warnings` names metrics and label keys no event has "
    "carried yet, with the nearest known name. The web app's KPI form calls it while the "
    "user types.",
)
async def check_expression(body: ExpressionCheck, session: Session, _: Reader) -> ExpressionChecked:
    expr = parse_kpi_expression(body.expression)
    catalogue = await KpiRepository(session).metric_catalogue()
    return ExpressionChecked(
        expression=format_expression(expr),
        metrics=sorted(metrics(expr)),
        warnings=[
            ExpressionWarning(
                metric=w.metric, label=w.label, suggestion=w.suggestion, message=w.message
            )
            for w in catalogue_warnings(expr, catalogue)
        ],
    )


@router.get("", response_model=Page[KpiOut], summary="List KPIs", description="By key.")
async def list_kpis(
    session: Session, _: Reader, limit: Limit = 100, cursor: Cursor = None
) -> Page[KpiOut]:
    after = decode_cursor(cursor)
    kpis = await KpiRepository(session).page(limit + 1, str(after[0]) if after else None)
    return page_of(kpis, limit, lambda k: encode_cursor([k.key]), _out)


@router.get("/{key}", response_model=KpiOut, summary="Get a KPI")
async def get_kpi(key: KpiKey, session: Session, _: Reader) -> KpiOut:
    return _out(await _service(session).get(key))


@router.patch(
    "/{key}",
    response_model=KpiOut,
    summary="Change a KPI",
    description="Only the fields sent change; the key cannot. A new expression re-evaluates "
    "every goal measured by the KPI in the same transaction.",
)
async def update_kpi(
    key: KpiKey, body: KpiUpdate, session: Session, _: ChangedKpi, audit: Audit
) -> KpiOut:
    service = _service(session)
    before = _out(await service.get(key))
    out = _out(await service.update(key, body, datetime.now(UTC)))
    audit.record("update", "kpi", key, before=before, after=out)
    await session.commit()
    return out


@router.delete(
    "/{key}",
    status_code=204,
    summary="Delete a KPI",
    description="Refused (409) while goals are measured by it.",
)
async def delete_kpi(key: KpiKey, session: Session, _: DeletedKpi, audit: Audit) -> Response:
    service = _service(session)
    before = _out(await service.get(key))
    await service.delete(key)
    audit.record("delete", "kpi", key, before=before)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/{key}/values",
    response_model=KpiValues,
    summary="The KPI as a time series",
    description="The KPI's value over each step `[t, t + step)`; steps without events are "
    "left out. `from` is aligned down to a step boundary (counted from the Unix epoch in "
    "UTC). Without `step`, the smallest of 1m, 5m, 15m, 1h, 6h, 1d that keeps the range "
    "within about 500 points is used (whole days beyond that). More than 5000 points is a "
    "422.",
)
async def kpi_values(
    key: KpiKey,
    session: Session,
    _: Reader,
    start: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="RFC 3339 with offset; default `to` minus 7 days."),
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="RFC 3339 with offset; default now.")
    ] = None,
    step: Annotated[
        str | None,
        Query(description="ISO-8601 duration, a whole number of minutes (PT5M, PT1H, P1D)."),
    ] = None,
) -> KpiValues:
    return await _service(session).values(key, start, end, step, datetime.now(UTC))
