"""Applying an identity provider's role and unit mappings to a person, the same way for
OpenID Connect sign-in (services/api/identity_providers) and SCIM groups
(services/api/scim): the rules are `northstar.auth.claims`; this writes what they say."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.claims import UnitPlan, mapped_units
from northstar.auth.keys import Role
from northstar.db.models import UnitMember, User
from services.api.audit import ActorRef, AuditTrail
from services.api.users.repository import UserRepository

log = logging.getLogger("northstar.api.sso")


class MembershipRepository:
    """A person's unit memberships, as the mappings change them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
        rows = await self.session.execute(
            select(UnitMember.unit_id, UnitMember.role).where(UnitMember.user_id == user_id)
        )
        return {row.unit_id: row.role for row in rows}

    async def put(self, unit_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        stmt = insert(UnitMember).values(unit_id=unit_id, user_id=user_id, role=role)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UnitMember.unit_id, UnitMember.user_id], set_={"role": role}
            )
        )

    async def leave(self, unit_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(UnitMember).where(UnitMember.unit_id == unit_id, UnitMember.user_id == user_id)
        )


async def apply_mappings(
    users: UserRepository,
    user: User,
    *,
    role: Role | None,
    claims: dict[str, Any],
    unit_mapping: dict[str, Any] | None,
    audit: AuditTrail,
    by: str,
    actor: ActorRef | None = None,
) -> None:
    """Make the person's role (None: left as it is) and the memberships `unit_mapping`
    manages what the provider says now. The audit names the person, or `actor` (SCIM's
    key), and records `by` (the provider) with a role change."""
    ref = actor or ActorRef("user", user.id, user.name)
    if role is not None and role.value != user.role:
        if user.role == Role.ADMIN.value and await users.active_admins() <= 1:
            log.warning(
                "identity provider would demote the last active admin; kept",
                extra={"user_id": str(user.id)},
            )
        else:
            audit.record(
                "update",
                "user",
                user.id,
                before={"role": user.role},
                after={"role": role.value, "by": by},
                actor=ref,
            )
            user.role = role.value
    plan: UnitPlan = mapped_units(claims, unit_mapping)
    memberships = MembershipRepository(users.session)
    current = await memberships.of(user.id)
    for unit_id, unit_role in plan.hold.items():
        if current.get(unit_id) != unit_role.value:
            await memberships.put(unit_id, user.id, unit_role.value)
            audit.record(
                "put",
                "unit_member",
                f"{unit_id}/{user.id}",
                before={"role": current.get(unit_id)},
                after={"role": unit_role.value},
                actor=ref,
            )
    for unit_id in plan.leave:
        if unit_id in current:
            await memberships.leave(unit_id, user.id)
            audit.record(
                "delete",
                "unit_member",
                f"{unit_id}/{user.id}",
                before={"role": current[unit_id]},
                actor=ref,
            )
    await users.session.flush()
