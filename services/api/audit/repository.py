"""SQL for reading the audit trail, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditFilters:
    resource_type: str | None = None
    resource_id: str | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, filters: AuditFilters, limit: int, before: tuple[datetime, uuid.UUID] | None
    ) -> list[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        if filters.resource_type is not None:
            query = query.where(AuditEvent.resource_type == filters.resource_type)
        if filters.resource_id is not None:
            query = query.where(AuditEvent.resource_id == filters.resource_id)
        if filters.actor_id is not None:
            query = query.where(AuditEvent.actor_id == filters.actor_id)
        if filters.since is not None:
            query = query.where(AuditEvent.at >= filters.since)
        if filters.until is not None:
            query = query.where(AuditEvent.at < filters.until)
        if before is not None:
            query = query.where(tuple_(AuditEvent.at, AuditEvent.id) < before)
        return list((await self.session.scalars(query)).all())
