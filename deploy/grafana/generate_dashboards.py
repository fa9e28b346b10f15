"""Generate the Northstar Grafana dashboards (`deploy/grafana/dashboards/*.json`).

The JSON is committed (Grafana provisions it as is); this script is its source, so a
change is reviewed here as code and the regenerated JSON shows up in the same diff.

    python deploy/grafana/generate_dashboards.py          # write the JSON files
    python deploy/grafana/generate_dashboards.py --check  # exit 1 if they are out of date

Queries only use metrics the services export (northstar/telemetry.py,
services/api/gauges.py) and the recording rules in deploy/prometheus/rules/recording.yml;
tests/observability/test_prometheus.py runs every one of them against a real Prometheus
scraping the real services. Business gauges are `max` over api replicas (each replica
exports the same values); pipeline metrics are selected by job.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": "northstar-postgres"}
GOAL = "goal_id, goal, kpi, unit"  # the per-goal labels of the business gauges

STATUS_COLORS = {
    "not_started": "#8e8e8e",
    "no_data": "#b877d9",
    "on_track": "green",
    "at_risk": "orange",
    "off_track": "red",
    "achieved": "blue",
    "missed": "dark-red",
}

Panel = dict[str, Any]


class Layout:
    """Hands out panel ids and grid positions, left to right and top to bottom."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_height = 0
        self.next_id = 1

    def place(self, panel: Panel, w: int, h: int) -> Panel:
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.next_id += 1
        self.x += w
        self.row_height = max(self.row_height, h)
        return panel

    def row(self, title: str) -> Panel:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel = {"type": "row", "title": title, "collapsed": False, "panels": []}
        self.place(panel, 24, 1)
        self.x, self.y, self.row_height = 0, self.y + 1, 0
        return panel


def prom(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {
        "datasource": PROMETHEUS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if instant:
        target["format"] = "table"
    return target


def sql(query: str, *, ref: str = "A", fmt: str = "table") -> dict[str, Any]:
    return {
        "datasource": POSTGRES,
        "refId": ref,
        "rawSql": query,
        "rawQuery": True,
        "editorMode": "code",
        "format": fmt,
    }


def panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    *,
    description: str = "",
    unit: str | None = None,
    options: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    transformations: list[dict[str, Any]] | None = None,
    decimals: int | None = None,
    thresholds: list[tuple[float | None, str]] | None = None,
    mappings: list[dict[str, Any]] | None = None,
) -> Panel:
    defaults: dict[str, Any] = {}
    if mappings:
        defaults["mappings"] = mappings
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    if thresholds:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"value": value, "color": color} for value, color in thresholds],
        }
    result: Panel = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": targets[0]["datasource"],
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        result["transformations"] = transformations
    return result


