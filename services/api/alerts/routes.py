"""`/v1/alerts` (read scope to read; write scope to acknowledge and resolve)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from northstar.auth.policy import Action
from northstar.domain.alerts import AlertKind, AlertSeverity, AlertState
from services.api.alerts.repository import AlertFilters, AlertRepository
from services.api.alerts.schemas import AlertAction, AlertDetail, AlertOut, AlertStateFilter
from services.api.alerts.service import AlertService, alert_out
from services.api.audit import Audit
from services.api.dependencies import Actor, Permit, Reader, Session
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    page_of,
)
from services.api.resources import alert_goal_in_path

# Acknowledging and resolving is contributing to the alert's goal: its unit's members and
# leads, its owner, editors and admins.
HandleAlert = Annotated[Actor, Depends(Permit(Action.GOALS_CONTRIBUTE, alert_goal_in_path))]

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

_UNRESOLVED = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)


def _service(session: Session) -> AlertService:
    return AlertService(AlertRepository(session))


@router.get(
    "",
    response_model=Page[AlertOut],
    summary="List alerts",
    description="Newest first (by `opened_at`), keyset-paginated. Filters combine.",
)
async def list_alerts(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    state: Annotated[
        AlertStateFilter | None,
        Query(description="open, acknowledged, resolved, or unresolved (open or acknowledged)."),
    ] = None,
    goal_id: Annotated[uuid.UUID | None, Query(description="Only this goal's alerts.")] = None,
    kind: Annotated[AlertKind | None, Query(description="Only alerts of this kind.")] = None,
    severity: Annotated[
        AlertSeverity | None, Query(description="Only alerts of this severity.")
    ] = None,
) -> Page[AlertOut]:
    states: tuple[str, ...] | None = None
    if state is AlertStateFilter.UNRESOLVED:
        states = _UNRESOLVED
    elif state is not None:
        states = (state.value,)
    rows = await AlertRepository(session).page(
        limit + 1,
        decode_time_key(cursor),
        AlertFilters(
            states, goal_id, kind.value if kind else None, severity.value if severity else None
        ),
    )
    return page_of(rows, limit, lambda r: encode_time_key(r["opened_at"], r["id"]), alert_out)


@router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    summary="Get an alert with its events",
    description="The alert object plus `events`: every change of the alert, oldest first.",
)
async def get_alert(alert_id: uuid.UUID, session: Session, _: Reader) -> AlertDetail:
    return await _service(session).detail(alert_id)


@router.post(
    "/{alert_id}/ack",
    response_model=AlertDetail,
    summary="Acknowledge an alert",
    description='"I know": the alert stays unresolved, still escalates and still resolves '
    "itself when its condition clears. Only an open alert can be acknowledged (409 "
    "otherwise). Publishes `alert.acknowledged`.",
)
async def acknowledge_alert(
    alert_id: uuid.UUID,
    session: Session,
    principal: HandleAlert,
    audit: Audit,
    body: AlertAction | None = None,
) -> AlertDetail:
    service = _service(session)
    before = await service.detail(alert_id)
    alert = await service.acknowledge(
        alert_id, principal.name, body.note if body else None, datetime.now(UTC)
    )
    audit.record("acknowledge", "alert", alert_id, before=_fields(before), after=_fields(alert))
    await session.commit()
    return alert


@router.post(
    "/{alert_id}/resolve",
    response_model=AlertDetail,
    summary="Resolve an alert by hand",
    description='"I believe it is over": the alert closes now. If its condition still '
    "holds at the goal's next evaluation, a new alert opens. An alert already resolved is "
    "a 409. Publishes `alert.resolved`.",
)
async def resolve_alert(
    alert_id: uuid.UUID,
    session: Session,
    principal: HandleAlert,
    audit: Audit,
    body: AlertAction | None = None,
) -> AlertDetail:
    service = _service(session)
    before = await service.detail(alert_id)
    alert = await service.resolve(
        alert_id, principal.name, body.note if body else None, datetime.now(UTC)
    )
    audit.record("resolve", "alert", alert_id, before=_fields(before), after=_fields(alert))
    await session.commit()
    return alert


def _fields(alert: AlertDetail) -> dict[str, object]:
    """The alert without its event list (the events are the alert's own log)."""
    return alert.model_dump(mode="json", exclude={"events"})
