"""The evaluator's people-notification tasks ("notify": messages a person reads): the
notifier (due messages → email, Slack, Teams, any Apprise target) and the schedules that
queue digests and check-in reminders. Their SQL is `northstar.notify.repository`; their
decisions are the pure planners of `northstar.notify.planning` and `timing`.

The machine path (outbox → Kafka, webhook deliveries) is `services.evaluator.outbox`."""
