"""Sources (SPEC §16): Northstar pulls a metric's values from where they already live.

`spec` is a source as the kinds see it; `rows` turns what a kind returned into metric
events; `kinds/` holds one module per kind of source behind one Protocol; `runner` runs
one source once (fetch → events → Kafka), shared by the collector and the api's preview.
The pure rules (schedules, windows, event ids) are in `northstar.domain.sources`.
"""
