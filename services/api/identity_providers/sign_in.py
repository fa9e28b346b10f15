"""The browser's way through an identity provider (OpenID Connect, authorization code
with PKCE):

    GET /v1/auth/oidc/{id}/start?next=/path
        new state, nonce and PKCE verifier, kept server-side (`oidc_flows`, 10 minutes);
        the state also goes into a short-lived HttpOnly cookie that binds the flow to this
        browser; 302 to the provider's authorization endpoint
    → the provider signs the person in
    GET /v1/auth/oidc/{id}/callback?code&state
        the state must be the browser's (cookie) and a live, unused flow (used up now, in
        its own transaction, so a replayed callback is refused whatever happens next);
        the code is exchanged with the verifier; the ID token is validated (issuer,
        audience, nonce, signature: .oidc); email verified and domain allowed; the person
        is resolved and the mappings applied (.accounts); the session cookie is set
        (services/api/sessions) and the browser goes (303) where it was going.

Every refusal is an HTML page that says why in words (.pages): the person arrives here by
a redirect, not through the web app's code.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.claims import ClaimsRefused, mapped_role, verified_email
from northstar.crypto import SecretBox, SecretUnreadable
from northstar.db.models import IdentityProvider, UserSession
from services.api.access import Public, token_digest
from services.api.audit import ActorRef, Audit
from services.api.identity_providers.accounts import SignedInPerson, resolve_account
from services.api.identity_providers.oidc import ClientConfig, RelyingParty, SignInFailed
from services.api.identity_providers.pages import refusal_page
from services.api.identity_providers.repository import (
    FlowRepository,
    IdentityProviderRepository,
    IdentityRepository,
)
from services.api.identity_providers.service import callback_url, public_base
from services.api.mappings import apply_mappings
from services.api.sessions.service import open_session, set_session_cookies
from services.api.transaction import Session
from services.api.users.repository import UserRepository

router = APIRouter(prefix="/v1/auth/oidc", tags=["sign-in"])
log = logging.getLogger("northstar.api.sso")

FLOW_COOKIE = "northstar_oidc"
FLOW_LIFETIME = timedelta(minutes=10)
OIDC_PATHS = frozenset(
    {"/v1/auth/oidc/{provider_id}/start", "/v1/auth/oidc/{provider_id}/callback"}
)
_HTML: dict[str, Any] = {"content": {"text/html": {}}}


def relying_party(request: Request) -> RelyingParty:
    party: RelyingParty = request.app.state.relying_party
    return party


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _provider(session: AsyncSession, provider_id: uuid.UUID) -> IdentityProvider:
    provider = await IdentityProviderRepository(session).get(provider_id)
    if provider is None or not provider.enabled:
        raise SignInFailed(
            "This identity provider does not exist or is turned off; go back and choose "
            "another way to sign in.",
            status=404,
        )
    return provider


def _client(request: Request, provider: IdentityProvider) -> ClientConfig:
    box: SecretBox = request.app.state.webhook_box
    try:
        secret = box.decrypt(provider.client_secret_ciphertext)
    except SecretUnreadable:
        raise SignInFailed(
            "The identity provider's client secret cannot be read by this server (was the "
            "encryption key changed?); an administrator must set it again.",
            status=500,
        ) from None
    return ClientConfig(
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=secret,
        scopes=provider.scopes,
        redirect_uri=callback_url(request, provider.id),
    )


@router.get(
    "/{provider_id}/start",
    status_code=302,
    summary="Start signing in with an identity provider (browser)",
    description="Redirects (302) to the provider's authorization endpoint with PKCE "
    "(S256), `state` and `nonce`. `next`: a path of the web app to return to. A provider "
    "that is unknown, turned off or unreachable answers an HTML page saying so.",
    dependencies=[Public],
    response_class=RedirectResponse,
    responses={
        302: {"description": "To the identity provider."},
        404: {"description": "No such enabled provider (HTML).", **_HTML},
        500: {"description": "The client secret cannot be decrypted (HTML).", **_HTML},
        502: {"description": "The provider cannot be used (HTML).", **_HTML},
    },
)
async def start(
    provider_id: uuid.UUID,
    request: Request,
    session: Session,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    try:
        provider = await _provider(session, provider_id)
        client = _client(request, provider)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        url = await relying_party(request).authorization_url(
            client, state=state, nonce=nonce, code_verifier=verifier
        )
    except SignInFailed as failed:
        return refusal_page(failed.message, status=failed.status)
    await FlowRepository(session).add(
        provider.id,
        state_hash=token_digest(state),
        nonce=nonce,
        code_verifier=verifier,
        return_to=_safe_next(next),
        expires_at=datetime.now(UTC) + FLOW_LIFETIME,
    )
    await session.commit()
    response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        FLOW_COOKIE,
        state,
        max_age=int(FLOW_LIFETIME.total_seconds()),
        path="/v1/auth/oidc/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get(
    "/{provider_id}/callback",
    status_code=303,
    summary="Where the identity provider sends the browser back (browser)",
    description="Checks `state` (it must be the one this browser started with, unused and "
    "at most 10 minutes old), exchanges `code` with the PKCE verifier, validates the ID "
    "token (signature, issuer, audience, nonce, expiry), requires a verified email in an "
    "allowed domain, links or creates the person, applies the role and unit mappings, sets "
    "the session cookie and redirects (303) into the web app. Anything else is an HTML "
    "page saying why the sign-in was refused.",
    dependencies=[Public],
    response_class=RedirectResponse,
    responses={
        303: {"description": "Signed in: into the web app."},
        400: {"description": "Refused: the answer is invalid (HTML).", **_HTML},
        403: {"description": "Refused: this person may not sign in (HTML).", **_HTML},
        404: {"description": "No such enabled provider (HTML).", **_HTML},
        500: {"description": "The client secret cannot be decrypted (HTML).", **_HTML},
        502: {"description": "The provider cannot be used (HTML).", **_HTML},
    },
)
async def callback(
    provider_id: uuid.UUID,
    request: Request,
    session: Session,
    audit: Audit,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    try:
        response = await _complete(
            provider_id,
            request,
            session,
            audit,
            code=code,
            state=state,
            error=error,
            error_description=error_description,
        )
    except SignInFailed as failed:
        await session.rollback()
        log.info(
            "sign-in through identity provider refused",
            extra={"identity_provider_id": str(provider_id), "reason": failed.message},
        )
        response = refusal_page(failed.message, status=failed.status)
    response.delete_cookie(FLOW_COOKIE, path="/v1/auth/oidc/", httponly=True, samesite="lax")
    return response


async def _complete(
    provider_id: uuid.UUID,
    request: Request,
    session: AsyncSession,
    audit: Audit,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    error_description: str | None,
) -> Response:
    if error:
        raise SignInFailed(
            f"The identity provider did not sign you in ({error}"
            + (f": {error_description}" if error_description else "")
            + ")."
        )
    if not state or not code:
        raise SignInFailed("The identity provider's answer lacks its code or state.")
    cookie = request.cookies.get(FLOW_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, state):
        raise SignInFailed(
            "This sign-in answer was not started in this browser, or its state was "
            "altered: sign-in refused. Start again from the sign-in page."
        )
    flow = await FlowRepository(session).take(token_digest(state), provider_id)
    # The flow is used up whatever happens next: a replayed callback finds nothing.
    await session.commit()
    if flow is None:
        raise SignInFailed(
            "This sign-in link was used already or has expired (or its state was altered): "
            "sign-in refused. Start again from the sign-in page."
        )
    provider = await _provider(session, provider_id)
    client = _client(request, provider)
    party = relying_party(request)
    token = await party.exchange(client, code=code, code_verifier=flow.code_verifier)
    claims: dict[str, Any] = await party.id_token_claims(client, token, nonce=flow.nonce)
    access_token = token.get("access_token")
    if isinstance(access_token, str):
        info = await party.userinfo(client, access_token)
        if info and info.get("sub") != claims["sub"]:
            raise SignInFailed("The provider's userinfo is about someone else: refused.", 502)
        claims = {**info, **claims}  # the ID token's claims win
    subject = str(claims["sub"])
    try:
        email = verified_email(claims, provider.allowed_domains)
        role = mapped_role(claims, provider.role_mapping)
    except ClaimsRefused as refused:
        raise SignInFailed(str(refused), status=403) from None
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    person = SignedInPerson(subject, email, (name or email.split("@")[0])[:200], role)
    users, identities = UserRepository(session), IdentityRepository(session)
    user = await resolve_account(identities, users, provider, person, audit)
    await apply_mappings(
        users,
        user,
        role=role,
        claims=claims,
        unit_mapping=provider.unit_mapping,
        audit=audit,
        by=f"identity provider {provider.name}",
    )
    await identities.signed_in(provider.id, subject)
    id_token = token["id_token"]
    issued = await open_session(
        session, request, user.id, identity_provider_id=provider.id, id_token=id_token
    )
    audit.record(
        "login",
        "session",
        user.id,
        after={"identity_provider": provider.name},
        actor=ActorRef("user", user.id, user.name),
    )
    await session.commit()
    request.app.state.authenticator.forget()
    log.info(
        "signed in through identity provider",
        extra={"user_id": str(user.id), "identity_provider_id": str(provider.id)},
    )
    response = RedirectResponse(flow.return_to, status_code=303)
    set_session_cookies(request, response, issued)
    return response


async def provider_sign_out_url(
    request: Request, session: AsyncSession, ended: UserSession
) -> str | None:
    """Where the browser should go to sign out at the provider as well, if the ended
    session came from one that advertises `end_session_endpoint`."""
    if ended.identity_provider_id is None:
        return None
    provider = await IdentityProviderRepository(session).get(ended.identity_provider_id)
    if provider is None:
        return None
    return await relying_party(request).end_session_url(
        provider.issuer,
        client_id=provider.client_id,
        id_token=ended.id_token,
        after=public_base(request) + "/",
    )
