"""`make run` (its entry point, `python -m devstack.run`) honours the settings a person gives it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx

from devstack.processes import REPO_ROOT, free_port
from devstack.run import masked, person_settings


def test_person_settings_keep_every_northstar_variable_but_the_harness_ones() -> None:
    environ = {
        "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL": "boss@example.com",
        "NORTHSTAR_SMTP_HOST": "127.0.0.1",
        "NORTHSTAR_TEST_DATABASE_URL": "postgresql://x",
        "NORTHSTAR_PG_SYSTEM_USER": "someone",
        "HOME": "/root",
    }
    assert person_settings(environ) == {
        "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL": "boss@example.com",
        "NORTHSTAR_SMTP_HOST": "127.0.0.1",
    }


def test_secrets_are_masked_when_printed() -> None:
    assert masked("NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD", "hunter2hunter2") == "****"
    assert masked("NORTHSTAR_ENCRYPTION_KEYS", "k1,k2") == "****"
    assert (
        masked("NORTHSTAR_DATABASE_URL", "postgresql://app:s3cret@db:5432/northstar")
        == "postgresql://app:****@db:5432/northstar"
    )
    assert masked("NORTHSTAR_LOG_FORMAT", "json") == "json"


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_make_run_signs_in_the_bootstrap_admin_it_was_given() -> None:
    """SPEC §2: with the bootstrap admin's email and password set, `make run` starts with
    that person able to sign in (it used to drop every variable not on a fixed list)."""
    ports = [free_port() for _ in range(3)]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")},
        "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL": "first.admin@example.com",
        "NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD": "correct horse battery staple",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, "-m", "devstack.run", "--no-seed", "--no-traffic"]
    argv += ["--api-port", str(ports[0]), "--ingest-port", str(ports[1])]
    argv += ["--evaluator-port", str(ports[2])]
    proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any("Northstar is running" in line for line in seen):
            assert proc.poll() is None, "".join(seen)
            assert time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(output.get(timeout=1.0))
            except queue.Empty:
                continue
        printed = "".join(seen)
        assert "NORTHSTAR_BOOTSTRAP_ADMIN_EMAIL=first.admin@example.com" in printed
        assert "NORTHSTAR_BOOTSTRAP_ADMIN_PASSWORD=****" in printed
        assert "correct horse" not in printed

        api = f"http://127.0.0.1:{ports[0]}"
        with httpx.Client(base_url=api, timeout=10.0) as client:
            login = client.post(
                "/v1/auth/login",
                json={
                    "email": "first.admin@example.com",
                    "password": "correct horse battery staple",
                },
            )
            assert login.status_code == 200, login.text
            me = client.get("/v1/me")
            assert me.status_code == 200, me.text
            assert me.json()["role"] == "admin"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 0, "".join(seen)
