"""SQL for API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import ApiKey


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        await self.session.refresh(key)
        return key

    async def ensure(self, name: str, scopes: Sequence[str], key_hash: str, prefix: str) -> None:
        """Insert the key unless a key with this hash exists, revoked or not: a revoked
        bootstrap key stays revoked across restarts (an admin who revoked it meant it)."""
        stmt = insert(ApiKey).values(
            id=uuid.uuid4(), name=name, scopes=list(scopes), key_hash=key_hash, key_prefix=prefix
        )
        await self.session.execute(stmt.on_conflict_do_nothing(index_elements=[ApiKey.key_hash]))

    async def page(
        self,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        *,
        user_id: uuid.UUID | None = None,
    ) -> list[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
        if after is not None:
            query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > after)
        return list((await self.session.scalars(query)).all())

    async def working_admin_keys(self) -> list[uuid.UUID]:
        """Service keys with the admin scope that work now, locked against a concurrent
        revocation (so two revocations cannot both remove "the other" last admin key)."""
        rows = await self.session.scalars(
            select(ApiKey.id)
            .where(
                ApiKey.user_id.is_(None),
                ApiKey.scopes.contains(["admin"]),
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
            )
            .with_for_update()
        )
        return list(rows.all())

    async def revoke(self, key_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(ApiKey.id)
        )
        return result.first() is not None

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)
