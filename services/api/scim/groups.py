"""SCIM Groups: what a Group body or PATCH changes (pure), and the roles and unit
memberships that follow from a person's groups.

A person's SCIM groups feed the same mappings as sign-in: their groups' display names and
external ids are the values of a `groups` claim, mapped with the `role_mapping` and
`unit_mapping` of the enabled identity providers whose mapping reads the claim `groups`
(the first such provider by name). Entra sends a group's object id as its `externalId`
and puts object ids in the ID token's `groups` claim, Okta uses names in both: either way
the same mapping keys match. With no such mapping, groups are kept and change nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.claims import ClaimsRefused, mapped_role
from northstar.db.models import IdentityProvider, ScimGroup, ScimGroupMember, User
from services.api.audit import ActorRef, AuditTrail
from services.api.mappings import apply_mappings
from services.api.scim.errors import ScimError
from services.api.users.repository import UserRepository

_MEMBER_FILTER = re.compile(r'^members\[\s*value\s+eq\s+"([^"]+)"\s*\]$', re.IGNORECASE)


@dataclass
class GroupChanges:
    display_name: str | None = None
    external_id: str | None = None
    external_id_set: bool = False
    members: list[str] | None = None  # a replacement of the whole list
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


def _display_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 255:
        raise ScimError(400, "displayName must be a string of 1 to 255 characters", "invalidValue")
    return value.strip()


def _member_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    ids = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            ids.append(item["value"])
        elif item is not None:
            raise ScimError(400, "members are objects with a value (a User id)", "invalidValue")
    return ids


def group_from_body(body: dict[str, Any]) -> GroupChanges:
    external = body.get("externalId")
    return GroupChanges(
        display_name=_display_name(body.get("displayName")),
        external_id=external if isinstance(external, str) else None,
        external_id_set=True,
        members=_member_ids(body.get("members", [])),
    )


def group_from_patch(body: dict[str, Any]) -> GroupChanges:
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "a PatchOp needs Operations", "invalidSyntax")
    changes = GroupChanges()
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "each operation must be an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown op {operation.get('op')!r}", "invalidSyntax")
        path, value = operation.get("path"), operation.get("value")
        if isinstance(path, str) and path:
            _apply(changes, op, path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _apply(changes, op, key, item)
        else:
            raise ScimError(400, "an operation without a path needs an object value", "noTarget")
    return changes


def _apply(changes: GroupChanges, op: str, path: str, value: Any) -> None:
    key = path.lower()
    one = _MEMBER_FILTER.match(path)
    if one is not None and op == "remove":
        changes.remove.append(one.group(1))
    elif key == "members":
        ids = _member_ids(value) if value is not None else []
        if op == "add":
            changes.add.extend(ids)
        elif op == "remove":
            if value is None:
                changes.members = []
            else:
                changes.remove.extend(ids)
        else:
            changes.members = ids
            changes.add, changes.remove = [], []
    elif key == "displayname" and op != "remove":
        changes.display_name = _display_name(value)
    elif key == "externalid":
        changes.external_id = value if op != "remove" and isinstance(value, str) else None
        changes.external_id_set = True
    elif key != "id":
        raise ScimError(400, f"cannot change {path} of a Group", "invalidPath")


def user_ids(values: Iterable[str]) -> list[uuid.UUID]:
    """The members as user ids; 400 for a value that names no User id."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            raise ScimError(400, f"no User has the id {value}", "invalidValue") from None
    return found


async def apply_group_mappings(
    session: AsyncSession, people: Iterable[uuid.UUID], audit: AuditTrail, actor: ActorRef
) -> None:
    """Recompute the role and mapped unit memberships of `people` from their groups."""
    providers = (
        await session.scalars(
            select(IdentityProvider)
            .where(IdentityProvider.enabled.is_(True))
            .order_by(IdentityProvider.name, IdentityProvider.id)
        )
    ).all()
    source = next(
        (
            p
            for p in providers
            if (p.role_mapping or {}).get("claim") == "groups"
            or (p.unit_mapping or {}).get("claim") == "groups"
        ),
        None,
    )
    if source is None:
        return
    role_mapping = (
        source.role_mapping if (source.role_mapping or {}).get("claim") == "groups" else None
    )
    unit_mapping = (
        source.unit_mapping if (source.unit_mapping or {}).get("claim") == "groups" else None
    )
    users = UserRepository(session)
    for user_id in people:
        user = await session.get(User, user_id)
        if user is None:
            continue
        rows = await session.execute(
            select(ScimGroup.display_name, ScimGroup.external_id)
            .join(ScimGroupMember, ScimGroupMember.group_id == ScimGroup.id)
            .where(ScimGroupMember.user_id == user_id)
        )
        values = [v for row in rows for v in (row.display_name, row.external_id) if v]
        claims = {"groups": values}
        try:
            role = mapped_role(claims, role_mapping)
        except ClaimsRefused:
            role = None  # in no mapped group and no default: the role is left as it is
        await apply_mappings(
            users,
            user,
            role=role,
            claims=claims,
            unit_mapping=unit_mapping,
            audit=audit,
            by=f"SCIM groups, mapped by identity provider {source.name}",
            actor=actor,
        )
