"""Resolve a bearer key to a `Principal`, with a short cache.

Both HTTP services check keys on every request; a few-second cache keeps that off the
database on the hot path while bounding how long a revoked key keeps working
(`ttl` seconds, 2 by default — "within seconds everywhere").

A key past its `expires_at` is refused (cached or not). A personal key works only while
its owner is active. `last_used_at` is written on a cache miss, and only when the stored
value is older than `LAST_USED_RESOLUTION`: a busy key costs one write a minute, not one
a request.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.auth.keys import Person, Principal, Role, Scope, hash_key
from northstar.db.models import ApiKey, User

_MAX_CACHED = 10_000
# Every key this server issues (`ns_<prefix>_<secret>`) and every bootstrap secret (16+
# characters, SPEC §2) fits; anything else is refused before a hash or a query is spent.
KEY_FORMAT = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}")
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthError(Exception):
    """The request carries no usable key (401) or lacks the scope (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.name,
        ApiKey.scopes,
        ApiKey.sources,
        ApiKey.expires_at,
        ApiKey.last_used_at,
        User.id.label("owner_id"),
        User.email,
        User.name.label("owner_name"),
        User.role,
    )
    .outerjoin(User, User.id == ApiKey.user_id)
    .where(
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
        or_(ApiKey.user_id.is_(None), User.status == "active"),
    )
)


class Authenticator:
    def __init__(self, engine: AsyncEngine, *, ttl: float = 2.0) -> None:
        self._engine = engine
        self._ttl = ttl
        # hash -> (cache entry expiry, principal or None for unknown/revoked, key expiry)
        self._cache: dict[str, tuple[float, Principal | None, datetime | None]] = {}

    async def principal(self, authorization: str | None) -> Principal:
        """The key the header carries; `AuthError(401)` when there is none that works."""
        if not authorization:
            raise AuthError(401, "Send an API key as 'Authorization: Bearer <key>'.")
        kind, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if kind.lower() != "bearer" or not secret:
            raise AuthError(401, "The Authorization header must be 'Bearer <key>'.")
        if not KEY_FORMAT.fullmatch(secret):
            raise AuthError(401, "The API key is unknown, expired or has been revoked.")
        principal = await self._lookup(hash_key(secret))
        if principal is None:
            raise AuthError(401, "The API key is unknown, expired or has been revoked.")
        return principal

    async def authenticate(self, authorization: str | None, scope: Scope) -> Principal:
        principal = await self.principal(authorization)
        if not principal.allows(scope):
            raise AuthError(403, f"The API key '{principal.name}' lacks the '{scope.value}' scope.")
        return principal

    def forget(self) -> None:
        """Drop every cached lookup (after a change to keys or people in this process)."""
        self._cache.clear()

    async def _lookup(self, digest: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            expires_at = cached[2]
            if expires_at is not None and expires_at <= datetime.now(UTC):
                return None
            return cached[1]
        async with self._engine.connect() as conn:
            row = (await conn.execute(_LOOKUP.where(ApiKey.key_hash == digest))).first()
            if row is not None and (
                row.last_used_at is None
                or row.last_used_at < datetime.now(UTC) - LAST_USED_RESOLUTION
            ):
                await _touch(conn, row.id)
        principal = None
        if row is not None:
            owner = None
            if row.owner_id is not None:
                owner = Person(row.owner_id, row.email, row.owner_name, Role(row.role))
            principal = Principal(
                row.id,
                row.name,
                frozenset(Scope(s) for s in row.scopes),
                owner=owner,
                sources=frozenset(row.sources or ()),
            )
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal, row.expires_at if row else None)
        return principal


async def _touch(conn: AsyncConnection, key_id: uuid.UUID) -> None:
    """Record the key's use; guarded so concurrent lookups write once per resolution."""
    await conn.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=func.now())
    )
    await conn.commit()
