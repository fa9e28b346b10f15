"""`/v1/api-keys` (admin: every key) and `/v1/me/api-keys` (a person's own personal keys)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from northstar.auth.policy import Action
from services.api.access import Actor, Permit
from services.api.api_keys.repository import ApiKeyRepository
from services.api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from services.api.api_keys.service import ApiKeyService, key_out
from services.api.audit import Audit
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of
from services.api.transaction import Session

router = APIRouter(tags=["api keys"])

KeysAdmin = Annotated[Actor, Depends(Permit(Action.KEYS_MANAGE))]
OwnKeys = Annotated[Actor, Depends(Permit(Action.OWN_KEYS))]


def _service(session: Session) -> ApiKeyService:
    return ApiKeyService(ApiKeyRepository(session))


async def _page(
    session: Session, limit: int, cursor: str | None, user_id: uuid.UUID | None
) -> Page[ApiKeyOut]:
    keys = await ApiKeyRepository(session).page(limit + 1, decode_time_key(cursor), user_id=user_id)
    return page_of(keys, limit, lambda r: encode_time_key(r.created_at, r.id), key_out)


@router.post(
    "/v1/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create a service key",
    description="A service key acts with its scopes (ingest, integrations, Grafana). The "
    "secret is in this answer only; only its SHA-256 is stored. `expires_at` in the past "
    "is a 422; a key cannot make a key with scopes it lacks (403).",
)
async def create_api_key(
    body: ApiKeyCreate, session: Session, actor: KeysAdmin, audit: Audit
) -> ApiKeyCreated:
    key, secret = await _service(session).create(body, actor, user_id=None)
    out = key_out(key)
    audit.record("create", "api_key", key.id, after=out)
    await session.commit()
    return ApiKeyCreated(**out.model_dump(), key=secret)


@router.get(
    "/v1/api-keys",
    response_model=Page[ApiKeyOut],
    summary="List every API key, service and personal (secrets are never shown)",
)
async def list_api_keys(
    session: Session, _: KeysAdmin, limit: Limit = 100, cursor: Cursor = None
) -> Page[ApiKeyOut]:
    return await _page(session, limit, cursor, None)


@router.delete(
    "/v1/api-keys/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    description="Idempotent. The last working admin service key cannot be revoked (409): "
    "create another first. A revoked key is refused within NORTHSTAR_API_KEY_CACHE_SECONDS "
    "everywhere, at once on this process.",
)
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, session: Session, _: KeysAdmin, audit: Audit
) -> Response:
    return await _revoke(key_id, request, session, audit, owner=None)


async def _revoke(
    key_id: uuid.UUID,
    request: Request,
    session: Session,
    audit: Audit,
    *,
    owner: uuid.UUID | None,
) -> Response:
    service = _service(session)
    key = await service.repository.get(key_id)
    before = key_out(key) if key is not None else None
    key = await service.revoke(key_id, owner=owner)
    if before is not None and before.revoked_at is None:
        audit.record("revoke", "api_key", key_id, before=before, after=key_out(key))
    await session.commit()
    request.app.state.authenticator.forget()
    return Response(status_code=204)


@router.post(
    "/v1/me/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create a personal key for yourself",
    description="It acts as you, narrowed by its scopes: a `write` key of a viewer still "
    "only reads. It stops working while you are deactivated.",
)
async def create_my_key(
    body: ApiKeyCreate, session: Session, actor: OwnKeys, audit: Audit
) -> ApiKeyCreated:
    assert actor.person is not None  # keys:own is refused to service keys
    key, secret = await _service(session).create(body, actor, user_id=actor.person.id)
    out = key_out(key)
    audit.record("create", "api_key", key.id, after=out)
    await session.commit()
    return ApiKeyCreated(**out.model_dump(), key=secret)


@router.get("/v1/me/api-keys", response_model=Page[ApiKeyOut], summary="List your personal keys")
async def list_my_keys(
    session: Session, actor: OwnKeys, limit: Limit = 100, cursor: Cursor = None
) -> Page[ApiKeyOut]:
    assert actor.person is not None
    return await _page(session, limit, cursor, actor.person.id)


@router.delete(
    "/v1/me/api-keys/{key_id}",
    status_code=204,
    summary="Revoke one of your personal keys (404 for anyone else's)",
)
async def revoke_my_key(
    key_id: uuid.UUID, request: Request, session: Session, actor: OwnKeys, audit: Audit
) -> Response:
    assert actor.person is not None
    return await _revoke(key_id, request, session, audit, owner=actor.person.id)
