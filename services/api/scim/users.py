"""From SCIM User bodies and PATCH operations to changes of a person, as Entra ID and Okta
send them: pure functions over plain values (the routes apply what they answer).

What is read: `userName` (the provider's login; the person's email when it is one),
`displayName` (else `name.formatted`, else given and family name), `active` (a boolean, or
"True"/"False" as Entra sends it in PATCH), `externalId`, and `emails[...].value` (the
primary one). Attributes
this server does not keep (title, addresses, phone numbers …) are accepted and ignored,
as providers send them whatever the schema says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from services.api.scim.errors import ScimError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_FILTER = re.compile(r'^\s*([A-Za-z][\w.:]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


@dataclass
class UserChanges:
    """What a body or a PATCH sets (only the fields present)."""

    values: dict[str, Any] = field(default_factory=dict)


def _bool(value: Any, attribute: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, f"{attribute} must be a boolean", "invalidValue")


def _email(value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()) or len(value) > 254:
        raise ScimError(400, "userName must be the person's email address", "invalidValue")
    return value.strip().lower()


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScimError(400, "displayName must be a non-empty string", "invalidValue")
    return value.strip()[:200]


def _primary_email(emails: Any) -> str | None:
    if not isinstance(emails, list):
        return None
    values = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    values.sort(key=lambda e: not e.get("primary"))
    return values[0]["value"] if values else None


def _name_of(body: dict[str, Any]) -> str | None:
    if isinstance(body.get("displayName"), str) and body["displayName"].strip():
        return _name(body["displayName"])
    name = body.get("name")
    if isinstance(name, dict):
        if isinstance(name.get("formatted"), str) and name["formatted"].strip():
            return _name(name["formatted"])
        parts = [name.get("givenName"), name.get("familyName")]
        joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if joined:
            return _name(joined)
    return None


def _user_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 255:
        raise ScimError(400, "userName must be a string of 1 to 255 characters", "invalidValue")
    return value.strip()


def user_from_body(body: dict[str, Any]) -> UserChanges:
    """A whole User (POST, PUT). The email is `userName` when it is one, else the primary
    (or first) of `emails`; a person without an email cannot be provisioned."""
    username = _user_name(body.get("userName"))
    if _EMAIL.match(username):
        email = _email(username)
    else:
        found = _primary_email(body.get("emails"))
        if found is None:
            raise ScimError(
                400, "userName is not an email address and emails holds none", "invalidValue"
            )
        email = _email(found)
    values: dict[str, Any] = {
        "user_name": username,
        "email": email,
        "name": _name_of(body) or email.split("@")[0],
        "active": _bool(body.get("active", True), "active"),
        "external_id": body.get("externalId") if isinstance(body.get("externalId"), str) else None,
    }
    return UserChanges(values)


def _apply(values: dict[str, Any], path: str, value: Any, op: str) -> None:
    key = path.lower()
    if op == "remove":
        if key == "externalid":
            values["external_id"] = None
        return
    if key == "active":
        values["active"] = _bool(value, "active")
    elif key == "username":
        values["user_name"] = _user_name(value)
        if _EMAIL.match(values["user_name"]):
            values["email"] = _email(values["user_name"])
    elif key in ("displayname", "name.formatted"):
        values["name"] = _name(value)
    elif key == "externalid":
        values["external_id"] = value if isinstance(value, str) else None
    elif key == "name" and isinstance(value, dict):
        found = _name_of({"name": value})
        if found:
            values["name"] = found
    elif key == "emails" or key.startswith("emails["):
        listed = value if isinstance(value, list) else [value]
        email = value if isinstance(value, str) else _primary_email(listed)
        if email is not None:
            values["email"] = _email(email)


def user_from_patch(body: dict[str, Any]) -> UserChanges:
    """A PatchOp: each operation's path and value (or, without a path, a value object whose
    keys are paths, as Okta and Entra send `{"active": false}`)."""
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "a PatchOp needs Operations", "invalidSyntax")
    values: dict[str, Any] = {}
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "each operation must be an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown op {operation.get('op')!r}", "invalidSyntax")
        path, value = operation.get("path"), operation.get("value")
        if isinstance(path, str) and path:
            if path.startswith("urn:ietf:params:scim:schemas:core:2.0:User:"):
                path = path.rsplit(":", 1)[1]
            _apply(values, path, value, op)
        elif isinstance(value, dict):
            for key, item in value.items():
                _apply(values, key, item, op)
        elif op != "remove":
            raise ScimError(400, "an operation without a path needs an object value", "noTarget")
    return UserChanges(values)


def parse_filter(text: str | None, allowed: dict[str, str]) -> tuple[str, str] | None:
    """`attribute eq "value"` with the attribute one of `allowed` (SCIM name, any case ->
    our field); None without a filter; 400 invalidFilter for anything else."""
    if text is None or not text.strip():
        return None
    match = _FILTER.match(text)
    if match is None:
        raise ScimError(
            400, 'only filters of the form attribute eq "value" are supported', "invalidFilter"
        )
    attribute, value = match.group(1).lower(), match.group(2).replace('\\"', '"')
    if attribute not in allowed:
        raise ScimError(400, f"cannot filter on {match.group(1)}", "invalidFilter")
    return allowed[attribute], value
