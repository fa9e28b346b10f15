"""The `northstar` command over real processes: the installed console script as a
subprocess, against the api as a real process on a real PostgreSQL (and broker).

One api for the module (starting it is most of the time); each test works on objects
of its own (its own label and names), so they do not depend on each other's order.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.postgres import PostgresServer, create_database, drop_database
from devstack.processes import ServiceProcess, free_port

NORTHSTAR = str(Path(sys.executable).parent / "northstar")
PERIOD = 'start: "2026-01-01T00:00:00Z"\n  due: "2026-12-31T00:00:00Z"'


@dataclass
class Stack:
    url: str
    admin_key: str
    http: httpx.Client

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        response = self.http.request(method, f"{self.url}{path}", json=body, headers=headers)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def goals(self) -> dict[str, dict[str, Any]]:
        return {g["title"]: g for g in self.call("GET", "/v1/goals?limit=500")["items"]}


@pytest.fixture(scope="module")
async def stack(
    pg_server: PostgresServer,
    migrated_template: str,
    kafka_bootstrap: str,
    admin_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    name = f"t_{uuid.uuid4().hex}"
    database_url = await create_database(pg_server.url, name, template=migrated_template)
    prefix = f"t{uuid.uuid4().hex[:8]}."
    api = ServiceProcess(
        "api",
        "services.api",
        {
            "NORTHSTAR_DATABASE_URL": database_url,
            "NORTHSTAR_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "NORTHSTAR_TOPIC_PREFIX": prefix,
            "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
            "NORTHSTAR_HTTP_HOST": "127.0.0.1",
            "NORTHSTAR_LOG_FORMAT": "console",
            # Email channels validate without DNS (nothing is sent in these tests).
            "NORTHSTAR_SMTP_HOST": "127.0.0.1",
        },
        free_port(),
        log_dir=tmp_path_factory.mktemp("cli-api"),
    )
    api.start()
    try:
        api.wait_healthy(60, ready=True)
        with httpx.Client(timeout=60) as http:
            yield Stack(api.url, admin_key, http)
    finally:
        api.send_terminate()
        api.terminate()
        await drop_database(pg_server.url, name)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A config directory of the test's own (where `login` keeps the key)."""
    yield tmp_path / "config"