def status_overrides() -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byName", "options": status},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
        }
        for status, color in STATUS_COLORS.items()
    ]


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Panel],
    *,
    variables: list[dict[str, Any]] | None = None,
    time_from: str = "now-6h",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["northstar"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables or []},
        "annotations": {"list": []},
        "links": [
            {
                "title": "Northstar dashboards",
                "type": "dashboards",
                "tags": ["northstar"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "panels": panels,
    }


# -- KPI overview --------------------------------------------------------------------------


def kpi_overview() -> dict[str, Any]:
    layout = Layout()
    goal_link = {
        "title": "Goal detail",
        "url": "/d/northstar-goal-detail?var-goal=${__data.fields.goal_id}&${__url_time_range}",
    }
    panels = [
        layout.place(
            panel(
                "stat",
                "Goals by status",
                [prom("status:northstar_goals:max", "{{status}}")],
                description="Evaluated goals by their current status.",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                overrides=status_overrides(),
            ),
            16,
            5,
        ),
        layout.place(
            panel(
                "stat",
                "Open alerts",
                [prom("sum(kind_severity:northstar_alerts_open:max)", "open alerts")],
                description="Alerts in state open or acknowledged.",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "green"), (1, "orange")],
            ),
            4,
            5,
        ),
        layout.place(
            panel(
                "stat",
                "Open critical alerts",
                [
                    prom(
                        'sum(kind_severity:northstar_alerts_open:max{severity="critical"})',
                        "critical",
                    )
                ],
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "green"), (1, "red")],
            ),
            4,
            5,
        ),
        layout.place(
            panel(
                "table",
                "Goals: actual vs expected vs target",
                [
                    prom(
                        f'max by ({GOAL}) (northstar_goal_actual{{job="api"}})',
                        ref="A",
                        instant=True,
                    ),
                    prom(
                        f'max by ({GOAL}) (northstar_goal_expected{{job="api"}})',
                        ref="B",
                        instant=True,
                    ),
                    prom(
                        f'max by ({GOAL}) (northstar_goal_target{{job="api"}})',
                        ref="C",
                        instant=True,
                    ),
                    prom(
                        f'max by ({GOAL}) (northstar_goal_score{{job="api"}})',
                        ref="D",
                        instant=True,
                    ),
                    prom(
                        f'max by ({GOAL}, status) (northstar_goal_status{{job="api"}}) == 1',
                        ref="E",
                        instant=True,
                    ),
                ],
                description="Every goal's latest evaluation. Click a goal for its detail.",
                transformations=[
                    # Instant tables with the same goal labels merge into one row per goal;
                    # E adds the `status` label as a column.
                    {"id": "merge", "options": {}},
                    {
                        "id": "organize",
                        "options": {
                            "excludeByName": {"Time": True, "Value #E": True},
                            "indexByName": {
                                "goal": 0,
                                "status": 1,
                                "Value #D": 2,
                                "Value #A": 3,
                                "Value #B": 4,
                                "Value #C": 5,
                                "kpi": 6,
                                "unit": 7,
                                "goal_id": 8,
                            },
                            "renameByName": {
                                "Value #A": "actual",
                                "Value #B": "expected",
                                "Value #C": "target",
                                "Value #D": "score",
                            },
                        },
                    },
                    {"id": "sortBy", "options": {"sort": [{"field": "score"}]}},
                ],
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "goal"},
                        "properties": [{"id": "links", "value": [goal_link]}],
                    },
                    {
                        "matcher": {"id": "byName", "options": "score"},
                        "properties": [
                            {"id": "unit", "value": "percentunit"},
                            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                            {
                                "id": "thresholds",
                                "value": {
                                    "mode": "absolute",
                                    "steps": [
                                        {"value": None, "color": "red"},
                                        {"value": 0.85, "color": "orange"},
                                        {"value": 0.95, "color": "green"},
                                    ],
                                },
                            },
                        ],
                    },
                ],
            ),
            24,
            10,
        ),
        layout.place(
            panel(
                "bargauge",
                "Score per goal",
                [prom('max by (goal_id, goal) (northstar_goal_score{job="api"})', "{{goal}}")],
                description="1 = on pace; the default thresholds are 0.95 (at risk) and "
                "0.85 (off track).",
                unit="percentunit",
                options={
                    "orientation": "horizontal",
                    "displayMode": "gradient",
                    "reduceOptions": {"calcs": ["lastNotNull"]},
                },
                thresholds=[(None, "red"), (0.85, "orange"), (0.95, "green")],
            ),
            12,
            10,
        ),
        layout.place(
            panel(
                "timeseries",
                "Goals by status over time",
                [prom("status:northstar_goals:max", "{{status}}")],
                options={"legend": {"displayMode": "list", "placement": "bottom"}},
                overrides=status_overrides(),
            ),
            12,
            10,
        ),
        layout.place(
            panel(
                "timeseries",
                "Open alerts by kind and severity",
                [prom("kind_severity:northstar_alerts_open:max", "{{kind}} / {{severity}}")],
                decimals=0,
            ),
            24,
            8,
        ),
    ]
    return dashboard(
        "northstar-kpi-overview",
        "Northstar — KPI overview",
        "Every goal's status, score and values, and the open alerts.",
        panels,
    )


