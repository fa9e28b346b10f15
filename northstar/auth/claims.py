"""From an identity provider's claims to a person here: which role, which unit
memberships, and whether the email may sign in at all. Pure: plain values in and out.

The rules (docs/sso.md), applied at every sign-in, not only the first:
1. The email must be verified by the provider (`email_verified` true; a string "true"
   counts, as some providers send it; without any `email_verified`, Entra ID's optional
   `xms_edov` "email domain owner verified" claim true counts, as Entra never sends
   `email_verified` for work accounts) and, when the provider lists allowed domains, be
   in one of them (exactly the domain, not a subdomain).
2. Role: the mapping's claim holds a string or a list of strings; each value the mapping
   names gives a role, and the person gets the highest one. No value mapped: the
   mapping's default (None: refused). No role mapping at all: the role is not managed
   by the provider (`None`).
3. Units: each mapped value grants memberships; a unit granted twice keeps the stronger
   role (lead > member). Units the mapping names but grants nothing in are to be left.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from northstar.auth.keys import Role
from northstar.auth.policy import UnitRole

_ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class ClaimsRefused(Exception):
    """The claims do not let this person sign in; the message says why, for them."""


def claim_values(claims: Mapping[str, Any], claim: str) -> list[str]:
    """A claim as a list of strings (a single string is a list of one; else empty)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def verified_email(claims: Mapping[str, Any], allowed_domains: list[str]) -> str:
    """The person's email, lower-cased, after rule 1; `ClaimsRefused` else."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ClaimsRefused(
            "The identity provider did not share your email address; Northstar needs it "
            "(ask your administrator to grant the 'email' scope)."
        )
    email = email.strip().lower()
    verified = claims.get("email_verified")
    if verified is None and claims.get("xms_edov") is True:
        verified = True
    if not (verified is True or (isinstance(verified, str) and verified.lower() == "true")):
        raise ClaimsRefused(
            f"Your email address {email} is not verified at the identity provider; verify "
            "it there, then sign in again."
        )
    domain = email.rpartition("@")[2]
    if allowed_domains and domain not in allowed_domains:
        raise ClaimsRefused(
            f"Email addresses at {domain} may not sign in to Northstar through this provider."
        )
    return email


def mapped_role(claims: Mapping[str, Any], mapping: Mapping[str, Any] | None) -> Role | None:
    """The role after rule 2 (None: not managed by the provider); `ClaimsRefused` when
    nothing is mapped and the mapping has no default."""
    if not mapping:
        return None
    table: Mapping[str, str] = mapping.get("map", {})
    roles = [Role(table[v]) for v in claim_values(claims, mapping["claim"]) if v in table]
    if roles:
        return max(roles, key=_ROLE_RANK.__getitem__)
    default = mapping.get("default")
    if default is None:
        raise ClaimsRefused(
            "You are not in any group that may use Northstar; ask your administrator."
        )
    return Role(default)


@dataclass(frozen=True, slots=True)
class UnitPlan:
    """Memberships to hold (unit -> role) and units to leave, after rule 3."""

    hold: dict[uuid.UUID, UnitRole]
    leave: frozenset[uuid.UUID]


def mapped_units(claims: Mapping[str, Any], mapping: Mapping[str, Any] | None) -> UnitPlan:
    if not mapping:
        return UnitPlan({}, frozenset())
    table: Mapping[str, list[Mapping[str, str]]] = mapping.get("map", {})
    managed = {uuid.UUID(g["unit_id"]) for grants in table.values() for g in grants}
    hold: dict[uuid.UUID, UnitRole] = {}
    for value in claim_values(claims, mapping["claim"]):
        for grant in table.get(value, []):
            unit, role = uuid.UUID(grant["unit_id"]), UnitRole(grant["role"])
            if hold.get(unit) is not UnitRole.LEAD:
                hold[unit] = role
    return UnitPlan(hold, frozenset(managed - hold.keys()))
