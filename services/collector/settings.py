"""Collector settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from northstar.config import EventLimitSettings, KafkaSettings, OutboundSettings, ServiceSettings


class CollectorSettings(ServiceSettings, KafkaSettings, EventLimitSettings, OutboundSettings):
    http_port: int = Field(default=8003, ge=1, le=65535)
    # SPEC §16: this many failed runs in a row open a `source` alert on the goals whose
    # KPIs read the source's metric; the next good run resolves it.
    source_failures_before_alert: int = Field(default=3, ge=1, le=1000)
    # Runs one collector replica runs at once; each in its own task with its own timeout,
    # so a slow source holds one of these and never the others.
    source_concurrency: int = Field(default=8, ge=1, le=256)
    # How often the scheduler looks for due slots and queued runs when nobody asked.
    source_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # A running run's lease is its timeout plus this; past it, the run is given up as lost.
    source_lease_grace_seconds: float = Field(default=30, gt=0)
    # Kafka must acknowledge a run's events within this many seconds, or the run fails.
    produce_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # How long the collector trusts its copy of the metric catalogue for the caps.
    cardinality_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # The name this replica claims runs under (shown in logs; host and pid by default).
    collector_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}", max_length=100
    )
