"""The kinds of source, one module each behind `SourceKind`: a new kind is one module and
one line in `KINDS`.

A kind checks a definition once (`check`, at create and update: 422 in words), names
the host it will reach (`host`: shown to people in place of the secret connection), and
fetches one window's rows (`fetch`). Every kind reaches its host through the SSRF guard
(`northstar.http.ssrf`, the private-network setting applies) and reports failures as
`SourceError` in words.
"""

from __future__ import annotations

from typing import Protocol

from northstar.domain.sources import Window
from northstar.sources.kinds.http_json import HttpJsonKind
from northstar.sources.kinds.prometheus import PrometheusKind
from northstar.sources.kinds.sql import SqlKind
from northstar.sources.rows import Pulled
from northstar.sources.spec import Connection, SourceSpec


class SourceKind(Protocol):
    def check(self, connection: Connection | None, query: str, mapping: dict[str, object]) -> None:
        """Raise SourceConfigError when the definition cannot work (no I/O). `connection`
        is None on an update that keeps the stored one."""

    def host(self, connection: Connection) -> str:
        """The host (and port) the connection reaches, without any credential."""

    async def fetch(
        self, spec: SourceSpec, window: Window, *, limit: int, allow_private: bool
    ) -> Pulled:
        """At most `limit` rows of `window`, converted; SourceError when the fetch fails."""


KINDS: dict[str, SourceKind] = {
    "sql": SqlKind(),
    "prometheus": PrometheusKind(),
    "http_json": HttpJsonKind(),
}
