"""The rollup model: raw events and their minute, hour, day and week rollups, in one place.

- `levels`: the rollup levels, and how a time range is tiled by them.
- `batch`: a batch of events being prepared for the store (rows, ledger keys, summary).
- `writer`: stores a prepared batch (dedupe ledger, `measurements`, catalogue, rollups).
- `reader`: the value of a KPI over a range, merged from the rollups.
- `series`: a KPI per step (charts) and period to date (forecast).
"""
