"""deploy/k8s against the code it deploys (SPEC §19): both overlays render and validate
strictly; the KEDA trigger names the evaluator's consumer group and topic as the code's
settings default them; every probe points at a route the service's app really has; pods
run locked down; secrets are referenced, never given. Renders with the real `kubectl`
(deploy/k8s/validate.py); no cluster needed."""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from devstack.processes import REPO_ROOT
from northstar.config import KafkaSettings
from northstar.kafka import Topics
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.collector.app import create_app as create_collector
from services.collector.settings import CollectorSettings
from services.evaluator.app import create_app as create_evaluator
from services.evaluator.settings import EvaluatorSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings

Doc = dict[str, Any]
SERVICES = ("api", "ingest", "evaluator", "collector")
SECRET_VARIABLES = {
    "NORTHSTAR_DATABASE_URL",
    "NORTHSTAR_ENCRYPTION_KEYS",
    "NORTHSTAR_CURSOR_SECRET",
    "NORTHSTAR_METRICS_KEY",
    "NORTHSTAR_BOOTSTRAP_ADMIN_KEY",
    "NORTHSTAR_RATE_LIMIT_STORAGE",
}
DUMMY_DB = "postgresql://northstar@127.0.0.1:9/northstar"


def _validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deploy_k8s_validate", REPO_ROOT / "deploy" / "k8s" / "validate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VALIDATE = _validator()
OVERLAYS = VALIDATE.overlays()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    return {overlay: VALIDATE.render(overlay) for overlay in OVERLAYS}


def _one(docs: list[Doc], kind: str, name: str) -> Doc:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _pods(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def test_both_overlays_render_and_validate_strictly(rendered: dict[str, list[Doc]]) -> None:
    assert set(OVERLAYS) == {"dev", "production"}
    for overlay, docs in rendered.items():
        assert VALIDATE.validate(docs) == [], overlay
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
            "northstar-dev" if overlay == "dev" else "northstar"
        }


