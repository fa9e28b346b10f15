"""SQL for users, their invitations and the sessions a change to a user ends."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Invitation, User, UserSession


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        await self.session.refresh(user)
        return user

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(func.lower(User.email) == email.lower())
        )

    async def page(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[User]:
        query = select(User).order_by(User.created_at, User.id).limit(limit)
        if after is not None:
            query = query.where(tuple_(User.created_at, User.id) > after)
        return list((await self.session.scalars(query)).all())

    async def active_admins(self) -> int:
        """Active admins, counted under a lock so two demotions cannot both pass."""
        rows = await self.session.scalars(
            select(User.id).where(User.role == "admin", User.status == "active").with_for_update()
        )
        return len(rows.all())

    async def end_sessions(self, user_id: uuid.UUID) -> None:
        await self.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def add_invitation(self, user_id: uuid.UUID, digest: str, expires_at: datetime) -> None:
        """A new invitation; the person's earlier unused ones stop working."""
        await self.session.execute(
            update(Invitation)
            .where(Invitation.user_id == user_id, Invitation.used_at.is_(None))
            .values(expires_at=func.now())
        )
        self.session.add(Invitation(user_id=user_id, token_hash=digest, expires_at=expires_at))
        await self.session.flush()

    async def take_invitation(self, digest: str) -> User | None:
        """Use up a valid invitation (once) and answer its active user, or None."""
        user_id = await self.session.scalar(
            update(Invitation)
            .where(
                Invitation.token_hash == digest,
                Invitation.used_at.is_(None),
                Invitation.expires_at > func.now(),
            )
            .values(used_at=func.now())
            .returning(Invitation.user_id)
        )
        if user_id is None:
            return None
        user = await self.get(user_id)
        return user if user is not None and user.status == "active" else None
