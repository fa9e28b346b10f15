"""Request bodies → event objects: JSON, NDJSON, CloudEvents 1.0 and CSV (SPEC §3; CSV in
`services/ingest/spreadsheet.py`), the CloudEvents in structured, batched and binary mode
(binary: the context attributes in `ce-*` headers, the body is the data).

Each parser returns plain dicts in the event-object shape, so one validator serves all
formats. A body that cannot be read at all is a `BodyError` (400); per-event problems are
left to validation (422), with CloudEvents attribute problems reported here per index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from northstar.events.model import FieldError
from services.ingest.spreadsheet import CSV, CsvHeaderError, parse_csv


class BodyError(ValueError):
    """The body is malformed as a whole (answered with 400)."""


JSON = "application/json"
NDJSON = "application/x-ndjson"
CLOUDEVENT = "application/cloudevents+json"
CLOUDEVENT_BATCH = "application/cloudevents-batch+json"
SUPPORTED = (JSON, NDJSON, CLOUDEVENT, CLOUDEVENT_BATCH, CSV)

# CloudEvents context attributes we understand; extension attributes are allowed by the
# CloudEvents spec (tracing and the like) and ignored.
_CE_REQUIRED = ("specversion", "id", "source", "type")
_CE_DATA_FIELDS = frozenset({"metric", "value", "dimensions"})


def media_type(content_type: str | None) -> str:
    return (content_type or JSON).split(";", 1)[0].strip().lower()


def _loads(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(f"{what} is not valid JSON: {error}") from None


def binary_cloudevent(headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The CloudEvent context of a binary-mode request (its `ce-*` headers without the
    prefix, percent-decoded as the HTTP binding requires), or None when the request is
    not in binary mode (no `ce-specversion`)."""
    if "ce-specversion" not in headers:
        return None
    return {
        name[3:].lower(): unquote(value)
        for name, value in headers.items()
        if name.lower().startswith("ce-")
    }


def parse_body(
    raw: bytes,
    kind: str,
    errors: list[FieldError],
    *,
    binary: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The body's event objects, in order. CloudEvents envelope problems go to `errors`
    (their index keeps its place in the list as a `None` that validation skips). With
    `binary` (see `binary_cloudevent`), the body is the data of that one CloudEvent."""
    if not raw.strip():
        raise BodyError('The request body is empty; send one event or {"events": [...]}.')
    if binary is not None:
        if kind != JSON:
            raise BodyError("A binary-mode CloudEvent's data must be application/json.")
        data = _loads(raw, "The body")
        return [from_cloudevent({**binary, "data": data}, 0, errors)]
    if kind == JSON:
        body = _loads(raw, "The body")
        if isinstance(body, dict) and isinstance(body.get("events"), list) and len(body) == 1:
            return list(body["events"])
        if isinstance(body, dict):
            return [body]
        raise BodyError('A JSON body must be one event object or {"events": [...]}.')
    if kind == NDJSON:
        events = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                events.append(_loads(line, f"Line {number}"))
        return events
    if kind == CLOUDEVENT:
        body = _loads(raw, "The body")
        if not isinstance(body, dict):
            raise BodyError("A CloudEvents body must be one JSON object.")
        return [from_cloudevent(body, 0, errors)]
    if kind == CLOUDEVENT_BATCH:
        body = _loads(raw, "The body")
        if not isinstance(body, list):
            raise BodyError("A CloudEvents batch must be a JSON array of events.")
        return [from_cloudevent(item, index, errors) for index, item in enumerate(body)]
    if kind == CSV:
        try:
            return parse_csv(raw, errors)
        except CsvHeaderError as error:
            raise BodyError(str(error)) from None
    raise AssertionError(kind)


def from_cloudevent(ce: Any, index: int, errors: list[FieldError]) -> dict[str, Any] | None:
    """Map a CloudEvent onto an event object: id → event_id, source, time → timestamp,
    data → metric, value, dimensions."""
    if not isinstance(ce, dict):
        errors.append(FieldError(index, "", "each CloudEvent must be a JSON object"))
        return None
    before = len(errors)
    for name in _CE_REQUIRED:
        if name not in ce:
            errors.append(FieldError(index, name, "is required by CloudEvents 1.0"))
    if "specversion" in ce and ce["specversion"] != "1.0":
        errors.append(FieldError(index, "specversion", 'must be "1.0"'))
    content_type = ce.get("datacontenttype")
    if content_type is not None and media_type(content_type) != JSON:
        errors.append(FieldError(index, "datacontenttype", "must be application/json"))
    data = ce.get("data")
    if not isinstance(data, dict):
        errors.append(
            FieldError(index, "data", "must be an object with metric, value and dimensions")
        )
    else:
        for name in sorted(data.keys() - _CE_DATA_FIELDS):
            errors.append(FieldError(index, f"data.{name}", "unknown field"))
    if len(errors) != before:
        return None
    assert isinstance(data, dict)
    event: dict[str, Any] = {"event_id": ce["id"], "source": ce["source"], **data}
    if "time" in ce:
        event["timestamp"] = ce["time"]
    return event
