"""The evaluator's machine-delivery tasks ("outbox": what programs receive): the outbox
relay (committed outbox rows → `northstar.alerts` on Kafka, the events topic, queued
webhook deliveries, and — handing over to the people path in the same transaction — the
grouped messages of `northstar.notify`) and the webhook dispatcher (queued deliveries →
signed HTTP POSTs).

Messages to people (email, Slack, Teams, digests, reminders) are `services.evaluator.notify`."""
