"""Single sign-on against a real, independent OpenID provider on loopback: Canaille,
started in this process by `pytest-iam` (its own HTTP server in a thread, its own keys,
users, groups and consent screens), and a real api process configured to use it.

Nothing here imitates the provider: the api discovers it, fetches its keys, exchanges
codes at its token endpoint and reads its userinfo over HTTP like it would Entra's.
The provider's configuration is changed only the way an operator would change it (its
claim mapping, its clients, its users and groups).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_iam import Server

from devstack.postgres import ExternalPostgres, PostgresServer, create_database, drop_database
from devstack.processes import REPO_ROOT, ServiceProcess, free_port, tcp_accepts

CLIENT_SECRET = "canaille-client-secret-for-northstar"
PERSON_PASSWORD = "correct horse battery staple"
# Canaille has no per-person "email verified" attribute; its claims are templates over the
# person's attributes, so the test directory marks unverified addresses by `title`.
UNVERIFIED = "unverified"


@pytest.fixture(scope="session")
def iam_configuration(iam_configuration: dict[str, Any], iam_server_port: int) -> dict[str, Any]:
    """The provider on 127.0.0.1 (the browser tests resolve nothing else), so its issuer
    is `http://127.0.0.1:<port>`."""
    iam_configuration["SERVER_NAME"] = f"127.0.0.1:{iam_server_port}"
    return iam_configuration


@dataclass
class Provider:
    """The running provider and what the api knows it by."""

    server: Server
    issuer: str

    def person(
        self,
        login: str,
        email: str,
        *,
        groups: Sequence[str] = (),
        verified: bool = True,
    ) -> Any:
        models = self.server.models
        with self.server.app.app_context():
            user = models.User(
                user_name=login,
                formatted_name=login.title(),
                emails=[email],
                password=PERSON_PASSWORD,
                title=None if verified else UNVERIFIED,
            )
            self.server.backend.save(user)
            for name in groups:
                self.join(user, name)
        return user

    def group(self, name: str) -> Any:
        with self.server.app.app_context():
            found = self.server.backend.get(self.server.models.Group, display_name=name)
            if found is None:
                found = self.server.models.Group(display_name=name, members=[])
                self.server.backend.save(found)
            return found

    def join(self, user: Any, name: str) -> None:
        group = self.group(name)
        with self.server.app.app_context():
            group.members = [*group.members, user]
            self.server.backend.save(group)
            self.server.backend.reload(user)

    def leave(self, user: Any, name: str) -> None:
        group = self.group(name)
        with self.server.app.app_context():
            group.members = [m for m in group.members if m.id != user.id]
            self.server.backend.save(group)
            self.server.backend.reload(user)

    def forget_codes(self) -> None:
        """Drop authorization codes never exchanged. Canaille's in-memory store answers a
        query on several attributes with the rows matching any of them, so a leftover
        code of the same client can be taken for the one being exchanged ("code
        challenge failed"); a test that leaves one behind must not break the next."""
        with self.server.app.app_context():
            for code in self.server.backend.query(self.server.models.AuthorizationCode):
                self.server.backend.delete(code)

    def client(self, client_id: str, redirect_uri: str, post_logout: str) -> Any:
        with self.server.app.app_context():
            client = self.server.models.Client(
                client_id=client_id,
                client_secret=CLIENT_SECRET,
                client_name="Northstar",
                redirect_uris=[redirect_uri],
                post_logout_redirect_uris=[post_logout],
                grant_types=["authorization_code"],
                response_types=["code"],
                token_endpoint_auth_method="client_secret_basic",
                scope=["openid", "profile", "email", "groups"],
            )
            self.server.backend.save(client)
            # Canaille puts a client's `audience` into its ID tokens' `aud`.
            client.audience = [client]
            self.server.backend.save(client)
        return client


@pytest.fixture(scope="session")
def provider(iam_server: Server, iam_server_port: int) -> Provider:
    mapping = iam_server.app.config["CANAILLE_OIDC"]["USERINFO_MAPPING"]
    mapping["EMAIL_VERIFIED"] = (
        "{% if user.title == '" + UNVERIFIED + "' %}false{% else %}true{% endif %}"
    )
    return Provider(iam_server, f"http://127.0.0.1:{iam_server_port}")


@pytest.fixture(scope="module")
async def sso_database(
    pg_server: PostgresServer | ExternalPostgres, migrated_template: str
) -> AsyncIterator[str]:
    name = f"sso_{uuid.uuid4().hex}"
    url = await create_database(pg_server.url, name, template=migrated_template)
    yield url
    await drop_database(pg_server.url, name)


@contextmanager
def running_api(
    database_url: str, admin_key: str, log_dir: Path, **settings: str
) -> Iterator[ServiceProcess]:
    """A real api process (serving the built web app) on a loopback port, its public URL
    its own address (the redirect URI the provider knows)."""
    port = free_port()
    env = {
        "NORTHSTAR_DATABASE_URL": database_url,
        "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
        "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL": "root@northstar.test",
        "NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD": "break glass passphrase 2026",
        "NORTHSTAR_HTTP_HOST": "127.0.0.1",
        "NORTHSTAR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The provider lives on loopback in these tests.
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "NORTHSTAR_LOG_FORMAT": "console",
        **{f"NORTHSTAR_{k.upper()}": v for k, v in settings.items()},
    }
    with ServiceProcess("api", "services.api", env, port, log_dir=log_dir) as service:
        service.wait_healthy(60.0, ready=True)
        yield service


@pytest.fixture(scope="module")
def sso_api(
    sso_database: str, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The api with password sign-in turned off (but for admins)."""
    log_dir = tmp_path_factory.mktemp("sso-api")
    with running_api(sso_database, admin_key, log_dir, password_sign_in="false") as api:
        yield api


@pytest.fixture(scope="module")
def other_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a second provider whose discovery names another issuer
    (tests/sso/other_provider.py), in its own process."""
    port = free_port()
    log = tmp_path_factory.mktemp("other-idp") / "canaille.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.sso.other_provider", str(port)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not tcp_accepts("127.0.0.1", port):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the second provider did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def admin_client(api: ServiceProcess, admin_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    )
