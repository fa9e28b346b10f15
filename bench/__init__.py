"""Northstar's benchmarks: `make bench` (`python -m bench`).

Each benchmark runs the real services as processes against a real PostgreSQL and a
Kafka-protocol broker (Tansu) started for the run, and reports its figure next to a
ceiling measured in the same run on the same machine (see `docs/benchmarks.md` for the
table and the method, `docs/performance.md` for the profiles behind the design).
"""
