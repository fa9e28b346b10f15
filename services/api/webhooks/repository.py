"""SQL for webhooks and their delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.crypto import LEGACY_PLAINTEXT, SecretBox
from northstar.db.models import Webhook, WebhookDelivery, WebhookSecret

# Written to `last_error` of deliveries that were still pending when their webhook went.
WEBHOOK_DELETED = "webhook deleted before delivery"


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, url: str, events: Sequence[str], created_by: str | None) -> Webhook:
        webhook = Webhook(url=url, events=list(events), created_by=created_by)
        self.session.add(webhook)
        await self.session.flush()
        await self.session.refresh(webhook)
        return webhook

    async def add_secret(self, webhook_id: uuid.UUID, ciphertext: str) -> WebhookSecret:
        secret = WebhookSecret(webhook_id=webhook_id, ciphertext=ciphertext)
        self.session.add(secret)
        await self.session.flush()
        await self.session.refresh(secret)
        return secret

    async def secrets(self, webhook_id: uuid.UUID) -> list[WebhookSecret]:
        """Every secret of the webhook, expired ones too, oldest first."""
        query = (
            select(WebhookSecret)
            .where(WebhookSecret.webhook_id == webhook_id)
            .order_by(WebhookSecret.created_at, WebhookSecret.id)
        )
        return list((await self.session.scalars(query)).all())

    async def expire_secrets(
        self, webhook_id: uuid.UUID, at: datetime, *, except_id: uuid.UUID | None = None
    ) -> None:
        """Make the webhook's active secrets (but `except_id`) expire at `at`, or earlier
        if they already were going to."""
        query = update(WebhookSecret).where(
            WebhookSecret.webhook_id == webhook_id,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > at),
        )
        if except_id is not None:
            query = query.where(WebhookSecret.id != except_id)
        await self.session.execute(query.values(expires_at=at))

    async def encrypt_legacy_secrets(self, box: SecretBox) -> int:
        """Encrypt the secrets migration 0005 moved over in plain text; how many."""
        legacy = (
            await self.session.scalars(
                select(WebhookSecret)
                .where(WebhookSecret.ciphertext.startswith(LEGACY_PLAINTEXT))
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in legacy:
            row.ciphertext = box.encrypt(box.decrypt(row.ciphertext))
        await self.session.flush()
        return len(legacy)

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
