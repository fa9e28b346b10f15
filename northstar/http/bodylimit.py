"""Refuse request bodies over a size before they are read (413, problem+json).

A declared `Content-Length` over the limit is refused before a byte of the body is read;
a body without one (chunked) is counted as it streams in and refused at the first chunk
past the limit, so no request costs more memory than the limit however it is sent.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from northstar.http.problems import problem_response


class BodyTooLarge(HTTPException):
    """Raised inside `receive` when a streamed body passes the limit. An HTTPException, so
    FastAPI's body reading passes it on (it turns other errors into a 400) and the problem
    handlers answer it as a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _detail(max_bytes), headers={"Connection": "close"})


def _detail(max_bytes: int) -> str:
    return f"The request body is over the limit of {max_bytes} bytes; send less per request."


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
                break

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            _detail(self.max_bytes),
            instance=scope.get("path"),
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
