"""`/v1/identity-providers` (admin: a provider decides who may sign in and with which
role, so managing one is managing people) and the public list the sign-in page shows."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from northstar.auth.policy import Action
from northstar.crypto import SecretBox
from services.api.access import Actor, Permit, Public
from services.api.audit import Audit
from services.api.identity_providers.repository import IdentityProviderRepository
from services.api.identity_providers.schemas import (
    IdentityProviderCreate,
    IdentityProviderOut,
    IdentityProviderUpdate,
    ProviderChoice,
)
from services.api.identity_providers.service import IdentityProviderService, provider_out
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key
from services.api.transaction import Session

router = APIRouter(prefix="/v1/identity-providers", tags=["identity providers"])
public_router = APIRouter(tags=["sign-in"])

PeopleAdmin = Annotated[Actor, Depends(Permit(Action.PEOPLE_MANAGE))]


def _service(request: Request, session: Session) -> IdentityProviderService:
    box: SecretBox = request.app.state.webhook_box
    return IdentityProviderService(
        IdentityProviderRepository(session),
        box,
        allow_private=request.app.state.settings.webhook_allow_private_networks,
    )


@router.post(
    "",
    status_code=201,
    response_model=IdentityProviderOut,
    summary="Add an OpenID Connect identity provider",
    description="The issuer must resolve to an address the server may reach (public, or "
    "private when NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS is set): else 422. The client "
    "secret is encrypted at rest and never returned. Register `redirect_uri` from the "
    "answer at the provider.",
)
async def create_provider(
    body: IdentityProviderCreate,
    request: Request,
    session: Session,
    _: PeopleAdmin,
    audit: Audit,
) -> IdentityProviderOut:
    provider = await _service(request, session).create(body)
    out = provider_out(request, provider)
    audit.record("create", "identity_provider", provider.id, after=out)
    await session.commit()
    return out


@router.get("", response_model=Page[IdentityProviderOut], summary="List identity providers")
async def list_providers(
    request: Request, session: Session, _: PeopleAdmin, limit: Limit = 100, cursor: Cursor = None
) -> Page[IdentityProviderOut]:
    rows = await IdentityProviderRepository(session).page(limit + 1, decode_time_key(cursor))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_time_key(rows[-1].created_at, rows[-1].id)
    return Page[IdentityProviderOut](
        items=[provider_out(request, p) for p in rows], next_cursor=next_cursor
    )


@router.get(
    "/{provider_id}", response_model=IdentityProviderOut, summary="Get an identity provider"
)
async def get_provider(
    provider_id: uuid.UUID, request: Request, session: Session, _: PeopleAdmin
) -> IdentityProviderOut:
    return provider_out(request, await _service(request, session).get(provider_id))


@router.patch(
    "/{provider_id}",
    response_model=IdentityProviderOut,
    summary="Change an identity provider",
    description="Send `client_secret` to replace the secret (it is never shown). A new "
    "role or unit mapping applies from each person's next sign-in.",
)
async def update_provider(
    provider_id: uuid.UUID,
    body: IdentityProviderUpdate,
    request: Request,
    session: Session,
    _: PeopleAdmin,
    audit: Audit,
) -> IdentityProviderOut:
    service = _service(request, session)
    before = provider_out(request, await service.get(provider_id)).model_dump(mode="json")
    provider = await service.update(provider_id, body)
    after = provider_out(request, provider).model_dump(mode="json")
    if body.client_secret is not None:
        after["client_secret_changed"] = True  # that it changed, never the value
    audit.record("update", "identity_provider", provider_id, before=before, after=after)
    await session.commit()
    return provider_out(request, provider)


@router.delete(
    "/{provider_id}",
    status_code=204,
    summary="Remove an identity provider",
    description="People it signed in keep their accounts and current sessions; they sign "
    "in some other way from then on (another provider, or a password an admin sets).",
)
async def delete_provider(
    provider_id: uuid.UUID, request: Request, session: Session, _: PeopleAdmin, audit: Audit
) -> Response:
    service = _service(request, session)
    provider = await service.get(provider_id)
    before = provider_out(request, provider)
    await service.repository.delete(provider)
    audit.record("delete", "identity_provider", provider_id, before=before)
    await session.commit()
    return Response(status_code=204)


@public_router.get(
    "/v1/auth/providers",
    response_model=list[ProviderChoice],
    summary="The identity providers people may sign in with (for the sign-in page)",
    description="Public: only each enabled provider's id, name and start URL.",
    dependencies=[Public],
)
async def sign_in_choices(session: Session) -> list[ProviderChoice]:
    return [
        ProviderChoice(id=p.id, name=p.name, start_url=f"/v1/auth/oidc/{p.id}/start")
        for p in await IdentityProviderRepository(session).enabled()
    ]
