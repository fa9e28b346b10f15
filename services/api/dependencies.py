"""Request-scoped dependencies: the database session and the authenticated principal.

The request owns the transaction: a route that changes state commits the session itself
before it answers; repositories and services never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.auth.authenticator import Authenticator, AuthError
from northstar.auth.keys import Principal, Scope


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def requires(scope: Scope) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the bearer key and checks it holds `scope`. The
    api's gate (services/api/gate.py) has usually identified the key already."""

    async def authenticated(request: Request) -> Principal:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is not None:
            if not principal.allows(scope):
                raise AuthError(
                    403, f"The API key '{principal.name}' lacks the '{scope.value}' scope."
                )
            return principal
        authenticator: Authenticator = request.app.state.authenticator
        return await authenticator.authenticate(request.headers.get("authorization"), scope)

    return authenticated


Reader = Annotated[Principal, Depends(requires(Scope.READ))]
Writer = Annotated[Principal, Depends(requires(Scope.WRITE))]
Admin = Annotated[Principal, Depends(requires(Scope.ADMIN))]
