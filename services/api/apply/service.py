"""Apply and export: documents against the server's objects, in one transaction.

An apply, in order:

1. validate every document (all problems at once, each naming its document);
2. for each kind in dependency order (`documents.APPLY_ORDER`; units and goals parents
   first), for each document: turn its names into ids, read the object it names, and
   compare field by field. Only the fields a document gives are managed: a field it
   leaves out stays as it is (write `null` to clear one);
3. a document that would change an object is checked against the object's version
   (`metadata.version` older than the object's last change: 409 naming it) and against
   the policy with the caller's permissions (403 naming it), then written through the
   kind's own service (`kinds.py`), which runs the REST rules;
4. prune: objects carrying the prune labels that no document names are deleted, in the
   reverse order (children before parents);
5. the route commits, or rolls back for a dry run: the plan of a dry run ran every check
   and every write of the real thing, so it fails where the apply would.

Everything happens in the request's transaction: a refusal anywhere leaves nothing
written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.policy import ORGANISATION, decide
from northstar.crypto import SecretUnreadable
from northstar.domain.durations import format_duration
from northstar.http.problems import Problem
from services.api.access import Actor
from services.api.apply.documents import (
    API_VERSION,
    APPLY_ORDER,
    IDENTITY_FIELDS,
    REFERENCES,
    Document,
    DocumentError,
    Kind,
    Reference,
    parse_document,
)
from services.api.apply.kinds import HANDLERS, Change, Current, KindHandler, Outbound
from services.api.apply.names import NameRepository
from services.api.apply.schemas import PlannedChange
from services.api.audit.trail import AuditTrail
from services.api.goals.repository import GoalRepository
from services.api.resources import unit_resource


def parse_documents(raw: Sequence[Mapping[str, Any]]) -> list[Document]:
    """Every document, or a 422 listing every problem with its document's index."""
    documents: list[Document] = []
    errors: list[dict[str, Any]] = []
    seen: set[tuple[Kind, str]] = set()
    for index, item in enumerate(raw):
        where = f"documents.{index}"
        try:
            document = parse_document(dict(item))
        except DocumentError as exc:
            errors.append({"field": _join(where, exc.loc), "message": exc.message})
            continue
        except ValidationError as exc:
            errors += [{"field": _join(where, e["loc"]), "message": e["msg"]} for e in exc.errors()]
            continue
        if (document.kind, document.name) in seen:
            errors.append(
                {
                    "field": f"{where}.metadata.name",
                    "message": f"{document.kind} '{document.name}' appears twice",
                }
            )
        seen.add((document.kind, document.name))
        if document.kind not in HANDLERS:
            errors.append(
                {"field": f"{where}.kind", "message": f"{document.kind} cannot be applied yet"}
            )
        documents.append(document)
    if errors:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Problem(422, f"The documents are invalid: {summary}", errors=errors)
    return documents


def _join(prefix: str, loc: Sequence[Any]) -> str:
    return ".".join([prefix, *map(str, loc)])


# -- comparing -------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


def same(desired: Any, current: Any) -> bool:
    """Whether the server already holds `desired`: mappings compare on the keys the
    document gives (`thresholds: {at_risk: 0.9}` leaves off_track alone)."""
    desired, current = _canonical(desired), _canonical(current)
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            same(v, current.get(k)) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(desired) == len(current)
            and all(same(d, c) for d, c in zip(desired, current, strict=True))
        )
    return bool(desired == current)


def _plain(value: Any) -> Any:
    """A value as a document (and the plan) shows it."""
    if isinstance(value, timedelta):
        return format_duration(value)
    return to_jsonable_python(value)


def _version(moment: datetime) -> str:
    return moment.isoformat()


def _older(version: str, current: datetime) -> bool:
    try:
        given = datetime.fromisoformat(version)
    except ValueError:
        raise Problem(
            422, f"metadata.version '{version}' is not a version an export wrote"
        ) from None
    if given.tzinfo is None:
        raise Problem(422, f"metadata.version '{version}' has no time zone")
    return given < current


# -- the engine ------------------------------------------------------------------------


