"""The audit trail: one record per mutating request, written in the request's own
transaction (so a change and its record commit or roll back together).

A route hands `AuditTrail.record` the resource as it was and as it is (API shapes,
`None` for "did not exist"); the record keeps only the fields that changed, as
`{field: [before, after]}`, and never a secret: fields named like secrets are dropped
whole, whatever their value. Time and volatile derived fields (`updated_at`, a goal's
evaluated `status`) are left out: they are not what anybody changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import AuditEvent
from northstar.http.problems import json_bytes
from services.api.access import Actor
from services.api.transaction import Session

SECRET_FIELDS = frozenset(
    {
        "key",
        "key_hash",
        "secret",
        "secrets",
        "password",
        "password_hash",
        "token",
        "token_hash",
        "csrf_token",
        "csrf_hash",
        "invitation",
        "client_secret",
        "id_token",
    }
)
_NOT_CHANGES = frozenset({"updated_at", "created_at", "status", "smart", "last_used_at"})


@dataclass(frozen=True, slots=True)
class ActorRef:
    kind: str
    id: uuid.UUID
    name: str


Snapshot = BaseModel | Mapping[str, Any] | None


def _plain(snapshot: Snapshot) -> dict[str, Any]:
    if snapshot is None:
        return {}
    if isinstance(snapshot, BaseModel):
        snapshot = snapshot.model_dump(mode="json")
    plain: dict[str, Any] = orjson.loads(json_bytes(dict(snapshot)))
    return plain


def changed_fields(before: Snapshot, after: Snapshot) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for each field whose value differs, secrets left out."""
    old, new = _plain(before), _plain(after)
    fields = (old.keys() | new.keys()) - SECRET_FIELDS - _NOT_CHANGES
    return {
        field: [old.get(field), new.get(field)]
        for field in sorted(fields)
        if old.get(field) != new.get(field)
    }


class AuditTrail:
    """Records into the request's session; the route's commit writes them."""

    def __init__(self, request: Request, session: AsyncSession) -> None:
        self.request = request
        self.session = session

    def record(
        self,
        action: str,
        resource_type: str,
        resource_id: object,
        *,
        before: Snapshot = None,
        after: Snapshot = None,
        actor: ActorRef | Actor | None = None,
    ) -> None:
        actor = actor or getattr(self.request.state, "actor", None)
        if actor is None:
            raise RuntimeError("an audit record needs an actor")
        self.session.add(
            AuditEvent(
                actor_kind=actor.kind,
                actor_id=actor.id,
                actor_name=actor.name[:200],
                action=action,
                resource_type=resource_type,
                resource_id=str(resource_id),
                changes=changed_fields(before, after),
                request_id=getattr(self.request.state, "request_id", None),
            )
        )


def _audit_trail(request: Request, session: Session) -> AuditTrail:
    return AuditTrail(request, session)


Audit = Annotated[AuditTrail, Depends(_audit_trail)]
