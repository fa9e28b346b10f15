"""The first admin from `NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL`/`_PASSWORD`."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.passwords import hash_password_async
from northstar.db.models import User
from services.api.users.repository import UserRepository

log = logging.getLogger("northstar.api.people")


async def ensure_bootstrap_admin(session: AsyncSession, email: str, password: str) -> None:
    """Create an active admin with this email and password unless a user with the email
    exists. An existing user is left as it is (its password, role and status): like the
    bootstrap key, an admin who deactivated it or changed its password meant it, and a
    restart must not undo that. Several api workers start at once; the advisory lock
    makes one of them create the user."""
    email = email.strip().lower()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('northstar.bootstrap_admin'))")
    )
    users = UserRepository(session)
    if await users.by_email(email) is not None:
        return
    await users.add(
        User(
            email=email,
            name="Administrator",
            role="admin",
            status="active",
            password_hash=await hash_password_async(password),
        )
    )
    log.info("bootstrap admin created", extra={"email": email})
