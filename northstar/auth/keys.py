"""API key secrets, scopes, and the principal a request acts as.

A key looks like `ns_<8 hex prefix>_<43 url-safe chars>`: the prefix is shown in listings so
people can tell keys apart; only the SHA-256 of the whole key is stored. A key in another
format (a bootstrap secret) is shown by the first 8 hex digits of its digest, so no part
of its secret is stored.

A service key has no owner and acts with its scopes; a personal key belongs to a user and
acts as that user, narrowed by its scopes (`owner`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    # The business gauges on the api's /metrics (goal titles and targets are business data).
    METRICS_READ = "metrics:read"
    # SCIM provisioning (/scim/v2): an identity provider creates, changes and deactivates
    # people and groups (docs/sso.md).
    SCIM = "scim"


class Role(StrEnum):
    """A person's organisation role (SPEC §11)."""

    ADMIN = "admin"
    EDITOR = "editor"
    MEMBER = "member"
    VIEWER = "viewer"


# `admin` implies every scope; `write` implies `read`.
_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.WRITE: frozenset({Scope.WRITE, Scope.READ}),
    Scope.READ: frozenset({Scope.READ}),
    Scope.EVENTS_WRITE: frozenset({Scope.EVENTS_WRITE}),
    Scope.METRICS_READ: frozenset({Scope.METRICS_READ}),
    Scope.SCIM: frozenset({Scope.SCIM}),
}


@dataclass(frozen=True, slots=True)
class Person:
    """A user as a request sees them: signed in, or the owner of a personal key."""

    id: uuid.UUID
    email: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the key's id, name (the default event `source`) and scopes,
    for a personal key its owner, and the other event sources it may write."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]
    owner: Person | None = None
    sources: frozenset[str] = frozenset()

    def allows(self, scope: Scope) -> bool:
        return scopes_allow(self.scopes, scope)

    def may_write(self, source: str) -> bool:
        """A key writes under its own name, or a source listed on it: so one key can never
        claim another's `(source, event_id)` and have the dedupe drop the real event."""
        return source == self.name or source in self.sources


def scopes_allow(granted: Iterable[Scope], needed: Scope) -> bool:
    """Whether any of the `granted` scopes implies `needed`."""
    return any(needed in _IMPLIED[scope] for scope in granted)


def generate_key() -> tuple[str, str]:
    """A new secret and its display prefix."""
    prefix = secrets.token_hex(4)
    return f"ns_{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str:
    """The display prefix of a key in the standard format (its public part), else the
    first 8 hex digits of its digest: never a part of the secret itself."""
    parts = secret.split("_")
    if len(parts) >= 3 and parts[0] == "ns" and len(parts[1]) == 8:
        return parts[1]
    return hash_key(secret)[:8]
