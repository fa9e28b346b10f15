"""The rules of channels and subscriptions, for their REST routes and for an apply of
`Channel` and `Subscription` documents (`services/api/apply/kinds.py`) alike.

Who may: routes on an existing channel, subscription or digest declare `Permit(
notifications:read|manage, <its resolver>)`. Creating one names its channel (or the new
channel's owner) in the body, so the route's `Permit(notifications:own)` lets every
person (and `write` keys) through and this decides on the owner, by the same rule
(`northstar.auth.policy`, rule 4): a person's settings are theirs and admins'; a unit's
channels its leads', editors' and admins'. Every write here checks it (`ensure_may_
manage`), so an apply cannot do what the routes refuse.

What: a target is validated for its kind and, when it names a host, checked to resolve
to a public address unless private networks are allowed (`northstar.notify.targets`);
it is sealed with the key ring's box before it is stored, and opened only to compare
(an apply) or to send. A subscription's scope must exist; `mine` needs a user's channel.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.authenticator import AuthError
from northstar.auth.policy import Action, decide
from northstar.crypto import SecretBox, SecretUnreadable
from northstar.db.models import NotificationChannel, NotificationSubscription
from northstar.http.problems import Problem
from northstar.notify.model import ChannelKind, OwnerKind
from northstar.notify.settings import NotificationSettings
from northstar.notify.targets import InvalidTarget, validate
from services.api.access import Actor
from services.api.notifications.repository import NotificationRepository
from services.api.notifications.schemas import Owner, Scope
from services.api.resources import settings_owner_resource


async def ensure_may_manage(
    session: AsyncSession, actor: Actor, owner_kind: str, owner_id: uuid.UUID
) -> None:
    """403 unless `actor` may change settings of a channel owned by `(owner_kind, owner_id)`."""
    resource = await settings_owner_resource(session, owner_kind, owner_id)
    decision = decide(actor.subject, Action.NOTIFICATIONS_MANAGE, resource)
    if not decision:
        raise AuthError(403, f"Not allowed: {decision.reason}.")


@dataclass(frozen=True, slots=True)
class Targets:
    """What channel targets need from the api: the settings they are validated with,
    whether private networks are allowed, and the box that seals them."""

    settings: NotificationSettings
    box: SecretBox
    allow_private: bool


async def valid_target(kind: ChannelKind, target: str, targets: Targets) -> str:
    """The target as it is stored (normalised), or 422 saying why it is not usable (a
    DNS look-up may run: in a thread)."""
    try:
        return await asyncio.to_thread(
            validate, kind, target, targets.settings, allow_private=targets.allow_private
        )
    except InvalidTarget as error:
        raise Problem(422, f"The target is not usable: {error}.") from None


def stored_target(channel: NotificationChannel, box: SecretBox) -> str | None:
    """The channel's target opened (None when the key ring cannot open it any more)."""
    try:
        return box.decrypt(channel.target.decode())
    except SecretUnreadable:
        return None


