"""`promtool` on the shipped Prometheus configuration, rules and rule unit tests, and the
dashboards' JSON against its generator (all static; no services needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devstack.processes import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"


def run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{output}"
    return output


def test_config_is_valid(promtool: str, tmp_path: Path) -> None:
    """promtool opens every file the config names: the metrics key compose mounts at
    /run/secrets is a stand-in file here, and the rule files are named absolutely."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    key = tmp_path / "metrics_key"
    key.write_text("a-stand-in-metrics-key")
    [api] = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    assert api["authorization"]["credentials_file"] == "/run/secrets/metrics_key"
    api["authorization"]["credentials_file"] = str(key)
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    output = run(promtool, "check", "config", str(copy))
    assert "2 rule files found" in output


def test_rules_are_valid(promtool: str) -> None:
    rules = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
    assert {p.name for p in rules} == {"recording.yml", "alerts.yml"}
    run(promtool, "check", "rules", *map(str, rules))


def test_rule_unit_tests_pass(promtool: str) -> None:
    tests = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
    assert len(tests) >= 2
    output = run(promtool, "test", "rules", *map(str, tests))
    assert "FAILED" not in output


@pytest.mark.parametrize("name", ["recording.yml", "alerts.yml"])
def test_every_rule_file_is_unit_tested(name: str) -> None:
    referenced = "".join(p.read_text() for p in (PROMETHEUS_DIR / "tests").glob("*.yml"))
    assert f"../rules/{name}" in referenced


def test_every_alert_has_summary_description_and_runbook() -> None:
    import yaml

    groups = yaml.safe_load((PROMETHEUS_DIR / "rules" / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"]]
    assert len(alerts) >= 8
    tested = (PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text()
    for rule in alerts:
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no unit test"


def test_dashboards_match_their_generator() -> None:
    run(sys.executable, str(GRAFANA_DIR / "generate_dashboards.py"), "--check")
