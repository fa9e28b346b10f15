"""The OpenID Connect relying party: discovery, the authorization URL (PKCE S256, state,
nonce), the code exchange, ID token validation and userinfo, through Authlib.

Authlib's httpx client builds the authorization URL and exchanges the code (it computes
the S256 challenge from the verifier and sends the client secret the way the provider
asks); Authlib's `CodeIDToken` claims, over `joserfc` (Authlib's own JOSE library),
validate the ID token against the keys of the provider's JWKS: signature with an
algorithm the provider advertises, `iss` exactly the issuer of the discovery document,
`aud` our client, `exp`/`iat` (two minutes of leeway), `nonce` the one this sign-in
sent, `azp` and `at_hash` when present.

Every request goes through `GuardedTransport`: the provider's hosts are checked like a
webhook's (northstar/http/ssrf.py) at each request, so a discovery document cannot point
the server at an internal address. Discovery documents and key sets are cached per
process for `CACHE_SECONDS`; an unknown key id refetches the key set once (rotation).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from northstar.http.ssrf import DestinationRefused, GuardedTransport

with warnings.catch_warnings():
    # Authlib warns that its httpx integration falls back to `httpx` when the separate
    # `httpx2` package is absent; httpx is the client Northstar uses everywhere, so the
    # fallback is what we want (an import-time warning would also be a non-JSON log line).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

CACHE_SECONDS = 300.0
LEEWAY_SECONDS = 120


class SignInFailed(Exception):
    """The sign-in cannot go on; the message says why, in words for the person."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the relying party needs from a discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    signing_algorithms: list[str]
    token_auth_methods: list[str]


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One provider's client registration, as the flow needs it."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: list[str]
    redirect_uri: str


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class RelyingParty:
    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=GuardedTransport(allow_private=self._allow_private))

    def _oauth(self, client: ClientConfig, metadata: ProviderMetadata) -> AsyncOAuth2Client:
        methods = metadata.token_auth_methods
        auth_method = (
            "client_secret_basic"
            if not methods or "client_secret_basic" in methods
            else "client_secret_post"
        )
        return AsyncOAuth2Client(
            client_id=client.client_id,
            client_secret=client.client_secret,
            scope=" ".join(client.scopes),
            redirect_uri=client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
            transport=GuardedTransport(allow_private=self._allow_private),
        )

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except DestinationRefused as refused:
            raise SignInFailed(
                f"Northstar may not contact the identity provider at {url}: {refused}.",
                status=502,
            ) from None
        except httpx.HTTPError as error:
            raise SignInFailed(
                f"The identity provider could not be reached for its {what} ({error!r}); "
                "try again later, or ask your administrator.",
                status=502,
            ) from None
        if response.status_code != 200:
            raise SignInFailed(
                f"The identity provider answered HTTP {response.status_code} for its {what}.",
                status=502,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SignInFailed(f"The identity provider's {what} is not a JSON object.", status=502)
        return body

    async def metadata(self, issuer: str) -> ProviderMetadata:
        """The provider's discovery document, checked: it must name `issuer` (a
        trailing slash aside) and carry the endpoints the code flow needs."""
        cached = self._metadata.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url, "discovery document")
        named = document.get("issuer")
        if not isinstance(named, str) or not _same_issuer(named, issuer):
            raise SignInFailed(
                f"The identity provider's discovery document names the issuer {named!r}, "
                f"not {issuer!r} as configured here: sign-in is refused (issuer mismatch). "
                "An administrator must correct the provider's issuer.",
                status=502,
            )
        missing = [
            k
            for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if not isinstance(document.get(k), str)
        ]
        if missing:
            raise SignInFailed(
                "The identity provider's discovery document lacks " + ", ".join(missing) + ".",
                status=502,
            )

        def strings(key: str) -> list[str]:
            value = document.get(key)
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        def optional(key: str) -> str | None:
            value = document.get(key)
            return value if isinstance(value, str) else None

        found = ProviderMetadata(
            issuer=named,
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            userinfo_endpoint=optional("userinfo_endpoint"),
            end_session_endpoint=optional("end_session_endpoint"),
            signing_algorithms=strings("id_token_signing_alg_values_supported") or ["RS256"],
            token_auth_methods=strings("token_endpoint_auth_methods_supported"),
        )
        self._metadata[issuer] = (time.monotonic() + CACHE_SECONDS, found)
        return found

    async def authorization_url(
        self, client: ClientConfig, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        metadata = await self.metadata(client.issuer)
        async with self._oauth(client, metadata) as oauth:
            url, _ = oauth.create_authorization_url(
                metadata.authorization_endpoint,
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
            )
        return str(url)

    async def exchange(
        self, client: ClientConfig, *, code: str, code_verifier: str
    ) -> dict[str, Any]:
        """Trade the code for tokens (the verifier proves this is the browser that
        started); a code used before or expired is refused by the provider."""
        metadata = await self.metadata(client.issuer)
        try:
            async with self._oauth(client, metadata) as oauth:
                token = await oauth.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except (OAuth2Error, OAuthError) as error:
            raise SignInFailed(
                "The identity provider did not accept the sign-in code "
                f"({error.error}: {error.description or 'no detail'}): it may have been used "
                "already or have expired. Start the sign-in again."
            ) from None
        except DestinationRefused as refused:
            raise SignInFailed(
                f"Northstar may not contact the identity provider's token endpoint: {refused}.",
                status=502,
            ) from None
        except httpx.HTTPError as error:
            raise SignInFailed(
                f"The identity provider's token endpoint could not be reached ({error!r}).",
                status=502,
            ) from None
        if not isinstance(token.get("id_token"), str):
            raise SignInFailed("The identity provider sent no ID token.", status=502)
        return dict(token)

    async def _key_set(self, metadata: ProviderMetadata, *, force: bool) -> KeySet:
        cached = self._keys.get(metadata.jwks_uri)
        if cached is None or force or cached[0] <= time.monotonic():
            document = await self._get_json(metadata.jwks_uri, "signing keys (JWKS)")
            cached = (time.monotonic() + CACHE_SECONDS, document)
            self._keys[metadata.jwks_uri] = cached
        try:
            return KeySet.import_key_set(cached[1])  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError):
            raise SignInFailed(
                "The identity provider's key set (JWKS) is unreadable.", 502
            ) from None

    async def id_token_claims(
        self, client: ClientConfig, token: dict[str, Any], *, nonce: str
    ) -> dict[str, Any]:
        """The validated claims of the token's ID token (the rules are above)."""
        metadata = await self.metadata(client.issuer)
        registry = JWSRegistry(algorithms=metadata.signing_algorithms, strict_check_header=False)
        raw = token["id_token"]
        try:
            try:
                decoded = jwt.decode(
                    raw, await self._key_set(metadata, force=False), registry=registry
                )
            except InvalidKeyIdError:
                decoded = jwt.decode(
                    raw, await self._key_set(metadata, force=True), registry=registry
                )
        except JoseError as error:
            raise SignInFailed(
                f"The ID token's signature does not verify with the provider's keys ({error}); "
                "sign-in refused."
            ) from None
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": client.client_id},
                "nonce": {"essential": True, "value": nonce},
            },
            {
                "nonce": nonce,
                "client_id": client.client_id,
                "access_token": token.get("access_token"),
            },
        )
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except MissingClaimError as error:
            raise SignInFailed(f"The ID token lacks a required claim ({error}).") from None
        except InvalidClaimError as error:
            raise SignInFailed(
                _claim_problem(str(error), decoded.claims, metadata.issuer)
            ) from None
        except JoseError as error:
            raise SignInFailed(f"The ID token is not valid ({error}); sign-in refused.") from None
        return dict(claims)

    async def userinfo(self, client: ClientConfig, access_token: str) -> dict[str, Any]:
        metadata = await self.metadata(client.issuer)
        if metadata.userinfo_endpoint is None:
            return {}
        try:
            async with self._http() as http:
                response = await http.get(
                    metadata.userinfo_endpoint,
                    headers={
                        "Authorization": f"Bearer {access_token}",
                        "Accept": "application/json",
                    },
                )
        except (DestinationRefused, httpx.HTTPError) as error:
            raise SignInFailed(
                f"The identity provider's userinfo endpoint could not be used ({error}).", 502
            ) from None
        if response.status_code != 200:
            raise SignInFailed(
                f"The identity provider's userinfo endpoint answered HTTP {response.status_code}.",
                502,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SignInFailed("The identity provider's userinfo answer is not JSON.", 502)
        return body

    async def end_session_url(
        self, issuer: str, *, client_id: str, id_token: str | None, after: str
    ) -> str | None:
        """Where to send the browser to sign out at the provider too (RP-initiated
        logout), or None when it does not advertise `end_session_endpoint`."""
        try:
            metadata = await self.metadata(issuer)
        except SignInFailed:
            return None
        if metadata.end_session_endpoint is None:
            return None
        params = {"client_id": client_id, "post_logout_redirect_uri": after}
        if id_token:
            params["id_token_hint"] = id_token
        return str(httpx.URL(metadata.end_session_endpoint).copy_merge_params(params))


def _claim_problem(error: str, claims: dict[str, Any], issuer: str) -> str:
    if "nonce" in error:
        return (
            "The identity provider's answer does not belong to the sign-in started in this "
            "browser (the nonce differs): sign-in refused. Start again."
        )
    if "iss" in error:
        return (
            f"The ID token was issued by {claims.get('iss')!r}, not by {issuer!r}: sign-in "
            "refused (issuer mismatch)."
        )
    if "aud" in error:
        return "The ID token was issued to another application: sign-in refused."
    if "exp" in error or "iat" in error or "nbf" in error:
        return "The ID token has expired or is not valid yet (check the server clocks)."
    return f"The ID token is not valid ({error}): sign-in refused."
