"""The relying party never contacts an address the SSRF guard refuses: the check runs
for every request it makes, not only when the issuer is registered."""

from __future__ import annotations

import pytest

from services.api.identity_providers.oidc import RelyingParty, SignInFailed


@pytest.mark.parametrize(
    ("issuer", "reason"),
    [
        ("http://127.0.0.1:9/realms/acme", "loopback"),
        ("http://169.254.169.254/latest", "metadata"),
        ("http://10.1.2.3/issuer", "private"),
    ],
)
async def test_discovery_at_a_refused_address_is_never_fetched(issuer: str, reason: str) -> None:
    party = RelyingParty(allow_private=False)
    with pytest.raises(SignInFailed, match=reason) as refused:
        await party.metadata(issuer)
    assert refused.value.status == 502
    assert "may not contact" in refused.value.message
