"""The policy, as a pure function: rules a user would notice, one by one."""

from __future__ import annotations

import uuid

from northstar.auth.keys import Role, Scope
from northstar.auth.policy import (
    ORGANISATION,
    Action,
    Membership,
    NotificationReach,
    Resource,
    Subject,
    UnitRole,
    could_ever,
    decide,
    notification_reach,
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
    assert permissions(key(Scope.READ)) == ["read", "notifications:read"]


def test_permissions_list_what_a_member_may_do_somewhere() -> None:
    lead = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD))
    assert permissions(lead) == [
        "read",
        "goals:write",
        "goals:contribute",
        "members:manage",
        "keys:own",
        "notifications:own",
        "notifications:read",
        "notifications:manage",
    ]
    assert permissions(person(Role.VIEWER)) == [
        "read",
        "keys:own",
        "notifications:own",
        "notifications:read",
        "notifications:manage",
    ]


def test_a_persons_notification_settings_are_theirs_and_admins() -> None:
    ana, editor, admin = person(Role.VIEWER), person(Role.EDITOR), person(Role.ADMIN)
    lead = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD))
    anas = Resource(owner_id=ana.user_id)
    for action in (Action.NOTIFICATIONS_READ, Action.NOTIFICATIONS_MANAGE):
        assert decide(ana, action, anas)
        assert decide(admin, action, anas)
        for other in (editor, lead, person(Role.VIEWER)):
            refused = decide(other, action, anas)
            assert not refused and "theirs and admins'" in refused.reason
        # A unit's channels: its leads (subtree), editors, admins; not its other members.
        assert decide(lead, action, IN_SALES_EU) and not decide(lead, action, IN_FINANCE)
        assert decide(editor, action, IN_FINANCE)
        assert not decide(
            person(Role.MEMBER, Membership(SALES, UnitRole.MEMBER)), action, IN_SALES_EU
        )
        assert not decide(ana, action, IN_SALES_EU)
        # "Every channel" is admins' only; each person may ever reach their own.
        assert not decide(editor, action) and decide(admin, action)
        assert could_ever(ana, action)
    # A read key of Ana's reads her settings, but does not change them.
    anas_read_key = Subject(Role.VIEWER, frozenset({Scope.READ}), ana.user_id)
    assert decide(anas_read_key, Action.NOTIFICATIONS_READ, anas)
    assert not decide(anas_read_key, Action.NOTIFICATIONS_MANAGE, anas)


def test_service_keys_see_a_persons_settings_only_with_the_admin_scope() -> None:
    def key(*scopes: Scope) -> Subject:
        return Subject(role=None, scopes=frozenset(scopes))

    someones = Resource(owner_id=uuid.uuid4())
    assert not decide(key(Scope.WRITE), Action.NOTIFICATIONS_READ, someones)
    assert decide(key(Scope.ADMIN), Action.NOTIFICATIONS_MANAGE, someones)
    assert decide(key(Scope.READ), Action.NOTIFICATIONS_READ, IN_FINANCE)
    assert not decide(key(Scope.READ), Action.NOTIFICATIONS_MANAGE, IN_FINANCE)
    assert decide(key(Scope.WRITE), Action.NOTIFICATIONS_MANAGE, IN_FINANCE)
    assert not decide(key(Scope.EVENTS_WRITE), Action.NOTIFICATIONS_READ, IN_FINANCE)


def _reaches(
    reach: NotificationReach, resource: Resource, below: dict[uuid.UUID, set[uuid.UUID]]
) -> bool:
    """Whether the list filter `reach` shows a channel placed at `resource` (`below`: the
    units of each subtree, as the repository's recursive query finds them)."""
    if reach.everything:
        return True
    if not resource.units:
        return resource.owner_id is not None and resource.owner_id == reach.user_id
    own_unit = next(u for u in resource.units if all(u in below[v] for v in resource.units))
    return reach.all_units or any(own_unit in below[led] for led in reach.led_units)


def test_the_list_filter_agrees_with_the_decision() -> None:
    """`notification_reach` is rule 4 as a filter: for every kind of caller and every
    kind of channel, the list shows a channel exactly when `decide` lets them read it."""
    below = {SALES: {SALES, SALES_EU}, SALES_EU: {SALES_EU}, FINANCE: {FINANCE}}
    ana = person(Role.VIEWER)
    lead = person(Role.MEMBER, Membership(SALES, UnitRole.LEAD))
    subjects = [
        ana,
        lead,
        person(Role.MEMBER, Membership(SALES_EU, UnitRole.LEAD), scopes={Scope.READ}),
        person(Role.MEMBER, Membership(SALES, UnitRole.MEMBER)),
        person(Role.EDITOR),
        person(Role.ADMIN),
        person(Role.ADMIN, scopes={Scope.EVENTS_WRITE}),
        person(Role.VIEWER, Membership(SALES, UnitRole.LEAD)),
        *(Subject(role=None, scopes=frozenset({s})) for s in Scope),
    ]
    resources = [
        Resource(owner_id=ana.user_id),
        Resource(owner_id=lead.user_id),
        Resource(owner_id=uuid.uuid4()),
        IN_SALES_EU,
        Resource(units=frozenset({SALES})),
        IN_FINANCE,
    ]
    for subject in subjects:
        reach = notification_reach(subject)
        for resource in resources:
            decided = bool(decide(subject, Action.NOTIFICATIONS_READ, resource))
            assert _reaches(reach, resource, below) == decided, (subject, resource)
    assert notification_reach(person(Role.ADMIN)) == NotificationReach(everything=True)
    assert not decide(ana, Action.NOTIFICATIONS_READ, ORGANISATION)
