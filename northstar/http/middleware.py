"""Request ids and request logging as a plain ASGI middleware (no per-request task hop)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from northstar.logs import log_context

log = logging.getLogger("northstar.request")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_QUIET = {"/healthz", "/readyz", "/metrics"}


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the client (when sane) or makes one, echoes it back, and
    logs one line per request with it, so a client's report can be found in the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _SAFE_ID.fullmatch(candidate):
                    request_id = candidate
                break
        request_id = request_id or uuid.uuid4().hex
        # Readable as `request.state.request_id` (the audit trail records it).
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                path = scope.get("path", "")
                if path not in _QUIET or status >= 400:
                    log.info(
                        "%s %s %s",
                        scope.get("method"),
                        path,
                        status,
                        extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
                    )
