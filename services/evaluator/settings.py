"""Evaluator settings (NORTHSTAR_* environment variables)."""

from __future__ import annotations

import socket

from pydantic import Field

from northstar.config import EventLimitSettings, KafkaSettings, OutboundSettings, ServiceSettings
from northstar.notify.settings import NotificationSettings


class EvaluatorSettings(
    ServiceSettings, KafkaSettings, EventLimitSettings, OutboundSettings, NotificationSettings
):
    http_port: int = Field(default=8002, ge=1, le=65535)
    consumer_group: str = "northstar-evaluator"
    # Names this replica in PostgreSQL (`application_name` northstar-evaluator/<name>), so
    # `pg_stat_activity`, lock reports and slow-query logs tell replicas apart. Default:
    # the host name (a pod's name on Kubernetes).
    instance_name: str = Field(
        default_factory=lambda: socket.gethostname()[:40] or "evaluator",
        min_length=1,
        max_length=40,
        pattern=r"^[ -~]+$",
    )
    # Upper bound of messages per poll; each message carries up to 500 events. 100 keeps
    # a replica catching up a backlog under 200 MB (a batch prepared while another is
    # written) at the same events per CPU-second as 200 (docs/performance.md, "Issue 29").
    max_poll_records: int = Field(default=100, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=10)
    # How long the broker may hold a fetch open waiting for new records. The consumer
    # sees a record no sooner than the fetch in flight returns, so this bounds what an
    # event waits between being produced and being polled when the topic is quiet.
    # Lower halves the median end-to-end latency but makes more, smaller batches, each
    # judged, and the p95 was worse in two of three runs at 50 ms, so the client's
    # default stays (docs/performance.md, "Issue 29").
    consumer_fetch_max_wait_ms: int = Field(default=500, ge=1, le=10_000)
    # Group membership: how fast a dead member's partitions move to the others.
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1000)
    consumer_heartbeat_interval_ms: int = Field(default=2_000, ge=100)
    # With more than one replica, a goal is judged by the replica owning its tree; the
    # judgements other replicas request of this one are done with each batch, or when
    # they notify it (LISTEN/NOTIFY), and, should a notification be lost, by a poll
    # this often (services/evaluator/ownership.py).
    judge_request_poll_ms: int = Field(default=1000, ge=10, le=60_000)
    # Seconds between time-driven re-evaluations of every active goal (SPEC §2).
    evaluation_interval: float = Field(default=60, gt=0)
    # Retention of bookkeeping tables (see services/evaluator/housekeeping.py).
    dedupe_window_days: float = Field(default=30, gt=0)
    outbox_retention_days: float = Field(default=7, gt=0)
    delivery_retention_days: float = Field(default=30, gt=0)
    # Backoff bounds when a batch fails (database or broker away); the batch is retried.
    retry_backoff_max_seconds: float = Field(default=10, gt=0)

    # -- outbox relay and webhook dispatcher (docs/notifications.md) ----------------------
    # How often the relay looks for committed outbox rows when nobody nudged it.
    outbox_poll_interval_seconds: float = Field(default=0.5, gt=0)
    # Parked (unpublishable) outbox events fail /readyz and the alert for this long.
    outbox_parked_window_hours: float = Field(default=24, gt=0)
    # /readyz fails when an outbox event waits longer than this.
    outbox_max_age_seconds: float = Field(default=120, gt=0)
    # /readyz fails after this many consecutive failed attempts of one batch ...
    readiness_failed_attempts: int = Field(default=5, ge=1)
    # ... or when the oldest uncommitted event is older than this.
    readiness_max_lag_seconds: float = Field(default=300, gt=0)
    # How often the consumer's lag is measured from the broker.
    lag_interval_seconds: float = Field(default=5, gt=0)
    # Outbox rows relayed per transaction.
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)
    # How often the dispatcher looks for due deliveries when nobody nudged it.
    webhook_poll_interval_seconds: float = Field(default=0.5, gt=0)
    # Retry backoff: delay after the n-th failed attempt = min(cap, base·2^(n-1)) × U[0.5, 1.5).
    webhook_retry_base_seconds: float = Field(default=1, gt=0)
    webhook_retry_cap_seconds: float = Field(default=3600, gt=0)
    # Attempts before a delivery is marked `failed` (15 ≈ 3 h with the defaults above).
    webhook_max_attempts: int = Field(default=15, ge=1, le=100)
    # Per-request timeout (connect + send + wait for the answer), seconds.
    webhook_timeout_seconds: float = Field(default=5, gt=0, le=120)
    # POSTs in flight at once, over all subscribers.
    webhook_max_in_flight: int = Field(default=20, ge=1, le=1000)
