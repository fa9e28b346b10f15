"""Webhook request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from northstar.outbox import EVENT_TYPES


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where deliveries are POSTed: an absolute http:// or https:// URL.",
        examples=["https://hooks.example.com/northstar"],
    )
    events: list[str] = Field(
        min_length=1,
        description=f"Event types to receive; any of: {', '.join(EVENT_TYPES)}.",
        examples=[["alert.opened", "alert.resolved"]],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signing secret. `whsec_<base64>` (the Standard Webhooks format) is "
        "used as the bytes it encodes; any other string as its UTF-8 bytes. One is generated "
        "(`whsec_` + 32 random bytes, returned once) if absent.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("must be an absolute http:// or https:// URL") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("events")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(map(repr, unknown))}; "
                f"valid types are {', '.join(EVENT_TYPES)}"
            )
        return list(dict.fromkeys(value))


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str = Field(description="Where deliveries are POSTed.")
    events: list[str] = Field(description="The event types this webhook receives.")
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret. Shown in this response only; store it now."
    )


class SecretCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="The new secret (same rules as on creation); generated if absent.",
    )
    expire_others_in: int | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="Seconds after which the webhook's other secrets stop signing (0: at "
        "once). Absent: they keep signing until retired with DELETE.",
    )


class SecretOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None = Field(
        description="When the secret stops (or stopped) signing; null: until retired."
    )


class SecretCreated(SecretOut):
    secret: str = Field(description="The secret. Shown in this response only; store it now.")


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="Also sent as the `X-Northstar-Delivery` header.")
    event_id: uuid.UUID = Field(description="The envelope's `id`; dedupe on it.")
    event_type: str = Field(description="Also sent as the `X-Northstar-Event` header.")
    status: DeliveryStatus = Field(
        description="`pending` (will be tried), `delivered` (a 2xx answer) or `failed` "
        "(gave up after the last attempt, or the webhook was deleted)."
    )
    attempts: int = Field(description="POSTs made so far.")
    last_status_code: int | None = Field(
        default=None, description="HTTP status of the last answer; null if there was none."
    )
    last_error: str | None = Field(
        default=None,
        description="Why the last attempt failed: the status and the start of the answer, "
        "a timeout or a connection error.",
    )
    created_at: datetime = Field(description="When the event was queued for this webhook.")
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = Field(
        default=None, description="When the next attempt is due; null once delivered or failed."
    )
