"""Check-ins: people's updates on a goal (SPEC §12)."""
