"""The web app in `make bench`: the initial JavaScript a first visit downloads (gzipped),
and the time until the scorecard is ready in Chromium (navigation start, after sign-in, to
its first screen of rows drawn and the table knowing every goal: `aria-rowcount`, or every
row in the DOM for a table that draws them all) for the demo organisation and for a
1,000-goal cascade; for the cascade also when `GET /v1/me` and `GET /v1/goals/tree` ended
and how long a scroll to the bottom takes to show the last goal.

The browser side is web/e2e/bench.mjs; the 1,000 goals are `bench.tree`'s cascade with
judged statuses, served by a real api process.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.infra import Infrastructure
from bench.results import Row
from bench.tree import _seed as seed_tree
from devstack.processes import REPO_ROOT
from devstack.webdemo import CEO, DEMO_PASSWORD, create_user, demo_services

WEB = REPO_ROOT / "web"
JS_BUDGET_KB = 400.0


def initial_js_gzipped(dist: Path = WEB / "dist") -> int:
    """Bytes (gzipped) of the scripts index.html loads up front: its module entry and the
    chunks it preloads. Lazy chunks (ECharts, the other pages) are not counted."""
    html = (dist / "index.html").read_text()
    scripts = re.findall(r'<script[^>]+src="/([^"]+\.js)"', html)
    preloads = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', html)
    return sum(len(gzip.compress((dist / p).read_bytes(), 9)) for p in {*scripts, *preloads})


def _time_scorecard(url: str, rows: int, runs: int = 5) -> dict[str, Any]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "NORTHSTAR_URL": url,
        "EMAIL": CEO.email,
        "PASSWORD": DEMO_PASSWORD,
        "ROWS": str(rows),
        "RUNS": str(runs),
    }
    result = subprocess.run(
        ["node", "e2e/bench.mjs"], cwd=WEB, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"web bench failed:\n{result.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def _dist_env(dist: Path | None) -> dict[str, str]:
    return {"NORTHSTAR_WEB_DIST": str(dist.resolve())} if dist else {}


def _demo(infra: Infrastructure, database_url: str, dist: Path | None) -> dict[str, Any]:
    with demo_services(
        database_url=database_url,
        kafka_bootstrap=infra.broker.bootstrap,
        admin_key=infra.admin_key,
        log_dir=infra.log_dir,
        topic_prefix="bench-web-demo.",
        extra_env=_dist_env(dist),
    ) as stack:
        with httpx.Client(
            base_url=stack.url, headers={"Authorization": f"Bearer {infra.admin_key}"}
        ) as api:
            goals = len(api.get("/v1/goals", params={"limit": 1000}).json()["items"])
        return _time_scorecard(stack.url, goals)


async def run(infra: Infrastructure, goals: int = 1000, dist: Path | None = None) -> list[Row]:
    """`dist`: serve that built web app (another tree's, for a same-run comparison)."""
    js_kb = initial_js_gzipped(dist or WEB / "dist") / 1024
    rows = [
        Row(
            "web",
            "initial JavaScript (gzipped)",
            js_kb,
            "KB",
            f"≤ {JS_BUDGET_KB:.0f} KB",
            js_kb <= JS_BUDGET_KB,
            note="charts (ECharts) and every page but the scorecard and goal load on demand",
        )
    ]
    demo_db = await infra.database("bench_web_demo")
    demo = await asyncio.to_thread(_demo, infra, demo_db, dist)
    rows.append(
        Row(
            "web",
            "scorecard rendered, demo (14 goals), median",
            statistics.median(demo["times"]),
            "ms",
            "—",
            True,
            note=f"navigation start to the first screen of rows drawn and every goal counted"
            f" (aria-rowcount), Chromium; {len(demo['times'])} loads",
        )
    )
    big_db = await infra.database("bench_web_tree")
    await seed_tree(big_db, goals)
    env = {**infra.service_env(big_db, "bench-web-tree."), **_dist_env(dist)}
    with infra.services(env, "api") as services:
        url = services["api"].url
        await create_user(url, infra.admin_key, CEO)
        big = await asyncio.to_thread(_time_scorecard, url, goals)
    rows.append(
        Row(
            "web",
            f"scorecard rendered, {goals:,} goals, median",
            statistics.median(big["times"]),
            "ms",
            "≤ 1000 ms",
            statistics.median(big["times"]) <= 1000,
            note=f"the api benchmark's cascade with judged statuses; {len(big['times'])} loads;"
            f" /v1/me ended at {statistics.median(big['me']):.0f} ms, /v1/goals/tree at"
            f" {statistics.median(big['tree']):.0f} ms (medians); {big['drawn']} goal rows"
            " in the DOM when ready",
        )
    )
    rows.append(
        Row(
            "web",
            f"scorecard, {goals:,} goals, scroll to the last goal, median",
            statistics.median(big["scroll"]),
            "ms",
            "—",
            True,
            note="page and table scrolled to the bottom until the last goal is drawn in view",
        )
    )
    return rows
