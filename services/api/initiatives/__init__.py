"""Initiatives: the operational plan of a goal (SPEC §12)."""
