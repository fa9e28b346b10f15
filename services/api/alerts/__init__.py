"""`/v1/alerts`: list, read, acknowledge and resolve alerts on goals (SPEC §6)."""
