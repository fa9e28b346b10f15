"""Who may change which notification settings, where the route cannot say it up front.

Routes on an existing channel, subscription or digest declare `Permit(notifications:
read|manage, <its resolver>)`. Creating one names its channel (or the new channel's
owner) in the body, so the route's `Permit(notifications:own)` lets every person (and
`write` keys) through and this decides on the owner, by the same rule
(`northstar.auth.policy`, rule 4): a person's settings are theirs and admins'; a unit's
channels its leads', editors' and admins'.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.authenticator import AuthError
from northstar.auth.policy import Action, decide
from services.api.access import Actor
from services.api.resources import settings_owner_resource


async def ensure_may_manage(
    session: AsyncSession, actor: Actor, owner_kind: str, owner_id: uuid.UUID
) -> None:
    """403 unless `actor` may change settings of a channel owned by `(owner_kind, owner_id)`."""
    resource = await settings_owner_resource(session, owner_kind, owner_id)
    decision = decide(actor.subject, Action.NOTIFICATIONS_MANAGE, resource)
    if not decision:
        raise AuthError(403, f"Not allowed: {decision.reason}.")
