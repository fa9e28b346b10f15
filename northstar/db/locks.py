"""Transaction-level advisory locks that serialise changes to a hierarchy.

A re-parenting checks "the new parent is not below me" and then writes. Under READ
COMMITTED two opposing re-parentings (A under B, B under A) both pass that check before
either commits, and together store a cycle. Every change of a parent link therefore first
takes the hierarchy's lock and only then runs the check: the second transaction waits for
the first to commit, and its check (a new statement) sees the first one's link. The lock
is released by the commit or rollback; nothing else ever waits for it.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The first half of every two-key advisory lock Northstar takes, so its locks do not
# collide with another application's on a shared database.
_NAMESPACE = 0x4E53  # "NS"


class Hierarchy(IntEnum):
    GOALS = 1
    UNITS = 2


async def lock_hierarchy(session: AsyncSession, hierarchy: Hierarchy) -> None:
    """Wait for, then hold until the transaction ends, the right to change `hierarchy`'s
    parent links."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :hierarchy)"),
        {"namespace": _NAMESPACE, "hierarchy": int(hierarchy)},
    )
