"""SQL for channels, subscriptions, digests, quiet hours and the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from northstar.auth.policy import NotificationReach
from northstar.db.models import (
    Goal,
    NotificationChannel,
    NotificationDigest,
    NotificationMessage,
    NotificationPreference,
    NotificationSubscription,
    OrgUnit,
    User,
)

# Written to `last_error` of messages still pending when their channel was deleted.
CHANNEL_DELETED = "channel deleted before delivery"
_MAX_DEPTH = 64  # as every tree walk (services/api/resources.py)


def _subtrees(roots: frozenset[uuid.UUID]) -> Select[tuple[uuid.UUID]]:
    """The ids of the units in `roots` and every unit below them."""
    tree = (
        select(OrgUnit.id, literal(0).label("depth"))
        .where(OrgUnit.id.in_(roots))
        .cte("subtree", recursive=True)
    )
    child = aliased(OrgUnit)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1).where(
            child.parent_id == tree.c.id, tree.c.depth < _MAX_DEPTH
        )
    )
    return select(tree.c.id)


def visible_channels(reach: NotificationReach) -> ColumnElement[bool] | None:
    """The channels `reach` sees, as a condition on `NotificationChannel` (None: all)."""
    if reach.everything:
        return None
    seen: list[ColumnElement[bool]] = []
    if reach.user_id is not None:
        seen.append(
            and_(
                NotificationChannel.owner_kind == "user",
                NotificationChannel.owner_id == reach.user_id,
            )
        )
    if reach.all_units:
        seen.append(NotificationChannel.owner_kind == "unit")
    elif reach.led_units:
        seen.append(
            and_(
                NotificationChannel.owner_kind == "unit",
                NotificationChannel.owner_id.in_(_subtrees(reach.led_units)),
            )
        )
    return or_(*seen) if seen else false()


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- channels ---------------------------------------------------------------------------

    async def add_channel(
        self,
        *,
        name: str,
        kind: str,
        sealed_target: bytes,
        owner_kind: str,
        owner_id: uuid.UUID,
        created_by: str | None,
    ) -> NotificationChannel:
        channel = NotificationChannel(
            name=name,
            kind=kind,
            target=sealed_target,
            owner_kind=owner_kind,
            owner_id=owner_id,
            created_by=created_by,
        )
        self.session.add(channel)
        await self.session.flush()
        await self.session.refresh(channel)
        return channel

    async def channel(self, channel_id: uuid.UUID) -> NotificationChannel | None:
        return await self.session.scalar(
            select(NotificationChannel).where(
                NotificationChannel.id == channel_id, NotificationChannel.deleted_at.is_(None)
            )
        )

    async def channels(
        self, limit: int, after: tuple[datetime, uuid.UUID] | None, *, reach: NotificationReach
    ) -> list[NotificationChannel]:
        query = (
            select(NotificationChannel)
            .where(NotificationChannel.deleted_at.is_(None))
            .order_by(NotificationChannel.created_at, NotificationChannel.id)
            .limit(limit)
        )
        seen = visible_channels(reach)
        if seen is not None:
            query = query.where(seen)
        if after is not None:
            query = query.where(
                tuple_(NotificationChannel.created_at, NotificationChannel.id) > after
            )
        return list((await self.session.scalars(query)).all())

    async def delete_channel(self, channel_id: uuid.UUID) -> bool:
        """Soft-delete; its pending messages become `failed` and are not sent."""
        deleted = await self.session.execute(
            update(NotificationChannel)
            .where(NotificationChannel.id == channel_id, NotificationChannel.deleted_at.is_(None))
            .values(deleted_at=func.now())
            .returning(NotificationChannel.id)
        )
        if deleted.first() is None:
            return False
        await self.session.execute(
            update(NotificationMessage)
            .where(
                NotificationMessage.channel_id == channel_id,
                NotificationMessage.status == "pending",
            )
            .values(status="failed", last_error=CHANNEL_DELETED)
        )
        return True

    async def channel_existed(self, channel_id: uuid.UUID) -> bool:
        return await self.session.get(NotificationChannel, channel_id) is not None

    async def messages(
        self,
        channel_id: uuid.UUID,
        limit: int,
        *,
        status: str | None,
        before: tuple[datetime, uuid.UUID] | None,
    ) -> list[NotificationMessage]:
        """Newest first, on the `(channel_id, created_at)` index."""
        query = (
            select(NotificationMessage)
            .where(NotificationMessage.channel_id == channel_id)
            .order_by(NotificationMessage.created_at.desc(), NotificationMessage.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(NotificationMessage.status == status)
        if before is not None:
            query = query.where(
                tuple_(NotificationMessage.created_at, NotificationMessage.id) < before
            )
        return list((await self.session.scalars(query)).all())

    # -- what a subscription may point at ------------------------------------------------

    async def goal_exists(self, goal_id: uuid.UUID) -> bool:
        return await self.session.get(Goal, goal_id) is not None

    async def unit_exists(self, unit_id: uuid.UUID) -> bool:
        return await self.session.get(OrgUnit, unit_id) is not None

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        return await self.session.get(User, user_id) is not None

    # -- subscriptions ---------------------------------------------------------------------

    async def add_subscription(
        self,
        *,
        channel_id: uuid.UUID,
        scope: str,
        goal_id: uuid.UUID | None,
        unit_id: uuid.UUID | None,
        events: Sequence[str],
        min_severity: str,
        created_by: str | None,
    ) -> NotificationSubscription:
        subscription = NotificationSubscription(
            channel_id=channel_id,
            scope=scope,
            goal_id=goal_id,
            unit_id=unit_id,
            events=list(events),
            min_severity=min_severity,
            created_by=created_by,
        )
        self.session.add(subscription)
        await self.session.flush()
        await self.session.refresh(subscription)
        return subscription

    async def subscriptions(
        self,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        *,
        channel_id: uuid.UUID | None,
        reach: NotificationReach,
    ) -> list[NotificationSubscription]:
        query = (
            select(NotificationSubscription)
            .join(
                NotificationChannel, NotificationChannel.id == NotificationSubscription.channel_id
            )
            .where(NotificationChannel.deleted_at.is_(None))
            .order_by(NotificationSubscription.created_at, NotificationSubscription.id)
            .limit(limit)
        )
        seen = visible_channels(reach)
        if seen is not None:
            query = query.where(seen)
        if channel_id is not None:
            query = query.where(NotificationSubscription.channel_id == channel_id)
        if after is not None:
            query = query.where(
                tuple_(NotificationSubscription.created_at, NotificationSubscription.id) > after
            )
        return list((await self.session.scalars(query)).all())

    async def subscription(self, subscription_id: uuid.UUID) -> NotificationSubscription | None:
        return await self.session.get(NotificationSubscription, subscription_id)

    async def digest(self, digest_id: uuid.UUID) -> NotificationDigest | None:
        return await self.session.get(NotificationDigest, digest_id)

    async def delete_subscription(self, subscription_id: uuid.UUID) -> bool:
        subscription = await self.session.get(NotificationSubscription, subscription_id)
        if subscription is None:
            return False
        await self.session.delete(subscription)
        return True

    # -- digests ---------------------------------------------------------------------------

    async def put_digest(
        self, *, channel_id: uuid.UUID, cadence: str, at: time, timezone: str, weekday: int
    ) -> NotificationDigest:
        """One digest per channel and cadence: posting again changes its time."""
        row: NotificationDigest | None = await self.session.scalar(
            insert(NotificationDigest)
            .values(
                id=uuid.uuid4(),
                channel_id=channel_id,
                cadence=cadence,
                at=at,
                timezone=timezone,
                weekday=weekday,
            )
            .on_conflict_do_update(
                constraint="uq_notification_digests_channel_cadence",
                set_={"at": at, "timezone": timezone, "weekday": weekday},
            )
            .returning(NotificationDigest)
        )
        assert row is not None
        return row

    async def digests(
        self, *, channel_id: uuid.UUID | None, reach: NotificationReach
    ) -> list[NotificationDigest]:
        query = (
            select(NotificationDigest)
            .join(NotificationChannel, NotificationChannel.id == NotificationDigest.channel_id)
            .where(NotificationChannel.deleted_at.is_(None))
            .order_by(NotificationDigest.created_at, NotificationDigest.id)
        )
        seen = visible_channels(reach)
        if seen is not None:
            query = query.where(seen)
        if channel_id is not None:
            query = query.where(NotificationDigest.channel_id == channel_id)
        return list((await self.session.scalars(query)).all())

    async def delete_digest(self, digest_id: uuid.UUID) -> bool:
        digest = await self.session.get(NotificationDigest, digest_id)
        if digest is None:
            return False
        await self.session.delete(digest)
        return True

    # -- quiet hours -------------------------------------------------------------------------

    async def preferences(self, user_id: uuid.UUID) -> NotificationPreference | None:
        return await self.session.get(NotificationPreference, user_id)

    async def put_preferences(
        self, user_id: uuid.UUID, timezone: str, start: time | None, end: time | None
    ) -> None:
        await self.session.execute(
            insert(NotificationPreference)
            .values(user_id=user_id, timezone=timezone, quiet_start=start, quiet_end=end)
            .on_conflict_do_update(
                index_elements=[NotificationPreference.user_id],
                set_={
                    "timezone": timezone,
                    "quiet_start": start,
                    "quiet_end": end,
                    "updated_at": func.now(),
                },
            )
        )
