"""Org unit rules: a parent must exist, the tree has no cycles, a unit in use stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from northstar.db.locks import Hierarchy, lock_hierarchy
from northstar.db.models import OrgUnit
from northstar.http.problems import Problem, invalid_field
from services.api.owners import check_owner
from services.api.units.repository import UnitRepository
from services.api.units.schemas import UnitCreate, UnitUpdate


def not_found(unit_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no org unit with id {unit_id}.")


def _check_values(values: list[str] | None) -> None:
    for position, value in enumerate(values or []):
        if not 1 <= len(value.strip()) <= 200:
            raise invalid_field(f"values.{position}", "each value must have 1 to 200 characters")


class UnitService:
    def __init__(self, repository: UnitRepository) -> None:
        self.repository = repository

    async def get(self, unit_id: uuid.UUID) -> OrgUnit:
        unit = await self.repository.get(unit_id)
        if unit is None:
            raise not_found(unit_id)
        return unit

    async def _check_parent(self, parent_id: uuid.UUID) -> None:
        if not await self.repository.exists(parent_id):
            raise invalid_field("parent_id", f"there is no org unit with id {parent_id}")

    async def create(self, body: UnitCreate) -> OrgUnit:
        if body.parent_id is not None:
            await self._check_parent(body.parent_id)
        await check_owner(self.repository.session, body.owner_id)
        _check_values(body.values)
        return await self.repository.add(
            OrgUnit(
                name=body.name,
                kind=body.kind.value,
                parent_id=body.parent_id,
                vision=body.vision,
                mission=body.mission,
                values=list(body.values or []),
                owner_id=body.owner_id,
            )
        )

    async def update(self, unit_id: uuid.UUID, body: UnitUpdate) -> OrgUnit:
        unit = await self.get(unit_id)
        changes = body.model_dump(exclude_unset=True)
        for field in ("name", "kind"):
            if field in changes and changes[field] is None:
                raise invalid_field(field, "cannot be null")
        if "parent_id" in changes and changes["parent_id"] is not None:
            parent_id: uuid.UUID = changes["parent_id"]
            await self._check_parent(parent_id)
            # Serialise re-parentings, then check: see northstar/db/locks.py.
            await lock_hierarchy(self.repository.session, Hierarchy.UNITS)
            if unit_id in await self.repository.ancestors(parent_id):
                raise invalid_field(
                    "parent_id",
                    f"unit {parent_id} is this unit or lies below it; "
                    "a unit cannot be its own ancestor",
                )
        if "owner_id" in changes:
            await check_owner(self.repository.session, changes["owner_id"])
        if "values" in changes:
            _check_values(changes["values"])
            changes["values"] = list(changes["values"] or [])
        for field, value in changes.items():
            setattr(unit, field, value.value if field == "kind" else value)
        if changes:
            unit.updated_at = datetime.now(UTC)
        await self.repository.session.flush()
        return unit

    async def delete(self, unit_id: uuid.UUID) -> None:
        unit = await self.get(unit_id)
        children, goals = await self.repository.blockers(unit_id)
        if children or goals:
            parts = []
            if children:
                parts.append(f"{children} child unit{'s' if children != 1 else ''}")
            if goals:
                parts.append(f"{goals} goal{'s' if goals != 1 else ''}")
            raise Problem(
                409,
                f"Org unit {unit_id} still has {' and '.join(parts)}; move or delete them first.",
                child_units=children,
                goals=goals,
            )
        try:
            await self.repository.delete(unit)
        except IntegrityError:
            # Something was attached to the unit between the check and the delete.
            raise Problem(
                409, f"Org unit {unit_id} gained a child unit or goal meanwhile; try again."
            ) from None
