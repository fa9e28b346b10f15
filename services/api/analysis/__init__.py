"""Analysis: a KPI by dimension, and what drives a goal's gap (SPEC §13)."""
