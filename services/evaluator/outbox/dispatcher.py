"""The webhook dispatcher: POSTs queued deliveries, retrying with backoff until they land.

`webhook_deliveries` is both the retry queue and the delivery log, so pending deliveries
survive restarts. This background task of the evaluator is a `QueueWorker` (worker.py):
it records finished POSTs, claims due deliveries with a lease, and POSTs each in its own
task, up to `webhook_max_in_flight` at a time.

No transaction is open during an HTTP call. If the process dies mid-POST the lease
expires and the delivery is tried again, so a receiver may see a delivery twice
(at least once): receivers dedupe on the envelope's `id` or `X-Northstar-Delivery`.

A failed attempt (non-2xx, timeout, connection error) is retried after
`min(cap, base·2^(n-1)) × U[0.5, 1.5)` seconds for the n-th failure; after
`webhook_max_attempts` attempts the delivery is `failed`. Redirects are not followed.
The consumer loop never waits for any of this: it only shares the database.

Each attempt resolves the URL's host and checks the address (northstar/http/ssrf.py), then
connects to that very address; it signs per Standard Webhooks with every active secret of
the webhook (decrypted here, northstar/crypto.py). Answers' bodies are never read or kept:
the delivery log says only the status, so a webhook cannot be used to read data back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook as StandardWebhook

from northstar.crypto import SecretBox, SecretUnreadable
from northstar.http.ssrf import DestinationRefused, resolve_destination
from northstar.outbox.repository import RECORD_DELIVERY, ClaimedDelivery, OutboxRepository
from northstar.telemetry import WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_DURATION
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.worker import (
    Attempted,
    QueueWorker,
    RetryPolicy,
    WorkerConfig,
)

log = logging.getLogger(__name__)

USER_AGENT = "Northstar-Webhooks/1.0"


def standard_signatures(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret,
    space-separated. A `whsec_<base64>` secret signs with the bytes it encodes (as every
    Standard Webhooks library reads it), any other with its UTF-8 bytes."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    text_body = body.decode()
    return " ".join(
        StandardWebhook(s if s.startswith("whsec_") else s.encode()).sign(msg_id, moment, text_body)
        for s in secrets
    )


def sign(secret: str, body: bytes) -> str:
    """`X-Northstar-Signature`: `sha256=` + hex HMAC-SHA256 of the raw body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AttemptResult:
    delivery: ClaimedDelivery
    attempted_at: datetime
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher(QueueWorker[ClaimedDelivery, AttemptResult]):
    """Background task: deliver due webhook deliveries. `nudge()` wakes it at once."""

    def __init__(
        self,
        settings: EvaluatorSettings,
        engine: AsyncEngine,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            engine,
            WorkerConfig(
                stage="webhook_dispatch",
                noun="webhook delivery",
                max_in_flight=settings.webhook_max_in_flight,
                poll_interval_seconds=settings.webhook_poll_interval_seconds,
                backoff_max_seconds=settings.retry_backoff_max_seconds,
                attempt_timeout_seconds=settings.webhook_timeout_seconds,
                retry=RetryPolicy(
                    settings.webhook_max_attempts,
                    settings.webhook_retry_base_seconds,
                    settings.webhook_retry_cap_seconds,
                ),
                record=RECORD_DELIVERY,
                outcomes=WEBHOOK_DELIVERIES,
            ),
        )
        self._settings = settings
        self._transport = transport
        self._timeout = settings.webhook_timeout_seconds
        self._box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
        self._client: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            transport=self._transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=self._settings.webhook_max_in_flight),
        ) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    async def _claim(self, limit: int) -> list[ClaimedDelivery]:
        async with self._engine.begin() as conn:
            return await OutboxRepository(conn).claim_deliveries(limit, 2 * self._timeout + 1)

    async def _attempt(self, delivery: ClaimedDelivery) -> AttemptResult:
        """POST once; the result is recorded by the loop. Never raises."""
        assert self._client is not None, "attempts run inside the session"
        client = self._client
        attempted_at = datetime.now(UTC)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            # A hard bound: httpx's timeout is per operation, a trickling answer could
            # otherwise outlive the lease.
            async with asyncio.timeout(self._timeout):
                status_code, error = await self._post(client, delivery)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self._timeout:g}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # anything else must still be recorded, not lost
            log.exception("webhook attempt failed unexpectedly", extra={"delivery": delivery.id})
            error = f"{type(exc).__name__}: {exc}"
        WEBHOOK_DELIVERY_DURATION.observe(time.perf_counter() - started)
        return AttemptResult(delivery, attempted_at, status_code, error)

    async def _post(
        self, client: httpx.AsyncClient, delivery: ClaimedDelivery
    ) -> tuple[int | None, str | None]:
        try:
            secrets = [self._box.decrypt(c) for c in delivery.secrets]
        except SecretUnreadable as error:
            return None, str(error)
        if not secrets:
            return None, "the webhook has no active secret; add one (POST .../secrets)"
        try:
            destination = await resolve_destination(
                delivery.url, allow_private=self._settings.webhook_allow_private_networks
            )
        except DestinationRefused as refused:
            return None, f"destination refused: {refused}"
        timestamp = int(time.time())
        headers = {
            "Host": destination.host_header,
            "Content-Type": "application/json",
            "webhook-id": str(delivery.id),
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signatures(
                secrets, str(delivery.id), timestamp, delivery.body
            ),
            "X-Northstar-Signature": sign(secrets[0], delivery.body),  # deprecated
            "X-Northstar-Event": delivery.event_type,
            "X-Northstar-Delivery": str(delivery.id),
        }
        # To the address that was checked; the host name still names the site (Host, TLS).
        async with client.stream(
            "POST",
            destination.pinned_url,
            content=delivery.body,
            headers=headers,
            extensions={"sni_hostname": destination.host},
        ) as response:
            if response.is_success:
                return response.status_code, None
            return response.status_code, f"HTTP {response.status_code}"

    def _attempted(self, result: AttemptResult) -> Attempted:
        columns: dict[str, object] = {
            "id": result.delivery.id,
            "status_code": result.status_code,
            "error": None if result.succeeded else (result.error or "")[:1000],
        }
        return Attempted(
            columns, result.delivery.attempts + 1, result.attempted_at, result.succeeded
        )

    def _log_fields(self, result: AttemptResult) -> dict[str, object]:
        return {
            "delivery": str(result.delivery.id),
            "url": result.delivery.url,
            "attempt": result.delivery.attempts + 1,
            "status_code": result.status_code,
            "error": result.error,
        }
