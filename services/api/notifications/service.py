"""Who may change which notification settings.

The route's `Permit(notifications:own)` lets every person (and `write` keys) through;
this decides on the channel: editors, admins and `write` service keys may change any
channel, a person their own channels and those of the units they lead (the policy's
`members:manage` there).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.authenticator import AuthError
from northstar.auth.policy import Action, decide
from northstar.notifications.model import OwnerKind
from services.api.access import Actor
from services.api.resources import unit_resource


async def ensure_may_manage(
    session: AsyncSession, actor: Actor, owner_kind: str, owner_id: uuid.UUID
) -> None:
    """403 unless `actor` may change settings of a channel owned by `(owner_kind, owner_id)`."""
    subject = actor.subject
    if decide(subject, Action.ORG_WRITE):
        return
    if owner_kind == OwnerKind.USER and actor.person is not None and actor.person.id == owner_id:
        return
    if owner_kind == OwnerKind.UNIT:
        resource = await unit_resource(session, owner_id)
        if resource is not None and decide(subject, Action.MEMBERS_MANAGE, resource):
            return
    raise AuthError(
        403,
        "Not allowed: a channel is changed by its owner, a lead of its unit, an editor or "
        "an admin.",
    )
