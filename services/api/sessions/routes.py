"""`/v1/auth/*` (sign in, sign out, accept an invitation) and `GET /v1/me`."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from northstar.auth.authenticator import AuthError
from northstar.auth.keys import Role, Scope
from northstar.auth.passwords import hash_password_async, needs_rehash, verify_password_async
from northstar.auth.policy import Subject, permissions
from northstar.http.problems import Problem
from services.api.access import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Actor,
    Public,
    current_actor,
    memberships_of,
    token_digest,
)
from services.api.audit import ActorRef, Audit
from services.api.sessions.repository import SessionRepository
from services.api.sessions.schemas import Login, LoginOut, Me, MembershipOut
from services.api.sessions.service import client_address, open_session, set_session_cookies
from services.api.sessions.throttle import LoginThrottle
from services.api.transaction import Session
from services.api.users.repository import UserRepository
from services.api.users.schemas import InvitationAccept, UserOut
from services.api.users.service import checked_hash
from services.api.users.shapes import user_out

router = APIRouter(tags=["sign-in"])
log = logging.getLogger("northstar.api.sessions")

_BAD_CREDENTIALS = "The email or password is wrong."
# The scope a signed-in person's role matches, reported by `GET /v1/me`.
_ROLE_SCOPE = {Role.ADMIN: Scope.ADMIN, Role.EDITOR: Scope.WRITE}


@router.post(
    "/v1/auth/login",
    response_model=LoginOut,
    summary="Sign in with email and password",
    description="Sets the `northstar_session` cookie (HttpOnly, SameSite=Lax, Secure over "
    "TLS) and the `northstar_csrf` cookie (readable by scripts). Wrong email or password: "
    "401, with the same detail whether or not the email exists. Too many failed attempts "
    "for the account or from the address: 429 with `Retry-After`.",
    dependencies=[Public],
    responses={
        401: {"description": "Wrong email or password."},
        403: {"description": "Password sign-in is turned off for this person (not an admin)."},
        429: {"description": "Throttled."},
    },
)
async def login(
    body: Login, request: Request, response: Response, session: Session, audit: Audit
) -> LoginOut:
    email = body.email.strip().lower()
    address = client_address(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    wait = await throttle.retry_after(email, address)
    if wait is not None:
        log.warning("sign-in throttled", extra={"client": address})
        raise Problem(
            429,
            f"Too many failed sign-ins; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    users = UserRepository(session)
    user = await users.by_email(email)
    usable = user is not None and user.status == "active"
    ok = await verify_password_async(user.password_hash if usable and user else None, body.password)
    if not ok or user is None:
        await throttle.failed(email, address)
        log.info("sign-in refused", extra={"client": address})
        raise Problem(401, _BAD_CREDENTIALS)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(body.password)
    settings = request.app.state.settings
    if not settings.password_sign_in and user.role != Role.ADMIN.value:
        # Checked after the password, so the answer tells nothing to who lacks it.
        raise Problem(
            403,
            "Password sign-in is turned off: sign in with your company's identity provider "
            "(the buttons on the sign-in page).",
        )
    issued = await open_session(session, request, user.id)
    out = LoginOut(user=user_out(user), csrf_token=issued.csrf)
    audit.record(
        "login",
        "session",
        user.id,
        after={"client_address": address},
        actor=ActorRef("user", user.id, user.name),
    )
    await session.commit()
    set_session_cookies(request, response, issued)
    log.info("signed in", extra={"user_id": str(user.id)})
    return out


@router.post(
    "/v1/auth/logout",
    status_code=204,
    summary="Sign out: the session ends on the server at once",
    description="Needs `X-CSRF-Token` like every change made with the session cookie. "
    "Without a live session it answers 204 too, and clears the cookies. A session that "
    "came from an identity provider which supports RP-initiated logout answers the "
    "provider's sign-out address in `X-End-Session-Url`: the web app sends the browser "
    "there to sign out at the provider too.",
    dependencies=[Public],
    responses={
        204: {
            "description": "Signed out here.",
            "headers": {
                "X-End-Session-Url": {
                    "description": "Present when the provider should sign the person out "
                    "too: where to send the browser.",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def logout(request: Request, session: Session, audit: Audit) -> Response:
    try:
        actor = await current_actor(request)
    except AuthError as error:
        if error.status == 403:
            raise
        actor = None
    end_session_url = None
    if actor is not None and actor.session_id is not None:
        ended = await SessionRepository(session).revoke(actor.session_id)
        audit.record("logout", "session", actor.id, actor=actor)
        await session.commit()
        if ended is not None:
            # `identity_providers.sign_in.provider_sign_out_url`, set by the app.
            end_session_url = await request.app.state.provider_sign_out_url(request, session, ended)
    response = Response(status_code=204)
    if end_session_url is not None:
        response.headers["X-End-Session-Url"] = end_session_url
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, samesite="lax")
    return response


@router.post(
    "/v1/auth/accept-invitation",
    response_model=UserOut,
    summary="Choose a password with an invitation token",
    description="The token works once and until it expires (401 otherwise). The person "
    "then signs in with `POST /v1/auth/login`.",
    dependencies=[Public],
)
async def accept_invitation(body: InvitationAccept, session: Session, audit: Audit) -> UserOut:
    users = UserRepository(session)
    user = await users.take_invitation(token_digest(body.token))
    if user is None:
        raise Problem(401, "The invitation is unknown, used or expired; ask for a new one.")
    user.password_hash = await checked_hash(body.password, user.email)
    audit.record(
        "accept_invitation",
        "user",
        user.id,
        after={"password_changed": True},
        actor=ActorRef("user", user.id, user.name),
    )
    await session.commit()
    return user_out(user)


Authenticated = Annotated[Actor, Depends(current_actor)]


@router.get(
    "/v1/me",
    response_model=Me,
    summary="Who am I: the caller, user or key, with its effective permissions",
)
async def me(actor: Authenticated, session: Session) -> Me:
    person = actor.person
    memberships = await memberships_of(session, person.id) if person else ()
    subject = Subject(
        role=person.role if person else None,
        scopes=actor.scopes,
        user_id=person.id if person else None,
        memberships=memberships,
    )
    if actor.scopes is not None:
        scopes = sorted(s.value for s in actor.scopes)
    else:
        assert person is not None
        scopes = [_ROLE_SCOPE.get(person.role, Scope.READ).value]
    return Me(
        kind=actor.kind,
        id=actor.id,
        name=actor.name,
        email=person.email if person else None,
        role=person.role if person else None,
        scopes=scopes,
        memberships=[MembershipOut(unit_id=m.unit_id, role=m.role) for m in memberships],
        permissions=permissions(subject),
    )
