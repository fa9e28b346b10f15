"""Who a sign-in through a provider is: the linked account, else an existing person with
the same verified email (then linked), else a new person when the provider creates people
just in time. Then the provider's mappings are applied (services/api/mappings.py), at
every sign-in.

Linking by email trusts the provider's `email_verified` (checked before this runs,
`northstar.auth.claims.verified_email`): an unverified address would let anyone who
types a colleague's email at a lax provider take over the colleague's account here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from northstar.auth.keys import Role
from northstar.db.models import IdentityProvider, User
from services.api.audit import ActorRef, AuditTrail
from services.api.identity_providers.oidc import SignInFailed
from services.api.identity_providers.repository import IdentityRepository
from services.api.users.repository import UserRepository

log = logging.getLogger("northstar.api.sso")


@dataclass(frozen=True, slots=True)
class SignedInPerson:
    subject: str
    email: str
    name: str
    role: Role | None  # None: the provider does not manage roles


async def resolve_account(
    identities: IdentityRepository,
    users: UserRepository,
    provider: IdentityProvider,
    person: SignedInPerson,
    audit: AuditTrail,
) -> User:
    """The person's user, linked (and created when allowed); `SignInFailed` else."""
    user = await identities.user_of(provider.id, person.subject)
    if user is None:
        user = await users.by_email(person.email)
        if user is None:
            if not provider.jit:
                raise SignInFailed(
                    f"There is no Northstar account for {person.email}, and {provider.name} "
                    "does not create accounts on first sign-in: ask an administrator to "
                    "invite you.",
                    status=403,
                )
            user = await users.add(
                User(
                    email=person.email,
                    name=person.name,
                    role=(person.role or Role.VIEWER).value,
                    status="active",
                    password_hash=None,
                )
            )
            ref = ActorRef("user", user.id, user.name)
            audit.record(
                "create",
                "user",
                user.id,
                after={
                    "email": user.email,
                    "name": user.name,
                    "role": user.role,
                    "identity_provider": provider.name,
                },
                actor=ref,
            )
            log.info("person created at first sign-in", extra={"user_id": str(user.id)})
        await identities.link(provider.id, person.subject, user.id)
        audit.record(
            "link",
            "user_identity",
            f"{provider.id}/{person.subject}",
            after={"user_id": str(user.id), "identity_provider": provider.name},
            actor=ActorRef("user", user.id, user.name),
        )
    if user.status != "active":
        raise SignInFailed(
            "Your Northstar account is deactivated; ask an administrator.", status=403
        )
    return user
