"""Cycles: named planning periods, and carrying goals forward into the next (SPEC §12)."""
