"""Identity provider rules: the issuer must be a URL the server may fetch (the SSRF
guard), mapped units must exist, and the client secret is stored encrypted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select

from northstar.crypto import SecretBox
from northstar.db.models import IdentityProvider, OrgUnit
from northstar.http.problems import Problem
from northstar.http.ssrf import DestinationRefused, check_destination
from services.api.identity_providers.repository import IdentityProviderRepository
from services.api.identity_providers.schemas import (
    IdentityProviderCreate,
    IdentityProviderOut,
    IdentityProviderUpdate,
    RoleMapping,
    UnitMapping,
)


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"The request is invalid: {field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def not_found(provider_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no identity provider with id {provider_id}.")


def public_base(request: Request) -> str:
    """The address people reach Northstar at (`NORTHSTAR_PUBLIC_URL`): the redirect URI
    registered at a provider must not depend on the Host header a request happens to carry."""
    configured: str = request.app.state.settings.public_url
    return configured.rstrip("/")


def callback_url(request: Request, provider_id: uuid.UUID) -> str:
    return f"{public_base(request)}/v1/auth/oidc/{provider_id}/callback"


def provider_out(request: Request, provider: IdentityProvider) -> IdentityProviderOut:
    return IdentityProviderOut(
        id=provider.id,
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        scopes=provider.scopes,
        allowed_domains=provider.allowed_domains,
        role_mapping=RoleMapping.model_validate(provider.role_mapping)
        if provider.role_mapping
        else None,
        unit_mapping=UnitMapping.model_validate(provider.unit_mapping)
        if provider.unit_mapping
        else None,
        jit=provider.jit,
        enabled=provider.enabled,
        redirect_uri=callback_url(request, provider.id),
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )


class IdentityProviderService:
    def __init__(
        self, repository: IdentityProviderRepository, box: SecretBox, *, allow_private: bool
    ) -> None:
        self.repository = repository
        self.box = box
        self.allow_private = allow_private

    async def get(self, provider_id: uuid.UUID) -> IdentityProvider:
        provider = await self.repository.get(provider_id)
        if provider is None:
            raise not_found(provider_id)
        return provider

    async def create(self, body: IdentityProviderCreate) -> IdentityProvider:
        issuer = await self._checked_issuer(body.issuer)
        await self._check_units(body.unit_mapping)
        return await self.repository.add(
            IdentityProvider(
                name=body.name,
                issuer=issuer,
                client_id=body.client_id,
                client_secret_ciphertext=self.box.encrypt(body.client_secret),
                scopes=list(dict.fromkeys(body.scopes)),
                allowed_domains=sorted(set(body.allowed_domains)),
                role_mapping=_json(body.role_mapping),
                unit_mapping=_json(body.unit_mapping),
                jit=body.jit,
                enabled=body.enabled,
            )
        )

    async def update(
        self, provider_id: uuid.UUID, body: IdentityProviderUpdate
    ) -> IdentityProvider:
        provider = await self.get(provider_id)
        changes = body.model_dump(exclude_unset=True)
        for field in ("name", "issuer", "client_id", "client_secret", "scopes", "jit", "enabled"):
            if field in changes and changes[field] is None:
                raise invalid(field, "cannot be null")
        if body.issuer is not None:
            provider.issuer = await self._checked_issuer(body.issuer)
        if "unit_mapping" in changes:
            await self._check_units(body.unit_mapping)
            provider.unit_mapping = _json(body.unit_mapping)
        if "role_mapping" in changes:
            provider.role_mapping = _json(body.role_mapping)
        if body.client_secret is not None:
            provider.client_secret_ciphertext = self.box.encrypt(body.client_secret)
        if body.scopes is not None:
            provider.scopes = list(dict.fromkeys(body.scopes))
        if body.allowed_domains is not None:
            provider.allowed_domains = sorted(set(body.allowed_domains))
        for field in ("name", "client_id", "jit", "enabled"):
            if field in changes:
                setattr(provider, field, changes[field])
        provider.updated_at = datetime.now(UTC)
        await self.repository.session.flush()
        return provider

    async def _checked_issuer(self, issuer: str) -> str:
        issuer = issuer.strip()
        try:
            await check_destination(issuer, allow_private=self.allow_private)
        except DestinationRefused as refused:
            raise invalid("issuer", str(refused)) from None
        if "?" in issuer or "#" in issuer:
            raise invalid("issuer", "must not carry a query or fragment")
        return issuer

    async def _check_units(self, mapping: UnitMapping | None) -> None:
        if mapping is None:
            return
        wanted = {grant.unit_id for grants in mapping.map.values() for grant in grants}
        if not wanted:
            return
        found = set(
            (
                await self.repository.session.scalars(
                    select(OrgUnit.id).where(OrgUnit.id.in_(wanted))
                )
            ).all()
        )
        missing = sorted(str(u) for u in wanted - found)
        if missing:
            raise invalid("unit_mapping", "no such org unit: " + ", ".join(missing))


def _json(model: RoleMapping | UnitMapping | None) -> dict[str, Any] | None:
    return model.model_dump(mode="json") if model is not None else None