class Applier:
    """One apply (or export) in the request's session."""

    def __init__(
        self,
        session: AsyncSession,
        actor: Actor,
        audit: AuditTrail | None,
        now: datetime,
        outbound: Outbound | None = None,
    ) -> None:
        self.session = session
        self.outbound = outbound
        self.actor = actor
        self.audit = audit
        self.now = now
        self.names = NameRepository(session)
        self.changes: list[PlannedChange] = []
        self._seen: set[tuple[Kind, str]] = set()

    # references --------------------------------------------------------------------

    async def _to_ids(self, document: Document) -> dict[str, Any]:
        """The document's spec in REST terms: names resolved to ids (422 when unknown)."""
        fields = document.spec.model_dump(exclude_unset=True)
        for ref in REFERENCES[document.kind]:
            holder, leaf = _holder(fields, ref.field)
            if holder is None or leaf not in holder:
                continue
            value = holder.pop(leaf)
            rest_leaf = ref.rest_field.rpartition(".")[2]
            holder[rest_leaf] = None if value is None else await self._resolve(ref, value)
        return HANDLERS[document.kind].normalise(fields)

    async def _resolve(self, ref: Reference, name: str) -> Any:
        if ref.kind is None:
            user_id = await self.names.user_id(name)
            if user_id is None:
                raise Problem(422, f"{ref.field}: there is no user with email '{name}'")
            return user_id
        object_id = await self.names.object_id(ref.kind.value, name)
        if object_id is None or not await self._exists(ref.kind, object_id):
            raise Problem(
                422,
                f"{ref.field}: there is no {ref.kind} named '{name}' (neither in the "
                "documents nor on the server)",
            )
        return object_id if ref.kind is Kind.KPI else uuid.UUID(object_id)

    async def _shown(self, kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        """REST fields in document terms: ids as names, owners as emails."""
        shown = {k: dict(v) if isinstance(v, dict) else v for k, v in fields.items()}
        for ref in REFERENCES[kind]:
            holder, leaf = _holder(shown, ref.rest_field)
            if holder is None or leaf not in holder:
                continue
            value = holder.pop(leaf)
            holder[ref.field.rpartition(".")[2]] = (
                None if value is None else await self._name_of(ref, value)
            )
        handler = HANDLERS[kind]
        for field in (handler.write_only | handler.sealed) & shown.keys():
            shown[field] = "(write-only)"
        return {k: _plain(v) for k, v in shown.items()}

    async def _exists(self, kind: Kind, object_id: str) -> bool:
        """Whether the named object is there (a name may outlive an object deleted in the
        web app); each object is looked up once per apply."""
        if (kind, object_id) not in self._seen:
            if await HANDLERS[kind].current(self.session, object_id) is None:
                return False
            self._seen.add((kind, object_id))
        return True

    async def _name_of(self, ref: Reference, object_id: Any) -> str:
        if ref.kind is None:
            return await self.names.user_email(object_id) or str(object_id)
        named = await self.names.name(ref.kind.value, str(object_id))
        if named is not None:
            return named
        current = await HANDLERS[ref.kind].current(self.session, str(object_id))
        title = current.title if current else str(object_id)
        return await self.names.name_for(ref.kind.value, str(object_id), title)

    # permissions ---------------------------------------------------------------------

    async def _permit(
        self, handler: KindHandler, document_name: str, object_id: str | None, fields: Any
    ) -> None:
        subject = self.actor.subject
        # As `Permit` does: allowed everywhere needs no look-up of where the object sits.
        if decide(subject, handler.action, ORGANISATION):
            return
        for resource in await handler.resources(self.session, object_id, fields):
            decision = decide(subject, handler.action, resource)
            if not decision:
                raise Problem(
                    403, f"Not allowed: {handler.kind} '{document_name}': {decision.reason}."
                )

    # apply ---------------------------------------------------------------------------

    async def apply(
        self, documents: list[Document], prune: Mapping[str, str] | None
    ) -> list[PlannedChange]:
        await self.names.load([k.value for k in HANDLERS])
        pinned = [
            await handler.pin(self.session, self.names.object_ids(kind.value))
            for kind, handler in HANDLERS.items()
        ]
        for kind in APPLY_ORDER:
            for document in _parents_first([d for d in documents if d.kind is kind]):
                try:
                    await self._apply_one(document)
                except Problem as problem:
                    raise _naming(problem, document.kind, document.name) from None
        if prune:
            await self._prune(documents, prune)
        del pinned
        return self.changes

    async def _apply_one(self, document: Document) -> None:
        handler = HANDLERS[document.kind]
        desired = await self._to_ids(document)
        object_id = await self.names.object_id(document.kind.value, document.name)
        if object_id is None and document.kind is Kind.KPI:
            # A KPI's name is its key: one made in the web app is the document's object.
            object_id = document.name
        current = await handler.current(self.session, object_id) if object_id else None
        if current is not None and document.kind is Kind.KPI:
            await self.names.name_for(Kind.KPI.value, current.object_id, document.name)
        change = Change(self.now, self.actor, document.metadata.reason, self.outbound)
        labels = document.metadata.labels
        if current is None:
            await self._permit(handler, document.name, None, desired)
            identity = IDENTITY_FIELDS.get(document.kind)
            body = _body(
                lambda: handler.create_body.model_validate(
                    {**desired, **({identity: document.name} if identity else {})}
                )
            )
            new_id = await handler.create(self.session, body, change)
            await self.names.bind(document.kind.value, document.name, new_id, labels)
            self._seen.add((document.kind, new_id))
            after = await self._shown(document.kind, desired)
            self._record(document.kind, document.name, "create", {}, after, new_id)
            return
        differing = {
            k: v for k, v in desired.items() if self._differs(handler, k, v, current.fields.get(k))
        }
        old_labels = await self.names.labels(document.kind.value, document.name)
        if old_labels != labels:
            # Labels decide what a prune deletes: changing them is changing the object.
            await self._permit(handler, document.name, current.object_id, {})
            await self.names.bind(document.kind.value, document.name, current.object_id, labels)
        if not differing:
            if old_labels != labels:
                self._record(
                    document.kind,
                    document.name,
                    "update",
                    {"metadata.labels": old_labels or {}},
                    {"metadata.labels": dict(labels)},
                    current.object_id,
                )
            return
        version = document.metadata.version
        if version is not None and _older(version, current.version):
            raise Problem(
                409,
                f"{document.kind} '{document.name}' was changed on the server "
                f"({_version(current.version)}) after the version in the document "
                f"({version}); export it again, or drop metadata.version to overwrite.",
                kind=document.kind.value,
                name=document.name,
            )
        await self._permit(handler, document.name, current.object_id, differing)
        await handler.update(
            self.session, current.object_id, _body(lambda: handler.update_model(differing)), change
        )
        before = await self._shown(document.kind, {k: current.fields.get(k) for k in differing})
        after = await self._shown(document.kind, differing)
        if old_labels != labels:
            before["metadata.labels"], after["metadata.labels"] = old_labels or {}, labels
        self._record(document.kind, document.name, "update", before, after, current.object_id)

    def _differs(self, handler: KindHandler, field: str, desired: Any, current: Any) -> bool:
        """Whether the document changes `field`: write-only fields never compare; a sealed
        one (a channel's target) is opened with the key ring and compared."""
        if field in handler.write_only:
            return False
        if field in handler.sealed:
            if desired is None:
                return False
            if self.outbound is None or not isinstance(current, bytes):
                return True
            try:
                return bool(self.outbound.box.decrypt(current.decode()) != desired)
            except SecretUnreadable:
                return True
        return not same(desired, current)

    def _record(
        self,
        kind: Kind,
        name: str,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
        object_id: str,
    ) -> None:
        fields = {k: [before.get(k), after.get(k)] for k in sorted(before.keys() | after.keys())}
        self.changes.append(PlannedChange(kind=kind.value, name=name, action=action, fields=fields))
        if self.audit is not None:
            self.audit.record(
                action,
                HANDLERS[kind].resource_type,
                object_id,
                before=before or None,
                after=after or None,
            )

    async def _prune(self, documents: list[Document], labels: Mapping[str, str]) -> None:
        named = {(d.kind.value, d.name) for d in documents}
        doomed = [
            (Kind(kind), name, object_id)
            for kind, name, object_id in await self.names.labelled(labels)
            if (kind, name) not in named and Kind(kind) in HANDLERS
        ]
        order = {kind: i for i, kind in enumerate(APPLY_ORDER)}
        depth = {(k, n): await self._depth(k, o) for k, n, o in doomed}
        doomed.sort(key=lambda d: (-order[d[0]], -depth[(d[0], d[1])]))
        for kind, name, object_id in doomed:
            handler = HANDLERS[kind]
            current = await handler.current(self.session, object_id)
            await self.names.unbind(kind.value, name)
            if current is None:  # deleted meanwhile (in the web app): only the name goes
                continue
            try:
                await self._permit(handler, name, object_id, {})
                before = await self._shown(kind, current.fields)
                await handler.delete(
                    self.session, object_id, Change(self.now, self.actor, None, self.outbound)
                )
            except Problem as problem:
                raise _naming(problem, kind, name) from None
            self._record(kind, name, "delete", before, {}, object_id)

    async def _depth(self, kind: Kind, object_id: str) -> int:
        """How deep a unit or goal sits (children are pruned before their parents)."""
        if kind is Kind.UNIT:
            found = await unit_resource(self.session, uuid.UUID(object_id))
            return len(found.units) if found else 0
        if kind is Kind.GOAL:
            return len(await GoalRepository(self.session).ancestors(uuid.UUID(object_id)))
        return 0

    # export --------------------------------------------------------------------------

    async def export(self, unit: str | None) -> list[dict[str, Any]]:
        """Every object (or those of one unit's subtree) as documents. A subtree's
        documents leave out references to objects outside it (the root unit's parent, a
        goal's parent goal in a unit above): a field a document leaves out is not managed,
        so the documents still round-trip and validate on their own."""
        units = await self._subtree(unit) if unit is not None else None
        documents: list[dict[str, Any]] = []
        for kind in APPLY_ORDER:
            handler = HANDLERS.get(kind)
            if handler is None:
                continue
            object_ids = await handler.object_ids(self.session, units)
            for object_id in await handler.visible(self.session, object_ids, self.actor):
                current = await handler.current(self.session, object_id)
                if current is None:
                    continue
                documents.append(await self._document(kind, current))
        if units is not None:
            exported = {(d["kind"], d["metadata"]["name"]) for d in documents}
            for document in documents:
                kind = Kind(document["kind"])
                refs = [(r.field, r.kind) for r in REFERENCES[kind] if r.kind is not None]
                if kind is Kind.GOAL:
                    refs.append(("kpi", Kind.KPI))
                for field, target in refs:
                    value = document["spec"].get(field)
                    if value is not None and (target.value, value) not in exported:
                        del document["spec"][field]
        return documents

    async def _document(self, kind: Kind, current: Current) -> dict[str, Any]:
        name = await self.names.name_for(kind.value, current.object_id, current.title)
        spec = {
            k: v
            for k, v in (await self._shown(kind, current.fields)).items()
            if v is not None and v != [] and v != "(write-only)"
        }
        metadata: dict[str, Any] = {"name": name}
        labels = await self.names.labels(kind.value, name)
        if labels:
            metadata["labels"] = labels
        metadata["version"] = _version(current.version)
        return {"apiVersion": API_VERSION, "kind": kind.value, "metadata": metadata, "spec": spec}

    async def _subtree(self, unit: str) -> frozenset[uuid.UUID]:
        """The unit (by name or id) and every unit below it."""
        object_id = await self.names.object_id(Kind.UNIT.value, unit)
        if object_id is None:
            try:
                object_id = str(uuid.UUID(unit))
            except ValueError:
                raise Problem(404, f"There is no unit named '{unit}'.") from None
        root = uuid.UUID(object_id)
        chosen = set()
        for unit_id in await HANDLERS[Kind.UNIT].object_ids(self.session, None):
            found = await unit_resource(self.session, uuid.UUID(unit_id))
            if found is not None and root in found.units:
                chosen.add(uuid.UUID(unit_id))
        if not chosen:
            raise Problem(404, f"There is no unit named '{unit}'.")
        return frozenset(chosen)


def _holder(fields: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    """The mapping that holds a (dotted) field, and the field's last part."""
    *parents, leaf = path.split(".")
    holder: Any = fields
    for part in parents:
        holder = holder.get(part) if isinstance(holder, dict) else None
    return (holder if isinstance(holder, dict) else None), leaf


def _body(build: Callable[[], BaseModel]) -> BaseModel:
    """The REST body built from a document's spec; the body's own validators (a webhook
    URL's scheme) may still refuse it: a 422 like the REST route's."""
    try:
        return build()
    except ValidationError as exc:
        errors = [
            {"field": "spec." + ".".join(map(str, e["loc"])), "message": e["msg"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Problem(422, f"The document is invalid: {summary}", errors=errors) from None


def _parents_first(documents: list[Document]) -> list[Document]:
    """Units and goals whose parent is another document come after that document."""
    by_name = {d.name: d for d in documents}
    ordered: list[Document] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(document: Document) -> None:
        if document.name in placed:
            return
        if document.name in visiting:
            raise Problem(422, f"{document.kind} '{document.name}': its parents form a cycle")
        visiting.add(document.name)
        parent = getattr(document.spec, "parent", None)
        if isinstance(parent, str) and parent in by_name:
            place(by_name[parent])
        placed.add(document.name)
        ordered.append(document)

    for document in documents:
        place(document)
    return ordered


def _naming(problem: Problem, kind: Kind, name: str) -> Problem:
    """The service's problem, saying which document it is about."""
    if problem.detail.startswith(f"{kind} '{name}'") or problem.detail.startswith("Not allowed"):
        return problem
    extra = {"kind": kind.value, "name": name, **problem.extra}
    return Problem(problem.status, f"{kind} '{name}': {problem.detail}", **extra)
