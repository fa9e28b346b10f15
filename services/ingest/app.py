"""The ingest service: `POST /v1/events` (SPEC §3), health and metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from northstar import telemetry
from northstar.auth.authenticator import Authenticator
from northstar.auth.keys import Principal, Scope
from northstar.config import load_settings
from northstar.db.engine import create_engine
from northstar.events.cardinality import CardinalityGate
from northstar.events.fastpath import valid_batch
from northstar.events.model import FieldError, MetricEvent
from northstar.events.publisher import BrokerUnavailable, EventPublisher
from northstar.events.routing import HotSeries
from northstar.events.validation import utc_now, validate_event
from northstar.http.health import database_check, health_router
from northstar.http.middleware import RequestIdMiddleware
from northstar.http.openapi import document_errors, serve_docs_offline
from northstar.http.problems import Problem, install_problem_handlers, json_response
from northstar.logs import configure_logging
from northstar.telemetry import INGEST_EVENTS, INGEST_REQUEST_DURATION
from services.ingest.bodies import (
    JSON,
    SUPPORTED,
    BodyError,
    binary_cloudevent,
    media_type,
    parse_body,
)
from services.ingest.ratelimit import RateLimiter
from services.ingest.settings import IngestSettings
from services.ingest.spreadsheet import CSV

EVENTS_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": 'One event, {"events": [...]}, NDJSON, CloudEvents 1.0 (single or batch), '
    "or CSV (header: metric, value, optional timestamp, event_id, source, dimensions.<name>; "
    "rows numbered from 0 as `index`).",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {
                        "type": "object",
                        "properties": {
                            "events": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Event"},
                            }
                        },
                        "required": ["events"],
                    },
                ]
            }
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/cloudevents+json": {"schema": {"type": "object"}},
        "application/cloudevents-batch+json": {"schema": {"type": "array"}},
        "text/csv": {
            "schema": {"type": "string"},
            "example": "metric,value,timestamp,dimensions.region\n"
            "revenue,120.5,2026-01-31T12:00:00Z,eu\n",
        },
    },
}

# No string may hold NUL or another control character (SPEC §3).
_PRINTABLE = "^[^\\x00-\\x1f\\x7f]*$"


def event_schema(settings: IngestSettings) -> dict[str, Any]:
    """The event object with every rule of SPEC §3 a schema can state (the value bound
    from the settings); what it cannot (a timestamp's window, per-metric caps) is in the
    descriptions."""
    bound = settings.event_max_abs_value
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["metric", "value"],
        "properties": {
            "event_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": _PRINTABLE,
                "description": "Dedupe key with `source`; assigned when absent.",
            },
            "metric": {"type": "string", "pattern": "^[a-z][a-z0-9_.]{0,99}$"},
            "value": {
                "type": "number",
                "minimum": -bound,
                "maximum": bound,
                "description": f"Finite, absolute value at most {bound:g}.",
            },
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "RFC 3339 with an offset; default: when received. Not more "
                "than 24 h ahead, nor before 1970 (after conversion to UTC).",
            },
            "dimensions": {
                "type": "object",
                "maxProperties": 20,
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,49}$"},
                "additionalProperties": {
                    "type": "string",
                    "maxLength": 200,
                    "pattern": _PRINTABLE,
                },
                "description": "Per metric, the number of keys and of distinct sets is "
                "capped; events past a cap are refused with a reason.",
            },
            "source": {
                "type": "string",
                "maxLength": 100,
                "pattern": _PRINTABLE,
                "description": "Default: the key's name; must be it or one of the key's "
                "sources (else 403).",
            },
        },
    }


ACCEPTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["accepted", "event_ids"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0, "description": "Events accepted."},
        "event_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Their ids, in the order sent (assigned ones included).",
        },
        "rejected": {
            "type": "array",
            "description": "With ?partial=true only: each refused event.",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def create_app(settings: IngestSettings) -> FastAPI:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        application_name="northstar-ingest",
    )
    authenticator = Authenticator(engine, ttl=settings.api_key_cache_seconds)
    publisher = EventPublisher(
        settings,
        timeout=settings.produce_timeout_seconds,
        hot=HotSeries(settings.hot_series_events_per_second, settings.hot_series_salts),
    )
    limiter = RateLimiter(settings.rate_limit_events_per_second)
    bounds = settings.event_bounds()
    gate = CardinalityGate(
        engine, settings.cardinality_limits(), ttl=settings.cardinality_cache_seconds
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        yield
        await publisher.stop()
        await engine.dispose()

    app = FastAPI(
        title="Northstar ingest",
        version="1.0",
        description="Source systems push metric events here; see SPEC §3.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs_offline(app)
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    app.include_router(
        health_router(
            {"database": database_check(engine), "kafka": publisher.check},
            registry=telemetry.INGEST,
        )
    )

    @app.post(
        "/v1/events",
        status_code=202,
        summary="Push metric events",
        openapi_extra={"requestBody": EVENTS_REQUEST_BODY},
        responses={
            202: {
                "description": "Every accepted event was acknowledged by Kafka.",
                "content": {"application/json": {"schema": ACCEPTED_SCHEMA}},
            },
            400: {"description": "Malformed body"},
            401: {"description": "Missing, unknown or revoked key"},
            403: {"description": "Key without events:write, or a source the key may not write"},
            413: {"description": "Body over the size or event limit"},
            415: {"description": "Unsupported content type"},
            422: {"description": "Invalid events, listed by index"},
            429: {"description": "Rate limit; see Retry-After"},
            503: {"description": "Broker unavailable; nothing accepted; see Retry-After"},
        },
    )
    async def post_events(
        request: Request,
        partial: bool = Query(
            False, description="Accept the valid events of a batch and list the rejected ones."
        ),
    ) -> Response:
        started = time.perf_counter()
        try:
            return await _post_events(request, partial)
        finally:
            INGEST_REQUEST_DURATION.observe(time.perf_counter() - started)

    async def _post_events(request: Request, partial: bool) -> Response:
        principal = await authenticator.authenticate(
            request.headers.get("authorization"), Scope.EVENTS_WRITE
        )
        kind = media_type(request.headers.get("content-type"))
        if kind not in SUPPORTED:
            raise Problem(
                415, f"Content type '{kind}' is not supported; use one of: {', '.join(SUPPORTED)}."
            )
        # Charged before the body is read or parsed, so a key sending large bodies that
        # turn out invalid is throttled like one sending valid events (docs/events.md).
        _charge(principal, 1, 0)
        raw = await _read_body(request, settings.max_body_bytes)
        binary = binary_cloudevent(request.headers)
        received_at = utc_now()

        errors: list[FieldError] = []
        events: list[MetricEvent] | None = None
        # `{"events": [...]}` of plainly valid events, decoded and checked in one compiled
        # pass; anything else, or any doubt, takes the ordinary path below, which decides
        # and words every refusal (northstar.events.fastpath).
        if kind == JSON and binary is None:
            events = valid_batch(
                raw, default_source=principal.name, received_at=received_at, bounds=bounds
            )
        if events is not None:
            count = len(events)
            indices: Sequence[int] = range(count)
        else:
            try:
                objects = parse_body(raw, kind, errors, binary=binary)
            except BodyError as error:
                raise Problem(400, str(error)) from None
            count = len(objects)
        most = settings.max_csv_rows_per_request if kind == CSV else settings.max_events_per_request
        if count > most:
            raise Problem(
                413,
                f"The request holds {count} events; at most {most} are allowed per "
                "request. Split the batch.",
            )
        # The rest of the request's cost: every event it holds, valid or not.
        _charge(principal, count - 1, count)

        if events is None:
            events, positions = [], []
            envelope_failed = {e.index for e in errors}
            for index, obj in enumerate(objects):
                if index in envelope_failed:
                    continue
                event = validate_event(
                    obj,
                    index,
                    default_source=principal.name,
                    received_at=received_at,
                    errors=errors,
                    bounds=bounds,
                )
                if event is not None:
                    events.append(event)
                    positions.append(index)
            indices = positions
        foreign = sorted({e.source for e in events if not principal.may_write(e.source)})
        if foreign:
            INGEST_EVENTS.labels(outcome="rejected").inc(count)
            raise Problem(
                403,
                f"The key '{principal.name}' may not write events with source "
                f"{', '.join(repr(s) for s in foreign)}; it may write its own name"
                + (f" and {', '.join(sorted(principal.sources))}" if principal.sources else "")
                + ". Create the key with `sources` to allow more.",
            )

        # Per metric caps on dimension keys and sets (SPEC §3), as far as ingest can know.
        refused = await gate.refusals(events)
        if refused:
            errors.extend(
                FieldError(indices[position], "dimensions", refusal.message)
                for position, refusal in refused.items()
            )
            events = [e for position, e in enumerate(events) if position not in refused]
        errors.sort(key=lambda e: e.index)

        if errors and not partial:
            INGEST_EVENTS.labels(outcome="rejected").inc(count)
            bad = len({e.index for e in errors})
            raise Problem(
                422,
                f"{bad} of {count} events are invalid; nothing was accepted. Fix them, "
                "or send ?partial=true to accept the valid ones.",
                errors=[e.as_dict() for e in errors],
            )

        if events:
            try:
                await publisher.publish(events)
            except BrokerUnavailable as error:
                INGEST_EVENTS.labels(outcome="rejected").inc(count)
                raise Problem(
                    503,
                    f"Kafka is unavailable ({error}); nothing from this request was accepted. "
                    "Retry with the same event ids.",
                    headers={"Retry-After": "5"},
                ) from None

        INGEST_EVENTS.labels(outcome="accepted").inc(len(events))
        body: dict[str, Any] = {"accepted": len(events), "event_ids": [e.event_id for e in events]}
        if partial:
            rejected_count = count - len(events)
            INGEST_EVENTS.labels(outcome="rejected").inc(rejected_count)
            body["rejected"] = [e.as_dict() for e in errors]
        return json_response(body, status=202)

    def _charge(principal: Principal, events: int, counted: int) -> None:
        """Take `events` from the key's bucket, or answer 429 (`counted` events rejected)."""
        wait = limiter.acquire(principal.key_id, events) if events > 0 else 0.0
        if wait:
            INGEST_EVENTS.labels(outcome="rejected").inc(counted)
            raise Problem(
                429,
                f"The key '{principal.name}' is over its rate limit of "
                f"{settings.rate_limit_events_per_second:g} events/s; retry after {wait:g} s.",
                headers={"Retry-After": str(int(wait))},
            )

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {})["Event"] = event_schema(
            settings
        )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    document_errors(app)
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = Problem(
        413,
        f"The body is larger than {limit // (1024 * 1024)} MiB; split it into smaller requests.",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def app_from_env() -> FastAPI:
    """Zero-argument factory for uvicorn (also in each worker process)."""
    settings = load_settings(IngestSettings)
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
