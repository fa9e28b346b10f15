"""SQL for browser sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import UserSession


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        user_id: uuid.UUID,
        *,
        token_hash: str,
        csrf_hash: str,
        expires_at: datetime,
        client_address: str | None,
        identity_provider_id: uuid.UUID | None = None,
        id_token: str | None = None,
    ) -> None:
        self.session.add(
            UserSession(
                user_id=user_id,
                token_hash=token_hash,
                csrf_hash=csrf_hash,
                expires_at=expires_at,
                client_address=client_address,
                identity_provider_id=identity_provider_id,
                id_token=id_token,
            )
        )
        await self.session.flush()

    async def revoke(self, session_id: uuid.UUID) -> UserSession | None:
        """End the session; answers it (with the provider it came from), if it was live."""
        return await self.session.scalar(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(UserSession)
        )
