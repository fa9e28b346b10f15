"""Where a request's resource sits, for `Permit`: the units it belongs to (its unit and
every ancestor) and its owner. Each resolver answers 404 when the resource is missing.

A goal belongs to its `unit_id`, or when it has none, to the unit of its nearest
ancestor goal that has one: a lead's subtree covers the goals cascaded below their
unit's goals. Walks are bounded (`_MAX_DEPTH`), like every tree walk.

Notification settings belong to their owner: a person's channel is `Resource(owner_id=
person)` with no units, a unit's channel sits in the unit and its ancestors; a
subscription or digest is its channel's, and a person's quiet hours are that person's.
A deleted channel is still placed (deleting it again is idempotent).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import Resource
from northstar.http.problems import Problem

_MAX_DEPTH = 64

_UNIT_AND_ANCESTORS = text(
    """
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT id, parent_id, 0 FROM org_units WHERE id = :unit_id
        UNION ALL
        SELECT u.id, u.parent_id, up.depth + 1
        FROM org_units u JOIN up ON u.id = up.parent_id
        WHERE up.depth < :max_depth
    )
    SELECT id FROM up
    """
)

_GOAL = text(
    """
    WITH RECURSIVE chain(id, parent_id, unit_id, owner_id, depth) AS (
        SELECT id, parent_id, unit_id, owner_id, 0 FROM goals WHERE id = :goal_id
        UNION ALL
        SELECT g.id, g.parent_id, g.unit_id, g.owner_id, chain.depth + 1
        FROM goals g JOIN chain ON g.id = chain.parent_id
        WHERE chain.unit_id IS NULL AND chain.depth < :max_depth
    )
    SELECT
        (SELECT owner_id FROM chain WHERE depth = 0) AS owner_id,
        (SELECT unit_id FROM chain WHERE unit_id IS NOT NULL ORDER BY depth LIMIT 1) AS unit_id,
        EXISTS (SELECT 1 FROM chain) AS found
    """
)


async def unit_resource(session: AsyncSession, unit_id: uuid.UUID) -> Resource | None:
    rows = await session.execute(_UNIT_AND_ANCESTORS, {"unit_id": unit_id, "max_depth": _MAX_DEPTH})
    units = frozenset(row.id for row in rows)
    return Resource(units=units) if units else None


async def goal_resource(session: AsyncSession, goal_id: uuid.UUID) -> Resource | None:
    row = (await session.execute(_GOAL, {"goal_id": goal_id, "max_depth": _MAX_DEPTH})).one()
    if not row.found:
        return None
    units: frozenset[uuid.UUID] = frozenset()
    if row.unit_id is not None:
        found = await unit_resource(session, row.unit_id)
        units = found.units if found else frozenset()
    return Resource(units=units, owner_id=row.owner_id)


def _path_id(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request.path_params[name]))
    except (KeyError, ValueError):
        # The route's own validation answers the 422; nothing to decide on.
        raise Problem(422, f"The request is invalid: {name}: must be a UUID") from None


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def unit_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    unit_id = _path_id(request, "unit_id")
    resource = await unit_resource(session, unit_id)
    if resource is None:
        raise Problem(404, f"There is no org unit with id {unit_id}.")
    return [resource]


async def goal_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    goal_id = _path_id(request, "goal_id")
    resource = await goal_resource(session, goal_id)
    if resource is None:
        raise Problem(404, f"There is no goal with id {goal_id}.")
    return [resource]


async def _placement(session: AsyncSession, body: dict[str, Any]) -> Resource:
    """Where a goal with this body's `unit_id`/`parent_id` would sit (the organisation as
    a whole when it names neither, or names something that does not exist: the route's
    validation then answers the 422 to those allowed to see it)."""
    unit_id = _uuid_or_none(body.get("unit_id"))
    if unit_id is not None:
        return await unit_resource(session, unit_id) or Resource()
    parent_id = _uuid_or_none(body.get("parent_id"))
    if parent_id is not None:
        return await goal_resource(session, parent_id) or Resource()
    return Resource()


async def goal_in_body(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A new goal: where the body places it."""
    return [await _placement(session, await _body(request))]


