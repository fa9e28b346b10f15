"""Resolve a bearer key to a `Principal`, with a short cache.

Both HTTP services check keys on every request; a few-second cache keeps that off the
database on the hot path while bounding how long a revoked key keeps working
(`ttl` seconds, 2 by default — "within seconds everywhere").
"""

from __future__ import annotations

import re
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.auth.keys import Principal, Scope, hash_key
from northstar.db.models import ApiKey

_MAX_CACHED = 10_000
# Every key this server issues (`ns_<prefix>_<secret>`) and every bootstrap secret (16+
# characters, SPEC §2) fits; anything else is refused before a hash or a query is spent.
KEY_FORMAT = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}")


class AuthError(Exception):
    """The request carries no usable key (401) or lacks the scope (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Authenticator:
    def __init__(self, engine: AsyncEngine, *, ttl: float = 2.0) -> None:
        self._engine = engine
        self._ttl = ttl
        # hash -> (expires_at, principal or None for unknown/revoked)
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, authorization: str | None, scope: Scope) -> Principal:
        principal = await self.identify(authorization)
        if not principal.allows(scope):
            raise AuthError(403, f"The API key '{principal.name}' lacks the '{scope.value}' scope.")
        return principal

    async def identify(self, authorization: str | None) -> Principal:
        """The principal of a bearer key, whatever its scopes; 401 when there is none. A
        secret not in a key's format is refused without a database query."""
        if not authorization:
            raise AuthError(401, "Send an API key as 'Authorization: Bearer <key>'.")
        kind, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if kind.lower() != "bearer" or not secret:
            raise AuthError(401, "The Authorization header must be 'Bearer <key>'.")
        if not KEY_FORMAT.fullmatch(secret):
            raise AuthError(401, "The API key is unknown or has been revoked.")
        principal = await self._lookup(hash_key(secret))
        if principal is None:
            raise AuthError(401, "The API key is unknown or has been revoked.")
        return principal

    async def _lookup(self, digest: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(ApiKey.id, ApiKey.name, ApiKey.scopes).where(
                        ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                    )
                )
            ).first()
        principal = (
            Principal(row.id, row.name, frozenset(Scope(s) for s in row.scopes)) if row else None
        )
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal
