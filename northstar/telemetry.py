"""Every Prometheus metric the pipeline exports, in one place (names are SPEC §8 contract).

Business gauges (goal actual/expected/score…) are produced by the api's collector from
the latest evaluated statuses; they are declared in `services/api/gauges.py` because
they are computed per scrape, not incremented.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector


def _registry() -> CollectorRegistry:
    """A service's own registry: its metrics plus the process, platform and GC ones
    (so `process_resident_memory_bytes` and friends stay on every `/metrics`)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


# One registry per service: each `/metrics` carries its own service's metrics only, not
# every metric this module declares (which would export, say, an ingest gauge stuck at 0
# from the evaluator).
INGEST = _registry()
EVALUATOR = _registry()
API = _registry()
COLLECTOR = _registry()

INGEST_EVENTS = Counter(
    "northstar_ingest_events",
    "Events received by ingest, by outcome (accepted = acknowledged by Kafka).",
    ["outcome"],
    registry=INGEST,
)
INGEST_REQUEST_DURATION = Histogram(
    "northstar_ingest_request_duration_seconds",
    "Time from request received to response sent on POST /v1/events.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=INGEST,
)
INGEST_BROKER_UP = Gauge(
    "northstar_ingest_broker_up",
    "1 while the last produce to Kafka succeeded, 0 after a failure.",
    registry=INGEST,
)

EVALUATOR_EVENTS = Counter(
    "northstar_evaluator_events",
    "Events consumed by the evaluator, by outcome.",
    ["outcome"],
    registry=EVALUATOR,
)
EVALUATOR_REFUSED = Counter(
    "northstar_evaluator_events_refused",
    "Events the cardinality limits refused (dead-lettered), by the cap they would pass "
    "(dimension_keys, dimension_sets).",
    ["reason"],
    registry=EVALUATOR,
)
EVALUATOR_BATCH_DURATION = Histogram(
    "northstar_evaluator_batch_duration_seconds",
    "Time to process one consumed batch: decode, store, evaluate, commit.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=EVALUATOR,
)
EVALUATOR_CONSUMER_LAG = Gauge(
    "northstar_evaluator_consumer_lag_seconds",
    "Age of the oldest event not committed yet while the evaluator is behind the broker's "
    "high-water marks (0 when caught up); measured whether or not batches succeed.",
    registry=EVALUATOR,
)
EVALUATOR_CONSUMER_LAG_MESSAGES = Gauge(
    "northstar_evaluator_consumer_lag_messages",
    "Messages behind: the broker's high-water marks minus the group's committed offsets, "
    "summed over the partitions this evaluator owns.",
    registry=EVALUATOR,
)
EVALUATOR_BATCH_FAILURES = Gauge(
    "northstar_evaluator_batch_failures",
    "Consecutive failed attempts of the batch in flight (0 once it commits).",
    registry=EVALUATOR,
)
EVALUATOR_LAST_EVENT_TIMESTAMP = Gauge(
    "northstar_evaluator_last_event_timestamp_seconds",
    "Kafka timestamp (Unix seconds) of the newest message the evaluator committed.",
    registry=EVALUATOR,
)
EVALUATOR_ERRORS = Counter(
    "northstar_evaluator_errors",
    "Batches that failed and will be retried, by stage.",
    ["stage"],
    registry=EVALUATOR,
)

# The api's business-gauge cache (services/api/gauges.py): how fresh the numbers behind
# northstar_goal_* are, since a scrape serves the last refresh, never a live query.
API_GAUGES_LAST_REFRESH = Gauge(
    "northstar_api_gauges_last_refresh_timestamp_seconds",
    "Unix time of the last successful refresh of the business gauges from PostgreSQL.",
    registry=API,
)
API_GAUGES_REFRESH_DURATION = Gauge(
    "northstar_api_gauges_refresh_duration_seconds",
    "Time the last successful refresh of the business gauges took (query and build).",
    registry=API,
)
API_GAUGES_REFRESH_ERRORS = Counter(
    "northstar_api_gauges_refresh_errors",
    "Refreshes of the business gauges that failed; the previous values are kept.",
    registry=API,
)

