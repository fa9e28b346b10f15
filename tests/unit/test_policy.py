"""The policy, as a pure function: rules a user would notice, one by one."""

from __future__ import annotations

import uuid

from northstar.auth.keys import Role, Scope
from northstar.auth.policy import (
    Action,
    Membership,
    Resource,
    Subject,
    UnitRole,
    could_ever,
    decide,
    permissions,
)

SALES, SALES_EU, FINANCE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
IN_SALES_EU = Resource(units=frozenset({SALES_EU, SALES}))
IN_FINANCE = Resource(units=frozenset({FINANCE}))


def person(role: Role, *memberships: Membership, scopes: set[Scope] | None = None) -> Subject:
    return Subject(
        role=role,
        scopes=frozenset(scopes) if scopes is not None else None,
        user_id=uuid.uuid4(),
        memberships=memberships,
    )


def test_a_lead_acts_in_the_whole_subtree_and_nowhere_else() -> None:
    lead = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD))
    assert decide(lead, Action.GOALS_WRITE, IN_SALES_EU)
    assert decide(lead, Action.MEMBERS_MANAGE, IN_SALES_EU)
    assert not decide(lead, Action.GOALS_WRITE, IN_FINANCE)
    assert not decide(lead, Action.GOALS_WRITE)  # a goal in no unit: editors only
    assert not decide(lead, Action.ORG_WRITE)
    assert could_ever(lead, Action.GOALS_WRITE)


def test_a_unit_member_contributes_but_does_not_edit() -> None:
    member = person(Role.MEMBER, Membership(SALES_EU, UnitRole.MEMBER))
    assert decide(member, Action.GOALS_CONTRIBUTE, IN_SALES_EU)
    assert not decide(member, Action.GOALS_WRITE, IN_SALES_EU)
    assert not decide(member, Action.GOALS_CONTRIBUTE, IN_FINANCE)
    assert not could_ever(member, Action.GOALS_WRITE)


def test_an_owner_contributes_to_their_own_goal() -> None:
    owner = person(Role.MEMBER)
    theirs = Resource(units=frozenset({FINANCE}), owner_id=owner.user_id)
    assert decide(owner, Action.GOALS_CONTRIBUTE, theirs)
    assert not decide(owner, Action.GOALS_WRITE, theirs)
    assert not decide(owner, Action.GOALS_CONTRIBUTE, IN_FINANCE)


def test_viewers_only_read_and_editors_never_manage_people() -> None:
    viewer, editor = person(Role.VIEWER), person(Role.EDITOR)
    assert decide(viewer, Action.READ) and not decide(viewer, Action.GOALS_CONTRIBUTE, IN_FINANCE)
    assert decide(editor, Action.GOALS_WRITE, IN_FINANCE) and decide(editor, Action.ORG_WRITE)
    for action in (Action.PEOPLE_MANAGE, Action.KEYS_MANAGE, Action.AUDIT_READ):
        assert not decide(editor, action)
        assert decide(person(Role.ADMIN), action)


def test_a_personal_key_is_its_owner_narrowed_by_scopes() -> None:
    lead_read_key = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD), scopes={Scope.READ})
    refused = decide(lead_read_key, Action.GOALS_WRITE, IN_SALES_EU)
    assert not refused and "'write' scope" in refused.reason
    assert decide(lead_read_key, Action.READ)
    # A broad scope does not widen the person.
    viewer_admin_key = person(Role.VIEWER, scopes={Scope.ADMIN})
    assert not decide(viewer_admin_key, Action.ORG_WRITE)


def test_service_keys_act_by_scope() -> None:
    def key(*scopes: Scope) -> Subject:
        return Subject(role=None, scopes=frozenset(scopes))

    assert decide(key(Scope.WRITE), Action.GOALS_WRITE, IN_FINANCE)
    assert not decide(key(Scope.WRITE), Action.PEOPLE_MANAGE)
    assert decide(key(Scope.ADMIN), Action.PEOPLE_MANAGE)
    assert not decide(key(Scope.EVENTS_WRITE), Action.READ)
    assert not decide(key(Scope.ADMIN), Action.OWN_KEYS)
    assert permissions(key(Scope.READ)) == ["read"]


def test_permissions_list_what_a_member_may_do_somewhere() -> None:
    lead = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD))
    assert permissions(lead) == [
        "read",
        "goals:write",
        "goals:contribute",
        "members:manage",
        "keys:own",
        "notifications:own",
    ]
    assert permissions(person(Role.VIEWER)) == ["read", "keys:own", "notifications:own"]
