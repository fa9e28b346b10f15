"""The one place that decides who may do what: `decide(subject, action, resource)`.

Pure: no SQL, no HTTP. The api resolves the subject (who is asking, with their unit
memberships) and the resource (the units it sits in, its owner) and asks here; routes
declare their action through `services.api.access.Permit` and never check roles
themselves. The rules (SPEC §11), in the order they are applied:

1. A key (service or personal) must hold the action's scope (`admin` ⊃ `write` ⊃ `read`).
2. A service key has no person behind it: its scopes are its permissions (it has no
   personal keys of its own).
3. `admin` may do everything.
4. Every person may read (but data sources, which hold credentials: rule 5), and
   manage their own personal keys and notification channels (which channels are theirs
   is the notifications api's check: `notifications:own` only lets a person through).
5. `editor` may do everything but people, keys, webhooks and the audit trail; admins
   and editors alone see and manage data sources.
6. `viewer` may do nothing more.
7. `member` acts through unit memberships, each covering the unit's whole subtree:
   a unit `lead` may write goals and manage members there; a unit `member` (or the goal's
   owner) may contribute (check in, update initiatives, acknowledge alerts).

A personal key is a person narrowed by its scopes: rules 1 and 3-7 both apply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from northstar.auth.keys import Role, Scope, scopes_allow


class UnitRole(StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class Action(StrEnum):
    """What a route does, as the policy knows it. Each has the key scope it needs."""

    READ = "read"
    GOALS_WRITE = "goals:write"
    GOALS_CONTRIBUTE = "goals:contribute"
    ORG_WRITE = "org:write"
    MEMBERS_MANAGE = "members:manage"
    OWN_KEYS = "keys:own"
    OWN_NOTIFICATIONS = "notifications:own"
    PEOPLE_MANAGE = "people:manage"
    KEYS_MANAGE = "keys:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    AUDIT_READ = "audit:read"
    SOURCES_MANAGE = "sources:manage"

    @property
    def scope(self) -> Scope:
        return _SCOPE[self]

    @property
    def unit_scoped(self) -> bool:
        """Whether a unit membership can grant it (the resource's units matter)."""
        return self in _UNIT_SCOPED


_SCOPE: dict[Action, Scope] = {
    Action.READ: Scope.READ,
    Action.GOALS_WRITE: Scope.WRITE,
    Action.GOALS_CONTRIBUTE: Scope.WRITE,
    Action.ORG_WRITE: Scope.WRITE,
    Action.MEMBERS_MANAGE: Scope.WRITE,
    Action.OWN_KEYS: Scope.WRITE,
    Action.OWN_NOTIFICATIONS: Scope.WRITE,
    Action.PEOPLE_MANAGE: Scope.ADMIN,
    Action.KEYS_MANAGE: Scope.ADMIN,
    Action.WEBHOOKS_MANAGE: Scope.ADMIN,
    Action.AUDIT_READ: Scope.ADMIN,
    # Sources hold database URLs and tokens, and make the server reach hosts people name:
    # admins and editors only (SPEC §16), never readers.
    Action.SOURCES_MANAGE: Scope.WRITE,
}
_UNIT_SCOPED = frozenset({Action.GOALS_WRITE, Action.GOALS_CONTRIBUTE, Action.MEMBERS_MANAGE})
_NOT_FOR_EDITORS = frozenset(
    {Action.PEOPLE_MANAGE, Action.KEYS_MANAGE, Action.WEBHOOKS_MANAGE, Action.AUDIT_READ}
)
_LEAD_ACTIONS = frozenset({Action.GOALS_WRITE, Action.MEMBERS_MANAGE})


@dataclass(frozen=True, slots=True)
class Membership:
    unit_id: uuid.UUID
    role: UnitRole


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks. `role` None is a service key; `scopes` None is a signed-in person (no key
    narrows them)."""

    role: Role | None
    scopes: frozenset[Scope] | None
    user_id: uuid.UUID | None = None
    memberships: tuple[Membership, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """What is acted on: the units it sits in (its own unit and every ancestor) and its
    owner. The empty resource is "the organisation as a whole"."""

    units: frozenset[uuid.UUID] = field(default_factory=frozenset)
    owner_id: uuid.UUID | None = None


ORGANISATION = Resource()


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def decide(subject: Subject, action: Action, resource: Resource = ORGANISATION) -> Decision:
    """Whether `subject` may do `action` on `resource`, and why (the rules are above)."""
    if subject.scopes is not None and not scopes_allow(subject.scopes, action.scope):
        return Decision(False, f"the API key lacks the '{action.scope.value}' scope")
    if subject.role is None:
        if action is Action.OWN_KEYS:
            return Decision(False, "a service key has no personal keys")
        return Decision(True, "the service key holds the scope")
    if subject.role is Role.ADMIN:
        return Decision(True, "admins may do everything")
    if action in (Action.READ, Action.OWN_KEYS, Action.OWN_NOTIFICATIONS):
        return Decision(True, "everyone may read and manage their own keys and notifications")
    if subject.role is Role.EDITOR:
        if action in _NOT_FOR_EDITORS:
            return Decision(False, "only admins manage people, keys, webhooks and the audit")
        return Decision(True, "editors may change everything but people and keys")
    if subject.role is Role.VIEWER:
        return Decision(False, "viewers may only read")
    if action not in _UNIT_SCOPED:
        return Decision(False, f"members may not {_VERB[action]}")
    roles = {m.role for m in subject.memberships if m.unit_id in resource.units}
    if UnitRole.LEAD in roles:
        return Decision(True, "a unit lead acts in the unit's subtree")
    if action is Action.GOALS_CONTRIBUTE:
        if UnitRole.MEMBER in roles:
            return Decision(True, "a unit member contributes to the unit's goals")
        if subject.user_id is not None and resource.owner_id == subject.user_id:
            return Decision(True, "an owner contributes to their own goal")
        return Decision(False, "only members of the goal's unit and its owner contribute")
    return Decision(False, f"only a lead of the unit (or an editor) may {_VERB[action]}")


def could_ever(subject: Subject, action: Action) -> bool:
    """Whether some resource exists on which `decide` could allow `action`: the cheap
    check that turns a request away before its resource is looked up."""
    if decide(subject, action):
        return True
    if not action.unit_scoped or subject.role is not Role.MEMBER:
        return False
    if subject.scopes is not None and not scopes_allow(subject.scopes, action.scope):
        return False
    if action is Action.GOALS_CONTRIBUTE:
        return True  # any goal they own
    return any(m.role is UnitRole.LEAD for m in subject.memberships)


def permissions(subject: Subject) -> list[str]:
    """The actions `subject` may take somewhere (unit-scoped ones only in the subtrees of
    its memberships, or on goals it owns), for `GET /v1/me`."""
    return [action.value for action in Action if could_ever(subject, action)]


_VERB: dict[Action, str] = {
    Action.READ: "read",
    Action.GOALS_WRITE: "create, change or delete goals here",
    Action.GOALS_CONTRIBUTE: "check in on this goal or handle its alerts",
    Action.ORG_WRITE: "change units, KPIs or reviews",
    Action.MEMBERS_MANAGE: "manage this unit's members",
    Action.OWN_KEYS: "manage their own keys",
    Action.OWN_NOTIFICATIONS: "manage their own notification channels",
    Action.PEOPLE_MANAGE: "manage people",
    Action.KEYS_MANAGE: "manage API keys",
    Action.WEBHOOKS_MANAGE: "manage webhooks",
    Action.AUDIT_READ: "read the audit trail",
    Action.SOURCES_MANAGE: "manage data sources",
}
