"""`python -m bench --baseline <git ref>`: another tree's services measured in the same run.

The machine's speed moves by a third between runs, so a figure is only comparable with
one taken back to back on the same machine. With `--baseline`, the ingest and
evaluator sections run twice, alternating: once against the services of `<ref>` and
once against this tree's, on the same PostgreSQL and broker. The bench itself (load
generator, producer and COPY ceilings, prefill, how figures are read) is always this
tree's, so both report the same way; only what the services run comes from `<ref>`:

- a git worktree of `<ref>` (detached) under the cache directory, made once and reused
  (`$NORTHSTAR_BENCH_CACHE`, default `~/.cache/northstar-bench/<commit>`);
- its services started from that worktree (`cwd` and `PYTHONPATH`), with this tree's
  virtualenv: the baseline must run with today's pinned packages;
- its own template database, migrated by its own migrations (`alembic upgrade head` in
  the worktree), since an older tree has an older schema.

What an older tree cannot do is left out of its run (the CSV import of the ingest
section needs `text/csv`). docs/performance.md, "Same-run baseline", shows the output.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.results import Row
from devstack.processes import REPO_ROOT

# The sections that can run against a baseline tree.
SECTIONS = ("ingest", "evaluator")


class BaselineError(RuntimeError):
    """The baseline tree could not be made."""


@dataclass(frozen=True, slots=True)
class Tree:
    """Where a section's services come from: this tree, or a baseline worktree."""

    root: Path
    label: str  # "current", or the baseline's short commit
    template: str  # its template database

    @property
    def is_current(self) -> bool:
        return self.root == REPO_ROOT

    def has(self, relative: str) -> bool:
        return (self.root / relative).exists()


CURRENT = Tree(REPO_ROOT, "current", "bench_template")


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise BaselineError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def cache_dir() -> Path:
    configured = os.environ.get("NORTHSTAR_BENCH_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "northstar-bench"


def worktree(ref: str, cache: Path | None = None) -> Tree:
    """The baseline tree of `ref`: a detached worktree of its commit, made or reused."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    root = (cache or cache_dir()) / commit
    if (root / ".git").exists():
        if _git("rev-parse", "HEAD", cwd=root) != commit:
            raise BaselineError(f"{root} is not at {commit}; remove it and run again")
    else:
        root.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "prune")  # forget worktrees whose folder was deleted
        _git("worktree", "add", "--detach", str(root), commit)
    return Tree(root, commit[:7], f"bench_template_{commit[:12]}")


def order(rounds: int) -> list[bool]:
    """Which tree runs when (True: the baseline), alternating and balanced: baseline
    first, then current; in the next round current first (ABBA), so a machine getting
    slower or faster during the run does not favour one side."""
    out: list[bool] = []
    for n in range(rounds):
        out += [True, False] if n % 2 == 0 else [False, True]
    return out


def compare(current: list[Row], baseline: list[Row], label: str) -> list[Row]:
    """The baseline's rows, renamed `… [label]`, each noting the current tree's figure
    against it (`label → current ×ratio`), for the rows both trees measured."""
    by_measure = {(r.benchmark, r.measure): r for r in current}
    out: list[Row] = []
    for row in baseline:
        mine = by_measure.get((row.benchmark, row.measure))
        versus = ""
        if mine is not None and row.value > 0:
            versus = (
                f"{label} → current: {row.value:,.0f} → {mine.value:,.0f} {row.unit} "
                f"(×{mine.value / row.value:.2f})"
            )
            if row.ceiling and mine.ceiling:
                versus += f", ratio to ceiling {row.ratio} → {mine.ratio}"
            versus += "; "
        out.append(
            Row(
                row.benchmark,
                f"{row.measure} [{label}]",
                row.value,
                row.unit,
                row.target,
                row.met,
                ceiling=row.ceiling,
                note=f"baseline tree, same run: {versus}{row.note}",
            )
        )
    return out
