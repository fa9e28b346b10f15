"""`/scim/v2`: Users, Groups (their roles and units: .groups), and the discovery documents,
for a key with the `scim` scope (a service key, or an admin's personal key).

The routes are outside `/v1`, so the api's gate does not look at them: `scim_client`
authenticates each request (`Authorization: Bearer <key>`, the same cached lookup) and
every change is in the audit trail as the key. They are left out of the OpenAPI document:
SCIM describes itself (`/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`).

Deactivating a person (`active: false` in PUT or PATCH, or DELETE) ends their sessions in
the same transaction and clears this process's key cache, so their next request, cookie or
personal key, is refused (other api workers within `NORTHSTAR_API_KEY_CACHE_SECONDS`).
A DELETE deactivates rather than erases: people own goals and check-ins, and their history
stays readable here. SCIM no longer finds the person (404, as RFC 7644 §3.6 asks); a later
POST with their userName brings the same person back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from northstar.auth.authenticator import Authenticator, AuthError
from northstar.auth.keys import Principal, Role, Scope
from northstar.db.models import ScimGroup, User
from services.api.audit import ActorRef, Audit
from services.api.scim import documents
from services.api.scim.errors import ScimError, scim_response
from services.api.scim.groups import (
    GroupChanges,
    apply_group_mappings,
    group_from_body,
    group_from_patch,
    user_ids,
)
from services.api.scim.repository import ScimGroupRepository, ScimUserRepository
from services.api.scim.users import UserChanges, parse_filter, user_from_body, user_from_patch
from services.api.transaction import Session
from services.api.users.repository import UserRepository

PREFIX = "/scim/v2"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

_USER_FILTERS = {
    "username": "user_name",
    "externalid": "scim_external_id",
    "emails.value": "email",
    "emails": "email",
}


async def scim_client(request: Request) -> Principal:
    """The key of the request, which must hold the `scim` scope (401/403 as SCIM errors)."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        principal = await authenticator.authenticate(
            request.headers.get("authorization"), Scope.SCIM
        )
    except AuthError as error:
        raise ScimError(error.status, error.detail) from None
    if principal.owner is not None and principal.owner.role is not Role.ADMIN:
        raise ScimError(403, "Only service keys and admins' personal keys may provision.")
    return principal


Client = Annotated[Principal, Depends(scim_client)]


def _base(request: Request) -> str:
    return str(request.app.state.settings.public_url).rstrip("/") + PREFIX


def _actor(principal: Principal) -> ActorRef:
    return ActorRef("key", principal.key_id, principal.name)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return body


def _user_id(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(user_id)
    except ValueError:
        raise ScimError(404, f"There is no User with id {user_id}.") from None


async def _user(session: Session, user_id: str) -> User:
    user = await UserRepository(session).get(_user_id(user_id))
    if user is None or user.scim_deleted_at is not None:
        raise ScimError(404, f"There is no User with id {user_id}.")
    return user


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "status": user.status,
        "scim_external_id": user.scim_external_id,
        "scim_user_name": user.scim_user_name,
    }


@router.get("/ServiceProviderConfig")
async def service_provider_config(request: Request, _: Client) -> JSONResponse:
    return scim_response(200, documents.service_provider_config(_base(request)))


@router.get("/Schemas")
async def schemas(request: Request, _: Client) -> JSONResponse:
    found = documents.schemas(_base(request))
    return scim_response(200, documents.list_response(found, len(found), 1))


@router.get("/Schemas/{schema_id}")
async def schema(schema_id: str, request: Request, _: Client) -> JSONResponse:
    for document in documents.schemas(_base(request)):
        if document["id"] == schema_id:
            return scim_response(200, document)
    raise ScimError(404, f"There is no schema {schema_id}.")


@router.get("/ResourceTypes")
async def resource_types(request: Request, _: Client) -> JSONResponse:
    found = documents.resource_types(_base(request))
    return scim_response(200, documents.list_response(found, len(found), 1))


