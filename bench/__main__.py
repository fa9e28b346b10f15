"""`python -m bench` (`make bench`): run every benchmark, print one table, write
`docs/benchmarks.md`.

One PostgreSQL (durability defaults) and one Tansu broker serve the whole run; each
benchmark gets a fresh migrated database and its own topics. `--only` runs a subset
(the doc is then not rewritten unless `--write` is given); the sizes can be lowered for
a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench import (
    analysis,
    api,
    baseline,
    cardinality,
    endtoend,
    evaluator,
    goals_as_code,
    ingest,
    ingest_steps,
    people,
    salting,
    sources,
    web,
)
from bench.infra import Infrastructure
from bench.results import Row, machine, notes, table, write_doc
from devstack.processes import REPO_ROOT

BENCHMARKS = (
    "ingest",
    "ingest-steps",
    "evaluator",
    "cardinality",
    "salting",
    "e2e",
    "api",
    "people",
    "web",
    "analysis",
    "goals-as-code",
    "sources",
)
DOC = REPO_ROOT / "docs" / "benchmarks.md"


async def _section(infra: Infrastructure, name: str, args: argparse.Namespace) -> list[Row]:
    """One section against `infra`'s tree (`--baseline`: the ingest and evaluator ones)."""
    if name == "ingest":
        return await ingest.run(
            infra, seconds=args.seconds, connections=args.connections, workers=args.workers
        )
    # The baseline's evaluator runs one replica: the headline figure, the one compared.
    replicas = evaluator.REPLICAS if infra.tree.is_current else (1,)
    return await evaluator.run(
        infra,
        events=args.evaluator_events,
        max_poll_records=args.max_poll_records,
        replicas=replicas,
    )


async def _against_baseline(
    infra: Infrastructure, based: Infrastructure, name: str, args: argparse.Namespace
) -> list[Row]:
    """The section run `--baseline-rounds` times against each tree, alternating; the
    current tree's rows, then the baseline's, each noting the ratio."""
    current: list[list[Row]] = []
    previous: list[list[Row]] = []
    for on_baseline in baseline.order(args.baseline_rounds):
        tree = based if on_baseline else infra
        print(f"   {name} on {tree.tree.label} …", file=sys.stderr, flush=True)
        (previous if on_baseline else current).append(await _section(tree, name, args))
    rows: list[Row] = []
    label = based.tree.label
    for n, (mine, theirs) in enumerate(zip(current, previous, strict=True), start=1):
        suffix = f", round {n}" if args.baseline_rounds > 1 else ""
        compared = baseline.compare(mine, theirs, label + suffix)
        for row in compared:
            if "→ current" in row.note:
                figure = row.note.removeprefix("baseline tree, same run: ").split(";")[0]
                print(f"   {row.measure}: {figure}", file=sys.stderr, flush=True)
        rows += [replace(r, measure=r.measure + suffix) for r in mine] if suffix else mine
        rows += compared
    return rows


async def _run(infra: Infrastructure, args: argparse.Namespace) -> list[Row]:
    await infra.migrate_template()
    based = None
    if args.baseline:
        based = infra.with_tree(baseline.worktree(args.baseline))
        print(f"baseline {args.baseline} in {based.tree.root}", file=sys.stderr, flush=True)
        await based.migrate_template()
    rows: list[Row] = []
    for name in args.only:
        started = time.monotonic()
        print(f"-- {name} …", file=sys.stderr, flush=True)
        if based is not None and name in baseline.SECTIONS:
            rows += await _against_baseline(infra, based, name, args)
        elif name in baseline.SECTIONS:
            rows += await _section(infra, name, args)
        elif name == "ingest-steps":
            rows += ingest_steps.rows()
        elif name == "cardinality":
            rows += await cardinality.run(infra)
        elif name == "salting":
            rows += await salting.run(infra)
        elif name == "e2e":
            rows += await endtoend.run(infra, seconds=args.e2e_seconds, workers=args.workers)
        elif name == "api":
            rows += await api.run(infra, events=args.api_events)
        elif name == "people":
            rows += await people.run(infra)
        elif name == "web":
            rows += await web.run(infra, goals=args.web_goals, dist=args.web_dist)
        elif name == "analysis":
            rows += await analysis.run(infra, events=args.analysis_events, kpis=args.analysis_kpis)
        elif name == "goals-as-code":
            rows += await goals_as_code.run(infra)
        elif name == "sources":
            rows += await sources.run(infra)
        print(f"   {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        for row in rows[-4:]:
            print(f"   {row.measure}: {row.value:,.1f} {row.unit}", file=sys.stderr, flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--write", action="store_true", help="write the doc even with --only")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds (ingest)")
    parser.add_argument("--connections", type=int, default=8, help="ingest load connections")
    parser.add_argument(
        "--workers", type=int, default=None, help="NORTHSTAR_WORKERS for ingest (default: its own)"
    )
    parser.add_argument("--evaluator-events", type=int, default=1_000_000)
    parser.add_argument("--max-poll-records", type=int, default=None)
    parser.add_argument("--e2e-seconds", type=float, default=30)
    parser.add_argument("--api-events", type=int, default=10_000_000)
    parser.add_argument("--web-goals", type=int, default=1000, help="goals of the big scorecard")
    parser.add_argument(
        "--web-dist",
        type=Path,
        default=None,
        help="serve this built web app instead of web/dist (another tree's, to compare)",
    )
    parser.add_argument("--analysis-events", type=int, default=10_000_000)
    parser.add_argument("--analysis-kpis", type=int, default=1000)
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also run the ingest and evaluator sections against the services of this "
        "commit (a cached git worktree), alternating with this tree's, and print each "
        "figure with the ratio baseline → current (bench/baseline.py)",
    )
    parser.add_argument(
        "--baseline-rounds", type=int, default=1, help="pairs per section with --baseline"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    started = time.monotonic()
    log_dir = Path(tempfile.mkdtemp(prefix="northstar-bench-"))
    infra = Infrastructure(log_dir)
    print(f"starting PostgreSQL and Tansu (service logs in {log_dir})", file=sys.stderr)
    infra.start()
    try:
        rows = asyncio.run(_run(infra, args))
    finally:
        infra.stop()
    elapsed = time.monotonic() - started
    ran_on = machine()
    print(f"\nMachine: {ran_on}\nTotal: {elapsed:.0f} s\n")
    print(table(rows))
    print()
    print(notes(rows))
    if args.write or set(args.only) == set(BENCHMARKS):
        write_doc(DOC, rows, ran_on, elapsed)
        print(f"\nwritten to {DOC.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
