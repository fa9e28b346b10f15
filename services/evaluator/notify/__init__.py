"""The evaluator's notification tasks: the outbox relay (committed events → Kafka, queued
webhook deliveries and grouped messages to people), the webhook dispatcher (queued
deliveries → HTTP POSTs), the notifier (due messages → email, Slack, Teams, Apprise) and
the schedule that queues digests."""
