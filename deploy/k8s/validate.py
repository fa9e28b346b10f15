"""Render every overlay of deploy/k8s and validate the result offline (`make lint`).

- `kubectl kustomize deploy/k8s/overlays/<name>` renders each overlay (any kubectl from
  Debian's `kubernetes-client` 1.20 on; `make setup` installs one when none is there);
- the built-in kinds are checked by `kubernetes-validate --strict` (its bundled Kubernetes
  OpenAPI schemas; an unknown or misspelt field is an error) against the oldest Kubernetes
  version we support and the newest the package knows;
- the custom resources (KEDA's ScaledObject, the Prometheus operator's PodMonitor) are
  checked with `jsonschema` against the schemas vendored in deploy/k8s/schemas/;
- any other kind is an error: nothing reaches a cluster unvalidated.

Usage: `python deploy/k8s/validate.py [overlay ...]` (default: every overlay). Importable:
`render(overlay)` gives the documents, which tests/test_k8s.py reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

K8S_DIR = Path(__file__).resolve().parent
OVERLAYS_DIR = K8S_DIR / "overlays"
SCHEMAS_DIR = K8S_DIR / "schemas"
#: The oldest Kubernetes the manifests support (autoscaling/v2, policy/v1, batch/v1 with
#: ttlSecondsAfterFinished) and the newest the pinned kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
#: Custom resources, by (apiVersion, kind): their vendored schema file.
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com_v1_podmonitor.json",
}
# kustomize 5 warns about `bases` and `patchesStrategicMerge`, which the manifests keep so
# that Debian's kubectl (kustomize 2.0.3) renders them too.
_KNOWN_WARNINGS = ("'bases' is deprecated", "'patchesStrategicMerge' is deprecated")


class ValidationFailed(RuntimeError):
    """An overlay did not render, or a rendered document is invalid."""


def overlays() -> list[str]:
    return sorted(p.name for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())


def render(overlay: str) -> list[dict[str, Any]]:
    """The documents `kubectl kustomize` renders for `overlay`."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ValidationFailed(
            "kubectl is not on PATH: run `make setup` (apt-get install kubernetes-client)"
        )
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAYS_DIR / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ValidationFailed(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    for line in result.stderr.splitlines():
        if line.strip() and not any(known in line for known in _KNOWN_WARNINGS):
            sys.stderr.write(f"{overlay}: {line}\n")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate(docs: list[dict[str, Any]]) -> list[str]:
    """Every problem found in `docs` (empty when all are valid)."""
    problems: list[str] = []
    for doc in docs:
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if key in CUSTOM_SCHEMAS:
            schema = json.loads((SCHEMAS_DIR / CUSTOM_SCHEMAS[key]).read_text())
            validator = jsonschema.Draft202012Validator(schema)
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                where = "/".join(str(p) for p in error.absolute_path) or "(document)"
                problems.append(f"{_name(doc)}: {where}: {error.message}")
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{_name(doc)}: {key[0]} {key[1]} is neither built in nor vendored")
                break
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.path) or "(document)"
                problems.append(f"{_name(doc)} (Kubernetes {version}): {where}: {error.message}")
    return problems


def main(argv: list[str]) -> int:
    names = argv or overlays()
    failed = False
    for overlay in names:
        try:
            docs = render(overlay)
        except ValidationFailed as error:
            sys.stderr.write(f"{error}\n")
            failed = True
            continue
        problems = validate(docs)
        for problem in problems:
            sys.stderr.write(f"deploy/k8s/overlays/{overlay}: {problem}\n")
        failed = failed or bool(problems)
        verdict = "INVALID" if problems else "valid"
        print(f"deploy/k8s/overlays/{overlay}: {len(docs)} documents, {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
