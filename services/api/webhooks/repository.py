"""SQL for webhooks and their delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Webhook, WebhookDelivery

# Written to `last_error` of deliveries that were still pending when their webhook went.
WEBHOOK_DELETED = "webhook deleted before delivery"


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, url: str, events: Sequence[str], secret: str, created_by: str | None
    ) -> Webhook:
        webhook = Webhook(url=url, events=list(events), secret=secret, created_by=created_by)
        self.session.add(webhook)
        await self.session.flush()
        await self.session.refresh(webhook)
        return webhook

    async def get_active(self, webhook_id: uuid.UUID) -> Webhook | None:
        return await self.session.scalar(
            select(Webhook).where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None))
        )

    async def exists(self, webhook_id: uuid.UUID) -> bool:
        return await self.session.get(Webhook, webhook_id) is not None

    async def page(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Webhook]:
        query = (
            select(Webhook)
            .where(Webhook.deleted_at.is_(None))
            .order_by(Webhook.created_at, Webhook.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(Webhook.created_at, Webhook.id) > after)
        return list((await self.session.scalars(query)).all())

    async def delete(self, webhook_id: uuid.UUID) -> bool:
        """Soft-delete; its pending deliveries become `failed` so the dispatcher drops them."""
        deleted = await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None))
            .values(deleted_at=func.now())
            .returning(Webhook.id)
        )
        if deleted.first() is None:
            return False
        await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
            .values(status="failed", last_error=WEBHOOK_DELETED)
        )
        return True

    async def deliveries(
        self,
        webhook_id: uuid.UUID,
        limit: int,
        *,
        status: str | None,
        before: tuple[datetime, uuid.UUID] | None,
    ) -> list[WebhookDelivery]:
        """Newest first, on the `(webhook_id, created_at)` index."""
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        if before is not None:
            query = query.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < before)
        return list((await self.session.scalars(query)).all())
