"""Where the server may send a request a user pointed it at (webhooks, notification
channels): the guard against server-side request forgery.

A URL is judged by the addresses its host resolves to, not by its text: `0x7f000001`,
`2130706433` and a DNS name pointing at 127.0.0.1 are all loopback. The check runs when
the URL is registered (a 422 then) and again at every delivery, and the delivery connects
to the very address that was checked (`Destination.pinned_url`, with the original host in
`Host` and in TLS's SNI and certificate check), so a DNS answer that changes between the
check and the connection (DNS rebinding) gains nothing. Redirects are never followed.

Addresses refused:
- always: link-local (169.254.0.0/16, fe80::/10; cloud metadata lives there), known
  metadata addresses elsewhere, unspecified (0.0.0.0, ::), multicast, reserved;
- unless private networks are allowed (`NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS`):
  loopback, private (RFC 1918, ULA fc00::/7, documentation ranges …) and CGNAT
  (100.64.0.0/10);
- any other address that is not globally routable (reserved ranges).
An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it carries.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        "fd00:ec2::254",  # AWS over IPv6 (a ULA, so "private" would let it through)
        "100.100.100.200",  # Alibaba Cloud (in CGNAT space)
    )
)


class DestinationRefused(Exception):
    """The URL cannot be used as a destination; the message says why, for the client."""


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the server must not connect to `address`, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return f"{address} is a cloud metadata address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not a unicast destination"
    if address.is_global and address not in _CGNAT:
        return None
    if allow_private and (address.is_loopback or address.is_private or address in _CGNAT):
        return None
    if address.is_reserved and not address.is_loopback:
        return f"{address} is a reserved address"
    kind = "a loopback" if address.is_loopback else "a private or non-public"
    return (
        f"{address} is {kind} address; webhooks go to public addresses unless "
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS is set"
    )


@dataclass(frozen=True, slots=True)
class Destination:
    """A URL with the address it was checked against."""

    url: str
    host: str
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = str(self.address)
        netloc = f"[{literal}]" if self.address.version == 6 else literal
        if parts.port is not None:
            netloc += f":{parts.port}"
        return SplitResult(parts.scheme, netloc, parts.path, parts.query, "").geturl()

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{parts.port}" if parts.port is not None else host


def _split(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused("the URL is malformed") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DestinationRefused("must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise DestinationRefused("must not carry a user name or password")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def _addresses(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def resolve_destination(url: str, *, allow_private: bool) -> Destination:
    """Resolve `url`'s host and check every address it has (one refused address refuses
    the URL: the resolver could hand out either). DestinationRefused when it must not be
    used or does not resolve."""
    host, port = _split(url)
    return Destination(url, host, await resolve_host(host, port, allow_private=allow_private))


async def resolve_host(host: str, port: int, *, allow_private: bool) -> IPAddress:
    """The address to connect to for `host` (any protocol: a database's too), after the
    same checks as a URL's host; DestinationRefused when it must not be used."""
    try:
        addresses = await _addresses(host, port)
    except (OSError, UnicodeError) as error:
        raise DestinationRefused(f"the host {host!r} does not resolve ({error})") from None
    if not addresses:
        raise DestinationRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise DestinationRefused(reason)
    return addresses[0]


async def check_destination(url: str, *, allow_private: bool) -> None:
    """At registration: refuse a URL that is malformed or resolves to a refused address.
    A host that does not resolve now is accepted (its receiver may not exist yet); every
    delivery resolves and checks it again."""
    host, port = _split(url)
    try:
        addresses = await _addresses(host, port)
    except (OSError, UnicodeError):
        return
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise DestinationRefused(reason)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that resolves and checks every request's host first and then
    connects to the checked address (Host and TLS SNI still name the host), for clients
    that make several requests to URLs a user configured (an identity provider's
    discovery, keys and token endpoints). A refused destination raises
    `DestinationRefused`; redirects are the client's business (httpx follows none by
    default)."""

    def __init__(self, *, allow_private: bool, timeout: float = 10.0) -> None:
        self._allow_private = allow_private
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        destination = await resolve_destination(str(request.url), allow_private=self._allow_private)
        request.url = httpx.URL(destination.pinned_url)
        request.headers["Host"] = destination.host_header
        request.extensions = {
            **request.extensions,
            "sni_hostname": destination.host,
            "timeout": {
                "connect": self._timeout,
                "read": self._timeout,
                "write": self._timeout,
                "pool": self._timeout,
            },
        }
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
