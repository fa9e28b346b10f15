"""SCIM 2.0 provisioning at `/scim/v2` (RFC 7643/7644): an identity provider creates,
changes and deactivates people here (SPEC §17, docs/sso.md)."""
