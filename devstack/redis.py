"""A throwaway Redis server for tests: Debian's `redis-server` (installed by `make setup`).

`RedisServer` starts one on a free loopback port with nothing persisted (no RDB snapshot,
no append-only file) and its working directory in a fresh temporary directory, and stops
it (and removes the directory) on `stop()`, on leaving a `with` block, or at interpreter
exit. It is what the shared rate limit tests point `NORTHSTAR_RATE_LIMIT_STORAGE` at.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from devstack.processes import free_port, spawn, stop_process, tail

log = logging.getLogger("devstack.redis")


class RedisError(RuntimeError):
    """redis-server could not be found or started, or did not answer in time."""


def find_redis_server() -> Path:
    """The `redis-server` executable: `NORTHSTAR_REDIS_SERVER`, or PATH."""
    candidates: list[Path] = []
    if override := os.environ.get("NORTHSTAR_REDIS_SERVER"):
        candidates.append(Path(override))
    if on_path := shutil.which("redis-server"):
        candidates.append(Path(on_path))
    candidates.append(Path("/usr/bin/redis-server"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RedisError(
        "no redis-server found; run `make setup` (installs Debian's redis-server) or "
        "set NORTHSTAR_REDIS_SERVER."
    )


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Redis at `host:port` answers PING (inline command, no client needed)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A Redis server on 127.0.0.1, in memory only, for the lifetime of this object."""

    def __init__(self, *, port: int | None = None) -> None:
        self._requested_port = port
        self.port = 0
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0`, as `NORTHSTAR_RATE_LIMIT_STORAGE` takes it."""
        if not self.port:
            raise RedisError("the server is not started")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        return self.root / "redis.log" if self.root is not None else None

    def start(self, timeout: float = 20.0) -> Self:
        if self._proc is not None:
            raise RedisError("the server is already started")
        binary = find_redis_server()
        self.root = Path(tempfile.mkdtemp(prefix="northstar-redis-"))
        atexit.register(self.stop)
        try:
            for _ in range(1 if self._requested_port else 3):
                self.port = self._requested_port or free_port()
                if self._launch(binary, timeout):
                    break
            else:
                raise RedisError(f"redis-server failed to start:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise
        log.info("Redis ready at %s", self.url)
        return self

    def _launch(self, binary: Path, timeout: float) -> bool:
        """Start redis-server; True once it answers PING, False if it exited (port taken)."""
        assert self.root is not None and self.log_path is not None
        argv = [
            str(binary),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.root),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--databases", "16",
        ]  # fmt: skip
        with self.log_path.open("ab") as log_file:
            self._proc = spawn(argv, log=log_file, env=dict(os.environ), cwd=self.root)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                log.warning("redis-server exited with %s on port %s", code, self.port)
                self._proc = None
                return False
            if ping("127.0.0.1", self.port, timeout=0.5):
                return True
            if time.monotonic() > deadline:
                raise RedisError(
                    f"redis-server not answering on port {self.port} after {timeout}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)

    def flush(self) -> None:
        """Forget every key (FLUSHALL), so tests sharing the server start from nothing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            if not sock.recv(64).startswith(b"+OK"):
                raise RedisError("FLUSHALL was refused")

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._proc is not None:
            stop_process(self._proc, sig=signal.SIGTERM, timeout=5.0)
            self._proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        self.port = 0

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines) if self.log_path is not None else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