class ChannelService:
    """Channels and their subscriptions in one session; the caller commits."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.repository = NotificationRepository(session)

    async def owner(self, owner: Owner | None) -> Owner:
        """The owner a new channel gets (the signed-in person by default), which must
        exist and be the caller's to manage."""
        if owner is None:
            if self.actor.person is None:
                raise Problem(422, "A channel created with a service key needs an `owner`.")
            owner = Owner(kind=OwnerKind.USER, id=self.actor.person.id)
        if owner.kind is OwnerKind.UNIT and not await self.repository.unit_exists(owner.id):
            raise Problem(422, f"There is no unit with id {owner.id}.")
        if owner.kind is OwnerKind.USER and not await self.repository.user_exists(owner.id):
            raise Problem(422, f"There is no user with id {owner.id}.")
        await ensure_may_manage(self.session, self.actor, owner.kind.value, owner.id)
        return owner

    async def create_channel(
        self, *, name: str, kind: ChannelKind, target: str, owner: Owner | None, targets: Targets
    ) -> NotificationChannel:
        usable = await valid_target(kind, target, targets)
        owned_by = await self.owner(owner)
        return await self.repository.add_channel(
            name=name,
            kind=kind.value,
            sealed_target=targets.box.encrypt(usable).encode(),
            owner_kind=owned_by.kind.value,
            owner_id=owned_by.id,
            created_by=self.actor.name,
        )

    async def change_channel(
        self,
        channel: NotificationChannel,
        *,
        name: str | None,
        kind: ChannelKind | None,
        target: str | None,
        targets: Targets,
    ) -> None:
        """Rename a channel, or change its kind or target in place (its subscriptions,
        digests and delivery log stay). A new kind without a new target must accept the
        stored one. The REST api has no such route; an apply uses it."""
        await ensure_may_manage(self.session, self.actor, channel.owner_kind, channel.owner_id)
        if kind is not None or target is not None:
            new_kind = kind or ChannelKind(channel.kind)
            if target is None:
                target = stored_target(channel, targets.box)
                if target is None:
                    raise Problem(422, "The stored target cannot be opened: give a new target.")
            channel.target = targets.box.encrypt(
                await valid_target(new_kind, target, targets)
            ).encode()
            channel.kind = new_kind.value
        if name is not None:
            channel.name = name
        await self.session.flush()

    async def delete_channel(self, channel: NotificationChannel) -> None:
        await ensure_may_manage(self.session, self.actor, channel.owner_kind, channel.owner_id)
        await self.repository.delete_channel(channel.id)

    async def _subscribable(self, channel_id: uuid.UUID, scope: Scope) -> NotificationChannel:
        channel = await self.repository.channel(channel_id)
        if channel is None:
            raise Problem(422, f"There is no channel with id {channel_id}.")
        await ensure_may_manage(self.session, self.actor, channel.owner_kind, channel.owner_id)
        if scope.goal_id is not None and not await self.repository.goal_exists(scope.goal_id):
            raise Problem(422, f"There is no goal with id {scope.goal_id}.")
        if scope.unit_id is not None and not await self.repository.unit_exists(scope.unit_id):
            raise Problem(422, f"There is no unit with id {scope.unit_id}.")
        if scope.mine and channel.owner_kind != OwnerKind.USER:
            raise Problem(422, "`mine` needs a channel owned by a user.")
        return channel

    async def create_subscription(
        self, *, channel_id: uuid.UUID, scope: Scope, events: list[str], min_severity: str
    ) -> NotificationSubscription:
        await self._subscribable(channel_id, scope)
        return await self.repository.add_subscription(
            channel_id=channel_id,
            scope=scope.kind,
            goal_id=scope.goal_id,
            unit_id=scope.unit_id,
            events=events,
            min_severity=min_severity,
            created_by=self.actor.name,
        )

    async def change_subscription(
        self,
        subscription: NotificationSubscription,
        *,
        channel_id: uuid.UUID,
        scope: Scope,
        events: list[str],
        min_severity: str,
    ) -> None:
        """Change a subscription in place, checked as on creation (and the channel it
        leaves must be the caller's too)."""
        if subscription.channel_id != channel_id:
            old = await self.repository.channel(subscription.channel_id)
            if old is not None:
                await ensure_may_manage(self.session, self.actor, old.owner_kind, old.owner_id)
        await self._subscribable(channel_id, scope)
        subscription.channel_id = channel_id
        subscription.scope = scope.kind
        subscription.goal_id = scope.goal_id
        subscription.unit_id = scope.unit_id
        subscription.events = list(events)
        subscription.min_severity = min_severity
        await self.session.flush()

    async def delete_subscription(self, subscription: NotificationSubscription) -> None:
        channel = await self.repository.channel(subscription.channel_id)
        if channel is not None:
            await ensure_may_manage(self.session, self.actor, channel.owner_kind, channel.owner_id)
        await self.repository.delete_subscription(subscription.id)
