"""Prometheus tooling for the observability tests: the real binaries, never a stand-in.

The tests need `prometheus` and `promtool` on PATH (Debian package `prometheus`;
`make setup` installs it when run as root with apt, `.ci/run` always does). Without
them the tests fail with the command that fixes it; they never skip.
"""

from __future__ import annotations

import shutil

import pytest

INSTALL_HINT = (
    "install it with `sudo apt-get install -y prometheus` (Debian/Ubuntu; `make setup` "
    "does this when run as root) or put the official release's binaries on PATH"
)


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: the observability tests need it; {INSTALL_HINT}")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of the `promtool` binary."""
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Path of the `prometheus` server binary."""
    return _binary("prometheus")
