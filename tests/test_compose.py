"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

They catch what breaks `docker compose up` late: a missing build context or mounted
file, a dependency on a service without a healthcheck, a port that does not match the
service's default, a migration step that would restart forever.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.processes import REPO_ROOT
from northstar.config import RateLimitSettings
from northstar.db.grafana_role import GRAFANA_TABLES
from northstar.db.grafana_role import ROLE as GRAFANA_ROLE
from services.api.settings import ApiSettings

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


def test_only_the_proxy_publishes_the_service_ports(services: dict[str, dict[str, Any]]) -> None:
    """The services are reached through nginx (header and body timeouts uvicorn lacks),
    on their default ports."""
    nginx = (REPO_ROOT / "deploy" / "proxy" / "nginx.conf").read_text()
    published = [str(p).rsplit(":", 2)[-2:] for p in services["proxy"]["ports"]]
    for name, port in DEFAULT_PORTS.items():
        service = services[name]
        assert "ports" not in service, f"{name} must be reached through the proxy only"
        assert service["environment"].get("NORTHSTAR_HTTP_PORT", str(port)) == str(port)
        assert f"127.0.0.1:{port}/" in " ".join(service["healthcheck"]["test"])
        assert [str(port), str(port)] in published, f"the proxy must publish {port}:{port}"
        assert f"listen {port};" in nginx and f"proxy_pass http://{name}:{port};" in nginx
    assert all(str(p).startswith("127.0.0.1:") for p in services["proxy"]["ports"])
    for directive in ("client_header_timeout", "client_body_timeout", "limit_conn "):
        assert directive in nginx


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


