"""Child processes for the local stack: spawning, health polling, and orderly stopping.

Everything the devstack starts (PostgreSQL, Tansu, the three services, the demo traffic
generator) is a child process in its own session, so that a Ctrl-C in the terminal
reaches only the supervisor, which then stops the children in the right order. On Linux
each child also gets a parent-death signal, so a supervisor that is killed outright
(SIGKILL, an OOM kill) does not leave servers behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

#: The repository root: services are started from here, as `make run` would.
REPO_ROOT = Path(__file__).resolve().parent.parent

_PR_SET_PDEATHSIG = 1


class ProcessError(RuntimeError):
    """A child process failed to start, died, or did not become healthy in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago.

    There is an unavoidable race between this check and the child binding the port;
    callers that start servers retry with a new port when the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on `host:port` and it can be bound.

    With `SO_REUSEADDR`, as uvicorn binds: sockets of a stopped run that linger in
    TIME_WAIT do not make the port look taken, while a live listener still does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def tcp_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to `host:port` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _parent_death_hook(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` asking Linux to send `sig` to the child when its parent dies.

    The kernel ties the parent-death signal to the *thread* that forked, so the hook is
    only used when spawning from the main thread; a child spawned from a worker thread
    would otherwise be killed when that thread ends.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    signum = int(sig)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)

    return hook


def spawn(
    argv: Sequence[str],
    *,
    log: IO[bytes],
    env: Mapping[str, str],
    cwd: Path | None = None,
    user: int | None = None,
    group: int | None = None,
    parent_death_signal: signal.Signals = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a new session with stdout and stderr appended to `log`.

    `user`/`group` switch to an unprivileged account (PostgreSQL refuses to run as
    root); the switch happens before the parent-death signal is armed, because Linux
    clears that signal when credentials change.
    """
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        user=user,
        group=group,
        extra_groups=[] if group is not None else None,
        preexec_fn=_parent_death_hook(parent_death_signal),
    )


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `proc` (it was started in its own session)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # exited between poll() and killpg()
        os.killpg(proc.pid, sig)


def stop_process(
    proc: subprocess.Popen[bytes],
    *,
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = 10.0,
) -> int:
    """Send `sig`, wait up to `timeout` seconds, then SIGKILL the whole group.

    Returns the exit code (negative for a signal, as `subprocess` reports it).
    """
    signal_group(proc, sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        return proc.wait(5.0)


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file (empty when it does not exist yet)."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        last = deque(handle, maxlen=lines)
    return b"".join(last).decode("utf-8", errors="replace")


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for a service: ours without any `NORTHSTAR_*`, plus `overrides`.

    Dropping inherited `NORTHSTAR_*` variables keeps a developer's shell settings from
    leaking into a test's services; everything a service needs is passed explicitly.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


class ManagedProcess:
    """`python -m <module> [args]` as a child with its output in a log file.

    The log is appended to across restarts, with a marker line per start, so a test
    failure shows the whole story of the process.
    """

    def __init__(
        self,
        name: str,
        module: str,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = (),
        log_dir: Path,
        python: str = sys.executable,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.name = name
        self.module = module
        self.env = dict(env)
        self.args = list(args)
        self.python = python
        self.cwd = cwd
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> Self:
        if self.running:
            raise ProcessError(f"{self.name} is already running (pid {self.pid})")
        self._starts += 1
        with self.log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"=== {stamp} start #{self._starts}: python -m {self.module}\n".encode())
            log.flush()
            self._proc = spawn(
                [self.python, "-m", self.module, *self.args],
                log=log,
                env=child_env(self.env),
                cwd=self.cwd,
            )
        return self

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit on its own; its exit code."""
        if self._proc is None:
            raise ProcessError(f"{self.name} was never started")
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(f"{self.name} still running after {timeout}s") from None

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it has not exited within `timeout` seconds."""
        if self._proc is None:
            return None
        return stop_process(self._proc, sig=signal.SIGTERM, timeout=timeout)

    def send_terminate(self) -> None:
        """SIGTERM without waiting, to stop several processes in parallel."""
        if self._proc is not None:
            signal_group(self._proc, signal.SIGTERM)

    def kill(self) -> int | None:
        """SIGKILL: a crash, as far as the process is concerned."""
        if self._proc is None:
            return None
        signal_group(self._proc, signal.SIGKILL)
        return self._proc.wait(10.0)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid} running={self.running}>"


class ServiceProcess(ManagedProcess):
    """One Northstar service (`services.api`, `services.ingest`, `services.evaluator`).

    The port is passed as `NORTHSTAR_HTTP_PORT`; health is `GET /healthz` (process up)
    and, optionally, `GET /readyz` (its dependencies reachable).
    """

    def __init__(
        self,
        name: str,
        module: str,
        env: Mapping[str, str],
        port: int,
        *,
        log_dir: Path,
        host: str = "127.0.0.1",
        python: str = sys.executable,
        cwd: Path = REPO_ROOT,
    ) -> None:
        merged = {**env, "NORTHSTAR_HTTP_PORT": str(port)}
        merged.setdefault("NORTHSTAR_HTTP_HOST", host)
        super().__init__(name, module, merged, log_dir=log_dir, python=python, cwd=cwd)
        self.port = port
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait_healthy(self, timeout: float = 30.0, *, ready: bool = False) -> None:
        """Poll `/healthz` (and `/readyz` when `ready`) until 200, or raise `ProcessError`.

        Fails at once, with the log tail, when the process exits while starting.
        """
        paths = ["/healthz", "/readyz"] if ready else ["/healthz"]
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            for path in paths:
                while True:
                    if not self.running:
                        raise ProcessError(
                            f"{self.name} exited with code {self.returncode} while starting; "
                            f"last lines of {self.log_path}:\n{self.log_tail()}"
                        )
                    try:
                        response = client.get(path)
                    except httpx.TransportError as exc:
                        last = f"{type(exc).__name__}: {exc}"
                    else:
                        if response.status_code == 200:
                            break
                        last = f"HTTP {response.status_code}: {response.text[:300]}"
                    if time.monotonic() > deadline:
                        raise ProcessError(
                            f"{self.name} not healthy at {self.url}{path} after {timeout:.0f}s "
                            f"({last}); last lines of {self.log_path}:\n{self.log_tail()}"
                        )
                    time.sleep(0.1)

    def restart(self, timeout: float = 30.0, *, ready: bool = False) -> Self:
        """Stop with SIGTERM, start again on the same port, and wait until healthy."""
        self.terminate()
        self.start()
        self.wait_healthy(timeout, ready=ready)
        return self
