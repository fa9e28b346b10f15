"""One handler per document kind: how an apply reads, creates, changes and deletes the
kind's objects, and who may. Each handler calls the kind's own service (the same rules as
its REST routes: references exist, a started goal's target changes need a reason and leave
a revision …); nothing here writes SQL of its own.

A handler speaks REST field names (`unit_id`, `owner_id`): `service.py` turns the
documents' names into ids before, and ids into names after.

`Source` joins with a handler here and a spec in `documents.py` (docs/goals-as-code.md).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import ORGANISATION, Action, Resource, decide
from northstar.crypto import SecretBox
from northstar.db.models import (
    Cycle,
    Goal,
    Initiative,
    Kpi,
    NotificationChannel,
    NotificationSubscription,
    OrgUnit,
    Webhook,
)
from northstar.domain.expressions import format_expression
from northstar.http.problems import Problem
from northstar.http.ssrf import DestinationRefused, check_destination
from northstar.notify.model import ChannelKind, OwnerKind, Severity
from northstar.notify.settings import NotificationSettings
from services.api.access import Actor
from services.api.apply.documents import Kind
from services.api.cycles.repository import CycleRepository
from services.api.cycles.schemas import CycleCreate, CycleUpdate
from services.api.cycles.service import CycleService
from services.api.goals.repository import GoalRepository
from services.api.goals.schemas import GoalCreate, GoalUpdate
from services.api.goals.service import GoalService
from services.api.initiatives.repository import InitiativeRepository
from services.api.initiatives.schemas import InitiativeCreate, InitiativeUpdate
from services.api.initiatives.service import InitiativeService
from services.api.kpis.repository import KpiRepository
from services.api.kpis.schemas import KpiCreate, KpiUpdate
from services.api.kpis.service import KpiService, parse_kpi_expression
from services.api.notifications.schemas import Owner, Scope, SubscriptionCreate
from services.api.notifications.service import ChannelService, Targets
from services.api.resources import goal_resource, settings_owner_resource, unit_resource
from services.api.units.repository import UnitRepository
from services.api.units.schemas import UnitCreate, UnitUpdate
from services.api.units.service import UnitService
from services.api.webhooks.repository import WebhookRepository
from services.api.webhooks.routes import new_secret
from services.api.webhooks.schemas import WebhookCreate


@dataclass(frozen=True, slots=True)
class Current:
    """An object as it is now: its REST fields (create-body names, plain values), its
    version (last change) and the text an export derives a name from."""

    object_id: str
    fields: dict[str, Any]
    version: datetime
    title: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """What webhooks and channels need from the api's settings: where they may point,
    the box their secrets are stored encrypted with, and (channels) the settings their
    targets are validated with."""

    box: SecretBox
    allow_private: bool
    settings: NotificationSettings | None = None

    def targets(self) -> Targets:
        assert self.settings is not None
        return Targets(settings=self.settings, box=self.box, allow_private=self.allow_private)


@dataclass(frozen=True, slots=True)
class Change:
    """What a write needs besides the body: the time, who, a goal change's reason, and
    (webhooks) the outbound settings."""

    now: datetime
    actor: Actor
    reason: str | None
    outbound: Outbound | None = None

    @property
    def changed_by(self) -> str:
        return self.actor.name


class KindHandler(ABC):
    kind: Kind
    create_body: type[BaseModel]
    update_body: type[BaseModel]
    action: Action = Action.ORG_WRITE
    resource_type: str
    write_only: frozenset[str] = frozenset()
    """Fields the server never shows (secrets): written on creation, never compared."""
    sealed: frozenset[str] = frozenset()
    """Secrets `current` holds sealed (bytes): never shown nor exported, but compared with
    the document's value once opened with the key ring."""

    async def visible(
        self, session: AsyncSession, object_ids: list[str], actor: Actor
    ) -> list[str]:
        """The objects of an export the caller may see (every kind a reader reads: all)."""
        return object_ids

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        """Load these objects in one query and answer them: while the caller holds them,
        `current` finds them in the session's identity map (which holds objects weakly)
        instead of reading each on its own."""
        return []

    def update_model(self, fields: dict[str, Any]) -> BaseModel:
        """The REST change body of these fields."""
        return self.update_body.model_validate(fields)

    def normalise(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The desired fields as the server would store them (a KPI's canonical
        expression), so an unchanged document compares equal."""
        return fields

    @abstractmethod
    async def current(self, session: AsyncSession, object_id: str) -> Current | None: ...

    @abstractmethod
    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        """Every object of the kind (oldest first), or those in `units` (an export of one
        subtree)."""

    @abstractmethod
    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str: ...

    @abstractmethod
    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None: ...

    @abstractmethod
    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None: ...

    async def resources(
        self, session: AsyncSession, object_id: str | None, fields: dict[str, Any]
    ) -> Sequence[Resource]:
        """What the write touches, for the policy: the object where it is, and where the
        change puts it. Organisation-wide kinds: the organisation."""
        return [ORGANISATION]


def _uuid(object_id: str) -> uuid.UUID:
    return uuid.UUID(object_id)


class CycleHandler(KindHandler):
    kind = Kind.CYCLE
    create_body = CycleCreate
    update_body = CycleUpdate
    resource_type = "cycle"

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        ids = [_uuid(i) for i in object_ids]
        return list(await session.scalars(select(Cycle).where(Cycle.id.in_(ids))))

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        cycle = await session.get(Cycle, _uuid(object_id))
        if cycle is None:
            return None
        return Current(
            object_id,
            {"name": cycle.name, "start": cycle.start, "due": cycle.due},
            cycle.updated_at,
            cycle.name,
        )

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        rows = await session.scalars(select(Cycle.id).order_by(Cycle.created_at, Cycle.id))
        return [str(r) for r in rows]

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, CycleCreate)
        return str((await CycleService(CycleRepository(session)).create(body)).id)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, CycleUpdate)
        await CycleService(CycleRepository(session)).update(_uuid(object_id), body, change.now)

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await CycleService(CycleRepository(session)).delete(_uuid(object_id))


class UnitHandler(KindHandler):
    kind = Kind.UNIT
    create_body = UnitCreate
    update_body = UnitUpdate
    resource_type = "unit"

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        ids = [_uuid(i) for i in object_ids]
        return list(await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids))))

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        unit = await session.get(OrgUnit, _uuid(object_id))
        if unit is None:
            return None
        fields = {
            "name": unit.name,
            "kind": unit.kind,
            "parent_id": unit.parent_id,
            "vision": unit.vision,
            "mission": unit.mission,
            "values": list(unit.values),
            "owner_id": unit.owner_id,
        }
        return Current(object_id, fields, unit.updated_at, unit.name)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        rows = await session.scalars(select(OrgUnit.id).order_by(OrgUnit.created_at, OrgUnit.id))
        return [str(r) for r in rows if units is None or r in units]

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, UnitCreate)
        return str((await UnitService(UnitRepository(session)).create(body)).id)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, UnitUpdate)
        await UnitService(UnitRepository(session)).update(_uuid(object_id), body)

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await UnitService(UnitRepository(session)).delete(_uuid(object_id))


class KpiHandler(KindHandler):
    kind = Kind.KPI
    create_body = KpiCreate
    update_body = KpiUpdate
    resource_type = "kpi"

    def normalise(self, fields: dict[str, Any]) -> dict[str, Any]:
        if isinstance(fields.get("expression"), str):
            try:
                canonical = format_expression(parse_kpi_expression(fields["expression"]))
            except Exception:  # the service reports it, with its position, on the write
                return fields
            fields = {**fields, "expression": canonical}
        return fields

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        return list(await session.scalars(select(Kpi).where(Kpi.key.in_(list(object_ids)))))

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        kpi = await session.get(Kpi, object_id)
        if kpi is None:
            return None
        fields = {
            "name": kpi.name,
            "description": kpi.description,
            "unit": kpi.unit,
            "expression": kpi.expression,
            "kind": kpi.kind,
            "max_staleness": kpi.max_staleness,
            "source": kpi.source,
            "category": kpi.category,
            "owner_id": kpi.owner_id,
            "anomaly": dict(kpi.anomaly) if kpi.anomaly else None,
        }
        return Current(object_id, fields, kpi.updated_at, kpi.key)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        if units is None:
            rows = await session.scalars(select(Kpi.key).order_by(Kpi.key))
        else:  # the KPIs the subtree's goals are measured by
            rows = await session.scalars(
                select(Kpi.key)
                .where(Kpi.key.in_(select(Goal.kpi_key).where(Goal.unit_id.in_(units))))
                .order_by(Kpi.key)
            )
        return list(rows)

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, KpiCreate)
        return (await KpiService(KpiRepository(session)).create(body)).key

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, KpiUpdate)
        await KpiService(KpiRepository(session)).update(object_id, body, change.now)

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await KpiService(KpiRepository(session)).delete(object_id)


def _goal_fields(goal: Goal) -> dict[str, Any]:
    return {
        "title": goal.title,
        "description": goal.description,
        "owner": goal.owner,
        "owner_id": goal.owner_id,
        "unit_id": goal.unit_id,
        "parent_id": goal.parent_id,
        "kpi": goal.kpi_key,
        "type": goal.type,
        "baseline": goal.baseline,
        "target": goal.target,
        "start": goal.start,
        "due": goal.due,
        "pacing": goal.pacing,
        "thresholds": {"at_risk": goal.at_risk, "off_track": goal.off_track},
        "weight": goal.weight,
        "window": goal.window,
        "rollup": goal.rollup,
        "alert_clear_margin": goal.alert_clear_margin,
        "perspective": goal.perspective,
        "check_in_cadence": goal.check_in_cadence,
        "cycle_id": goal.cycle_id,
    }


async def placement(
    session: AsyncSession, unit_id: uuid.UUID | None, parent_id: uuid.UUID | None
) -> Resource:
    """Where a goal with this unit and parent sits (as `services.api.resources` places a
    goal of a REST body)."""
    if unit_id is not None:
        return await unit_resource(session, unit_id) or Resource()
    if parent_id is not None:
        return await goal_resource(session, parent_id) or Resource()
    return Resource()


class GoalHandler(KindHandler):
    kind = Kind.GOAL
    create_body = GoalCreate
    update_body = GoalUpdate
    action = Action.GOALS_WRITE
    resource_type = "goal"

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        ids = [_uuid(i) for i in object_ids]
        return list(await session.scalars(select(Goal).where(Goal.id.in_(ids))))

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        goal = await session.get(Goal, _uuid(object_id))
        if goal is None:
            return None
        return Current(object_id, _goal_fields(goal), goal.updated_at, goal.title)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        rows = (
            await session.execute(
                select(Goal.id, Goal.unit_id, Goal.parent_id).order_by(Goal.created_at, Goal.id)
            )
        ).all()
        if units is None:
            return [str(r.id) for r in rows]
        # The subtree's goals and every goal cascaded below them.
        chosen = {r.id for r in rows if r.unit_id in units}
        grew = True
        while grew:
            below = {r.id for r in rows if r.parent_id in chosen and r.id not in chosen}
            chosen |= below
            grew = bool(below)
        return [str(r.id) for r in rows if r.id in chosen]

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, GoalCreate)
        row = await GoalService(GoalRepository(session)).create(body, change.now)
        return str(row.goal.id)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, GoalUpdate)
        if change.reason is not None:
            body = body.model_copy(update={"reason": change.reason})
        await GoalService(GoalRepository(session)).update(
            _uuid(object_id), body=body, changed_by=change.changed_by, now=change.now
        )

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await GoalService(GoalRepository(session)).delete(_uuid(object_id), change.now)

    async def resources(
        self, session: AsyncSession, object_id: str | None, fields: dict[str, Any]
    ) -> Sequence[Resource]:
        found: list[Resource] = []
        if object_id is not None:
            found.append(await goal_resource(session, _uuid(object_id)) or Resource())
        if object_id is None or "unit_id" in fields or "parent_id" in fields:
            found.append(await placement(session, fields.get("unit_id"), fields.get("parent_id")))
        return found


class InitiativeHandler(KindHandler):
    """Milestones are compared by title, due and done_at; a change keeps the milestones
    whose titles stay (and so their ids)."""

    kind = Kind.INITIATIVE
    create_body = InitiativeCreate
    update_body = InitiativeUpdate
    action = Action.GOALS_WRITE
    resource_type = "initiative"

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        repository = InitiativeRepository(session)
        initiative = await repository.get(_uuid(object_id))
        if initiative is None:
            return None
        steps = (await repository.milestones([initiative.id]))[initiative.id]
        budget = (
            {"amount": initiative.budget_amount, "currency": initiative.budget_currency}
            if initiative.budget_amount is not None
            else None
        )
        fields = {
            "goal_id": initiative.goal_id,
            "title": initiative.title,
            "description": initiative.description,
            "owner_id": initiative.owner_id,
            "unit_id": initiative.unit_id,
            "status": initiative.status,
            "start": initiative.start,
            "due": initiative.due,
            "budget": budget,
            "spent": initiative.spent,
            "milestones": [{"title": m.title, "due": m.due, "done_at": m.done_at} for m in steps],
        }
        return Current(object_id, fields, initiative.updated_at, initiative.title)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        rows = (
            await session.execute(
                select(Initiative.id, Initiative.goal_id).order_by(
                    Initiative.created_at, Initiative.id
                )
            )
        ).all()
        if units is None:
            return [str(r.id) for r in rows]
        goals = set(await GoalHandler().object_ids(session, units))
        return [str(r.id) for r in rows if str(r.goal_id) in goals]

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, InitiativeCreate)
        service = InitiativeService(InitiativeRepository(session))
        return str((await service.create(body, change.now)).id)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, InitiativeUpdate)
        service = InitiativeService(InitiativeRepository(session))
        if body.milestones is not None:
            _, existing = await service.get(_uuid(object_id))
            by_title = {m.title: m.id for m in existing}
            body = body.model_copy(
                update={
                    "milestones": [
                        m.model_copy(update={"id": m.id or by_title.get(m.title)})
                        for m in body.milestones
                    ]
                }
            )
        await service.update(_uuid(object_id), body, change.now)

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await InitiativeService(InitiativeRepository(session)).delete(_uuid(object_id), change.now)

    async def resources(
        self, session: AsyncSession, object_id: str | None, fields: dict[str, Any]
    ) -> Sequence[Resource]:
        goal_ids: list[uuid.UUID] = []
        if object_id is not None:
            goal_id = await session.scalar(
                select(Initiative.goal_id).where(Initiative.id == _uuid(object_id))
            )
            if goal_id is not None:
                goal_ids.append(goal_id)
        if fields.get("goal_id") is not None:
            goal_ids.append(fields["goal_id"])
        return [await goal_resource(session, g) or Resource() for g in goal_ids] or [Resource()]


class WebhookHandler(KindHandler):
    """A webhook's `url` and `events` are managed; its `secret` is write-only: used when
    the apply creates the webhook (one is generated when absent; rotate it with `POST
    /v1/webhooks/{id}/secrets`), never compared or shown. The REST api has no change of a
    webhook: an apply sets url and events in place (the URL checked as on creation)."""

    kind = Kind.WEBHOOK
    create_body = WebhookCreate
    update_body = WebhookCreate
    action = Action.WEBHOOKS_MANAGE
    resource_type = "webhook"
    write_only = frozenset({"secret"})

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        ids = [_uuid(i) for i in object_ids]
        return list(await session.scalars(select(Webhook).where(Webhook.id.in_(ids))))

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        webhook = await session.get(Webhook, _uuid(object_id))
        if webhook is None or webhook.deleted_at is not None:
            return None
        fields = {"url": webhook.url, "events": list(webhook.events)}
        return Current(object_id, fields, webhook.created_at, webhook.url)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        if units is not None:  # organisation-wide: not part of a unit's subtree
            return []
        page = await WebhookRepository(session).page(10_000, None)
        return [str(w.id) for w in page]

    @staticmethod
    async def _check_url(url: str, outbound: Outbound) -> None:
        try:
            await check_destination(url, allow_private=outbound.allow_private)
        except DestinationRefused as refused:
            raise Problem(
                422,
                f"The request is invalid: url: {refused}",
                errors=[{"field": "url", "message": str(refused)}],
            ) from None

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, WebhookCreate) and change.outbound is not None
        await self._check_url(body.url, change.outbound)
        repository = WebhookRepository(session)
        webhook = await repository.add(body.url, body.events, change.changed_by)
        secret = body.secret or new_secret()
        await repository.add_secret(webhook.id, change.outbound.box.encrypt(secret))
        return str(webhook.id)

    def update_model(self, fields: dict[str, Any]) -> BaseModel:
        return _WebhookChange.model_validate(fields)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, _WebhookChange) and change.outbound is not None
        webhook = await session.get(Webhook, _uuid(object_id))
        assert webhook is not None
        if body.url is not None:
            await self._check_url(body.url, change.outbound)
            webhook.url = body.url
        if body.events is not None:
            webhook.events = list(body.events)
        await session.flush()

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        await WebhookRepository(session).delete(_uuid(object_id))


class _WebhookChange(BaseModel):
    """The managed fields of a webhook, validated as on creation."""

    url: str | None = None
    events: list[str] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return (
            None
            if value is None
            else WebhookCreate.model_validate({"url": value, "events": ["alert.opened"]}).url
        )

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return (
            None
            if value is None
            else WebhookCreate.model_validate(
                {"url": "https://example.org/", "events": value}
            ).events
        )


def _no_owner_change(fields: dict[str, Any]) -> None:
    if "unit_id" in fields or "owner_id" in fields:
        raise Problem(
            422,
            "A channel's owner cannot change: give the new channel its own metadata.name "
            "(and prune or delete the old one).",
        )


class _ChannelFields(BaseModel):
    """A Channel document in REST terms (owner as `unit_id` or `owner_id`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    kind: ChannelKind | None = None
    target: str | None = None
    unit_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None


async def _may_see(session: AsyncSession, actor: Actor, owner_kind: str, owner_id: Any) -> bool:
    resource = await settings_owner_resource(session, owner_kind, owner_id)
    return bool(decide(actor.subject, Action.NOTIFICATIONS_READ, resource))


class ChannelHandler(KindHandler):
    """Channels (`services.api.notifications.service.ChannelService`: the routes' rules).
    The target is sealed: never shown or exported; a document that gives one is compared
    with the stored target (opened) and replaces it when they differ; one without keeps
    it. Name, kind and target change in place (the REST api has no change of a channel;
    subscriptions, digests and the delivery log stay); the owner cannot change (422).
    Implicit channels (a goal owner's default critical-alert email) are not exported."""

    kind = Kind.CHANNEL
    create_body = _ChannelFields
    update_body = _ChannelFields
    action = Action.NOTIFICATIONS_MANAGE
    resource_type = "notification_channel"
    sealed = frozenset({"target"})

    def normalise(self, fields: dict[str, Any]) -> dict[str, Any]:
        if fields.get("target") is None:
            fields.pop("target", None)
        elif isinstance(fields["target"], dict):
            raise Problem(
                422,
                "spec.target.fromEnv is read by the northstar CLI from its environment; "
                "send the target itself.",
            )
        else:
            fields["target"] = fields["target"].strip()
        return fields

    async def pin(self, session: AsyncSession, object_ids: Sequence[str]) -> list[Any]:
        ids = [_uuid(i) for i in object_ids]
        return list(
            await session.scalars(
                select(NotificationChannel).where(NotificationChannel.id.in_(ids))
            )
        )

    async def _channel(self, session: AsyncSession, object_id: str) -> NotificationChannel | None:
        channel = await session.get(NotificationChannel, _uuid(object_id))
        return None if channel is None or channel.deleted_at is not None else channel

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        channel = await self._channel(session, object_id)
        if channel is None:
            return None
        owner = "unit_id" if channel.owner_kind == OwnerKind.UNIT else "owner_id"
        fields = {
            "name": channel.name,
            "kind": channel.kind,
            "target": channel.target,
            owner: channel.owner_id,
        }
        return Current(object_id, fields, channel.created_at, channel.name)

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        query = (
            select(NotificationChannel.id)
            .where(
                NotificationChannel.deleted_at.is_(None), NotificationChannel.implicit.is_(False)
            )
            .order_by(NotificationChannel.created_at, NotificationChannel.id)
        )
        if units is not None:  # a subtree's team channels
            query = query.where(
                NotificationChannel.owner_kind == OwnerKind.UNIT,
                NotificationChannel.owner_id.in_(units),
            )
        return [str(i) for i in await session.scalars(query)]

    async def visible(
        self, session: AsyncSession, object_ids: list[str], actor: Actor
    ) -> list[str]:
        seen = []
        for object_id in object_ids:
            channel = await self._channel(session, object_id)
            if channel and await _may_see(session, actor, channel.owner_kind, channel.owner_id):
                seen.append(object_id)
        return seen

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, _ChannelFields) and change.outbound is not None
        if body.name is None or body.kind is None:
            raise Problem(422, "A new channel needs spec.name and spec.kind.")
        if body.target is None:
            raise Problem(
                422, "A new channel needs spec.target (only an existing one may leave it out)."
            )
        if body.unit_id is None and body.owner_id is None and change.actor.person is None:
            raise Problem(
                422, "A channel applied with a service key needs spec.unit or spec.owner_email."
            )
        owner = (
            Owner(kind=OwnerKind.UNIT, id=body.unit_id)
            if body.unit_id
            else Owner(kind=OwnerKind.USER, id=body.owner_id)
            if body.owner_id
            else None
        )
        channel = await ChannelService(session, change.actor).create_channel(
            name=body.name,
            kind=body.kind,
            target=body.target,
            owner=owner,
            targets=change.outbound.targets(),
        )
        return str(channel.id)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, _ChannelFields) and change.outbound is not None
        _no_owner_change(body.model_dump(exclude_unset=True))
        channel = await self._channel(session, object_id)
        assert channel is not None
        await ChannelService(session, change.actor).change_channel(
            channel,
            name=body.name,
            kind=body.kind,
            target=body.target,
            targets=change.outbound.targets(),
        )

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        channel = await self._channel(session, object_id)
        if channel is not None:
            await ChannelService(session, change.actor).delete_channel(channel)

    async def resources(
        self, session: AsyncSession, object_id: str | None, fields: dict[str, Any]
    ) -> Sequence[Resource]:
        found: list[Resource] = []
        if object_id is not None:
            channel = await self._channel(session, object_id)
            if channel is not None:
                found.append(
                    await settings_owner_resource(session, channel.owner_kind, channel.owner_id)
                )
        if fields.get("unit_id") is not None:
            found.append(await settings_owner_resource(session, "unit", fields["unit_id"]))
        if fields.get("owner_id") is not None:
            found.append(await settings_owner_resource(session, "user", fields["owner_id"]))
        return found


