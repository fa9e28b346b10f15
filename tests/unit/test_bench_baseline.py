"""`python -m bench --baseline <ref>`'s plumbing (bench/baseline.py), without a bench run:
the worktree of the ref is made once and reused, the runs alternate, and each baseline
row notes the current tree's figure against it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import baseline
from bench.infra import Infrastructure
from bench.results import Row
from devstack.processes import REPO_ROOT


def test_the_worktree_of_a_ref_is_made_once_and_reused(tmp_path: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = baseline.worktree("HEAD", cache=tmp_path)
    try:
        assert tree.root == tmp_path / head and tree.label == head[:7]
        assert tree.template == f"bench_template_{head[:12]}" and not tree.is_current
        assert tree.has("services/ingest/app.py") and tree.has("alembic.ini")
        again = baseline.worktree(head, cache=tmp_path)  # the same commit by another name
        assert again == tree
        with pytest.raises(baseline.BaselineError):
            baseline.worktree("no-such-ref-anywhere", cache=tmp_path)
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree.root)], cwd=REPO_ROOT, check=True
        )


def test_the_infrastructure_of_a_tree_shares_the_servers(tmp_path: Path) -> None:
    infra = Infrastructure(tmp_path)
    tree = baseline.Tree(tmp_path, "abc1234", "bench_template_abc1234")
    based = infra.with_tree(tree)
    assert based.postgres is infra.postgres and based.broker is infra.broker
    assert infra.tree is baseline.CURRENT and based.tree is tree
    assert based._tree_env() == {"PYTHONPATH": str(tmp_path)} and infra._tree_env() == {}


def test_runs_alternate_baseline_first_then_abba() -> None:
    assert baseline.order(1) == [True, False]
    assert baseline.order(2) == [True, False, False, True]


def test_each_baseline_row_notes_the_ratio() -> None:
    current = [Row("ingest", "events/s", 120_000, "events/s", "t", True, ceiling=400_000)]
    old = [
        Row("ingest", "events/s", 100_000, "events/s", "t", True, ceiling=400_000, note="n"),
        Row("ingest", "only there", 5, "ms", "t", True),
    ]
    rows = baseline.compare(current, old, "a8d89f1")
    assert [r.measure for r in rows] == ["events/s [a8d89f1]", "only there [a8d89f1]"]
    assert rows[0].value == 100_000 and rows[0].ceiling == 400_000
    assert "a8d89f1 → current: 100,000 → 120,000 events/s (×1.20)" in rows[0].note
    assert "ratio to ceiling 25% → 30%" in rows[0].note and rows[0].note.endswith("n")
    assert "→ current" not in rows[1].note
