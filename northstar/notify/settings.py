"""Settings of notifications, shared by the api (which validates and seals channels) and
the evaluator (which queues and sends messages). Mixed into both services' settings, next
to `OutboundSettings` (the encryption keys and `webhook_allow_private_networks`, which
govern channels as they govern webhooks)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from northstar.config import ENV_PREFIX


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Base of the links in messages (where the web app is served).
    public_url: str = "http://localhost:8000"
    # Email channels: the SMTP relay every email goes through.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str = "northstar@localhost"
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    # Events of one goal within this many seconds go to a channel as one message.
    notification_group_window_seconds: float = Field(default=60, ge=0, le=86_400)
    # How often the notifier looks for due messages when nobody nudged it.
    notification_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # Retry backoff for failed sends: min(cap, base·2^(n-1)) × U[0.5, 1.5).
    notification_retry_base_seconds: float = Field(default=5, gt=0)
    notification_retry_cap_seconds: float = Field(default=3600, gt=0)
    notification_max_attempts: int = Field(default=10, ge=1, le=100)
    # Hard limit for one send (all of Apprise's work for one message).
    notification_timeout_seconds: float = Field(default=15, gt=0, le=300)
    # Sends in flight at once over all channels.
    notification_max_in_flight: int = Field(default=10, ge=1, le=200)
    # How often digests and check-in reminders are looked for.
    notification_schedule_interval_seconds: float = Field(default=30, gt=0)
    # Missed check-ins after which the unit lead is reminded as well.
    reminder_escalate_after: int = Field(default=2, ge=1, le=100)