@router.get("/ResourceTypes/{name}")
async def resource_type(name: str, request: Request, _: Client) -> JSONResponse:
    for document in documents.resource_types(_base(request)):
        if document["id"] == name:
            return scim_response(200, document)
    raise ScimError(404, f"There is no resource type {name}.")


@router.get("/Users")
async def list_users(
    request: Request,
    session: Session,
    _: Client,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
    start_index: Annotated[int, Query(alias="startIndex")] = 1,
    count: Annotated[int, Query()] = 100,
    attributes: Annotated[str | None, Query(max_length=1000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=1000)] = None,
) -> JSONResponse:
    return await _search(
        request,
        session,
        filter_=filter,
        start_index=start_index,
        count=count,
        attributes=attributes,
        excluded=excluded,
    )


async def _search(
    request: Request,
    session: Session,
    *,
    filter_: str | None,
    start_index: int,
    count: int,
    attributes: str | None,
    excluded: str | None,
) -> JSONResponse:
    found = parse_filter(filter_, _USER_FILTERS)
    where = None
    if found is not None:
        column, value = found
        if column == "email":
            where = func.lower(User.email) == value.lower()
        elif column == "user_name":
            where = func.lower(func.coalesce(User.scim_user_name, User.email)) == value.lower()
        else:
            where = User.scim_external_id == value
    start = max(start_index, 1)
    limit = min(max(count, 0), documents.MAX_RESULTS)
    total, users = await ScimUserRepository(session).page(where, start - 1, limit)
    base = _base(request)
    items = [
        documents.project(documents.user_document(u, base), attributes, excluded) for u in users
    ]
    return scim_response(200, documents.list_response(items, total, start))


@router.post("/.search")
@router.post("/Users/.search")
async def search_users(request: Request, session: Session, _: Client) -> JSONResponse:
    body = await _body(request)

    def text(name: str) -> str | None:
        value = body.get(name)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        return value if isinstance(value, str) else None

    def number(name: str, default: int) -> int:
        value = body.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ScimError(400, f"{name} must be an integer", "invalidValue")
        return value

    return await _search(
        request,
        session,
        filter_=text("filter"),
        start_index=number("startIndex", 1),
        count=number("count", 100),
        attributes=text("attributes"),
        excluded=text("excludedAttributes"),
    )


@router.get("/Users/{user_id}")
async def get_user(user_id: str, request: Request, session: Session, _: Client) -> JSONResponse:
    return scim_response(
        200, documents.user_document(await _user(session, user_id), _base(request))
    )