async def goal_in_path_and_body(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A goal changed: where it is, and where the body moves it (both must be allowed)."""
    resources = list(await goal_in_path(request, session))
    body = await _body(request)
    if "unit_id" in body or "parent_id" in body:
        resources.append(await _placement(session, body))
    return resources


async def alert_goal_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """An alert: the goal it is about."""
    alert_id = _path_id(request, "alert_id")
    goal_id = await session.scalar(
        text("SELECT goal_id FROM alerts WHERE id = :id"), {"id": alert_id}
    )
    if goal_id is None:
        raise Problem(404, f"There is no alert with id {alert_id}.")
    resource = await goal_resource(session, goal_id)
    return [resource or Resource()]


_CHANNEL_OWNER = text("SELECT owner_kind, owner_id FROM notification_channels WHERE id = :id")
_SUBSCRIPTION_CHANNEL = text("SELECT channel_id FROM notification_subscriptions WHERE id = :id")
_DIGEST_CHANNEL = text("SELECT channel_id FROM notification_digests WHERE id = :id")


async def settings_owner_resource(
    session: AsyncSession, owner_kind: str, owner_id: uuid.UUID
) -> Resource:
    """Where notification settings owned by `(owner_kind, owner_id)` sit (a unit that no
    longer exists sits in itself alone)."""
    if owner_kind == "unit":
        return await unit_resource(session, owner_id) or Resource(units=frozenset({owner_id}))
    return Resource(owner_id=owner_id)


async def _channel(session: AsyncSession, channel_id: uuid.UUID | None) -> Resource | None:
    if channel_id is None:
        return None
    row = (await session.execute(_CHANNEL_OWNER, {"id": channel_id})).first()
    return None if row is None else await settings_owner_resource(session, *row)


async def channel_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    channel_id = _path_id(request, "channel_id")
    resource = await _channel(session, channel_id)
    if resource is None:
        raise Problem(404, f"There is no channel with id {channel_id}.")
    return [resource]


async def _in_channel_path(
    request: Request, session: AsyncSession, name: str, query: TextClause, noun: str
) -> Sequence[Resource]:
    """A subscription or digest decides as the channel it belongs to."""
    item_id = _path_id(request, name)
    resource = await _channel(session, await session.scalar(query, {"id": item_id}))
    if resource is None:
        raise Problem(404, f"There is no {noun} with id {item_id}.")
    return [resource]


async def subscription_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    return await _in_channel_path(
        request, session, "subscription_id", _SUBSCRIPTION_CHANNEL, "subscription"
    )


async def digest_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    return await _in_channel_path(request, session, "digest_id", _DIGEST_CHANNEL, "digest")


async def person_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A person's own settings (quiet hours): theirs. An unknown person is the route's 404."""
    return [Resource(owner_id=_path_id(request, "user_id"))]


_KPI_UNIT = text("SELECT unit_id FROM kpis WHERE key = :key")


async def _kpi_placement(session: AsyncSession, body: dict[str, Any]) -> Resource:
    """Where a KPI with this body's `unit_id` would sit (the organisation as a whole without
    one, or with one that does not exist: the route's validation answers the 422)."""
    unit_id = _uuid_or_none(body.get("unit_id"))
    if unit_id is None:
        return Resource()
    return await unit_resource(session, unit_id) or Resource()


async def kpi_in_body(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A new KPI: the unit its body names."""
    return [await _kpi_placement(session, await _body(request))]


async def kpi_in_path(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A KPI: its unit and the units above (the organisation as a whole without a unit)."""
    key = str(request.path_params.get("key", ""))
    row = (await session.execute(_KPI_UNIT, {"key": key})).first()
    if row is None:
        raise Problem(404, f"There is no KPI with key '{key}'.")
    if row.unit_id is None:
        return [Resource()]
    return [await unit_resource(session, row.unit_id) or Resource()]


async def kpi_in_path_and_body(request: Request, session: AsyncSession) -> Sequence[Resource]:
    """A KPI changed: where it is, and where the body moves it (both must be allowed)."""
    resources = list(await kpi_in_path(request, session))
    body = await _body(request)
    if "unit_id" in body:
        resources.append(await _kpi_placement(session, body))
    return resources