# -- Goal detail ---------------------------------------------------------------------------


def goal_detail() -> dict[str, Any]:
    layout = Layout()
    one = 'job="api", goal_id="$goal"'
    goal_variable = {
        "name": "goal",
        "label": "Goal",
        "type": "query",
        "datasource": PROMETHEUS,
        # Titles to choose from, goal ids as values (titles are not unique).
        "definition": 'query_result(max by (goal_id, goal) (northstar_goal_status{job="api"}))',
        "query": {
            "query": 'query_result(max by (goal_id, goal) (northstar_goal_status{job="api"}))',
            "refId": "goal",
        },
        "regex": '/goal="(?<text>[^"]*)".*goal_id="(?<value>[^"]*)"/',
        "refresh": 2,
        "sort": 5,
        "includeAll": False,
        "multi": False,
    }
    panels = [
        layout.place(
            panel(
                "stat",
                "Status",
                [prom(f"max by (status) (northstar_goal_status{{{one}}}) == 1", "{{status}}")],
                options={
                    "reduceOptions": {"calcs": ["lastNotNull"]},
                    "textMode": "name",
                    "colorMode": "background",
                },
                overrides=status_overrides(),
            ),
            6,
            5,
        ),
        layout.place(
            panel(
                "stat",
                "Score",
                [prom(f"max(northstar_goal_score{{{one}}})", "score")],
                unit="percentunit",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "red"), (0.85, "orange"), (0.95, "green")],
            ),
            6,
            5,
        ),
        layout.place(
            panel(
                "stat",
                "Actual / expected / target",
                [
                    prom(f"max(northstar_goal_actual{{{one}}})", "actual", ref="A"),
                    prom(f"max(northstar_goal_expected{{{one}}})", "expected", ref="B"),
                    prom(f"max(northstar_goal_target{{{one}}})", "target", ref="C"),
                ],
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "none"},
            ),
            12,
            5,
        ),
        layout.place(
            panel(
                "timeseries",
                "Actual vs expected vs target",
                [
                    prom(f"max(northstar_goal_actual{{{one}}})", "actual", ref="A"),
                    prom(f"max(northstar_goal_expected{{{one}}})", "expected", ref="B"),
                    prom(f"max(northstar_goal_target{{{one}}})", "target", ref="C"),
                ],
                description="In the KPI's unit. Expected follows the goal's pace (SPEC §5).",
            ),
            16,
            9,
        ),
        layout.place(
            panel(
                "timeseries",
                "Score",
                [prom(f"max(northstar_goal_score{{{one}}})", "score")],
                unit="percentunit",
                thresholds=[(None, "red"), (0.85, "orange"), (0.95, "green")],
                options={"legend": {"showLegend": False}},
            ),
            8,
            9,
        ),
        layout.place(
            panel(
                "state-timeline",
                "Status over time (Prometheus)",
                [prom(f"max by (status) (northstar_goal_status{{{one}}}) == 1", "{{status}}")],
                overrides=status_overrides(),
                options={"showValue": "never", "mergeValues": True},
            ),
            24,
            5,
        ),
        layout.place(
            panel(
                "timeseries",
                "Score history (PostgreSQL, long term)",
                [
                    sql(
                        'SELECT time AS "time", score, actual, expected\n'
                        "FROM goal_status_history\n"
                        "WHERE goal_id = '$goal' AND $__timeFilter(time)\n"
                        "ORDER BY 1",
                        fmt="time_series",
                    )
                ],
                description="From goal_status_history: one row per status change, and at "
                "regular intervals otherwise; kept as long as the database keeps it.",
            ),
            12,
            9,
        ),
        layout.place(
            panel(
                "table",
                "Status history (PostgreSQL)",
                [
                    sql(
                        "SELECT time, status, actual, expected, score\n"
                        "FROM goal_status_history\n"
                        "WHERE goal_id = '$goal' AND $__timeFilter(time)\n"
                        "ORDER BY time DESC\n"
                        "LIMIT 500"
                    )
                ],
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "status"},
                        "properties": [
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                            {
                                "id": "mappings",
                                "value": [
                                    {
                                        "type": "value",
                                        "options": {
                                            status: {"color": color, "index": index}
                                            for index, (status, color) in enumerate(
                                                STATUS_COLORS.items()
                                            )
                                        },
                                    }
                                ],
                            },
                        ],
                    }
                ],
            ),
            12,
            9,
        ),
        layout.place(
            panel(
                "table",
                "Alerts of this goal (PostgreSQL)",
                [
                    sql(
                        "SELECT opened_at, kind, severity, state, acknowledged_by, note, "
                        "resolved_at\n"
                        "FROM alerts\n"
                        "WHERE goal_id = '$goal' AND (state <> 'resolved' OR "
                        "$__timeFilter(opened_at))\n"
                        "ORDER BY opened_at DESC\n"
                        "LIMIT 100"
                    )
                ],
            ),
            24,
            7,
        ),
    ]
    return dashboard(
        "northstar-goal-detail",
        "Northstar — Goal detail",
        "One goal: its values, score and status over time, its history and its alerts.",
        panels,
        variables=[goal_variable],
        time_from="now-7d",
    )


