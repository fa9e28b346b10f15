"""SQL for identity providers, sign-ins under way, and the accounts they link."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import IdentityProvider, OidcFlow, User, UserIdentity


class IdentityProviderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, provider: IdentityProvider) -> IdentityProvider:
        self.session.add(provider)
        await self.session.flush()
        await self.session.refresh(provider)
        return provider

    async def get(self, provider_id: uuid.UUID) -> IdentityProvider | None:
        return await self.session.get(IdentityProvider, provider_id)

    async def page(
        self, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> list[IdentityProvider]:
        query = (
            select(IdentityProvider)
            .order_by(IdentityProvider.created_at, IdentityProvider.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(IdentityProvider.created_at, IdentityProvider.id) > after)
        return list((await self.session.scalars(query)).all())

    async def enabled(self) -> list[IdentityProvider]:
        query = (
            select(IdentityProvider)
            .where(IdentityProvider.enabled.is_(True))
            .order_by(IdentityProvider.name, IdentityProvider.id)
        )
        return list((await self.session.scalars(query)).all())

    async def delete(self, provider: IdentityProvider) -> None:
        await self.session.delete(provider)
        await self.session.flush()


class FlowRepository:
    """Sign-ins under way (`oidc_flows`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        provider_id: uuid.UUID,
        *,
        state_hash: str,
        nonce: str,
        code_verifier: str,
        return_to: str,
        expires_at: datetime,
    ) -> None:
        await self.session.execute(
            delete(OidcFlow).where(OidcFlow.expires_at < func.now() - text("interval '1 day'"))
        )
        self.session.add(
            OidcFlow(
                provider_id=provider_id,
                state_hash=state_hash,
                nonce=nonce,
                code_verifier=code_verifier,
                return_to=return_to,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def take(self, state_hash: str, provider_id: uuid.UUID) -> OidcFlow | None:
        """Use up the flow (once, before it expires); None when there is no such live flow."""
        return await self.session.scalar(
            update(OidcFlow)
            .where(
                OidcFlow.state_hash == state_hash,
                OidcFlow.provider_id == provider_id,
                OidcFlow.used_at.is_(None),
                OidcFlow.expires_at > func.now(),
            )
            .values(used_at=func.now())
            .returning(OidcFlow)
        )


class IdentityRepository:
    """Accounts at providers linked to people (`user_identities`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_of(self, provider_id: uuid.UUID, subject: str) -> User | None:
        return await self.session.scalar(
            select(User)
            .join(UserIdentity, UserIdentity.user_id == User.id)
            .where(UserIdentity.provider_id == provider_id, UserIdentity.subject == subject)
        )

    async def link(self, provider_id: uuid.UUID, subject: str, user_id: uuid.UUID) -> None:
        await self.session.execute(
            insert(UserIdentity)
            .values(provider_id=provider_id, subject=subject, user_id=user_id)
            .on_conflict_do_nothing()
        )

    async def signed_in(self, provider_id: uuid.UUID, subject: str) -> None:
        await self.session.execute(
            update(UserIdentity)
            .where(UserIdentity.provider_id == provider_id, UserIdentity.subject == subject)
            .values(last_sign_in_at=func.now())
        )
