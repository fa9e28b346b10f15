"""`/v1/webhooks` (admin scope: a webhook makes the server send requests to a URL of the
caller's choosing, and carries a signing secret — the same trust as managing API keys)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from northstar.config import OutboundSettings
from northstar.crypto import SecretBox
from northstar.db.models import Webhook, WebhookDelivery, WebhookSecret
from northstar.http.problems import Problem, invalid_field
from northstar.http.ssrf import DestinationRefused, check_destination
from services.api.audit import Audit
from services.api.dependencies import Admin, Session
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    page_of,
)
from services.api.webhooks.repository import WebhookRepository
from services.api.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    SecretCreate,
    SecretCreated,
    SecretOut,
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


SIGNING = (
    "Each delivery is a POST of the event envelope `{id, type, occurred_at, data}`, signed "
    "per the Standard Webhooks specification: `webhook-id` (the delivery's id, the same on "
    "every retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature: "
    'v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one space-separated signature per '
    "active secret. Receivers verify with any Standard Webhooks library and refuse "
    "timestamps more than a few minutes old, which defeats replays. "
    "`X-Northstar-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (newest secret) is "
    "still sent for one release and is deprecated: it does not protect against replays."
)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def _check_url(request: Request, url: str) -> None:
    box_settings: OutboundSettings = request.app.state.outbound
    try:
        await check_destination(url, allow_private=box_settings.webhook_allow_private_networks)
    except DestinationRefused as refused:
        raise invalid_field("url", str(refused)) from None


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events",
    description=SIGNING
    + " The URL must resolve to a public address (private ones only when the server allows "
    "them; link-local and metadata addresses never): else 422. The secret is returned in "
    "this response only.",
)
async def create_webhook(
    body: WebhookCreate, session: Session, principal: Admin, request: Request, audit: Audit
) -> WebhookCreated:
    await _check_url(request, body.url)
    secret = body.secret or new_secret()
    repository = WebhookRepository(session)
    webhook = await repository.add(body.url, body.events, principal.name)
    await repository.add_secret(webhook.id, _box(request).encrypt(secret))
    out = _out(webhook)
    audit.record("create", "webhook", webhook.id, after=out)
    await session.commit()
    return WebhookCreated(**out.model_dump(), secret=secret)


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.webhook_box
    return box


def _secret_out(row: WebhookSecret) -> SecretOut:
    return SecretOut(id=row.id, created_at=row.created_at, expires_at=row.expires_at)


@router.get(
    "/{webhook_id}/secrets",
    response_model=list[SecretOut],
    summary="The webhook's signing secrets (never their values), oldest first",
)
async def list_secrets(webhook_id: uuid.UUID, session: Session, _: Admin) -> list[SecretOut]:
    repository = WebhookRepository(session)
    if await repository.get_active(webhook_id) is None:
        raise _not_found(webhook_id)
    return [_secret_out(s) for s in await repository.secrets(webhook_id)]


@router.post(
    "/{webhook_id}/secrets",
    status_code=201,
    response_model=SecretCreated,
    summary="Add a signing secret (rotation)",
    description="Rotation without a gap: add the new secret (deliveries are then signed "
    "with both), move the receiver to it, then retire the old one with DELETE, or let "
    "`expire_others_in` retire it. The secret is returned in this response only.",
)
async def add_secret(
    webhook_id: uuid.UUID,
    body: SecretCreate,
    session: Session,
    _: Admin,
    request: Request,
    audit: Audit,
) -> SecretCreated:
    repository = WebhookRepository(session)
    if await repository.get_active(webhook_id) is None:
        raise _not_found(webhook_id)
    secret = body.secret or new_secret()
    row = await repository.add_secret(webhook_id, _box(request).encrypt(secret))
    if body.expire_others_in is not None:
        at = row.created_at + timedelta(seconds=body.expire_others_in)
        await repository.expire_secrets(webhook_id, at, except_id=row.id)
    audit.record("create", "webhook_secret", row.id, after=_secret_out(row))
    await session.commit()
    return SecretCreated(**_secret_out(row).model_dump(), secret=secret)


@router.delete(
    "/{webhook_id}/secrets/{secret_id}",
    status_code=204,
    summary="Retire a signing secret now",
    description="409 if it is the webhook's last active secret (add another first).",
)
async def retire_secret(
    webhook_id: uuid.UUID, secret_id: uuid.UUID, session: Session, _: Admin, audit: Audit
) -> Response:
    repository = WebhookRepository(session)
    if await repository.get_active(webhook_id) is None:
        raise _not_found(webhook_id)
    rows = await repository.secrets(webhook_id)
    now = datetime.now(UTC)
    target = next((r for r in rows if r.id == secret_id), None)
    if target is None:
        raise Problem(404, f"Webhook {webhook_id} has no secret with id {secret_id}.")
    active = [r for r in rows if r.expires_at is None or r.expires_at > now]
    if target in active and len(active) == 1:
        raise Problem(
            409, "This is the webhook's last active secret; add a new one before retiring it."
        )
    if target in active:
        before = _secret_out(target)
        target.expires_at = now
        audit.record(
            "retire", "webhook_secret", secret_id, before=before, after=_secret_out(target)
        )
    await session.commit()
    return Response(status_code=204)


@router.get("", response_model=Page[WebhookOut], summary="List webhooks (secrets are never shown)")
async def list_webhooks(
    session: Session, _: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[WebhookOut]:
    webhooks = await WebhookRepository(session).page(limit + 1, decode_time_key(cursor))
    return page_of(webhooks, limit, lambda r: encode_time_key(r.created_at, r.id), _out)


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
    return page_of(deliveries, limit, lambda d: encode_time_key(d.created_at, d.id), _delivery_out)
