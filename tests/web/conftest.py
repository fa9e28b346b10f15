"""The web app's browser tests: one demo stack per module (services, demo data, people),
and the node runner for the stories in web/e2e/stories.mjs."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from devstack.postgres import ExternalPostgres, PostgresServer, create_database, drop_database
from devstack.processes import REPO_ROOT, free_port
from devstack.webdemo import DemoStack, demo_services
from tests.notifications.conftest import Mailbox

WEB = REPO_ROOT / "web"
NODE_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"


@pytest.fixture(scope="module")
async def web_database(
    pg_server: PostgresServer | ExternalPostgres, migrated_template: str
) -> AsyncIterator[str]:
    name = f"web_{uuid.uuid4().hex}"
    url = await create_database(pg_server.url, name, template=migrated_template)
    yield url
    await drop_database(pg_server.url, name)


@pytest.fixture(scope="module")
def web_mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback: the demo's mail relay, so people can add
    email channels and their messages arrive somewhere the tests can read."""
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def demo(
    web_database: str,
    kafka_bootstrap: str,
    admin_key: str,
    web_mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoStack]:
    """The demo organisation behind a real api serving the built web app, its email sent
    to `web_mailbox` and digests looked for every second."""
    assert (WEB / "dist" / "index.html").is_file(), "the web app is not built: run `make web`"
    with demo_services(
        database_url=web_database,
        kafka_bootstrap=kafka_bootstrap,
        admin_key=admin_key,
        log_dir=tmp_path_factory.mktemp("web-services"),
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        extra_env={
            "NORTHSTAR_SMTP_HOST": "127.0.0.1",
            "NORTHSTAR_SMTP_PORT": str(web_mailbox.port),
            "NORTHSTAR_SMTP_SECURITY": "none",
            "NORTHSTAR_SMTP_FROM": "northstar@northstar.example",
            "NORTHSTAR_NOTIFICATION_SCHEDULE_INTERVAL_SECONDS": "1",
        },
    ) as stack:
        yield stack


def run_story(story: str, base_url: str, **variables: str) -> dict[str, Any]:
    """Run one browser story in real Chromium; what its pages showed, as JSON."""
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}:{os.environ.get('PATH', '')}",
        "NORTHSTAR_URL": base_url,
        **variables,
    }
    result = subprocess.run(
        ["node", "e2e/stories.mjs", story],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"story {story} failed:\n{result.stderr[-4000:]}"
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return output
