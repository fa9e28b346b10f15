"""API key secrets, scopes, and the principal a request acts as.

A key looks like `ns_<8 hex prefix>_<43 url-safe chars>`: the prefix is shown in listings so
people can tell keys apart; only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    # The business gauges on the api's /metrics (goal titles and targets are business data).
    METRICS_READ = "metrics:read"


# `admin` implies every scope; `write` implies `read`.
_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.WRITE: frozenset({Scope.WRITE, Scope.READ}),
    Scope.READ: frozenset({Scope.READ}),
    Scope.EVENTS_WRITE: frozenset({Scope.EVENTS_WRITE}),
    Scope.METRICS_READ: frozenset({Scope.METRICS_READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the key's id, name (the default event `source`) and scopes."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return any(scope in _IMPLIED[granted] for granted in self.scopes)


def generate_key() -> tuple[str, str]:
    """A new secret and its display prefix."""
    prefix = secrets.token_hex(4)
    return f"ns_{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str:
    """The display prefix of a key in the standard format, else its first 8 characters."""
    parts = secret.split("_")
    if len(parts) >= 3 and parts[0] == "ns" and len(parts[1]) == 8:
        return parts[1]
    return secret[:8]
