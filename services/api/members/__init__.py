"""Unit memberships: who leads and who belongs to each org unit."""
