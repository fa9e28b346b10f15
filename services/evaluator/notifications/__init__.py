"""The evaluator's notification tasks: the outbox relay (committed events → Kafka and
queued webhook deliveries) and the webhook dispatcher (queued deliveries → HTTP POSTs)."""
