"""Cardinality limits per metric (SPEC §3), as a pure decision.

Every distinct dimension set of a metric becomes rows in every rollup level, and every
dimension key a column of the catalogue that each batch merges; a client inventing keys
or values without end would grow both without bound (issue 10: 20 new keys per event put
200,000 keys in one catalogue row). So, like Prometheus's `label_limit` and
`sample_limit`, a metric may have at most `max_keys` dimension keys and `max_sets`
distinct dimension sets; an event that would push its metric past either is refused.

`admit` decides for a batch, given what each metric had before it. The rules, in order,
for each distinct (metric, dimension set) of the batch, in the order the batch first
holds them (earlier events win the last places):
1. a set the metric already has is admitted: known sets always flow, even past a cap
   lowered later;
2. a set that would add keys to the metric is refused when the metric would then have
   more than `max_keys` keys (a metric already over a lowered cap takes no new key);
3. a new set is refused when the metric has `max_sets` sets already;
4. otherwise it is admitted, and counts: its keys join the metric's, it adds one set.

Which sets a metric has is only looked up where it can matter (`needs_lookup`): a metric
whose set count plus the batch's distinct sets stays within the cap cannot reach it in
this batch, whichever of its sets are new. The evaluator applies this exactly, holding
the catalogue rows of a batch that brings new sets locked (a batch of known sets needs
no decision: rule 1); ingest applies it to a cached catalogue to refuse early what it
can already know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum


class Limit(StrEnum):
    """Which cap refused an event (the `reason` label of the refusal counters)."""

    DIMENSION_KEYS = "dimension_keys"
    DIMENSION_SETS = "dimension_sets"


KEYS_SETTING = "NORTHSTAR_EVENT_MAX_DIMENSION_KEYS"
SETS_SETTING = "NORTHSTAR_EVENT_MAX_DIMENSION_SETS"


@dataclass(frozen=True, slots=True)
class CardinalityLimits:
    max_keys: int = 32
    max_sets: int = 10_000


@dataclass(frozen=True, slots=True)
class MetricCardinality:
    """What the store holds for one metric: its dimension keys and its number of distinct
    dimension sets."""

    keys: frozenset[str] = frozenset()
    sets: int = 0


NEW_METRIC = MetricCardinality()


@dataclass(frozen=True, slots=True)
class DimensionSet:
    """One distinct dimension set of a metric in a batch: `dimensions` is its canonical
    JSON (keys sorted), `keys` its keys."""

    metric: str
    dimensions: str
    keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the events of one (metric, dimension set) are refused."""

    metric: str
    dimensions: str
    limit: Limit
    message: str


@dataclass(slots=True)
class Admission:
    """The decision for a batch: the refused (metric, dimensions) pairs with their reason;
    everything else is admitted."""

    refused: dict[tuple[str, str], Refusal] = field(default_factory=dict)

    def admits(self, metric: str, dimensions: str) -> bool:
        return (metric, dimensions) not in self.refused


def needs_lookup(
    limits: CardinalityLimits,
    had: Mapping[str, MetricCardinality],
    sets: Iterable[DimensionSet],
) -> set[str]:
    """The metrics whose sets in the batch must be looked up (which are known) before
    `admit` can decide: those whose set count plus the batch's distinct sets of it
    exceeds `max_sets`. For the others every set may be taken as new."""
    distinct: dict[str, set[str]] = {}
    for dimension_set in sets:
        distinct.setdefault(dimension_set.metric, set()).add(dimension_set.dimensions)
    return {
        metric
        for metric, dimensions in distinct.items()
        if had.get(metric, NEW_METRIC).sets + len(dimensions) > limits.max_sets
    }


def admit(
    limits: CardinalityLimits,
    had: Mapping[str, MetricCardinality],
    sets: Sequence[DimensionSet],
    known: Mapping[str, AbstractSet[str]],
) -> Admission:
    """Decide which of a batch's dimension sets are admitted (rules in the module
    docstring). `had`: each metric's keys and set count before the batch (absent: a new
    metric). `sets`: the batch's sets in the order it first holds them. `known`: for the
    metrics `needs_lookup` named, which of the batch's sets they already have; a set of
    any other metric is taken as new."""
    admission = Admission()
    keys: dict[str, frozenset[str]] = {}
    counts: dict[str, int] = {}
    admitted: set[tuple[str, str]] = set()
    for dimension_set in sets:
        metric, dimensions = dimension_set.metric, dimension_set.dimensions
        pair = (metric, dimensions)
        if pair in admitted or pair in admission.refused:
            continue
        if dimensions in known.get(metric, ()):
            admitted.add(pair)
            continue
        before = had.get(metric, NEW_METRIC)
        metric_keys = keys.get(metric, before.keys)
        count = counts.get(metric, before.sets)
        new_keys = dimension_set.keys - metric_keys
        if new_keys and len(metric_keys) + len(new_keys) > limits.max_keys:
            admission.refused[pair] = Refusal(
                metric,
                dimensions,
                Limit.DIMENSION_KEYS,
                f"metric '{metric}' would have {len(metric_keys) + len(new_keys)} dimension "
                f"keys with {', '.join(sorted(new_keys))}; at most {limits.max_keys} are "
                f"allowed ({KEYS_SETTING}). Send fewer distinct keys, or raise the setting.",
            )
            continue
        if count >= limits.max_sets:
            admission.refused[pair] = Refusal(
                metric,
                dimensions,
                Limit.DIMENSION_SETS,
                f"metric '{metric}' has its maximum of {limits.max_sets} distinct dimension "
                f"sets ({SETS_SETTING}) and this set is new. Send fewer distinct dimension "
                "values (known sets are still accepted), or raise the setting.",
            )
            continue
        admitted.add(pair)
        keys[metric] = metric_keys | new_keys
        counts[metric] = count + 1
    return admission
