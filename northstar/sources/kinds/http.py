"""One GET for the http kinds (`prometheus`, `http_json`): to the address the SSRF guard
checked (the host still named in `Host` and TLS), no redirects, a size cap, and every
failure as a SourceError in words."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from northstar.http.ssrf import DestinationRefused, resolve_destination
from northstar.sources.spec import Connection, SourceConfigError, SourceError

MAX_BODY_BYTES = 20 * 1024 * 1024
USER_AGENT = "Northstar-Sources/1.0"


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SourceConfigError("connection.url", "must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise SourceConfigError(
            "connection.url", "must not carry a user name or password; use connection.token"
        )


def url_host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


async def get_json(
    connection: Connection,
    url: str,
    *,
    params: dict[str, str] | None,
    seconds: float,
    allow_private: bool,
) -> Any:
    """GET `url` with the connection's headers and token; the JSON body, or SourceError."""
    try:
        destination = await resolve_destination(url, allow_private=allow_private)
    except DestinationRefused as refused:
        raise SourceError(f"the host is refused: {refused}") from None
    headers = {**connection.headers, "Host": destination.host_header, "User-Agent": USER_AGENT}
    headers.setdefault("Accept", "application/json")
    if connection.token:
        headers["Authorization"] = f"Bearer {connection.token}"
    where = destination.host_header
    try:
        async with (
            httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client,
            client.stream(
                "GET",
                destination.pinned_url,
                params=params,
                headers=headers,
                extensions={"sni_hostname": destination.host},
            ) as response,
        ):
            if response.is_redirect:
                raise SourceError(
                    f"{where} answered with a redirect (HTTP {response.status_code}) to "
                    f"{response.headers.get('location', '?')}; give the final URL (redirects "
                    "are not followed)"
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise SourceError(f"the answer from {where} is larger than 20 MiB")
            status = response.status_code
    except httpx.TimeoutException:
        raise SourceError(f"{where} did not answer within {seconds:g} s") from None
    except httpx.HTTPError as error:
        raise SourceError(f"cannot reach {where}: {error or type(error).__name__}") from None
    try:
        document = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        if status >= 400:
            raise SourceError(f"{where} answered HTTP {status}") from None
        raise SourceError(f"{where} did not answer with JSON (HTTP {status})") from None
    if status >= 400:
        raise SourceError(f"{where} answered HTTP {status}: {_short(document)}")
    return document


def _short(document: Any) -> str:
    text = orjson.dumps(document).decode()
    return text if len(text) <= 300 else text[:300] + "…"