class _SubscriptionFields(BaseModel):
    """A Subscription document in REST terms (as `SubscriptionCreate`, all optional)."""

    model_config = ConfigDict(extra="forbid")

    channel_id: uuid.UUID | None = None
    scope: Scope | None = None
    events: list[str] | None = None
    min_severity: Severity | None = None


class SubscriptionHandler(KindHandler):
    """Subscriptions (`ChannelService`: the routes' rules). The REST api has no change of
    a subscription: an apply changes channel, scope, events and severity in place, checked
    as on creation. A subscription of a deleted channel is gone."""

    kind = Kind.SUBSCRIPTION
    create_body = SubscriptionCreate
    update_body = _SubscriptionFields
    action = Action.NOTIFICATIONS_MANAGE
    resource_type = "notification_subscription"

    def normalise(self, fields: dict[str, Any]) -> dict[str, Any]:
        scope = fields.get("scope")
        if isinstance(scope, dict) and scope.get("mine") is False:
            del scope["mine"]
        return fields

    async def _subscription(
        self, session: AsyncSession, object_id: str
    ) -> tuple[NotificationSubscription, NotificationChannel] | None:
        row = (
            await session.execute(
                select(NotificationSubscription, NotificationChannel)
                .join(
                    NotificationChannel,
                    NotificationChannel.id == NotificationSubscription.channel_id,
                )
                .where(
                    NotificationSubscription.id == _uuid(object_id),
                    NotificationChannel.deleted_at.is_(None),
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def current(self, session: AsyncSession, object_id: str) -> Current | None:
        found = await self._subscription(session, object_id)
        if found is None:
            return None
        subscription, channel = found
        scope: dict[str, Any] = (
            {"goal_id": subscription.goal_id}
            if subscription.scope == "goal"
            else {"unit_id": subscription.unit_id}
            if subscription.scope == "unit"
            else {"mine": True}
        )
        fields = {
            "channel_id": subscription.channel_id,
            "scope": scope,
            "events": list(subscription.events),
            "min_severity": subscription.min_severity,
        }
        return Current(object_id, fields, subscription.created_at, f"{channel.name} {scope}")

    async def object_ids(
        self, session: AsyncSession, units: frozenset[uuid.UUID] | None
    ) -> list[str]:
        """The subscriptions of the channels an export holds."""
        channels = [_uuid(c) for c in await ChannelHandler().object_ids(session, units)]
        rows = await session.scalars(
            select(NotificationSubscription.id)
            .where(NotificationSubscription.channel_id.in_(channels))
            .order_by(NotificationSubscription.created_at, NotificationSubscription.id)
        )
        return [str(i) for i in rows]

    async def visible(
        self, session: AsyncSession, object_ids: list[str], actor: Actor
    ) -> list[str]:
        seen = []
        for object_id in object_ids:
            found = await self._subscription(session, object_id)
            if found and await _may_see(session, actor, found[1].owner_kind, found[1].owner_id):
                seen.append(object_id)
        return seen

    async def create(self, session: AsyncSession, body: BaseModel, change: Change) -> str:
        assert isinstance(body, SubscriptionCreate)
        subscription = await ChannelService(session, change.actor).create_subscription(
            channel_id=body.channel_id,
            scope=body.scope,
            events=body.events,
            min_severity=body.min_severity.value,
        )
        return str(subscription.id)

    def update_model(self, fields: dict[str, Any]) -> BaseModel:
        if fields.get("events") is not None:  # validated as on creation
            fields = {
                **fields,
                "events": SubscriptionCreate.model_validate(
                    {
                        "channel_id": uuid.UUID(int=0),
                        "scope": {"mine": True},
                        "events": fields["events"],
                    }
                ).events,
            }
        return _SubscriptionFields.model_validate(fields)

    async def update(
        self, session: AsyncSession, object_id: str, body: BaseModel, change: Change
    ) -> None:
        assert isinstance(body, _SubscriptionFields)
        found = await self._subscription(session, object_id)
        assert found is not None
        subscription = found[0]
        scope = body.scope or Scope(
            goal_id=subscription.goal_id,
            unit_id=subscription.unit_id,
            mine=subscription.scope == "mine",
        )
        await ChannelService(session, change.actor).change_subscription(
            subscription,
            channel_id=body.channel_id or subscription.channel_id,
            scope=scope,
            events=body.events or list(subscription.events),
            min_severity=(
                body.min_severity.value if body.min_severity else subscription.min_severity
            ),
        )

    async def delete(self, session: AsyncSession, object_id: str, change: Change) -> None:
        found = await self._subscription(session, object_id)
        if found is not None:
            await ChannelService(session, change.actor).delete_subscription(found[0])

    async def resources(
        self, session: AsyncSession, object_id: str | None, fields: dict[str, Any]
    ) -> Sequence[Resource]:
        channel_ids: list[uuid.UUID] = []
        if object_id is not None:
            found = await self._subscription(session, object_id)
            if found is not None:
                channel_ids.append(found[1].id)
        if fields.get("channel_id") is not None:
            channel_ids.append(fields["channel_id"])
        found_resources: list[Resource] = []
        for channel_id in channel_ids:
            channel = await session.get(NotificationChannel, channel_id)
            if channel is not None:
                found_resources.append(
                    await settings_owner_resource(session, channel.owner_kind, channel.owner_id)
                )
        return found_resources


HANDLERS: dict[Kind, KindHandler] = {
    handler.kind: handler
    for handler in (
        CycleHandler(),
        UnitHandler(),
        KpiHandler(),
        GoalHandler(),
        InitiativeHandler(),
        WebhookHandler(),
        ChannelHandler(),
        SubscriptionHandler(),
    )
}
"""The kinds an apply and an export handle."""
