"""Every Prometheus metric the pipeline exports, in one place (names are SPEC §8 contract).

Business gauges (goal actual/expected/score…) are produced by the api's collector from
the latest evaluated statuses; they are declared in `services/api/gauges.py` because
they are computed per scrape, not incremented.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INGEST_EVENTS = Counter(
    "northstar_ingest_events",
    "Events received by ingest, by outcome (accepted = acknowledged by Kafka).",
    ["outcome"],
)
INGEST_REQUEST_DURATION = Histogram(
    "northstar_ingest_request_duration_seconds",
    "Time from request received to response sent on POST /v1/events.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGEST_BROKER_UP = Gauge(
    "northstar_ingest_broker_up",
    "1 while the last produce to Kafka succeeded, 0 after a failure.",
)

EVALUATOR_EVENTS = Counter(
    "northstar_evaluator_events",
    "Events consumed by the evaluator, by outcome.",
    ["outcome"],
)
EVALUATOR_BATCH_DURATION = Histogram(
    "northstar_evaluator_batch_duration_seconds",
    "Time to process one consumed batch: decode, store, evaluate, commit.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVALUATOR_CONSUMER_LAG = Gauge(
    "northstar_evaluator_consumer_lag_seconds",
    "Age of the newest message in the last processed batch when its processing finished.",
)
EVALUATOR_LAST_EVENT_TIMESTAMP = Gauge(
    "northstar_evaluator_last_event_timestamp_seconds",
    "Kafka timestamp (Unix seconds) of the newest message the evaluator committed.",
)
EVALUATOR_ERRORS = Counter(
    "northstar_evaluator_errors",
    "Batches that failed and will be retried, by stage.",
    ["stage"],
)

for outcome in ("accepted", "rejected"):
    INGEST_EVENTS.labels(outcome=outcome)
for outcome in ("stored", "duplicate", "dead_lettered"):
    EVALUATOR_EVENTS.labels(outcome=outcome)
