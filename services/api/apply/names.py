"""SQL for `applied_objects`: the stable names (and labels) of objects managed as
documents, and the users documents name by email."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import AppliedObject, User
from northstar.http.problems import Problem


class NameRepository:
    """Names of one apply (or export): reads are cached per request, writes go to the
    session (the request commits or rolls back)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._ids: dict[tuple[str, str], str | None] = {}
        self._names: dict[tuple[str, str], str | None] = {}
        self._emails: dict[str, uuid.UUID | None] = {}
        self._user_emails: dict[uuid.UUID, str | None] = {}
        self._labels: dict[tuple[str, str], dict[str, str] | None] = {}
        self._loaded: set[str] = set()

    async def load(self, kinds: list[str]) -> None:
        """Read every name of these kinds at once (an apply looks up most of them)."""
        rows = await self.session.execute(
            select(
                AppliedObject.kind,
                AppliedObject.name,
                AppliedObject.object_id,
                AppliedObject.labels,
            ).where(AppliedObject.kind.in_(kinds))
        )
        for kind, name, object_id, labels in rows:
            self._ids[(kind, name)] = object_id
            self._names[(kind, object_id)] = name
            self._labels[(kind, name)] = dict(labels)
        # From now on a name of these kinds missing from the cache is no name at all.
        self._loaded.update(kinds)

    def object_ids(self, kind: str) -> list[str]:
        """The objects of `kind` named so far (after `load`: every named one)."""
        return [o for (k, _), o in self._ids.items() if k == kind and o is not None]

    async def object_id(self, kind: str, name: str) -> str | None:
        key = (kind, name)
        if key not in self._ids and kind in self._loaded:
            return None
        if key not in self._ids:
            self._ids[key] = await self.session.scalar(
                select(AppliedObject.object_id).where(
                    AppliedObject.kind == kind, AppliedObject.name == name
                )
            )
        return self._ids[key]

    async def name(self, kind: str, object_id: str) -> str | None:
        key = (kind, object_id)
        if key not in self._names and kind in self._loaded:
            return None
        if key not in self._names:
            self._names[key] = await self.session.scalar(
                select(AppliedObject.name).where(
                    AppliedObject.kind == kind, AppliedObject.object_id == object_id
                )
            )
        return self._names[key]

    async def labels(self, kind: str, name: str) -> dict[str, str] | None:
        key = (kind, name)
        if key not in self._labels and kind in self._loaded:
            return None
        if key not in self._labels:
            row = await self.session.get(AppliedObject, key)
            self._labels[key] = dict(row.labels) if row is not None else None
        return self._labels[key]

    async def bind(self, kind: str, name: str, object_id: str, labels: Mapping[str, str]) -> None:
        """Name `object_id` (replacing a stale binding of either the name or the object)."""
        previous = self._names.get((kind, object_id))
        if previous is not None and previous != name:
            self._ids.pop((kind, previous), None)
            self._labels.pop((kind, previous), None)
        fresh = kind in self._loaded and previous is None and (kind, name) not in self._ids
        if not fresh:
            await self.session.execute(
                delete(AppliedObject).where(
                    AppliedObject.kind == kind,
                    (AppliedObject.name == name) | (AppliedObject.object_id == object_id),
                )
            )
        self.session.add(
            AppliedObject(kind=kind, name=name, object_id=object_id, labels=dict(labels))
        )
        try:
            await self.session.flush()
        except IntegrityError:  # another apply named it in the meantime
            raise Problem(
                409, f"{kind} '{name}' was named by another apply meanwhile; try again."
            ) from None
        self._ids[(kind, name)] = object_id
        self._names[(kind, object_id)] = name
        self._labels[(kind, name)] = dict(labels)

    async def unbind(self, kind: str, name: str) -> None:
        await self.session.execute(
            delete(AppliedObject).where(AppliedObject.kind == kind, AppliedObject.name == name)
        )
        object_id = self._ids.pop((kind, name), None)
        self._labels.pop((kind, name), None)
        if object_id is not None:
            self._names.pop((kind, object_id), None)

    async def labelled(self, labels: Mapping[str, str]) -> list[tuple[str, str, str]]:
        """`(kind, name, object_id)` of every object carrying all of `labels`."""
        rows = await self.session.execute(
            select(AppliedObject.kind, AppliedObject.name, AppliedObject.object_id).where(
                AppliedObject.labels.contains(dict(labels))
            )
        )
        return [(r.kind, r.name, r.object_id) for r in rows]

    async def name_for(self, kind: str, object_id: str, wanted: str) -> str:
        """The object's name, giving it one derived from `wanted` if it has none yet (an
        object made in the web app, exported for the first time)."""
        existing = await self.name(kind, object_id)
        if existing is not None:
            return existing
        if kind == "KPI":  # a KPI's name is its key, unique already
            await self.bind(kind, object_id, object_id, {})
            return object_id
        base = slug(wanted)
        candidate, n = base, 1
        while await self.object_id(kind, candidate) is not None:
            n += 1
            candidate = f"{base}-{n}"
        await self.bind(kind, candidate, object_id, {})
        return candidate

    async def user_id(self, email: str) -> uuid.UUID | None:
        key = email.strip().lower()
        if key not in self._emails:
            self._emails[key] = await self.session.scalar(
                select(User.id).where(func.lower(User.email) == key)
            )
        return self._emails[key]

    async def user_email(self, user_id: uuid.UUID) -> str | None:
        if user_id not in self._user_emails:
            self._user_emails[user_id] = await self.session.scalar(
                select(User.email).where(User.id == user_id)
            )
        return self._user_emails[user_id]


def slug(text: str) -> str:
    """A document name from a title: lower case, runs of other characters as `-`."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return cleaned or "object"
