"""Typed settings shared by the services, and the fail-fast loader.

Each service declares one settings class (in its own `settings.py`) built from the
mix-ins here, so every variable is read in one place and validated at start-up.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Literal, Self, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from northstar.domain.cardinality import CardinalityLimits
from northstar.events.validation import EventBounds

ENV_PREFIX = "NORTHSTAR_"


class ServiceSettings(BaseSettings):
    """Settings every service has: its database, its HTTP listener and its log format."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(description="PostgreSQL URL, postgresql://user:pass@host:port/db")
    http_host: str = "0.0.0.0"
    http_port: int = Field(ge=1, le=65535)
    log_format: Literal["json", "console"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
            raise ValueError("must be a postgresql:// URL")
        return value


class KafkaSettings(BaseSettings):
    """Broker settings of the services that talk to Kafka."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    kafka_bootstrap: str = Field(description="host:port[,host:port]")
    topic_prefix: str = "northstar."
    # Apache Kafka supports idempotent producers (compose turns this on); Tansu does not.
    kafka_enable_idempotence: bool = False
    events_partitions: int = Field(default=12, ge=1, le=1000)
    kafka_request_timeout_ms: int = Field(default=4000, ge=500)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for part in value.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError("must be host:port[,host:port]")
        return value


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build the settings from the environment, or exit naming every bad variable.

    Misconfiguration must fail at start-up with a message an operator can act on,
    not as a stack trace deep in the first request.
    """
    try:
        return cls()
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in problem["loc"]).upper()
            message = "is required but not set" if problem["type"] == "missing" else problem["msg"]
            lines.append(f"  {name}: {message}")
        sys.stderr.write("northstar: invalid configuration\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from None


class OutboundSettings(BaseSettings):
    """Settings of the services that keep secrets for, and send requests to, addresses
    users choose (webhooks now, notification channels later): see docs/security.md."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Comma-separated keys (any strings of 16+ characters) encrypting stored secrets; the
    # first encrypts, every one decrypts, so a key is rotated by putting the new one first.
    # Unset: one derived from the database URL, and a warning (docs/security.md).
    encryption_keys: str | None = None
    # SPEC §2: let webhooks reach loopback and private addresses (on-premises receivers,
    # local development). Link-local and metadata addresses stay refused.
    webhook_allow_private_networks: bool = False

    @field_validator("encryption_keys")
    @classmethod
    def _keys(cls, value: str | None) -> str | None:
        if value is not None and any(len(k.strip()) < 16 for k in value.split(",")):
            raise ValueError("every key must be at least 16 characters")
        return value


#: `NORTHSTAR_RATE_LIMIT_STORAGE` schemes: process memory, or a Redis every process shares.
RATE_LIMIT_STORAGE_SCHEMES = ("memory", "redis", "rediss")


class RateLimitSettings(BaseSettings):
    """Where rate limit and sign-in throttle counters live (SPEC §19, docs/security.md).

    `memory://` (default): in each process, so N workers or replicas allow N times a
    limit. `redis://[:password@]host:port[/db]` (or `rediss://` for TLS): one Redis every
    process counts in, so the limits hold for the deployment as a whole."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    rate_limit_storage: str = "memory://"

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        if not separator or scheme not in RATE_LIMIT_STORAGE_SCHEMES:
            raise ValueError("must be memory:// or redis://host:port[/db] (rediss:// for TLS)")
        if scheme != "memory":
            host = rest.split("/", 1)[0].rpartition("@")[2]
            if not host:
                raise ValueError(f"names no host: {scheme}://host:port[/db]")
        return value


class MeasurementRetentionSettings(BaseSettings):
    """TimescaleDB policies for raw measurements (docs/deploy.md, "TimescaleDB"); read by
    the migrations and `python -m northstar.db.policies`, ignored without the extension.

    Rollups (minutes to weeks) keep the long history: reads use raw measurements only for
    the parts of a range that are not whole minutes (northstar/rollups/reader.py), so
    dropping old raw chunks loses the sub-minute edges of old ranges, not their totals.
    The default keeps them two years, as migration 0001 did."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Chunks of raw measurements older than this are compressed (segmented by metric).
    measurements_compress_after_days: int = Field(default=7, ge=1, le=36_500)
    # Chunks older than this are dropped; 0 keeps raw measurements for ever.
    measurements_retention_days: int = Field(default=730, ge=0, le=36_500)

    @model_validator(mode="after")
    def _retention_after_compression(self) -> Self:
        retain, compress = self.measurements_retention_days, self.measurements_compress_after_days
        if retain and retain <= compress:
            raise ValueError(
                "NORTHSTAR_MEASUREMENTS_RETENTION_DAYS must be 0 (keep) or more than "
                "NORTHSTAR_MEASUREMENTS_COMPRESS_AFTER_DAYS"
            )
        return self


class EventLimitSettings(BaseSettings):
    """What an event may hold, shared by ingest (which answers 422) and the evaluator
    (which dead-letters what reached Kafka some other way): docs/events.md."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Earliest accepted timestamp, after conversion to UTC.
    event_earliest_timestamp: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    # How far past the receive time a timestamp may lie.
    event_max_future_hours: float = Field(default=24, gt=0)
    # Largest accepted |value|; bounds every sum over a goal period (docs/events.md).
    event_max_abs_value: float = Field(default=1e15, gt=0, le=1.7e308)
    # Per metric: at most this many dimension keys, and this many distinct dimension sets
    # (like Prometheus's label_limit / sample_limit); events past a cap are refused
    # (docs/ingest.md, "Cardinality limits").
    event_max_dimension_keys: int = Field(default=32, ge=1, le=10_000)
    event_max_dimension_sets: int = Field(default=10_000, ge=1)

    @field_validator("event_earliest_timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 1970-01-01T00:00:00Z")
        return value.astimezone(UTC)

    def event_bounds(self) -> EventBounds:
        return EventBounds(
            earliest=self.event_earliest_timestamp,
            max_future=timedelta(hours=self.event_max_future_hours),
            max_abs_value=self.event_max_abs_value,
        )

    def cardinality_limits(self) -> CardinalityLimits:
        return CardinalityLimits(
            max_keys=self.event_max_dimension_keys, max_sets=self.event_max_dimension_sets
        )
