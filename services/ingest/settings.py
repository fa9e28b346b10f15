"""Ingest settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from northstar.config import EventLimitSettings, KafkaSettings, ServiceSettings
from northstar.events.codec import MAX_SALT


class IngestSettings(ServiceSettings, KafkaSettings, EventLimitSettings):
    http_port: int = Field(default=8001, ge=1, le=65535)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_events_per_request: int = Field(default=10_000, ge=1)
    # A spreadsheet is one file: a `text/csv` body may hold this many rows (still within
    # max_body_bytes), so a 100,000-row export imports in one request.
    max_csv_rows_per_request: int = Field(default=200_000, ge=1)
    # Events per second per API key (token bucket, burst of two seconds); 0 disables.
    rate_limit_events_per_second: float = Field(default=200_000, ge=0)
    # A request whose events Kafka has not acknowledged within this many seconds gets 503.
    produce_timeout_seconds: float = Field(default=4.0, gt=0, le=30)
    # How long ingest trusts its copy of the metric catalogue for the cardinality caps.
    cardinality_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    api_key_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    workers: int = Field(default=1, ge=1, le=64)
    # Hot series (docs/ingest.md, "Kafka keys: one writer per series"): a series sending
    # more events per second than this through one ingest process is sliced over
    # `hot_series_salts` salted sub-series (partitions); 0 never salts.
    hot_series_events_per_second: float = Field(default=10_000, ge=0)
    hot_series_salts: int = Field(default=4, ge=2, le=MAX_SALT)
