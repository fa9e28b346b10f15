"""Throwaway MariaDB servers for the source tests (and anyone who wants one locally).

`MariaDBServer` runs Debian's `mariadb-install-db` and `mariadbd` (package
`mariadb-server`, which `make setup` installs) in a fresh temporary directory,
listening on a free port on 127.0.0.1 only, and removes everything on `stop()`. Under
root the server runs as the same unprivileged account as the test PostgreSQL
(`devstack.postgres.ensure_system_user`). After start it has a user `northstar` (password
`northstar`) with every privilege, reachable over TCP: `url` names it.
"""

from __future__ import annotations

import atexit
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from devstack.postgres import ensure_system_user
from devstack.processes import free_port, spawn, stop_process, tail, tcp_accepts

log = logging.getLogger("devstack.mariadb")

USER = "northstar"
PASSWORD = "northstar"


class MariaDBError(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise MariaDBError(
            f"{name} is not installed; run 'make setup' (as root it installs Debian's "
            "mariadb-server) or: sudo apt-get install -y mariadb-server"
        )
    return found


class MariaDBServer:
    def __init__(self, *, base_dir: Path | None = None) -> None:
        self.base_dir = base_dir or Path(tempfile.gettempdir())
        self.root: Path | None = None
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None

    @property
    def socket(self) -> Path:
        assert self.root is not None
        return self.root / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "mariadb.log"

    def url(self, database: str = "") -> str:
        """`mysql://northstar:northstar@127.0.0.1:<port>/<database>`."""
        if not self.port:
            raise MariaDBError("the server is not started")
        return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> Self:
        install_db, server = _binary("mariadb-install-db"), _binary("mariadbd")
        if os.geteuid() == 0:
            self._user = ensure_system_user()
        self.root = Path(tempfile.mkdtemp(prefix="northstar-mariadb-", dir=self.base_dir))
        atexit.register(self.stop)
        try:
            os.chmod(self.root, 0o755)
            if self._user is not None:
                os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            data = self.root / "data"
            self._run(
                [
                    install_db,
                    "--no-defaults",
                    f"--datadir={data}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                    *([f"--user={self._user.pw_name}"] if self._user else []),
                ]
            )
            self.port = free_port()
            uid, gid = (self._user.pw_uid, self._user.pw_gid) if self._user else (None, None)
            with self.log_path.open("ab") as log_file:
                self._proc = spawn(
                    [
                        server,
                        "--no-defaults",
                        f"--datadir={data}",
                        f"--socket={self.socket}",
                        f"--pid-file={self.root / 'mariadbd.pid'}",
                        f"--port={self.port}",
                        "--bind-address=127.0.0.1",
                        "--skip-name-resolve",
                        "--innodb-buffer-pool-size=32M",
                        "--innodb-log-file-size=16M",
                        "--performance-schema=OFF",
                        "--skip-log-bin",
                        "--max-connections=100",
                    ],
                    log=log_file,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                    cwd=self.root,
                    user=uid,
                    group=gid,
                    parent_death_signal=signal.SIGKILL,
                )
            deadline = time.monotonic() + timeout
            while not (self.socket.exists() and tcp_accepts("127.0.0.1", self.port)):
                if self._proc.poll() is not None:
                    raise MariaDBError(f"mariadbd exited while starting:\n{tail(self.log_path)}")
                if time.monotonic() > deadline:
                    raise MariaDBError(f"mariadbd not ready after {timeout:.0f}s")
                time.sleep(0.1)
            self.sql(
                f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';"
                f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION;"
            )
        except BaseException:
            self.stop()
            raise
        log.info("MariaDB ready at %s", self.url())
        return self

    def sql(self, statements: str) -> str:
        """Run SQL as root over the server's socket (the `mariadb` client); its output."""
        result = subprocess.run(
            [_binary("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"],
            input=statements,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise MariaDBError(f"mariadb client failed: {result.stderr.strip()}")
        return result.stdout

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=120, cwd=self.root
        )
        if result.returncode != 0:
            raise MariaDBError(f"{argv[0]} failed: {result.stdout}\n{result.stderr}")

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._proc is not None:
            stop_process(self._proc, sig=signal.SIGTERM, timeout=15)
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


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    with MariaDBServer() as db:
        print(db.url(), flush=True)
        print(db.sql("SELECT VERSION();"), flush=True)
