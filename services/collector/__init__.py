"""The collector: runs sources (SPEC §16) on their schedules and sends what they pull to
Kafka like ingest does (docs/sources.md says why it is its own service)."""