def test_strict_validation_refuses_what_a_cluster_would_not_take(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["production"]
    deployment = copy.deepcopy(_one(docs, "Deployment", "api"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    scaled = copy.deepcopy(_one(docs, "ScaledObject", "evaluator"))
    del scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"]
    monitor = copy.deepcopy(_one(docs, "PodMonitor", "northstar-api"))
    monitor["spec"]["podMetricsEndpoints"][0]["bearerToken"] = "inline"
    unknown = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}}
    problems = VALIDATE.validate([deployment, scaled, monitor, unknown])
    assert any("livenessProbes" in p for p in problems), problems
    assert any("consumerGroup" in p for p in problems), problems
    assert any("bearerToken" in p for p in problems), problems
    assert any("Thing" in p for p in problems), problems


def test_every_long_running_service_is_deployed(rendered: dict[str, list[Doc]]) -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    ours = {n for n, s in compose.items() if s.get("image") == "northstar:local"}
    assert ours == {*SERVICES, "migrate"}
    for docs in rendered.values():
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        for name in SERVICES:
            assert ("Deployment", name) in kinds and ("PodDisruptionBudget", name) in kinds
            deployment = _one(docs, "Deployment", name)
            assert "replicas" not in deployment["spec"], f"{name}: its autoscaler sets replicas"
            [container] = deployment["spec"]["template"]["spec"]["containers"]
            assert container["command"] == compose[name]["command"]
        assert {("HorizontalPodAutoscaler", n) for n in ("api", "ingest")} <= kinds
        for name in ("api", "ingest"):
            target = _one(docs, "HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == ("Deployment", name)
        job = _one(docs, "Job", "northstar-migrate")
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        [container] = job["spec"]["template"]["spec"]["containers"]
        assert "alembic upgrade head" in " ".join(container["command"])
        deny = _one(docs, "NetworkPolicy", "northstar-default-deny")["spec"]
        assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
        assert not any(d["kind"] == "Secret" for d in docs), "secrets are never in the manifests"


def test_the_migration_step_carries_what_the_job_needs(rendered: dict[str, list[Doc]]) -> None:
    """`kubectl apply -k … -l northstar/rollout-step=migrate` (docs/deploy.md) applies the
    Job with its namespace, ServiceAccount and ConfigMap, and nothing of the services."""
    for docs in rendered.values():
        step = {
            (d["kind"], d["metadata"]["name"])
            for d in docs
            if d["metadata"].get("labels", {}).get("northstar/rollout-step") == "migrate"
        }
        job = _one(docs, "Job", "northstar-migrate")
        pod = job["spec"]["template"]["spec"]
        needs = {("Job", "northstar-migrate"), ("ServiceAccount", pod["serviceAccountName"])}
        for container in pod["containers"]:
            needs |= {("ConfigMap", e["configMapRef"]["name"]) for e in container["envFrom"]}
        needs.add(("Namespace", job["metadata"]["namespace"]))
        assert step == needs


def test_keda_scales_the_evaluator_on_its_group_and_topic(rendered: dict[str, list[Doc]]) -> None:
    group = EvaluatorSettings.model_fields["consumer_group"].default
    prefix = KafkaSettings.model_fields["topic_prefix"].default
    default_partitions = KafkaSettings.model_fields["events_partitions"].default
    for overlay, docs in rendered.items():
        config = _one(docs, "ConfigMap", "northstar-config")["data"]
        scaled = _one(docs, "ScaledObject", "evaluator")["spec"]
        assert scaled["scaleTargetRef"]["name"] == "evaluator"
        assert _one(docs, "Deployment", "evaluator")
        [trigger] = scaled["triggers"]
        assert trigger["type"] == "kafka"
        metadata = trigger["metadata"]
        assert config["NORTHSTAR_TOPIC_PREFIX"] == prefix
        assert metadata["consumerGroup"] == group
        assert metadata["topic"] == Topics.with_prefix(prefix).events
        assert metadata["bootstrapServers"] == config["NORTHSTAR_KAFKA_BOOTSTRAP"]
        assert int(metadata["lagThreshold"]) > 0
        assert metadata["allowIdleConsumers"] == "false"
        # Never more replicas than the events topic has partitions.
        partitions = int(config["NORTHSTAR_EVENTS_PARTITIONS"])
        assert scaled["maxReplicaCount"] == partitions, overlay
        assert 1 <= scaled.get("minReplicaCount", 0) <= scaled["maxReplicaCount"]
        if overlay == "production":
            assert partitions == default_partitions


def _apps() -> dict[str, FastAPI]:
    return {
        "api": create_api(ApiSettings(database_url=DUMMY_DB)),
        "ingest": create_ingest(IngestSettings(database_url=DUMMY_DB, kafka_bootstrap="k:9092")),
        "evaluator": create_evaluator(
            EvaluatorSettings(database_url=DUMMY_DB, kafka_bootstrap="k:9092")
        ),
        "collector": create_collector(
            CollectorSettings(database_url=DUMMY_DB, kafka_bootstrap="k:9092")
        ),
    }


def _get_paths(routes: Iterable[BaseRoute], prefix: str = "") -> set[str]:
    """Paths with a GET route, following included routers (FastAPI keeps them whole)."""
    paths: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            paths |= _get_paths(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute | Route) and "GET" in (route.methods or ()):
            paths.add(prefix + route.path)
    return paths


def test_probes_and_scrapes_point_at_routes_that_exist(rendered: dict[str, list[Doc]]) -> None:
    apps = _apps()
    defaults = {
        "api": ApiSettings.model_fields["http_port"].default,
        "ingest": IngestSettings.model_fields["http_port"].default,
        "evaluator": EvaluatorSettings.model_fields["http_port"].default,
        "collector": CollectorSettings.model_fields["http_port"].default,
    }
    for docs in rendered.values():
        monitored: dict[str, str] = {}
        for monitor in (d for d in docs if d["kind"] == "PodMonitor"):
            for endpoint in monitor["spec"]["podMetricsEndpoints"]:
                monitored[monitor["metadata"]["name"]] = endpoint["path"]
        for name in SERVICES:
            routes = _get_paths(apps[name].routes)
            [container] = _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
            [port] = container["ports"]
            assert port["containerPort"] == defaults[name]
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["NORTHSTAR_HTTP_PORT"] == str(defaults[name])
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = container[probe]["httpGet"]
                assert get["path"] in routes, f"{name}: {probe} {get['path']} is no route"
                assert get["port"] == port["name"]
        assert set(monitored.values()) == {"/metrics"}
        assert all("/metrics" in _get_paths(app.routes) for app in apps.values())
        selected = _scraped_components(docs)
        assert selected == set(SERVICES)


def _scraped_components(docs: list[Doc]) -> set[str]:
    components: set[str] = set()
    for monitor in (d for d in docs if d["kind"] == "PodMonitor"):
        selector = monitor["spec"]["selector"]
        assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"
        if "app.kubernetes.io/component" in selector.get("matchLabels", {}):
            components.add(selector["matchLabels"]["app.kubernetes.io/component"])
        for expression in selector.get("matchExpressions", []):
            if expression["key"] == "app.kubernetes.io/component":
                components |= set(expression["values"])
    return components


def test_pods_are_locked_down(rendered: dict[str, list[Doc]]) -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    uid = int(re.search(r"--uid (\d+)", dockerfile).group(1))  # type: ignore[union-attr]
    for docs in rendered.values():
        for name, pod in _pods(docs):
            context = pod["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] == uid, name
            assert context["seccompProfile"]["type"] == "RuntimeDefault", name
            assert pod["automountServiceAccountToken"] is False, name
            volumes = {v["name"]: v for v in pod["volumes"]}
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, name
                assert security["allowPrivilegeEscalation"] is False, name
                assert security["capabilities"]["drop"] == ["ALL"], name
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp must be writable"
                resources = container["resources"]
                assert {"cpu", "memory"} <= set(resources["requests"]), name
                assert "memory" in resources["limits"], name


def test_secrets_are_referenced_never_given(rendered: dict[str, list[Doc]]) -> None:
    for docs in rendered.values():
        config = _one(docs, "ConfigMap", "northstar-config")["data"]
        assert not SECRET_VARIABLES & set(config)
        for name, pod in _pods(docs):
            for container in pod["containers"]:
                for variable in container.get("env", []):
                    if variable["name"] in SECRET_VARIABLES:
                        assert "value" not in variable, f"{name}: {variable['name']} has a value"
                        reference = variable["valueFrom"]["secretKeyRef"]
                        assert reference["name"] == "northstar-secrets"
        api = _one(docs, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
        from_secret = {e["name"] for e in api["env"] if "valueFrom" in e}
        assert from_secret >= SECRET_VARIABLES
