"""From a provider's claims to a role and memberships (northstar/auth/claims.py)."""

from __future__ import annotations

import uuid

import pytest

from northstar.auth.claims import ClaimsRefused, mapped_role, mapped_units, verified_email
from northstar.auth.keys import Role
from northstar.auth.policy import UnitRole

ROLES = {"claim": "groups", "map": {"admins": "admin", "staff": "member"}, "default": "viewer"}


def test_the_highest_mapped_role_wins_and_a_single_string_counts() -> None:
    assert mapped_role({"groups": ["staff", "admins", "other"]}, ROLES) is Role.ADMIN
    assert mapped_role({"groups": "staff"}, ROLES) is Role.MEMBER
    assert mapped_role({"groups": ["other"]}, ROLES) is Role.VIEWER
    assert mapped_role({}, None) is None
    with pytest.raises(ClaimsRefused, match="not in any group"):
        mapped_role({"groups": ["other"]}, ROLES | {"default": None})


@pytest.mark.parametrize("verified", [True, "true", "TRUE"])
def test_a_verified_email_in_an_allowed_domain_passes(verified: object) -> None:
    claims = {"email": "Ana@Acme.test", "email_verified": verified}
    assert verified_email(claims, ["acme.test"]) == "ana@acme.test"
    assert verified_email(claims, []) == "ana@acme.test"


def test_entras_domain_owner_verified_claim_counts_only_without_email_verified() -> None:
    assert verified_email({"email": "ana@acme.test", "xms_edov": True}, []) == "ana@acme.test"
    with pytest.raises(ClaimsRefused, match="not verified"):
        verified_email({"email": "ana@acme.test", "xms_edov": True, "email_verified": False}, [])
    with pytest.raises(ClaimsRefused, match="not verified"):
        verified_email({"email": "ana@acme.test", "xms_edov": "1"}, [])


@pytest.mark.parametrize(
    ("claims", "domains", "reason"),
    [
        ({"email": "ana@acme.test"}, [], "not verified"),
        ({"email": "ana@acme.test", "email_verified": False}, [], "not verified"),
        ({"email": "ana@acme.test", "email_verified": "false"}, [], "not verified"),
        ({"email_verified": True}, [], "did not share your email"),
        ({"email": "ana@eu.acme.test", "email_verified": True}, ["acme.test"], "may not"),
        ({"email": "ana@acme.test.evil", "email_verified": True}, ["acme.test"], "may not"),
    ],
)
def test_unverified_missing_or_foreign_emails_are_refused(
    claims: dict[str, object], domains: list[str], reason: str
) -> None:
    with pytest.raises(ClaimsRefused, match=reason):
        verified_email(claims, domains)


def test_units_follow_the_groups_and_only_mapped_units_are_left() -> None:
    sales, eu = uuid.uuid4(), uuid.uuid4()
    mapping = {
        "claim": "groups",
        "map": {
            "sales": [{"unit_id": str(sales), "role": "member"}],
            "sales-leads": [{"unit_id": str(sales), "role": "lead"}],
            "eu": [{"unit_id": str(eu), "role": "member"}],
        },
    }
    plan = mapped_units({"groups": ["sales-leads", "sales"]}, mapping)
    assert plan.hold == {sales: UnitRole.LEAD}
    assert plan.leave == frozenset({eu})
    assert mapped_units({"groups": []}, None).leave == frozenset()
