"""Evaluator settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from northstar.config import KafkaSettings, ServiceSettings


class EvaluatorSettings(ServiceSettings, KafkaSettings):
    http_port: int = Field(default=8002, ge=1, le=65535)
    consumer_group: str = "northstar-evaluator"
    # Upper bound of messages per poll; each message carries up to 500 events.
    max_poll_records: int = Field(default=200, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=10)
    # Seconds between time-driven re-evaluations of every active goal (SPEC §2).
    evaluation_interval: float = Field(default=60, gt=0)
    # Backoff bounds when a batch fails (database or broker away); the batch is retried.
    retry_backoff_max_seconds: float = Field(default=10, gt=0)
