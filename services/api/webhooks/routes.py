"""`/v1/webhooks` (admin scope: a webhook makes the server send requests to a URL of the
caller's choosing, and carries a signing secret — the same trust as managing API keys)."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from northstar.db.models import Webhook, WebhookDelivery
from northstar.http.problems import Problem
from services.api.audit import Audit
from services.api.dependencies import Admin, Session
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
)
from services.api.webhooks.repository import WebhookRepository
from services.api.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=webhook.id, url=webhook.url, events=webhook.events, created_at=webhook.created_at
    )


def _delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        last_attempt_at=delivery.last_attempt_at,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
    )


def _not_found(webhook_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no webhook with id {webhook_id}.")


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events",
    description=(
        "Each delivery is a POST of the event envelope `{id, type, occurred_at, data}`, "
        "signed as `X-Northstar-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. "
        "The secret is returned in this response only."
    ),
)
async def create_webhook(
    body: WebhookCreate, session: Session, principal: Admin, audit: Audit
) -> WebhookCreated:
    secret = body.secret or secrets.token_urlsafe(32)
    webhook = await WebhookRepository(session).add(body.url, body.events, secret, principal.name)
    out = _out(webhook)
    audit.record("create", "webhook", webhook.id, after=out)
    await session.commit()
    return WebhookCreated(**out.model_dump(), secret=secret)


@router.get("", response_model=Page[WebhookOut], summary="List webhooks (secrets are never shown)")
async def list_webhooks(
    session: Session, _: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[WebhookOut]:
    webhooks = await WebhookRepository(session).page(limit + 1, decode_time_key(cursor))
    next_cursor = None
    if len(webhooks) > limit:
        webhooks = webhooks[:limit]
        next_cursor = encode_time_key(webhooks[-1].created_at, webhooks[-1].id)
    return Page[WebhookOut](items=[_out(w) for w in webhooks], next_cursor=next_cursor)


@router.get("/{webhook_id}", response_model=WebhookOut, summary="Get a webhook")
async def get_webhook(webhook_id: uuid.UUID, session: Session, _: Admin) -> WebhookOut:
    webhook = await WebhookRepository(session).get_active(webhook_id)
    if webhook is None:
        raise _not_found(webhook_id)
    return _out(webhook)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook",
    description="Its deliveries still pending are dropped (marked `failed`). Idempotent.",
)
async def delete_webhook(
    webhook_id: uuid.UUID, session: Session, _: Admin, audit: Audit
) -> Response:
    repository = WebhookRepository(session)
    active = await repository.get_active(webhook_id)
    before = _out(active) if active is not None else None
    # Deleting twice is not an error: the webhook is gone either way.
    if not await repository.delete(webhook_id) and not await repository.exists(webhook_id):
        raise _not_found(webhook_id)
    if before is not None:
        audit.record("delete", "webhook", webhook_id, before=before)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log of a webhook, newest first",
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: Session,
    _: Admin,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    repository = WebhookRepository(session)
    if await repository.get_active(webhook_id) is None:
        raise _not_found(webhook_id)
    deliveries = await repository.deliveries(
        webhook_id,
        limit + 1,
        status=status.value if status else None,
        before=decode_time_key(cursor),
    )
    next_cursor = None
    if len(deliveries) > limit:
        deliveries = deliveries[:limit]
        last = deliveries[-1]
        next_cursor = encode_time_key(last.created_at, last.id)
    return Page[DeliveryOut](items=[_delivery_out(d) for d in deliveries], next_cursor=next_cursor)
