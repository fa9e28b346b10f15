"""`/v1/api-keys` (admin scope)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from northstar.auth.keys import Scope, generate_key, hash_key
from northstar.db.models import ApiKey
from northstar.http.problems import Problem
from services.api.api_keys.repository import ApiKeyRepository
from services.api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from services.api.dependencies import Admin, Session
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        scopes=[Scope(s) for s in key.scopes],
        sources=list(key.sources),
        prefix=key.key_prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Create an API key")
async def create_api_key(body: ApiKeyCreate, session: Session, _: Admin) -> ApiKeyCreated:
    secret, prefix = generate_key()
    key = await ApiKeyRepository(session).add(
        body.name,
        [s.value for s in dict.fromkeys(body.scopes)],
        hash_key(secret),
        prefix,
        sources=list(dict.fromkeys(body.sources)),
    )
    await session.commit()
    return ApiKeyCreated(**_out(key).model_dump(), key=secret)


@router.get("", response_model=Page[ApiKeyOut], summary="List API keys (secrets are never shown)")
async def list_api_keys(
    session: Session, _: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[ApiKeyOut]:
    keys = await ApiKeyRepository(session).page(limit + 1, decode_time_key(cursor))
    next_cursor = None
    if len(keys) > limit:
        keys = keys[:limit]
        next_cursor = encode_time_key(keys[-1].created_at, keys[-1].id)
    return Page[ApiKeyOut](items=[_out(k) for k in keys], next_cursor=next_cursor)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, session: Session, _: Admin) -> Response:
    repository = ApiKeyRepository(session)
    # Revoking twice is not an error: the key is revoked either way.
    if not await repository.revoke(key_id) and await repository.get(key_id) is None:
        raise Problem(404, f"There is no API key with id {key_id}.")
    await session.commit()
    return Response(status_code=204)
