"""Channel targets: what a channel kind accepts, where it may send, and the Apprise URL.

Every kind is delivered by Apprise. A Slack channel's target is a Slack incoming-webhook
URL (`https://hooks.slack.com/services/…`) or Apprise's `slack://…`; a Teams channel's is
a Teams Workflows (Power Automate) URL or `workflow://…` (Microsoft retired the old Office
365 connectors, and Apprise with them); an `apprise` channel takes any Apprise URL; an
email channel takes one address and is sent through the SMTP relay from the settings.

SSRF (SPEC §2): for targets whose URL names the host Apprise will connect to (`json://`,
`ntfy://`, `mailto://`, … — the plugins whose URL templates contain `{host}`; a Teams
Workflows host must be one of Microsoft's and is trusted as such), every address the host
resolves to must pass the webhooks' rule (`northstar.http.ssrf.refusal`: public unless
`NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS`, never link-local or metadata). The check runs
when the channel is created and again before every send (a name may resolve elsewhere).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import quote, urlencode

import apprise

from northstar.http.ssrf import refusal
from northstar.notify.model import ChannelKind
from northstar.notify.settings import NotificationSettings

_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_SLACK = "NotifySlack"
_TEAMS = "NotifyWorkflows"
# Where Teams Workflows (Power Automate) webhooks live. A Teams target must name one of
# these: the host is Microsoft's, so it is neither resolved nor checked further.
TEAMS_HOST_SUFFIXES = (".logic.azure.com", ".powerplatform.com", ".powerautomate.com")


class InvalidTarget(ValueError):
    """A target this kind cannot use, or may not reach; the message says which and why."""


def plugin_for(target: str) -> Any:
    """The Apprise plugin a URL selects, or InvalidTarget. Never echoes the URL (a secret)."""
    try:
        plugin = apprise.Apprise.instantiate(target, suppress_exceptions=True)
    except Exception:
        plugin = None
    if not plugin:
        raise InvalidTarget(
            "target is not a URL Apprise can send to (see https://github.com/caronc/apprise/wiki)"
        )
    return plugin


def validate(
    kind: ChannelKind, target: str, settings: NotificationSettings, *, allow_private: bool
) -> str:
    """The target, normalised, if `kind` accepts it and it may be reached (DNS is consulted
    for hosts named in the URL); else InvalidTarget."""
    target = target.strip()
    if kind is ChannelKind.EMAIL:
        if not _EMAIL.match(target):
            raise InvalidTarget("an email channel's target is one email address")
        if not settings.smtp_host:
            raise InvalidTarget("email is not configured on this server (NORTHSTAR_SMTP_HOST)")
        return target
    plugin = plugin_for(target)
    name = type(plugin).__name__
    if kind is ChannelKind.SLACK and name != _SLACK:
        raise InvalidTarget(
            "a slack channel's target is a Slack webhook URL "
            "(https://hooks.slack.com/services/…) or a slack:// URL"
        )
    if kind is ChannelKind.TEAMS and (
        name != _TEAMS or not str(plugin.host).lower().endswith(TEAMS_HOST_SUFFIXES)
    ):
        raise InvalidTarget(
            "a teams channel's target is a Teams Workflows URL "
            "(https://….logic.azure.com/workflows/…) or a workflow:// URL"
        )
    check_reachable(plugin, allow_private=allow_private)
    return target


def check_reachable(plugin: Any, *, allow_private: bool) -> None:
    """Refuse a plugin whose URL points at an address it may not reach (see module doc)."""
    if not _connects_to_host(plugin):
        return
    host = str(getattr(plugin, "host", "") or "").strip("[]")
    if type(plugin).__name__ == _TEAMS and host.lower().endswith(TEAMS_HOST_SUFFIXES):
        return
    if not host:
        raise InvalidTarget("target names no host")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise InvalidTarget("target's host does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        refused = refusal(address, allow_private=allow_private)
        if refused:
            raise InvalidTarget(f"target's host resolves to {refused}")


def apprise_url(kind: str, target: str, settings: NotificationSettings) -> str:
    """The Apprise URL that sends to a channel's (opened) target."""
    if kind != ChannelKind.EMAIL:
        return target
    if not settings.smtp_host:
        raise InvalidTarget("email is not configured on this server (NORTHSTAR_SMTP_HOST)")
    scheme = "mailto" if settings.smtp_security == "none" else "mailtos"
    credentials = ""
    if settings.smtp_username:
        credentials = quote(settings.smtp_username, safe="")
        if settings.smtp_password:
            credentials += ":" + quote(settings.smtp_password, safe="")
        credentials += "@"
    query: dict[str, str] = {
        "from": settings.smtp_from,
        "to": target,
        "smtp": settings.smtp_host,
    }
    if settings.smtp_security != "none":
        query["mode"] = settings.smtp_security
    else:
        query["mode"] = "insecure"
    return f"{scheme}://{credentials}{settings.smtp_host}:{settings.smtp_port}/?{urlencode(query)}"


def _connects_to_host(plugin: Any) -> bool:
    templates = getattr(plugin, "templates", ()) or ()
    return any("{host}" in template for template in templates)
