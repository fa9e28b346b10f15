"""API settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from northstar.config import ServiceSettings
from northstar.notifications.settings import NotificationSettings


class ApiSettings(ServiceSettings, NotificationSettings):
    http_port: int = Field(default=8000, ge=1, le=65535)
    # If set, an admin key with exactly this secret exists after start-up (SPEC §2).
    bootstrap_admin_key: str | None = Field(default=None, min_length=16)
    api_key_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    workers: int = Field(default=1, ge=1, le=64)
    # How often the business gauges on /metrics are refreshed from PostgreSQL.
    gauges_refresh_seconds: float = Field(default=5.0, gt=0, le=300)
