"""Identity providers (admin): the OpenID Connect providers people sign in with, and how
their claims map to roles and unit memberships (SPEC §17, docs/sso.md)."""