def test_the_collector_runs_with_the_others_and_is_scraped(
    services: dict[str, dict[str, Any]],
) -> None:
    """Sources (docs/sources.md): the collector shares the services' settings, has no
    published port (nothing outside calls it) and Prometheus scrapes it."""
    collector = services["collector"]
    assert collector["command"] == ["python", "-m", "services.collector"]
    assert "ports" not in collector
    env = collector["environment"]
    assert env["NORTHSTAR_HTTP_PORT"] == "8003"
    assert env["NORTHSTAR_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "@timescaledb:5432/" in env["NORTHSTAR_DATABASE_URL"]
    assert "NORTHSTAR_ENCRYPTION_KEYS" in env  # it opens the sources' sealed connections
    assert "127.0.0.1:8003/readyz" in " ".join(collector["healthcheck"]["test"])
    assert collector["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    scrape = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert jobs["collector"]["static_configs"][0]["targets"] == ["collector:8003"]


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
    assert "alembic upgrade head && python -m northstar.db.grafana_role" in " ".join(
        migrate["command"]
    )
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
        if copied.startswith("--from="):
            continue  # from an earlier build stage, not the build context
        for source in copied.split():
            assert (REPO_ROOT / source).exists(), f"Dockerfile copies missing {source}"
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv"} <= set(ignored)


# --- Monitoring: Prometheus and Grafana ---------------------------------------------------

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path of a service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        path = _local_path(source)
        if path is not None:
            mounts[target] = path
    return mounts


def _host_in_container(service: dict[str, Any], container_path: str) -> Path:
    """The host file a container path of `service` resolves to through its bind mounts."""
    for target, source in sorted(_mounts(service).items(), key=lambda m: -len(m[0])):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{container_path} is not mounted from the repository")


def test_monitoring_services_are_there(services: dict[str, dict[str, Any]]) -> None:
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")
    for name, port in {"prometheus": 9090, "grafana": 3000}.items():
        published = [str(p).rsplit(":", 2)[-2:] for p in services[name]["ports"]]
        assert [str(port), str(port)] in published, f"{name} must publish {port}:{port}"
    assert set(services["prometheus"]["depends_on"]) >= set(DEFAULT_PORTS)
    assert "prometheus" in services["grafana"]["depends_on"]


def test_prometheus_scrapes_every_service_on_its_port(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    flags = dict(arg.split("=", 1) for arg in prometheus["command"] if "=" in arg)
    config_path = _host_in_container(prometheus, flags["--config.file"])
    assert config_path.resolve() == (PROMETHEUS_DIR / "prometheus.yml").resolve()
    config = yaml.safe_load(config_path.read_text())

    targets = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in config["scrape_configs"]
    }
    for name, port in DEFAULT_PORTS.items():
        # Job names are what the rules and dashboards select on (job="ingest", …).
        assert targets[name] == [f"{name}:{port}"], f"scrape {name} at {name}:{port}"
        assert name in services
    for rule_file in config["rule_files"]:
        matches = list(config_path.parent.glob(rule_file))
        assert matches, f"rule file {rule_file} does not exist next to prometheus.yml"


def test_grafana_data_sources_point_at_the_compose_services(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    env = grafana["environment"]
    provisioning = _host_in_container(grafana, "/etc/grafana/provisioning")
    sources_file = provisioning / "datasources" / "northstar.yml"
    sources = {s["uid"]: s for s in yaml.safe_load(sources_file.read_text())["datasources"]}

    def expand(value: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: str(env[m.group(1)]), str(value))

    prometheus_url = expand(sources["prometheus"]["url"])
    assert prometheus_url == "http://prometheus:9090"
    postgres = sources["northstar-postgres"]
    host, port = expand(postgres["url"]).split(":")
    assert host == "timescaledb" and host in services and port == "5432"
    assert expand(postgres["jsonData"]["database"]) == "northstar"
    db_env = services["timescaledb"]["environment"]
    # Grafana runs any SQL a viewer sends: it logs in as the read-only role, never the owner.
    assert expand(postgres["user"]) == GRAFANA_ROLE != db_env["POSTGRES_USER"]
    password = expand(postgres["secureJsonData"]["password"])
    assert password == services["migrate"]["environment"]["NORTHSTAR_GRAFANA_DB_PASSWORD"]
    assert password != db_env["POSTGRES_PASSWORD"]


def test_grafana_dashboards_are_provisioned_from_the_repository(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    provisioning = _host_in_container(grafana, "/etc/grafana/provisioning")
    providers = yaml.safe_load((provisioning / "dashboards" / "northstar.yml").read_text())
    sources = yaml.safe_load((provisioning / "datasources" / "northstar.yml").read_text())
    uids = {s["uid"] for s in sources["datasources"]}
    titles = set()
    for provider in providers["providers"]:
        folder = _host_in_container(grafana, provider["options"]["path"])
        assert folder.resolve() == (GRAFANA_DIR / "dashboards").resolve()
        for path in folder.glob("*.json"):
            board = json.loads(path.read_text())
            titles.add(board["title"])
            text = path.read_text()
            used = set(re.findall(r'"uid": "([^"]+)"', text)) - {board["uid"]}
            assert used <= uids, f"{path.name} uses unknown data sources {used - uids}"
    assert titles >= {
        "Northstar — KPI overview",
        "Northstar — Goal detail",
        "Northstar — Pipeline health",
    }
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _host_in_container(grafana, home).is_file()


# --- safe by default ----------------------------------------------------------------------

SECRETS = (
    "POSTGRES_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "GRAFANA_DB_PASSWORD",
    "NORTHSTAR_BOOTSTRAP_ADMIN_KEY",
    "NORTHSTAR_METRICS_KEY",
    "NORTHSTAR_ENCRYPTION_KEYS",
    "NORTHSTAR_CURSOR_SECRET",
)


def test_no_secret_has_a_default() -> None:
    """Compose refuses to start (`${VAR:?message}`) until every secret is set."""
    text = COMPOSE_FILE.read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"(:?[-?])?([^}]*)\}", text)
        assert uses, f"{name} is not used"
        for operator, _ in uses:
            assert operator == ":?", f"${{{name}}} must be required (:?), not {operator!r}"
    for password in re.findall(r"^\s*\w*PASSWORD: *(\S+)", text, re.MULTILINE):
        assert password.startswith("${") and ":?" in password, password


def test_grafana_is_not_anonymous(services: dict[str, dict[str, Any]]) -> None:
    env = services["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"


def _raw_sql(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["rawSql"]] if isinstance(node.get("rawSql"), str) else []
        return found + [sql for value in node.values() for sql in _raw_sql(value)]
    if isinstance(node, list):
        return [sql for value in node for sql in _raw_sql(value)]
    return []


def test_grafanas_role_reads_only_what_the_dashboards_query() -> None:
    queried: set[str] = set()
    for dashboard in (REPO_ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        for sql in _raw_sql(json.loads(dashboard.read_text())):
            queried |= set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", sql, re.IGNORECASE))
    assert queried, "the dashboards query no table: the pattern above is stale"
    assert queried == set(GRAFANA_TABLES)


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        if image == "northstar:local":
            assert "build" in service
            continue
        _, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.match(r"v?\d+\.\d+\.\d+", tag), (
            f"{name}: {image} is not pinned to a release"
        )
        assert "latest" not in tag


def test_prometheus_has_no_lifecycle_api_and_scrapes_the_api_with_a_key(
    services: dict[str, dict[str, Any]],
) -> None:
    assert "--web.enable-lifecycle" not in services["prometheus"]["command"]
    assert "metrics_key" in services["prometheus"]["secrets"]
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [api] = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    assert api["authorization"]["credentials_file"] == "/run/secrets/metrics_key"


# --- shared limits (SPEC §19) -------------------------------------------------------------


def test_the_api_runs_several_workers_sharing_limits_in_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    """More than one api worker, all counting rate limits and sign-in throttles in the
    compose file's Redis (a per-process store would allow workers × the limit)."""
    redis = services["redis"]
    assert redis["image"].startswith("redis:") and "healthcheck" in redis
    env = services["api"]["environment"]
    workers = re.sub(r"\$\{\w+:-(\d+)\}", r"\1", str(env["NORTHSTAR_WORKERS"]))
    storage = env["NORTHSTAR_RATE_LIMIT_STORAGE"]
    settings = RateLimitSettings(rate_limit_storage=storage)
    assert ApiSettings.model_fields["workers"].annotation is int and int(workers) > 1
    host = settings.rate_limit_storage.split("://", 1)[1].split("/")[0]
    assert host.split(":")[0] == "redis" and host.endswith(":6379")
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"
    # A counter store, not a database: nothing persisted.
    save = redis["command"].index("--save")
    assert redis["command"][save + 1] == "" and "volumes" not in redis
