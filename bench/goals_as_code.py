"""Goals as code at a quarter's scale: `northstar plan` and `northstar apply` of 1,000
goals in 100 units (a unit tree of a company, a cycle and ten KPIs), the installed
command as a subprocess against the api as a real process (docs/goals-as-code.md).

Measured: seconds of each command as a user waits for it (process start to exit) and
the HTTP requests it made (the command's `--stats`): the first plan (everything to
create), the apply, a plan and an apply of the same files (nothing to change), and a
plan and apply that change every goal's target.

`python -m bench.goals_as_code` on its own, or `make bench` (`python -m bench --only
goals-as-code`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.infra import Infrastructure, insert_api_key
from bench.results import Row

NORTHSTAR = str(Path(sys.executable).parent / "northstar")
APPLY_TARGET_S = 60.0


def write_files(directory: Path, *, units: int, goals: int, factor: float = 1.0) -> None:
    """A cycle, ten KPIs, `units` units (an organisation, ten departments, teams below)
    and `goals` goals spread evenly: per unit one roll-up goal and its KPI goals."""
    directory.mkdir(parents=True, exist_ok=True)
    header = "apiVersion: northstar/v1\n"
    org = [
        header + "kind: Cycle\nmetadata: {name: fy2030, labels: {managed-by: bench}}\n"
        'spec: {name: FY2030, start: "2030-01-01T00:00:00Z", due: "2031-01-01T00:00:00Z"}\n'
    ]
    for k in range(10):
        org.append(
            header + f"kind: KPI\nmetadata: {{name: kpi_{k}, labels: {{managed-by: bench}}}}\n"
            f"spec: {{name: KPI {k}, expression: 'sum(metric_{k})', kind: lagging}}\n"
        )
    for u in range(units):
        parent = "" if u == 0 else f", parent: unit-{0 if u <= 10 else (u % 10) + 1}"
        kind = "organization" if u == 0 else "department" if u <= 10 else "team"
        org.append(
            header + f"kind: Unit\nmetadata: {{name: unit-{u}, labels: {{managed-by: bench}}}}\n"
            f"spec: {{name: Unit {u}, kind: {kind}{parent}}}\n"
        )
    (directory / "org.yaml").write_text("---\n".join(org))
    per_unit = goals // units
    documents = []
    for u in range(units):
        root = f"goal-{u}-0"
        for g in range(per_unit):
            name = f"goal-{u}-{g}"
            spec = f"title: Goal {u}.{g}, unit: unit-{u}, cycle: fy2030"
            if g > 0:
                target = round((1000 + g) * factor, 2)
                spec += f", parent: {root}, kpi: kpi_{g % 10}, target: {target}"
            documents.append(
                header + f"kind: Goal\nmetadata: {{name: {name}, labels: {{managed-by: bench}}}}\n"
                f"spec: {{{spec}}}\n"
            )
    (directory / "goals.yaml").write_text("---\n".join(documents))


def _command(
    url: str, key: str, *args: str, expect: tuple[int, ...] = (0,)
) -> tuple[float, int, str]:
    """Seconds, requests made, and standard output of one command."""
    started = time.monotonic()
    result = subprocess.run(
        [NORTHSTAR, "--stats", *args],
        env={"NORTHSTAR_URL": url, "NORTHSTAR_API_KEY": key, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.monotonic() - started
    if result.returncode not in expect:
        raise RuntimeError(f"northstar {' '.join(args)}: {result.returncode}\n{result.stderr}")
    found = re.search(r"(\d+) requests?, ", result.stderr)
    return elapsed, int(found.group(1)) if found else -1, result.stdout


async def run(infra: Infrastructure, *, units: int = 100, goals: int = 1000) -> list[Row]:
    database_url = await infra.database("bench_goals_as_code")
    key = await insert_api_key(database_url, "bench-gitops", ["write"])
    env = infra.service_env(database_url, "bench-gac.")
    directory = Path(tempfile.mkdtemp(prefix="northstar-bench-gac-"))
    write_files(directory, units=units, goals=goals)
    size = f"{goals:,} goals in {units} units"
    steps = [
        ("first plan (everything to create)", "plan", (2,)),
        ("apply (everything created)", "apply", (0,)),
        ("plan, nothing to change", "plan", (0,)),
        ("apply, nothing to change", "apply", (0,)),
    ]
    rows: list[Row] = []
    # One request carries every document, within the api's default body limit.
    with infra.services(env, "api") as services:
        url = services["api"].url
        for measure, command, expect in steps:
            seconds, requests, _ = _command(url, key, command, "-f", str(directory), expect=expect)
            rows.append(_row(f"{measure}, {size}", seconds, requests))
        write_files(directory, units=units, goals=goals, factor=1.1)
        for measure, command, expect in (
            ("plan, every target changed", "plan", (2,)),
            ("apply, every target changed", "apply", (0,)),
        ):
            seconds, requests, _ = _command(url, key, command, "-f", str(directory), expect=expect)
            rows.append(_row(f"{measure}, {size}", seconds, requests))
    return rows


def _row(measure: str, seconds: float, requests: int) -> Row:
    return Row(
        "goals-as-code",
        measure,
        seconds,
        "s",
        f"≤ {APPLY_TARGET_S:g} s",
        seconds <= APPLY_TARGET_S,
        note=f"{requests} HTTP request{'s' if requests != 1 else ''}; the whole command "
        "(process start, offline validation, the api's transaction)",
    )


async def _main(args: argparse.Namespace) -> None:
    infra = Infrastructure(Path(tempfile.mkdtemp(prefix="northstar-bench-gac-logs-")))
    infra.start()
    try:
        await infra.migrate_template()
        for row in await run(infra, units=args.units, goals=args.goals):
            print(f"{row.measure}: {row.value:.1f} {row.unit}  {row.note}", flush=True)
    finally:
        infra.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.goals_as_code", description=__doc__)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--goals", type=int, default=1000)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
