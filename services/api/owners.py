"""Owners: goals, KPIs and units name a person as their owner (SPEC §11)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import User
from northstar.http.problems import invalid_field


async def check_owner(session: AsyncSession, owner_id: uuid.UUID | None) -> None:
    """An `owner_id` must name a user (422 otherwise); deactivated people may still own."""
    if owner_id is not None and await session.get(User, owner_id) is None:
        raise invalid_field("owner_id", f"there is no user with id {owner_id}")
