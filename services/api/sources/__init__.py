"""`/v1/sources`: sources Northstar pulls metric values from (SPEC §16, docs/sources.md)."""
