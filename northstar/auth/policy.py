"""The one place that decides who may do what: `decide(subject, action, resource)`.

Pure: no SQL, no HTTP. The api resolves the subject (who is asking, with their unit
memberships) and the resource (the units it sits in, its owner) and asks here; routes
declare their action through `services.api.access.Permit` and never check roles
themselves. The rules (SPEC §11), in the order they are applied:

1. A key (service or personal) must hold the action's scope (`admin` ⊃ `write` ⊃ `read`).
2. A service key has no person behind it: its scopes are its permissions (it has no
   personal keys of its own).
3. `admin` may do everything.
4. A person's notification settings (their channels with the subscriptions, digests and
   delivery log under them, their quiet hours) are theirs and admins': seen
   (`notifications:read`) and changed (`notifications:manage`) by that person, an admin
   or an `admin` service key. A unit's channels by the leads of the unit's subtree,
   editors, admins, and service keys holding the action's scope. The organisation as a
   whole ("every channel") is admins' (rule 3) and `admin` service keys'.
5. Every person may read, and manage their own personal keys and notification channels
   (`notifications:own` lets a person through to create a channel, subscription or
   digest; rule 4 decides on the channel).
6. `editor` may do everything but people, keys, webhooks and the audit trail.
7. `viewer` may do nothing more.
8. `member` acts through unit memberships, each covering the unit's whole subtree:
   a unit `lead` may write goals and manage members there; a unit `member` (or the goal's
   owner) may contribute (check in, update initiatives, acknowledge alerts).

A personal key is a person narrowed by its scopes: rules 1 and 3-8 both apply.
`notification_reach` is rule 4 as a list filter (who sees which channels in a list).
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
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_MANAGE = "notifications:manage"
    PEOPLE_MANAGE = "people:manage"
    KEYS_MANAGE = "keys:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    AUDIT_READ = "audit:read"

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
    Action.NOTIFICATIONS_READ: Scope.READ,
    Action.NOTIFICATIONS_MANAGE: Scope.WRITE,
    Action.PEOPLE_MANAGE: Scope.ADMIN,
    Action.KEYS_MANAGE: Scope.ADMIN,
    Action.WEBHOOKS_MANAGE: Scope.ADMIN,
    Action.AUDIT_READ: Scope.ADMIN,
}
_UNIT_SCOPED = frozenset({Action.GOALS_WRITE, Action.GOALS_CONTRIBUTE, Action.MEMBERS_MANAGE})
_NOT_FOR_EDITORS = frozenset(
    {Action.PEOPLE_MANAGE, Action.KEYS_MANAGE, Action.WEBHOOKS_MANAGE, Action.AUDIT_READ}
)
_LEAD_ACTIONS = frozenset({Action.GOALS_WRITE, Action.MEMBERS_MANAGE})
_NOTIFICATION_SETTINGS = frozenset({Action.NOTIFICATIONS_READ, Action.NOTIFICATIONS_MANAGE})
"""Decided by the owner of the settings (rule 4): a person (`Resource.owner_id`, no
units) or a unit (`Resource.units`, the unit and its ancestors)."""


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
        if action in _NOTIFICATION_SETTINGS and not resource.units:
            if subject.scopes is not None and scopes_allow(subject.scopes, Scope.ADMIN):
                return Decision(True, "an admin service key sees every notification setting")
            return Decision(False, _PERSONAL_SETTINGS)
        return Decision(True, "the service key holds the scope")
    if subject.role is Role.ADMIN:
        return Decision(True, "admins may do everything")
    if action in _NOTIFICATION_SETTINGS:
        return _notification_settings(subject, resource)
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


_PERSONAL_SETTINGS = "a person's notification settings are theirs and admins' alone"


def _notification_settings(subject: Subject, resource: Resource) -> Decision:
    """Rule 4 for a person who is not an admin."""
    if subject.user_id is not None and resource.owner_id == subject.user_id:
        return Decision(True, "a person's notification settings are their own")
    if not resource.units:
        return Decision(False, _PERSONAL_SETTINGS)
    if subject.role is Role.EDITOR:
        return Decision(True, "editors see and change every unit's channels")
    if subject.role is Role.MEMBER and any(
        m.role is UnitRole.LEAD and m.unit_id in resource.units for m in subject.memberships
    ):
        return Decision(True, "a unit lead sees and changes the channels of the unit's subtree")
    return Decision(False, "a unit's channels are its leads', editors' and admins'")


@dataclass(frozen=True, slots=True)
class NotificationReach:
    """Whose notification settings a subject may see: rule 4 as a list filter.

    `everything` (admins, `admin` service keys); otherwise the person's own (`user_id`)
    and unit channels: every unit's (`all_units`: editors, service keys with the scope)
    or those of the units in `led_units` and below them.
    """

    everything: bool = False
    user_id: uuid.UUID | None = None
    all_units: bool = False
    led_units: frozenset[uuid.UUID] = frozenset()


def notification_reach(subject: Subject) -> NotificationReach:
    """The channels (with their subscriptions, digests and delivery logs) `subject` may
    see in a list: exactly those on which `decide(subject, notifications:read, …)` says
    yes (tests/unit/test_policy.py checks the two agree)."""
    if decide(subject, Action.NOTIFICATIONS_READ):
        return NotificationReach(everything=True)
    if subject.scopes is not None and not scopes_allow(subject.scopes, Scope.READ):
        return NotificationReach()
    if subject.role is None:
        return NotificationReach(all_units=True)
    led = frozenset(
        m.unit_id
        for m in subject.memberships
        if subject.role is Role.MEMBER and m.role is UnitRole.LEAD
    )
    return NotificationReach(
        user_id=subject.user_id, all_units=subject.role is Role.EDITOR, led_units=led
    )


def could_ever(subject: Subject, action: Action) -> bool:
    """Whether some resource exists on which `decide` could allow `action`: the cheap
    check that turns a request away before its resource is looked up."""
    if decide(subject, action):
        return True
    if subject.scopes is not None and not scopes_allow(subject.scopes, action.scope):
        return False
    if action in _NOTIFICATION_SETTINGS:
        return True  # a person's own; a unit's channel for a service key
    if not action.unit_scoped or subject.role is not Role.MEMBER:
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
    Action.NOTIFICATIONS_READ: "see these notification settings",
    Action.NOTIFICATIONS_MANAGE: "change these notification settings",
    Action.PEOPLE_MANAGE: "manage people",
    Action.KEYS_MANAGE: "manage API keys",
    Action.WEBHOOKS_MANAGE: "manage webhooks",
    Action.AUDIT_READ: "read the audit trail",
}
