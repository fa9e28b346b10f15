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

from pydantic import BaseModel, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import ORGANISATION, Action, Resource
from northstar.crypto import SecretBox
from northstar.db.models import Cycle, Goal, Initiative, Kpi, OrgUnit, Webhook
from northstar.domain.expressions import format_expression
from northstar.http.problems import Problem
from northstar.http.ssrf import DestinationRefused, check_destination
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
from services.api.resources import goal_resource, unit_resource
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
    """What webhooks need from the api's settings: where they may point, and the box
    their secrets are stored encrypted with."""

    box: SecretBox
    allow_private: bool


@dataclass(frozen=True, slots=True)
class Change:
    """What a write needs besides the body: the time, who, a goal change's reason, and
    (webhooks) the outbound settings."""

    now: datetime
    changed_by: str
    reason: str | None
    outbound: Outbound | None = None


class KindHandler(ABC):
    kind: Kind
    create_body: type[BaseModel]
    update_body: type[BaseModel]
    action: Action = Action.ORG_WRITE
    resource_type: str
    write_only: frozenset[str] = frozenset()
    """Fields the server never shows (secrets): written on creation, never compared."""

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


HANDLERS: dict[Kind, KindHandler] = {
    handler.kind: handler
    for handler in (
        CycleHandler(),
        UnitHandler(),
        KpiHandler(),
        GoalHandler(),
        InitiativeHandler(),
        WebhookHandler(),
    )
}
"""The kinds an apply and an export handle. Channel and Subscription documents validate
(their specs are in `documents.py`) but are not applied yet: an apply that holds one
answers 422 (docs/goals-as-code.md)."""