OUTBOX_RELAYED = Counter(
    "northstar_outbox_relayed",
    "Outbox events relayed (published to Kafka when alerts, and queued for webhooks).",
    registry=EVALUATOR,
)
OUTBOX_PENDING = Gauge(
    "northstar_outbox_pending",
    "Committed outbox events not relayed yet, as of the relay's last pass.",
    registry=EVALUATOR,
)
OUTBOX_PARKED = Gauge(
    "northstar_outbox_parked",
    "Outbox events that could not be published and were set aside with their reason.",
    registry=EVALUATOR,
)
OUTBOX_PARKED_TOTAL = Counter(
    "northstar_outbox_parked_events",
    "Outbox events parked since start (each once).",
    registry=EVALUATOR,
)
OUTBOX_LAG = Gauge(
    "northstar_outbox_lag_seconds",
    "Age of the oldest outbox event not relayed yet, as of the relay's last pass (0 if none).",
    registry=EVALUATOR,
)
WEBHOOK_DELIVERIES = Counter(
    "northstar_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered (2xx), retried (will try again), "
    "failed (gave up after the last attempt).",
    ["outcome"],
    registry=EVALUATOR,
)
NOTIFICATIONS_SENT = Counter(
    "northstar_notifications",
    "Notification send attempts (email, Slack, Teams, Apprise) by outcome: delivered, "
    "retried (will try again), failed (gave up after the last attempt).",
    ["outcome"],
    registry=EVALUATOR,
)
WEBHOOK_DELIVERY_DURATION = Histogram(
    "northstar_webhook_delivery_duration_seconds",
    "Time from sending a webhook POST to its answer (or error).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=EVALUATOR,
)

# Sources (SPEC §16, docs/sources.md). Per source, labelled with its name: sources are
# few (each is a definition a person made), so the label's cardinality is bounded.
SOURCE_RUNS = Counter(
    "northstar_source_runs",
    "Source runs finished, by source and outcome (succeeded, failed).",
    ["source", "outcome"],
    registry=COLLECTOR,
)
SOURCE_ROWS = Counter(
    "northstar_source_rows",
    "Rows sources returned, by source.",
    ["source"],
    registry=COLLECTOR,
)
SOURCE_EVENTS = Counter(
    "northstar_source_events",
    "Pulled events sent to Kafka (values not stored before), by source.",
    ["source"],
    registry=COLLECTOR,
)
SOURCE_CONSECUTIVE_FAILURES = Gauge(
    "northstar_source_consecutive_failures",
    "Runs in a row that failed, per enabled source (0 after a good run).",
    ["source"],
    registry=COLLECTOR,
)
SOURCE_WATERMARK_LAG = Gauge(
    "northstar_source_watermark_lag_seconds",
    "Seconds between now and the newest row time a source's runs have stored, per "
    "enabled source with a watermark.",
    ["source"],
    registry=COLLECTOR,
)
SOURCE_RUN_DURATION = Histogram(
    "northstar_source_run_duration_seconds",
    "Time a source run took, from claim to its result stored.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=COLLECTOR,
)
COLLECTOR_BROKER_UP = Gauge(
    "northstar_collector_broker_up",
    "1 while the collector's last produce to Kafka succeeded, 0 after a failure.",
    registry=COLLECTOR,
)

for stage in ("prepare", "store", "dead_letter", "commit", "side_effects", "sweep_chunk"):
    EVALUATOR_ERRORS.labels(stage=stage)
for outcome in ("accepted", "rejected"):
    INGEST_EVENTS.labels(outcome=outcome)
for outcome in ("stored", "duplicate", "dead_lettered"):
    EVALUATOR_EVENTS.labels(outcome=outcome)
for reason in ("dimension_keys", "dimension_sets"):
    EVALUATOR_REFUSED.labels(reason=reason)
for outcome in ("delivered", "retried", "failed"):
    WEBHOOK_DELIVERIES.labels(outcome=outcome)
