"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

They catch what breaks `docker compose up` late: a missing build context or mounted
file, a dependency on a service without a healthcheck, a port that does not match the
service's default, a migration step that would restart forever.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.processes import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DEFAULT_PORTS = {"api": 8000, "ingest": 8001, "evaluator": 8002}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _local_path(value: str) -> Path | None:
    """A host path from a compose file reference, or None for a named volume."""
    if value.startswith((".", "/", "~")):
        return (REPO_ROOT / value).resolve() if not value.startswith("/") else Path(value)
    return None


def test_the_whole_stack_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"kafka", "timescaledb", "migrate", "api", "ingest", "evaluator"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb")


def test_build_contexts_and_dockerfiles_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            assert "image" in service, f"{name} has neither build nor image"
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = REPO_ROOT / build.get("context", ".")
        assert context.is_dir(), f"{name}: build context {context} missing"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_mounted_and_env_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            path = _local_path(source)
            assert path is None or path.exists(), f"{name}: mounted {source} does not exist"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str | dict) else env_files:
            entry = env_file if isinstance(env_file, dict) else {"path": env_file}
            if entry.get("required", True):
                path = REPO_ROOT / entry["path"]
                assert path.is_file(), f"{name}: env_file {entry['path']} does not exist"


def test_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if _local_path(source) is None and ":" in str(volume):
                assert source in declared, f"{name}: volume {source} not declared at top level"


def test_service_ports_match_their_defaults(services: dict[str, dict[str, Any]]) -> None:
    for name, port in DEFAULT_PORTS.items():
        service = services[name]
        env = service["environment"]
        assert env.get("NORTHSTAR_HTTP_PORT", str(port)) == str(port)
        published = [str(p).rsplit(":", 2)[-2:] for p in service["ports"]]
        assert [str(port), str(port)] in published, f"{name} must publish {port}:{port}"
        assert f"127.0.0.1:{port}/" in " ".join(service["healthcheck"]["test"])


def test_services_share_kafka_and_database_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in DEFAULT_PORTS:
        env = services[name]["environment"]
        assert env["NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
        assert env["NORTHSTAR_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["NORTHSTAR_DATABASE_URL"].startswith("postgresql://")
        assert "@timescaledb:5432/" in env["NORTHSTAR_DATABASE_URL"]
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
        assert (REPO_ROOT / "services" / name).is_dir()
    assert "NORTHSTAR_BOOTSTRAP_ADMIN_KEY" in services["api"]["environment"]


def test_dependencies_exist_and_are_awaitable(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} needs a healthcheck"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} would loop"
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition}"


def test_migrations_run_once_before_the_services(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["command"][-3:] == ["alembic", "upgrade", "head"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    for name in DEFAULT_PORTS:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_kafka_cluster_id_is_a_base64_uuid(services: dict[str, dict[str, Any]]) -> None:
    cluster_id = services["kafka"]["environment"]["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_dockerfile_runs_as_non_root_without_dev_extras() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    instructions = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    assert not any("[dev]" in line for line in instructions), "the image must not ship dev tools"
    for copied in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M):
        for source in copied.split():
            assert (REPO_ROOT / source).exists(), f"Dockerfile copies missing {source}"
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv"} <= set(ignored)
