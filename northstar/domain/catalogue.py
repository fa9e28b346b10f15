"""A KPI expression against the metric catalogue, pure: which metric names and label keys
it reads that no event has ever carried, each with the nearest known name ("did you mean").

Not an error: a KPI may be defined before its first event. But a typo in a metric name or a
label key would make a KPI that is silently always empty, so the KPI form says so instead of
"Valid". Suggestions come from `difflib` (ratio ≥ 0.6, the standard library's default).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from northstar.domain.expressions import Expr, aggregations


@dataclass(frozen=True, slots=True)
class CatalogueWarning:
    metric: str
    label: str | None  # None: the metric itself is unknown
    suggestion: str | None

    @property
    def message(self) -> str:
        if self.label is None:
            text = f"no event has carried the metric “{self.metric}” yet"
        else:
            text = f"no “{self.metric}” event has carried the label “{self.label}” yet"
        return f"{text}; did you mean “{self.suggestion}”?" if self.suggestion else text


def _nearest(name: str, known: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(name, known, n=1)
    return found[0] if found else None


def catalogue_warnings(
    expr: Expr, catalogue: Mapping[str, Sequence[str]]
) -> list[CatalogueWarning]:
    """Warnings for `expr` given `catalogue` (metric name → dimension keys seen), metrics in
    name order, each metric's unknown labels after it."""
    warnings: list[CatalogueWarning] = []
    names = sorted(catalogue)
    labels: dict[str, set[str]] = {}
    for aggregation in aggregations(expr):
        labels.setdefault(aggregation.metric, set()).update(m.label for m in aggregation.matchers)
    for metric in sorted(labels):
        if metric not in catalogue:
            warnings.append(CatalogueWarning(metric, None, _nearest(metric, names)))
            continue
        seen = sorted(catalogue[metric])
        for label in sorted(labels[metric] - set(seen)):
            warnings.append(CatalogueWarning(metric, label, _nearest(label, seen)))
    return warnings
