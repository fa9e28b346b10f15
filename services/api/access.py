"""Who is asking, and may they: the actor of a request and the `Permit` dependency.

A request acts as a person signed in with the session cookie, or as an API key sent as
`Authorization: Bearer <key>` (a service key, or a personal key acting as its owner).
The bearer key wins when both are present. A state-changing request authenticated by the
cookie must echo the `northstar_csrf` cookie in the `X-CSRF-Token` header (403 else);
the session row holds the token's digest, so a cookie planted by another site does not
pass. Bearer keys are not subject to CSRF: browsers never attach them on their own.

Every route declares what it does with one dependency, `Permit(action, resource)`;
the decision itself is `northstar.auth.policy.decide`. Adding a route's decision is one
line:

    async def delete_goal(goal_id: uuid.UUID, actor: Annotated[Actor, Permit(
        Action.GOALS_WRITE, goal_in_path)], ...)

`tests/api/test_permissions.py` walks the route table and fails for a route without one.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy import Text, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.authenticator import Authenticator, AuthError
from northstar.auth.keys import Person, Role, Scope
from northstar.auth.policy import (
    ORGANISATION,
    Action,
    Membership,
    Resource,
    Subject,
    UnitRole,
    could_ever,
    decide,
)
from northstar.db.models import UnitMember, User, UserSession
from services.api.transaction import Session

SESSION_COOKIE = "northstar_session"
CSRF_COOKIE = "northstar_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a request acts as. `kind` "user" is a signed-in person (id: the user); "key" an
    API key (id: the key; `person` set for a personal key). `scopes` None: no key narrows
    the person. `memberships` are loaded for people whose role needs them (members)."""

    kind: Literal["user", "key"]
    id: uuid.UUID
    name: str
    person: Person | None
    scopes: frozenset[Scope] | None
    memberships: tuple[Membership, ...] = ()
    session_id: uuid.UUID | None = None

    @property
    def subject(self) -> Subject:
        return Subject(
            role=self.person.role if self.person else None,
            scopes=self.scopes,
            user_id=self.person.id if self.person else None,
            memberships=self.memberships,
        )


# One round trip per request: the session, its person, and their memberships (an array of
# "unit_id:role", empty for people outside any unit).
_MEMBERSHIPS = (
    select(
        func.coalesce(
            func.array_agg(func.cast(UnitMember.unit_id, Text) + ":" + UnitMember.role),
            func.cast(literal_column("'{}'"), ARRAY(Text)),
        )
    )
    .where(UnitMember.user_id == User.id)
    .scalar_subquery()
)
_SESSION_LOOKUP = (
    select(UserSession.id, UserSession.csrf_hash, User.id.label("user_id"), User.email)
    .add_columns(User.name, User.role, _MEMBERSHIPS.label("memberships"))
    .join(User, User.id == UserSession.user_id)
)


async def memberships_of(db: AsyncSession, user_id: uuid.UUID) -> tuple[Membership, ...]:
    rows = await db.execute(
        select(UnitMember.unit_id, UnitMember.role).where(UnitMember.user_id == user_id)
    )
    return tuple(Membership(row.unit_id, UnitRole(row.role)) for row in rows)


async def current_actor(request: Request) -> Actor:
    """The request's actor, resolved once per request (401/403 as `AuthError`)."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization")
    if authorization or SESSION_COOKIE not in request.cookies:
        authenticator: Authenticator = request.app.state.authenticator
        if not authorization:
            raise AuthError(
                401,
                "Sign in (POST /v1/auth/login) or send an API key as "
                "'Authorization: Bearer <key>'.",
            )
        # The api's gate (services/api/gate.py) has usually looked the key up already.
        principal = getattr(request.state, "principal", None) or await authenticator.principal(
            authorization
        )
        memberships: tuple[Membership, ...] = ()
        if principal.owner is not None and principal.owner.role is Role.MEMBER:
            async with request.app.state.sessions() as db:
                memberships = await memberships_of(db, principal.owner.id)
        actor = Actor(
            "key", principal.key_id, principal.name, principal.owner, principal.scopes, memberships
        )
    else:
        actor = await _session_actor(request)
    request.state.actor = actor
    return actor


async def _session_actor(request: Request) -> Actor:
    token = request.cookies[SESSION_COOKIE]
    async with request.app.state.sessions() as db:
        row = (
            await db.execute(
                _SESSION_LOOKUP.where(
                    UserSession.token_hash == token_digest(token),
                    UserSession.revoked_at.is_(None),
                    UserSession.expires_at > func.now(),
                    User.status == "active",
                )
            )
        ).first()
        if row is None:
            raise AuthError(401, "Your session has ended or expired; sign in again.")
    person = Person(row.user_id, row.email, row.name, Role(row.role))
    memberships = tuple(
        Membership(uuid.UUID(unit), UnitRole(role))
        for unit, _, role in (m.partition(":") for m in row.memberships)
    )
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not (
            sent
            and hmac.compare_digest(sent, request.cookies.get(CSRF_COOKIE, ""))
            and hmac.compare_digest(token_digest(sent), row.csrf_hash)
        ):
            raise AuthError(
                403,
                f"A change made with a session cookie must send the {CSRF_COOKIE} cookie's "
                "value in the X-CSRF-Token header.",
            )
    return Actor("user", person.id, person.name, person, None, memberships, session_id=row.id)


ResourceResolver = Callable[[Request, AsyncSession], Awaitable[Resource | Sequence[Resource]]]
"""Finds the resource(s) a request acts on (404 when missing); each must be allowed. See
`services.api.resources`."""


class Permit:
    """The dependency by which a route declares its `action` (and, for unit-scoped
    actions, how to find the resource). Answers the request's `Actor`, or 401/403."""

    def __init__(self, action: Action, resource: ResourceResolver | None = None) -> None:
        self.action = action
        self.resource = resource

    def __repr__(self) -> str:
        return f"Permit({self.action.value})"

    async def __call__(self, request: Request, session: Session) -> Actor:
        actor = await current_actor(request)
        subject = actor.subject
        decision = decide(subject, self.action, ORGANISATION)
        if not decision and self.resource is not None and could_ever(subject, self.action):
            found = await self.resource(request, session)
            for resource in [found] if isinstance(found, Resource) else found:
                decision = decide(subject, self.action, resource)
                if not decision:
                    break
        if not decision:
            raise AuthError(403, f"Not allowed: {decision.reason}.")
        return actor


def public(request: Request) -> None:
    """Marks a route anyone may call (sign-in, accepting an invitation)."""


Public = Depends(public)

Reader = Annotated[Actor, Depends(Permit(Action.READ))]
Writer = Annotated[Actor, Depends(Permit(Action.ORG_WRITE))]
Admin = Annotated[Actor, Depends(Permit(Action.KEYS_MANAGE))]
