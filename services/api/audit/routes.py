"""`GET /v1/audit` (admin): every mutating request, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from northstar.auth.policy import Action
from northstar.db.models import AuditEvent
from services.api.access import Actor, Permit
from services.api.audit.repository import AuditFilters, AuditRepository
from services.api.audit.schemas import AuditActor, AuditRecord, AuditResource
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of
from services.api.transaction import Session

router = APIRouter(prefix="/v1/audit", tags=["audit"])

AuditReader = Annotated[Actor, Depends(Permit(Action.AUDIT_READ))]


def _out(event: AuditEvent) -> AuditRecord:
    return AuditRecord(
        id=event.id,
        at=event.at,
        actor=AuditActor(
            kind="user" if event.actor_kind == "user" else "key",
            id=event.actor_id,
            name=event.actor_name,
        ),
        action=event.action,
        resource=AuditResource(type=event.resource_type, id=event.resource_id),
        changes=event.changes,
        request_id=event.request_id,
    )


@router.get(
    "",
    response_model=Page[AuditRecord],
    summary="The audit trail",
    description="Newest first, keyset-paginated. `resource` is a type (`goal`) or a type "
    "and id (`goal:<id>`, `kpi:<key>`); `actor` a user or key id; `from`/`to` bound `at` "
    "(from inclusive, to exclusive).",
)
async def list_audit(
    session: Session,
    _: AuditReader,
    resource: Annotated[str | None, Query(max_length=200)] = None,
    actor: uuid.UUID | None = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditRecord]:
    resource_type, resource_id = None, None
    if resource:
        resource_type, _sep, rest = resource.partition(":")
        resource_id = rest or None
    filters = AuditFilters(resource_type, resource_id, actor, since, until)
    events = await AuditRepository(session).page(filters, limit + 1, decode_time_key(cursor))
    return page_of(events, limit, lambda r: encode_time_key(r.at, r.id), _out)
