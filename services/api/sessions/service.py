"""Opening a browser session, the same for every way of signing in (a password, an
identity provider): a fresh session token and CSRF token, only their digests stored."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.access import CSRF_COOKIE, SESSION_COOKIE, token_digest
from services.api.sessions.repository import SessionRepository


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf: str
    max_age: int


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def open_session(
    session: AsyncSession,
    request: Request,
    user_id: uuid.UUID,
    *,
    identity_provider_id: uuid.UUID | None = None,
    id_token: str | None = None,
) -> IssuedSession:
    """A new session for `user_id` (in the caller's transaction)."""
    lifetime = timedelta(hours=request.app.state.settings.session_hours)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await SessionRepository(session).add(
        user_id,
        token_hash=token_digest(token),
        csrf_hash=token_digest(csrf),
        expires_at=datetime.now(UTC) + lifetime,
        client_address=client_address(request),
        identity_provider_id=identity_provider_id,
        id_token=id_token,
    )
    return IssuedSession(token, csrf, int(lifetime.total_seconds()))


def set_session_cookies(request: Request, response: Response, issued: IssuedSession) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie (readable by the web app)."""
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=issued.max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf,
        max_age=issued.max_age,
        httponly=False,
        samesite="lax",
        secure=secure,
    )
