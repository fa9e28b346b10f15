"""A source as the kinds see it: what to ask, where (the connection, decrypted), how to
read the answer, and the errors a fetch reports in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from northstar.crypto import SecretBox


class SourceError(Exception):
    """A fetch that failed; the message says why in words a person can act on (it is the
    run's `error`). Never holds a password or token."""


class SourceConfigError(ValueError):
    """A source definition that cannot work; `field` names the part (for a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Connection:
    """Where a source lives. `url` is a database URL (sql) or an http(s) URL; `headers`
    and `token` (sent as `Authorization: Bearer`) for the http kinds. All of it is secret:
    it is stored sealed and never shown back."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def seal(self, box: SecretBox) -> str:
        body = {"url": self.url, "headers": self.headers, "token": self.token}
        return box.encrypt(orjson.dumps(body).decode())

    @classmethod
    def unseal(cls, box: SecretBox, stored: str) -> Connection:
        body = orjson.loads(box.decrypt(stored))
        return cls(url=body["url"], headers=body.get("headers") or {}, token=body.get("token"))


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source, ready to fetch."""

    name: str
    kind: str
    connection: Connection
    query: str
    metric: str
    mapping: dict[str, Any]
    timeout_seconds: float
