"""Sending one rendered message through Apprise, shared by the evaluator's notifier (every
queued message) and the api's "send a test" (`POST /v1/channels/{id}/test`).

The message goes in the form the channel shows best; what went wrong is returned as words
with the channel's target cut out (`redact`), since Apprise's errors may quote its URL.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import apprise

from northstar.notify.model import ChannelKind, Severity
from northstar.notify.targets import check_reachable, plugin_for
from northstar.notify.templates import Rendered

_NOTIFY_TYPES = {
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.INFO: apprise.NotifyType.INFO,
}


async def deliver(
    channel_kind: str,
    url: str,
    rendered: Rendered,
    severity: Severity,
    *,
    send_timeout: float,
    allow_private: bool,
) -> str | None:
    """Send one message through Apprise in the form the channel shows best: HTML email
    (Apprise adds the plain-text part), Markdown for Slack and Teams (Apprise builds Slack
    attachments and a Teams Adaptive Card from it), plain text elsewhere. Returns None
    when delivered, else what went wrong (which may quote the URL: redact it)."""
    plugin = plugin_for(url)
    if channel_kind != ChannelKind.EMAIL:
        # Checked again at every send: a host name may resolve elsewhere by now.
        await asyncio.to_thread(check_reachable, plugin, allow_private=allow_private)
    sender = apprise.Apprise()
    sender.add(plugin)
    if channel_kind == ChannelKind.EMAIL:
        body, body_format = rendered.html, apprise.NotifyFormat.HTML
    elif channel_kind in (ChannelKind.SLACK, ChannelKind.TEAMS):
        body, body_format = rendered.markdown, apprise.NotifyFormat.MARKDOWN
    else:
        body, body_format = rendered.text, apprise.NotifyFormat.TEXT
    result = await sender.async_notify(
        body=body,
        title=rendered.subject,
        body_format=body_format,
        notify_type=_NOTIFY_TYPES[severity],
        timeout=send_timeout,
    )
    if result:
        return None
    problems = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    return "; ".join(problems)[-500:] or f"not delivered ({result.status.name.lower()})"


def redact(error: str | None, target: str) -> str | None:
    """The error without the target (or its URL-quoted form) in it."""
    if error is None or not target:
        return error
    for secret in {target, quote(target, safe=""), quote(target)}:
        error = error.replace(secret, "<target>")
    return error
