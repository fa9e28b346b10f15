"""Key rules: service keys (admin) and personal keys (their person), expiry in the
future, a key made by a key never wider than its maker, and never revoking the last
working admin service key (nobody could manage keys any more without a person)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from northstar.auth.keys import Scope, generate_key, hash_key, scopes_allow
from northstar.db.models import ApiKey
from northstar.http.problems import Problem, invalid_field
from services.api.access import Actor
from services.api.api_keys.repository import ApiKeyRepository
from services.api.api_keys.schemas import ActorOut, ApiKeyCreate, ApiKeyOut


def key_out(key: ApiKey) -> ApiKeyOut:
    created_by = None
    if key.created_by_kind and key.created_by_id and key.created_by_name:
        created_by = ActorOut(
            kind="user" if key.created_by_kind == "user" else "key",
            id=key.created_by_id,
            name=key.created_by_name,
        )
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        kind="personal" if key.user_id else "service",
        user_id=key.user_id,
        scopes=[Scope(s) for s in key.scopes],
        sources=list(key.sources),
        prefix=key.key_prefix,
        created_at=key.created_at,
        created_by=created_by,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def not_found(key_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no API key with id {key_id}.")


class ApiKeyService:
    def __init__(self, repository: ApiKeyRepository) -> None:
        self.repository = repository

    async def create(
        self, body: ApiKeyCreate, actor: Actor, *, user_id: uuid.UUID | None
    ) -> tuple[ApiKey, str]:
        """A new key (personal when `user_id` is set) and its secret."""
        if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
            raise invalid_field("expires_at", "must be in the future")
        scopes = list(dict.fromkeys(body.scopes))
        if actor.scopes is not None:
            wider = [s.value for s in scopes if not scopes_allow(actor.scopes, s)]
            if wider:
                raise Problem(
                    403,
                    f"A key cannot make a key with scopes it lacks itself: {', '.join(wider)}.",
                )
        secret, prefix = generate_key()
        key = await self.repository.add(
            ApiKey(
                name=body.name,
                scopes=[s.value for s in scopes],
                key_hash=hash_key(secret),
                key_prefix=prefix,
                sources=list(dict.fromkeys(body.sources)),
                user_id=user_id,
                created_by_kind=actor.kind,
                created_by_id=actor.id,
                created_by_name=actor.name[:200],
                expires_at=body.expires_at,
            )
        )
        return key, secret

    async def revoke(self, key_id: uuid.UUID, *, owner: uuid.UUID | None = None) -> ApiKey:
        """Revoke (idempotent). With `owner`, only that person's personal key is found."""
        key = await self.repository.get(key_id)
        if key is None or (owner is not None and key.user_id != owner):
            raise not_found(key_id)
        if key.revoked_at is not None:
            return key
        working_admin = await self.repository.working_admin_keys()
        if working_admin == [key.id]:
            raise Problem(
                409,
                f"'{key.name}' is the last working admin key; create another admin key "
                "before revoking this one.",
            )
        await self.repository.revoke(key_id)
        await self.repository.session.refresh(key)
        return key