def northstar(
    *args: str,
    stack: Stack | None = None,
    key: str | None = None,
    home: Path | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")}
    env["XDG_CONFIG_HOME"] = str(home or Path("/nonexistent"))
    env["COLUMNS"] = "200"
    if stack is not None:
        env["NORTHSTAR_URL"] = stack.url
        env["NORTHSTAR_API_KEY"] = key or stack.admin_key
    return subprocess.run(
        [NORTHSTAR, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def files(
    directory: Path,
    label: str,
    *,
    target: int = 100,
    extra_goal: bool = True,
    reason: str | None = None,
) -> Path:
    """An organisation in three files: units, KPIs, goals (labelled `team: <label>`)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "units.yaml").write_text(
        f"""apiVersion: northstar/v1
kind: Unit
metadata: {{name: {label}-org, labels: {{team: {label}}}}}
spec: {{name: Org {label}, kind: organization}}
---
apiVersion: northstar/v1
kind: Unit
metadata: {{name: {label}-sales, labels: {{team: {label}}}}}
spec: {{name: Sales {label}, kind: department, parent: {label}-org}}
"""
    )
    (directory / "kpis.yaml").write_text(
        f"""apiVersion: northstar/v1
kind: KPI
metadata: {{name: {label}_revenue}}
spec:
  name: Revenue
  expression: sum({label}_revenue)
  kind: lagging
"""
    )
    goals = f"""apiVersion: northstar/v1
kind: Goal
metadata: {{name: {label}-grow, labels: {{team: {label}}}{f", reason: {reason}" if reason else ""}}}
spec:
  title: Grow {label}
  unit: {label}-sales
  kpi: {label}_revenue
  target: {target}
  {PERIOD}
"""
    if extra_goal:
        goals += f"""---
apiVersion: northstar/v1
kind: Goal
metadata: {{name: {label}-retain, labels: {{team: {label}}}}}
spec:
  title: Retain {label}
  unit: {label}-sales
  parent: {label}-grow
  kpi: {label}_revenue
  target: 50
  {PERIOD}
"""
    (directory / "goals.yaml").write_text(goals)
    return directory


def test_an_invalid_file_gets_file_line_column_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """apiVersion: northstar/v1
kind: KPI
metadata: {name: revenue}
spec:
  name: Revenue
  expression: sum(revenue) * )
  kind: lagging
---
apiVersion: northstar/v1
kind: Goal
metadata: {name: grow}
spec:
  title: Grow
  colour: red
  target: lots
  unit: nowhere
"""
    )
    result = northstar("validate", "-f", str(path))
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert f"{path}:6:30: spec.expression: expected a number" in lines[0]
    assert lines[1] == f"{path}:14:3: spec.colour: unknown field"
    assert lines[2].startswith(f"{path}:15:11: spec.target: Input should be a valid number")
    good = tmp_path / "good.yaml"
    good.write_text(path.read_text().replace(" * )", "").split("---")[0])
    assert northstar("validate", "-f", str(good)).returncode == 0
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(
        "apiVersion: northstar/v1\nkind: Goal\nmetadata: {name: g}\n"
        "spec:\n  title: G\n  unit: nowhere\n"
    )
    result = northstar("validate", "-f", str(unknown))
    assert result.returncode == 1
    assert f"{unknown}:6:9: spec.unit: unknown reference: no Unit named 'nowhere'" in result.stderr


def test_plan_exit_codes_apply_round_trip_and_a_second_apply_is_a_no_op(
    stack: Stack, tmp_path: Path
) -> None:
    directory = files(tmp_path / "org", "rt")
    planned = northstar("plan", "-f", str(directory), stack=stack)
    assert planned.returncode == 2, planned
    assert "+ create Goal rt-grow" in planned.stdout
    assert "Grow rt" not in stack.goals(), "plan wrote"

    applied = northstar("apply", "-f", str(directory), stack=stack)
    assert applied.returncode == 0, applied
    assert "5 created" in applied.stdout
    goals = stack.goals()
    assert goals["Retain rt"]["parent_id"] == goals["Grow rt"]["id"]

    again = northstar("apply", "-f", str(directory), stack=stack)
    assert again.returncode == 0 and "No changes" in again.stdout, again

    # A field-by-field plan of a change; the goal has started, so it needs a reason.
    files(directory, "rt", target=120)
    unexplained = northstar("plan", "-f", str(directory), stack=stack)
    assert unexplained.returncode == 1
    assert "reason is required" in unexplained.stderr
    assert f"{directory / 'goals.yaml'}:3:" in unexplained.stderr, "points at the document"
    files(directory, "rt", target=120, reason="new pricing")
    changed = northstar("plan", "-f", str(directory), stack=stack)
    assert changed.returncode == 2, changed
    assert "~ update Goal rt-grow" in changed.stdout
    assert "target: 100.0 → 120.0" in changed.stdout
    files(directory, "rt")

    # Export, then plan the export: nothing to change.
    exported = tmp_path / "exported.yaml"
    result = northstar("export", "-o", str(exported), stack=stack)
    assert result.returncode == 0, result
    documents = list(yaml.safe_load_all(exported.read_text()))
    assert all("version" in d["metadata"] for d in documents)
    round_trip = northstar("plan", "-f", str(exported), stack=stack)
    assert round_trip.returncode == 0, round_trip
    # …and of one unit's subtree, on its own.
    subtree = tmp_path / "sales.yaml"
    assert (
        northstar("export", "--unit", "rt-sales", "-o", str(subtree), stack=stack).returncode == 0
    )
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(subtree.read_text())]
    assert ("Unit", "rt-org") not in kinds and ("Goal", "rt-retain") in kinds
    # Self-contained: the references to objects above the subtree are left out.
    assert northstar("validate", "-f", str(subtree)).returncode == 0
    assert northstar("plan", "-f", str(subtree), stack=stack).returncode == 0

    status = northstar("status", stack=stack)
    assert status.returncode == 0, status
    assert "Grow rt" in status.stdout and "Retain rt" in status.stdout


def test_prune_deletes_only_labelled_objects_the_files_dropped(
    stack: Stack, tmp_path: Path
) -> None:
    directory = files(tmp_path / "org", "pr")
    assert northstar("apply", "-f", str(directory), stack=stack).returncode == 0
    sales = stack.call("GET", "/v1/units")["items"]
    sales_id = next(u["id"] for u in sales if u["name"] == "Sales pr")
    stack.call("POST", "/v1/goals", {"title": "Web pr", "unit_id": sales_id})
    files(directory, "pr", extra_goal=False)

    refused = northstar("apply", "-f", str(directory), "--prune", stack=stack)
    assert refused.returncode == 1 and "-l key=value" in refused.stderr
    plan = northstar("plan", "-f", str(directory), "--prune", "-l", "team=pr", stack=stack)
    assert plan.returncode == 2 and "- delete Goal pr-retain" in plan.stdout, plan
    applied = northstar("apply", "-f", str(directory), "--prune", "-l", "team=pr", stack=stack)
    assert applied.returncode == 0, applied
    titles = set(stack.goals())
    assert "Retain pr" not in titles
    assert {"Grow pr", "Web pr", "Grow rt", "Retain rt"} <= titles or {
        "Grow pr",
        "Web pr",
    } <= titles


def test_a_channel_target_comes_from_the_environment_and_is_never_exported(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        """apiVersion: northstar/v1
kind: Unit
metadata: {name: ch-org}
spec: {name: Org ch, kind: organization}
---
apiVersion: northstar/v1
kind: Channel
metadata: {name: ch-room, labels: {team: ch}}
spec:
  name: Room ch
  kind: email
  unit: ch-org
  target: {fromEnv: CH_ROOM_TARGET}
---
apiVersion: northstar/v1
kind: Subscription
metadata: {name: ch-all, labels: {team: ch}}
spec: {channel: ch-room, scope: {unit: ch-org}}
"""
    )
    monkeypatch.delenv("CH_ROOM_TARGET", raising=False)
    assert northstar("validate", "-f", str(path)).returncode == 0, "validate needs no secret"
    unset = northstar("plan", "-f", str(path), stack=stack)
    assert unset.returncode == 1
    assert f"{path}:13:21:" in unset.stderr and "CH_ROOM_TARGET is not set" in unset.stderr
    monkeypatch.setenv("CH_ROOM_TARGET", "room-ch@example.org")
    applied = northstar("apply", "-f", str(path), stack=stack)
    assert applied.returncode == 0, applied
    assert "room-ch@example.org" not in applied.stdout + applied.stderr
    again = northstar("plan", "-f", str(path), stack=stack)
    assert again.returncode == 0, again
    exported = tmp_path / "exported.yaml"
    assert northstar("export", "-o", str(exported), stack=stack).returncode == 0
    assert "room-ch@example.org" not in exported.read_text()
    monkeypatch.delenv("CH_ROOM_TARGET")
    round_trip = northstar("plan", "-f", str(exported), stack=stack)
    assert round_trip.returncode == 0, round_trip
    pruned = northstar("apply", "-f", str(path), "--prune", "-l", "team=ch", stack=stack)
    assert pruned.returncode == 1, "the files still need the secret"
    monkeypatch.setenv("CH_ROOM_TARGET", "room-ch@example.org")
    path.write_text(path.read_text().split("---")[0])
    pruned = northstar("apply", "-f", str(path), "--prune", "-l", "team=ch", stack=stack)
    assert pruned.returncode == 0, pruned
    assert not [c for c in stack.call("GET", "/v1/channels")["items"] if c["name"] == "Room ch"]


def test_a_web_edit_between_plan_and_apply_is_refused_and_nothing_is_half_applied(
    stack: Stack, tmp_path: Path
) -> None:
    assert northstar("apply", "-f", str(files(tmp_path / "org", "cc")), stack=stack).returncode == 0
    exported = tmp_path / "exported.yaml"
    assert northstar("export", "-o", str(exported), stack=stack).returncode == 0
    documents = list(yaml.safe_load_all(exported.read_text()))
    for document in documents:
        name = document["metadata"]["name"]
        if name == "cc-sales":
            document["spec"]["name"] = "Sales cc (renamed in git)"  # applied before goals
        if name == "cc-grow":
            document["spec"]["title"] = "Grow cc (from git)"
    exported.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    assert northstar("plan", "-f", str(exported), stack=stack).returncode == 2

    goal = stack.goals()["Grow cc"]
    stack.call("PATCH", f"/v1/goals/{goal['id']}", {"description": "edited in the web app"})

    result = northstar("apply", "-f", str(exported), stack=stack)
    assert result.returncode == 1, result
    assert "Goal 'cc-grow' was changed on the server" in result.stderr
    assert f"{exported}:" in result.stderr, "points at the document"
    units = {u["name"] for u in stack.call("GET", "/v1/units")["items"]}
    assert "Sales cc" in units and "Sales cc (renamed in git)" not in units
    assert "Grow cc" in stack.goals()


def test_a_leads_apply_outside_their_subtree_is_refused_and_login_keeps_the_key(
    stack: Stack, tmp_path: Path, home: Path
) -> None:
    directory = files(tmp_path / "org", "ld")
    assert northstar("apply", "-f", str(directory), stack=stack).returncode == 0
    units = {u["name"]: u["id"] for u in stack.call("GET", "/v1/units")["items"]}
    lead = stack.call(
        "POST",
        "/v1/users",
        {
            "email": "lead.ld@example.org",
            "name": "Lead",
            "role": "member",
            "password": "a long enough password",
        },
    )
    stack.call("PUT", f"/v1/units/{units['Sales ld']}/members/{lead['id']}", {"role": "lead"})
    web = httpx.Client(base_url=stack.url, timeout=30)
    signed = web.post(
        "/v1/auth/login",
        json={"email": "lead.ld@example.org", "password": "a long enough password"},
    )
    assert signed.status_code == 200, signed.text
    web.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    made = web.post("/v1/me/api-keys", json={"name": "cli", "scopes": ["write"]})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    web.close()

    login = northstar("login", "--url", stack.url, "--key", "-", stdin=key + "\n", home=home)
    assert login.returncode == 0, login
    stored = home / "northstar" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert key in stored.read_text()

    # Inside the lead's subtree: allowed, with the stored login (no key in the environment).
    env_less = northstar("plan", "-f", str(directory), home=home)
    assert env_less.returncode == 0, env_less
    inside = tmp_path / "inside.yaml"
    inside.write_text(
        "apiVersion: northstar/v1\nkind: Goal\nmetadata: {name: ld-grow}\n"
        "spec:\n  title: Grow ld\n  description: by the lead\n"
    )
    assert northstar("apply", "-f", str(inside), home=home).returncode == 0
    # Outside (the org unit's own goal): refused, and the allowed change with it.
    outside = tmp_path / "outside.yaml"
    outside.write_text(
        inside.read_text().replace("by the lead", "by the lead, again")
        + "---\napiVersion: northstar/v1\nkind: Goal\nmetadata: {name: ld-top}\n"
        "spec:\n  title: Top ld\n  unit: ld-org\n"
    )
    refused = northstar("apply", "-f", str(outside), home=home)
    assert refused.returncode == 1, refused
    assert "Not allowed" in refused.stderr and "ld-top" in refused.stderr
    goals = stack.goals()
    assert "Top ld" not in goals
    assert goals["Grow ld"]["description"] == "by the lead"


def test_status_watch_into_a_pipe_prints_each_refresh_and_stops_cleanly_on_ctrl_c(
    stack: Stack, tmp_path: Path
) -> None:
    """`northstar status --watch | …`: every refresh is printed (a Live display would print
    nothing into a pipe until interrupted), a change on the server shows in a later one,
    and Ctrl-C ends it with 0."""
    assert northstar("apply", "-f", str(files(tmp_path / "org", "wt")), stack=stack).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")}
    env |= {"NORTHSTAR_URL": stack.url, "NORTHSTAR_API_KEY": stack.admin_key, "COLUMNS": "200"}
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    watch = subprocess.Popen(
        [NORTHSTAR, "status", "--watch", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in watch.stdout or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def read_until(text: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return
        raise AssertionError(f"{text!r} not printed in 30 s:\n{''.join(seen)}")

    try:
        read_until("Grow wt")
        goal = stack.goals()["Grow wt"]
        stack.call("PATCH", f"/v1/goals/{goal['id']}", {"title": "Grow wt, renamed"})
        read_until("Grow wt, renamed")
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 0, watch.stderr.read() if watch.stderr else ""
    finally:
        watch.kill()
    assert sum(line.startswith("# ") for line in seen) >= 2, "one heading per refresh"