@router.post("/Users")
async def create_user(
    request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    changes = user_from_body(await _body(request))
    users = UserRepository(session)
    email = changes.values["email"]
    existing = await users.by_email(email)
    if existing is not None and existing.scim_deleted_at is not None:
        # Deleted through SCIM before: the same person comes back, with their history.
        existing.scim_deleted_at = None
        return await _change(request, session, principal, audit, existing, changes, status=201)
    if existing is not None:
        raise ScimError(409, f"A User with userName {email} exists already.", "uniqueness")
    try:
        user = await users.add(
            User(
                email=email,
                name=changes.values["name"],
                role=Role.VIEWER.value,
                status="active" if changes.values["active"] else "deactivated",
                password_hash=None,
                scim_external_id=changes.values["external_id"],
                scim_user_name=_kept_user_name(changes.values["user_name"], email),
            )
        )
    except IntegrityError:
        raise ScimError(
            409, f"A User with userName {email} exists already.", "uniqueness"
        ) from None
    audit.record("create", "user", user.id, after=_snapshot(user), actor=_actor(principal))
    await session.commit()
    document = documents.user_document(user, _base(request))
    return scim_response(201, document, {"Location": document["meta"]["location"]})


def _kept_user_name(user_name: str, email: str) -> str | None:
    """The login is kept only when it is not simply the email."""
    return None if user_name.lower() == email.lower() else user_name


async def _change(
    request: Request,
    session: Session,
    principal: Principal,
    audit: Audit,
    user: User,
    changes: UserChanges,
    *,
    status: int = 200,
) -> JSONResponse:
    users = UserRepository(session)
    before = _snapshot(user)
    values = changes.values
    if "email" in values and values["email"] != user.email:
        other = await users.by_email(values["email"])
        if other is not None and other.id != user.id:
            raise ScimError(409, f"A User with userName {values['email']} exists.", "uniqueness")
        user.email = values["email"]
    if "user_name" in values:
        user.scim_user_name = _kept_user_name(values["user_name"], user.email)
    if "name" in values:
        user.name = values["name"]
    if "external_id" in values:
        user.scim_external_id = values["external_id"]
    deactivated = False
    if "active" in values:
        new_status = "active" if values["active"] else "deactivated"
        if new_status == "deactivated" and user.status == "active":
            if user.role == Role.ADMIN.value and await users.active_admins() <= 1:
                raise ScimError(
                    409, f"{user.email} is the last active admin; make another admin first."
                )
            await users.end_sessions(user.id)
            deactivated = True
        user.status = new_status
    user.updated_at = datetime.now(UTC)
    await session.flush()
    audit.record(
        "update", "user", user.id, before=before, after=_snapshot(user), actor=_actor(principal)
    )
    await session.commit()
    if deactivated:
        request.app.state.authenticator.forget()
    return scim_response(status, documents.user_document(user, _base(request)))


@router.put("/Users/{user_id}")
async def replace_user(
    user_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    user = await _user(session, user_id)
    changes = user_from_body(await _body(request))
    return await _change(request, session, principal, audit, user, changes)


@router.patch("/Users/{user_id}")
async def patch_user(
    user_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    user = await _user(session, user_id)
    changes = user_from_patch(await _body(request))
    return await _change(request, session, principal, audit, user, changes)


@router.delete("/Users/{user_id}", status_code=204)
async def delete_user(
    user_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> Response:
    user = await _user(session, user_id)
    await _change(request, session, principal, audit, user, UserChanges({"active": False}))
    user.scim_deleted_at = datetime.now(UTC)
    await ScimGroupRepository(session).leave_all(user.id)
    audit.record("scim_delete", "user", user.id, actor=_actor(principal))
    await session.commit()
    return Response(status_code=204)


_GROUP_FILTERS = {"displayname": "display_name", "externalid": "external_id"}


async def _group(session: Session, group_id: str) -> ScimGroup:
    try:
        found = await session.get(ScimGroup, uuid.UUID(group_id))
    except ValueError:
        found = None
    if found is None:
        raise ScimError(404, f"There is no Group with id {group_id}.")
    return found


async def _group_out(
    request: Request,
    session: Session,
    group: ScimGroup,
    attributes: str | None = None,
    excluded: str | None = None,
) -> dict[str, Any]:
    members = (await ScimGroupRepository(session).members([group.id]))[group.id]
    document = documents.group_document(group, members, _base(request))
    return documents.project(document, attributes, excluded)


@router.get("/Groups")
async def list_groups(
    request: Request,
    session: Session,
    _: Client,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
    start_index: Annotated[int, Query(alias="startIndex")] = 1,
    count: Annotated[int, Query()] = 100,
    attributes: Annotated[str | None, Query(max_length=1000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=1000)] = None,
) -> JSONResponse:
    found = parse_filter(filter, _GROUP_FILTERS)
    where = None
    if found is not None:
        column, value = found
        where = (
            func.lower(ScimGroup.display_name) == value.lower()
            if column == "display_name"
            else ScimGroup.external_id == value
        )
    start = max(start_index, 1)
    limit = min(max(count, 0), documents.MAX_RESULTS)
    repository = ScimGroupRepository(session)
    total, groups = await repository.page(where, start - 1, limit)
    members = await repository.members(g.id for g in groups)
    base = _base(request)
    items = [
        documents.project(documents.group_document(g, members[g.id], base), attributes, excluded)
        for g in groups
    ]
    return scim_response(200, documents.list_response(items, total, start))


@router.get("/Groups/{group_id}")
async def get_group(
    group_id: str,
    request: Request,
    session: Session,
    _: Client,
    attributes: Annotated[str | None, Query(max_length=1000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=1000)] = None,
) -> JSONResponse:
    group = await _group(session, group_id)
    return scim_response(200, await _group_out(request, session, group, attributes, excluded))


async def _save_group(
    request: Request,
    session: Session,
    principal: Principal,
    audit: Audit,
    group: ScimGroup,
    changes: GroupChanges,
    *,
    status: int,
) -> JSONResponse:
    repository = ScimGroupRepository(session)
    before = await repository.members([group.id]) if group.id else {}
    current = {uuid.UUID(m) for m in before.get(group.id, [])}
    if changes.display_name is not None:
        group.display_name = changes.display_name
    if changes.external_id_set:
        group.external_id = changes.external_id
    wanted = set(current)
    if changes.members is not None:
        wanted = set(user_ids(changes.members))
    wanted |= set(user_ids(changes.add))
    wanted -= set(user_ids(changes.remove))
    unknown = wanted - current - await repository.existing_users(wanted - current)
    if unknown:
        raise ScimError(400, f"no User has the id {sorted(map(str, unknown))[0]}", "invalidValue")
    group.updated_at = datetime.now(UTC)
    session.add(group)
    await session.flush()
    await repository.add_members(group.id, wanted - current)
    await repository.remove_members(group.id, current - wanted)
    await session.flush()
    audit.record(
        "create" if status == 201 else "update",
        "scim_group",
        group.id,
        before={"members": sorted(map(str, current))} if status != 201 else None,
        after={"display_name": group.display_name, "members": sorted(map(str, wanted))},
        actor=_actor(principal),
    )
    await apply_group_mappings(session, wanted ^ current, audit, _actor(principal))
    await session.commit()
    await session.refresh(group)
    document = await _group_out(request, session, group)
    headers = {"Location": document["meta"]["location"]} if status == 201 else None
    return scim_response(status, document, headers)


@router.post("/Groups")
async def create_group(
    request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    changes = group_from_body(await _body(request))
    group = ScimGroup(id=uuid.uuid4(), display_name=changes.display_name or "")
    return await _save_group(request, session, principal, audit, group, changes, status=201)


@router.put("/Groups/{group_id}")
async def replace_group(
    group_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    group = await _group(session, group_id)
    changes = group_from_body(await _body(request))
    return await _save_group(request, session, principal, audit, group, changes, status=200)


@router.patch("/Groups/{group_id}")
async def patch_group(
    group_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> JSONResponse:
    group = await _group(session, group_id)
    changes = group_from_patch(await _body(request))
    return await _save_group(request, session, principal, audit, group, changes, status=200)


@router.delete("/Groups/{group_id}", status_code=204)
async def delete_group(
    group_id: str, request: Request, session: Session, principal: Client, audit: Audit
) -> Response:
    group = await _group(session, group_id)
    members = (await ScimGroupRepository(session).members([group.id]))[group.id]
    await session.delete(group)
    await session.flush()
    audit.record(
        "delete",
        "scim_group",
        group.id,
        before={"display_name": group.display_name},
        actor=_actor(principal),
    )
    await apply_group_mappings(session, [uuid.UUID(m) for m in members], audit, _actor(principal))
    await session.commit()
    return Response(status_code=204)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(rest: str) -> JSONResponse:
    """Anything else under /scim/v2 is a SCIM error (never the web app's page): 405 for a
    method the discovery documents do not take, 404 for a path that does not exist."""
    if rest.split("/", 1)[0] in ("ServiceProviderConfig", "Schemas", "ResourceTypes"):
        raise ScimError(405, f"/{rest} is read-only.")
    raise ScimError(404, f"There is no SCIM resource at /{rest}.")