# -- Pipeline health -----------------------------------------------------------------------


def pipeline_health() -> dict[str, Any]:
    layout = Layout()
    up_mapping = [
        {
            "type": "value",
            "options": {
                "0": {"text": "DOWN", "color": "red"},
                "1": {"text": "UP", "color": "green"},
            },
        }
    ]
    panels = [
        layout.place(
            panel(
                "stat",
                "Targets",
                [prom('up{job=~"api|ingest|evaluator"}', "{{job}} {{instance}}")],
                description="Prometheus can scrape the service.",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "red"), (1, "green")],
                mappings=up_mapping,
            ),
            10,
            4,
        ),
        layout.place(
            panel(
                "stat",
                "Kafka (seen from ingest)",
                [prom('min(northstar_ingest_broker_up{job="ingest"})', "broker")],
                description="0 after a failed produce or while not connected.",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "red"), (1, "green")],
                mappings=up_mapping,
            ),
            4,
            4,
        ),
        layout.place(
            panel(
                "stat",
                "Consumer lag",
                [prom("job:northstar_evaluator_consumer_lag_seconds:max", "lag")],
                unit="s",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
                thresholds=[(None, "green"), (30, "orange"), (120, "red")],
            ),
            5,
            4,
        ),
        layout.place(
            panel(
                "stat",
                "Newest committed event",
                [prom("job:northstar_evaluator_last_event_age_seconds:min", "age")],
                description="Seconds since the newest event the evaluator committed was "
                "produced. Grows while there is no traffic.",
                unit="s",
                options={"reduceOptions": {"calcs": ["lastNotNull"]}},
            ),
            5,
            4,
        ),
        layout.row("Ingest"),
        layout.place(
            panel(
                "timeseries",
                "Events per second by outcome",
                [prom("job_outcome:northstar_ingest_events:rate1m", "{{outcome}}")],
                unit="ops",
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "rejected"},
                        "properties": [
                            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}
                        ],
                    }
                ],
            ),
            8,
            8,
        ),
        layout.place(
            panel(
                "timeseries",
                "Rejection ratio",
                [prom("job:northstar_ingest_rejection_ratio:rate5m", "rejected / received")],
                description="Rejected (422, 429, 503) over all events received, 5-minute rate.",
                unit="percentunit",
                thresholds=[(None, "green"), (0.05, "red")],
            ),
            8,
            8,
        ),
        layout.place(
            panel(
                "timeseries",
                "Request latency (POST /v1/events)",
                [
                    prom(
                        "job:northstar_ingest_request_duration_seconds:quantile_rate5m",
                        "p{{quantile}}",
                        ref="A",
                    ),
                    prom("job:northstar_ingest_requests:rate1m", "requests/s", ref="B"),
                ],
                description="Until Kafka acknowledged every event of the request.",
                unit="s",
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "requests/s"},
                        "properties": [
                            {"id": "unit", "value": "reqps"},
                            {"id": "custom.axisPlacement", "value": "right"},
                        ],
                    }
                ],
            ),
            8,
            8,
        ),
        layout.row("Evaluator"),
        layout.place(
            panel(
                "timeseries",
                "Events per second by outcome",
                [prom("job_outcome:northstar_evaluator_events:rate1m", "{{outcome}}")],
                unit="ops",
            ),
            8,
            8,
        ),
        layout.place(
            panel(
                "timeseries",
                "Batch duration",
                [
                    prom(
                        "job:northstar_evaluator_batch_duration_seconds:quantile_rate5m",
                        "p{{quantile}}",
                        ref="A",
                    ),
                    prom("job:northstar_evaluator_batches:rate1m", "batches/s", ref="B"),
                ],
                description="Decode, store, evaluate goals, commit; per consumed batch.",
                unit="s",
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "batches/s"},
                        "properties": [
                            {"id": "unit", "value": "ops"},
                            {"id": "custom.axisPlacement", "value": "right"},
                        ],
                    }
                ],
            ),
            8,
            8,
        ),
        layout.place(
            panel(
                "timeseries",
                "Consumer lag",
                [prom("job:northstar_evaluator_consumer_lag_seconds:max", "worst replica")],
                description="Age of the newest message of the last batch when it was done.",
                unit="s",
                thresholds=[(None, "green"), (120, "red")],
            ),
            8,
            8,
        ),
        layout.place(
            panel(
                "timeseries",
                "Dead-lettered events (DLQ)",
                [
                    prom(
                        'sum(increase(northstar_evaluator_events_total{job="evaluator", '
                        'outcome="dead_lettered"}[5m]))',
                        "dead-lettered in 5m",
                    )
                ],
                description="Messages sent to northstar.events.dlq; the reason is in the "
                "northstar-dlq-reason header.",
                decimals=0,
                thresholds=[(None, "green"), (1, "red")],
            ),
            12,
            7,
        ),
        layout.place(
            panel(
                "timeseries",
                "Failed batches (retried) by stage",
                [
                    prom(
                        'sum by (stage) (rate(northstar_evaluator_errors_total{job="evaluator"}'
                        "[5m])) or vector(0)",
                        "{{stage}}",
                    )
                ],
                description="The counter only exists once a batch failed; 0 until then.",
                unit="ops",
            ),
            12,
            7,
        ),
        layout.row("api"),
        layout.place(
            panel(
                "timeseries",
                "Business gauges: age of the last refresh",
                [
                    prom(
                        'time() - northstar_api_gauges_last_refresh_timestamp_seconds{job="api"}',
                        "{{instance}}",
                        ref="A",
                    ),
                    prom(
                        'northstar_api_gauges_refresh_duration_seconds{job="api"}',
                        "refresh duration {{instance}}",
                        ref="B",
                    ),
                ],
                description="northstar_goal_* are served from a cache refreshed every few "
                "seconds; a growing age means the refresh fails (see the api's logs).",
                unit="s",
            ),
            24,
            7,
        ),
    ]
    return dashboard(
        "northstar-pipeline-health",
        "Northstar — Pipeline health",
        "Ingest, Kafka, the evaluator and the api's gauge cache.",
        panels,
        time_from="now-1h",
    )


DASHBOARDS = {
    "kpi-overview.json": kpi_overview,
    "goal-detail.json": goal_detail,
    "pipeline-health.json": pipeline_health,
}


def render() -> dict[str, str]:
    return {
        name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON is stale")
    args = parser.parse_args()
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run python deploy/grafana/generate_dashboards.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
