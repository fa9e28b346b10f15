"""What the SCIM endpoints publish about themselves (ServiceProviderConfig, Schemas,
ResourceTypes) and how a person is written as a SCIM User.

The schemas are the standard ones from `scim2-models`, narrowed to the attributes this
server keeps, so a client (Entra, Okta, scim2-tester) that reads them sends and expects
back only what round-trips: `userName` (the provider's login, usually the email),
`displayName` (the name), `emails` (the one address), `active`, `externalId`; groups are
`displayName` and `members`.
"""

from __future__ import annotations

from typing import Any

from scim2_models import Group, Required, User

from northstar.db.models import ScimGroup
from northstar.db.models import User as Person

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200

_USER_ATTRIBUTES = ("userName", "displayName", "emails", "active")
# Every person has a name, an email and a status: a client cannot remove them (a PATCH
# "remove" of one is ignored), and the schema says so by marking them required.
_ALWAYS_SET = ("displayName", "emails", "active")


def _user_schema() -> dict[str, Any]:
    schema = User.to_schema()
    schema.attributes = [a for a in schema.attributes or [] if a.name in _USER_ATTRIBUTES]
    for attribute in schema.attributes:
        if attribute.name in _ALWAYS_SET:
            attribute.required = Required.true
        if attribute.name == "emails":
            # One address, the person's: its type and primary flag are not kept.
            attribute.sub_attributes = [
                s for s in attribute.sub_attributes or [] if s.name == "value"
            ]
            for sub in attribute.sub_attributes:
                sub.required = Required.true
    document: dict[str, Any] = schema.model_dump(mode="json", exclude_none=True)
    return document


def _group_schema() -> dict[str, Any]:
    schema = Group.to_schema()
    for attribute in schema.attributes or []:
        if attribute.name == "members":
            # A member is a User's id: the display name is the User's own, not kept here.
            attribute.sub_attributes = [
                s for s in attribute.sub_attributes or [] if s.name == "value"
            ]
    document: dict[str, Any] = schema.model_dump(mode="json", exclude_none=True)
    return document


def _with_meta(document: dict[str, Any], base: str, kind: str, id_: str) -> dict[str, Any]:
    return {**document, "meta": {"resourceType": kind, "location": f"{base}/{kind}s/{id_}"}}


def schemas(base: str) -> list[dict[str, Any]]:
    return [
        _with_meta(_user_schema(), base, "Schema", USER_SCHEMA),
        _with_meta(_group_schema(), base, "Schema", GROUP_SCHEMA),
    ]


def resource_types(base: str) -> list[dict[str, Any]]:
    def one(name: str, endpoint: str, schema: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": name,
            "schema": schema,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
        }

    return [one("User", "/Users", USER_SCHEMA), one("Group", "/Groups", GROUP_SCHEMA)]


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/northstar/northstar/blob/main/docs/sso.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer key",
                "description": "A Northstar service key with the `scim` scope, sent as "
                "'Authorization: Bearer <key>'.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def user_document(person: Person, base: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(person.id),
        "userName": person.scim_user_name or person.email,
        "displayName": person.name,
        "emails": [{"value": person.email}],
        "active": person.status == "active",
        "meta": {
            "resourceType": "User",
            "created": person.created_at.isoformat(),
            "lastModified": person.updated_at.isoformat(),
            "location": f"{base}/Users/{person.id}",
        },
    }
    if person.scim_external_id is not None:
        document["externalId"] = person.scim_external_id
    return document


def group_document(group: ScimGroup, members: list[str], base: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": str(group.id),
        "displayName": group.display_name,
        "members": [{"value": m} for m in members],
        "meta": {
            "resourceType": "Group",
            "created": group.created_at.isoformat(),
            "lastModified": group.updated_at.isoformat(),
            "location": f"{base}/Groups/{group.id}",
        },
    }
    if group.external_id is not None:
        document["externalId"] = group.external_id
    return document


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def project(
    document: dict[str, Any], attributes: str | None, excluded: str | None
) -> dict[str, Any]:
    """Honour `attributes` / `excludedAttributes` (top-level names, any case); `schemas`,
    `id` and `meta` are always returned."""
    keep = {"schemas", "id", "meta"}
    if attributes:
        wanted = {a.strip().split(".")[0].rsplit(":", 1)[-1].lower() for a in attributes.split(",")}
        return {k: v for k, v in document.items() if k in keep or k.lower() in wanted}
    if excluded:
        dropped = {a.strip().split(".")[0].rsplit(":", 1)[-1].lower() for a in excluded.split(",")}
        return {k: v for k, v in document.items() if k in keep or k.lower() not in dropped}
    return document
