"""`GET /v1/metrics`: every metric the evaluator has stored, with first/last seen and counts."""
