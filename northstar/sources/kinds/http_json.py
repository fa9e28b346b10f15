"""`http_json`: GET a JSON document and pick its values out with JMESPath.

`connection.url` may hold `{start}` and `{end}`, replaced by the window's bounds (RFC 3339,
URL-encoded), so an API that filters by time is asked only for new rows; `connection`
may add headers and a bearer token. `query` is the JMESPath expression that selects the
rows (a list; `@` when the document is the list); `mapping.time` and `mapping.value`
are expressions evaluated on each row (default `time`, `value`), `mapping.dimensions` a
list of expressions (each a plain field name, which names the dimension) or an object
`{dimension: expression}`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jmespath
from jmespath.exceptions import JMESPathError

from northstar.domain.sources import Window
from northstar.events.validation import DIMENSION_KEY_RE
from northstar.sources.kinds.http import check_url, get_json, url_host
from northstar.sources.rows import (
    Pulled,
    PulledRow,
    RowError,
    RowProblem,
    as_dimension,
    as_time,
    as_value,
)
from northstar.sources.spec import Connection, SourceConfigError, SourceError, SourceSpec


def _compile(field: str, expression: str) -> Any:
    try:
        return jmespath.compile(expression)
    except JMESPathError as error:
        raise SourceConfigError(field, f"is not a JMESPath expression: {error}") from None


def dimension_expressions(mapping: dict[str, Any]) -> dict[str, str]:
    raw = mapping.get("dimensions") or {}
    if isinstance(raw, list):
        raw = {str(d): str(d) for d in raw}
    if not isinstance(raw, dict):
        raise SourceConfigError(
            "mapping.dimensions", "must be a list of field names or {dimension: expression}"
        )
    for name in raw:
        if DIMENSION_KEY_RE.fullmatch(name) is None:
            raise SourceConfigError(
                "mapping.dimensions",
                f"{name!r} cannot name a dimension (^[a-z][a-z0-9_]{{0,49}}$); use "
                "{dimension: expression}",
            )
    return {str(k): str(v) for k, v in raw.items()}


class HttpJsonKind:
    def check(self, connection: Connection | None, query: str, mapping: dict[str, Any]) -> None:
        if connection is not None:
            check_url(connection.url.replace("{start}", "").replace("{end}", ""))
        _compile("query", query or "@")
        unknown = set(mapping) - {"time", "value", "dimensions"}
        if unknown:
            raise SourceConfigError(
                "mapping", f"http_json mapping takes time, value and dimensions, not {unknown}"
            )
        _compile("mapping.time", str(mapping.get("time") or "time"))
        _compile("mapping.value", str(mapping.get("value") or "value"))
        for name, expression in dimension_expressions(mapping).items():
            _compile(f"mapping.dimensions.{name}", expression)

    def host(self, connection: Connection) -> str:
        return url_host(connection.url)

    async def fetch(
        self, spec: SourceSpec, window: Window, *, limit: int, allow_private: bool
    ) -> Pulled:
        url = spec.connection.url.replace(
            "{start}", quote(window.start.isoformat(), safe="")
        ).replace("{end}", quote(window.end.isoformat(), safe=""))
        document = await get_json(
            spec.connection,
            url,
            params=None,
            seconds=spec.timeout_seconds,
            allow_private=allow_private,
        )
        selected = _compile("query", spec.query or "@").search(document)
        if not isinstance(selected, list):
            raise SourceError(
                f"the query {spec.query!r} must select a list of rows, not "
                f"{type(selected).__name__}"
            )
        return convert(selected[:limit], spec.mapping)


def convert(rows: list[Any], mapping: dict[str, Any]) -> Pulled:
    time_of = _compile("mapping.time", str(mapping.get("time") or "time"))
    value_of = _compile("mapping.value", str(mapping.get("value") or "value"))
    dimensions = {
        name: _compile(f"mapping.dimensions.{name}", expression)
        for name, expression in dimension_expressions(mapping).items()
    }
    pulled = Pulled(rows=[r if isinstance(r, dict) else {"row": r} for r in rows])
    for index, row in enumerate(rows):
        try:
            dims = {}
            for name, expression in dimensions.items():
                value = as_dimension(expression.search(row))
                if value is not None:
                    dims[name] = value
            pulled.values.append(
                (
                    index,
                    PulledRow(as_time(time_of.search(row)), as_value(value_of.search(row)), dims),
                )
            )
        except RowError as error:
            pulled.problems.append(RowProblem(index, str(error)))
    return pulled
