"""API settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Self

import limits
from pydantic import Field, field_validator, model_validator

from northstar.auth.passwords import password_problems
from northstar.config import OutboundSettings, RateLimitSettings, ServiceSettings
from northstar.http.ratelimit import parse_limits
from northstar.notifications.settings import NotificationSettings


class ApiSettings(ServiceSettings, OutboundSettings, NotificationSettings, RateLimitSettings):
    http_port: int = Field(default=8000, ge=1, le=65535)
    # If set, an admin key with exactly this secret exists after start-up (SPEC §2).
    bootstrap_admin_key: str | None = Field(default=None, min_length=16)
    api_key_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    workers: int = Field(default=1, ge=1, le=64)
    # How often the business gauges on /metrics are refreshed from PostgreSQL.
    gauges_refresh_seconds: float = Field(default=5.0, gt=0, le=300)
    # The built web app served at / (default: web/dist of the source tree).
    web_dist: Path | None = None

    # -- defences (docs/security.md) ------------------------------------------------------
    # Request bodies over this are refused (413) before they are read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # `limits` strings ("600/minute", "10/second;600/minute"); empty means no limit.
    rate_limit_per_key: str = "6000/minute"
    rate_limit_per_address: str = "12000/minute"
    # Requests with a wrong key an address may make before it is refused for a while.
    failed_auth_limit: str = "30/minute"
    # Signs pagination cursors; every worker and replica needs the same one. Default: one
    # derived from the database URL (a shared, unpublished value), see docs/security.md.
    cursor_secret: str | None = Field(default=None, min_length=16)
    # If set, a key with exactly this secret and only the `metrics:read` scope exists after
    # start-up: what Prometheus sends to read the business gauges (compose, deploy/).
    metrics_key: str | None = Field(default=None, min_length=16)

    @field_validator("rate_limit_per_key", "rate_limit_per_address", "failed_auth_limit")
    @classmethod
    def _limits(cls, value: str) -> str:
        parse_limits(value)
        return value

    def cursor_key(self) -> bytes:
        if self.cursor_secret:
            return self.cursor_secret.encode()
        return hashlib.sha256(b"northstar cursor key\0" + self.database_url.encode()).digest()

    # People (docs/people.md): the first admin, session and invitation lifetimes, and the
    # sign-in throttle (in the `limits` library's notation, e.g. "10/15 minutes").
    bootstrap_admin_email: str | None = Field(default=None, max_length=254)
    bootstrap_admin_password: str | None = None
    session_hours: float = Field(default=12, gt=0, le=24 * 90)
    invitation_days: float = Field(default=7, gt=0, le=90)
    login_limit_per_account: str = "10/15 minutes"
    login_limit_per_address: str = "50/15 minutes"

    @field_validator("login_limit_per_account", "login_limit_per_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("must be a rate like '10/15 minutes'") from None
        return value

    @model_validator(mode="after")
    def _bootstrap_admin(self) -> Self:
        if (self.bootstrap_admin_email is None) != (self.bootstrap_admin_password is None):
            raise ValueError(
                "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL and NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD "
                "go together: set both or neither"
            )
        if self.bootstrap_admin_password is not None:
            problems = password_problems(
                self.bootstrap_admin_password, email=self.bootstrap_admin_email
            )
            if problems:
                raise ValueError("NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD " + "; ".join(problems))
        return self
