"""The cardinality decision (`northstar.domain.cardinality`): the rules of its docstring
as examples, and properties: the caps hold, known sets always flow, and looking up only
the metrics `needs_lookup` names decides exactly as knowing every set would."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.cardinality import (
    CardinalityLimits,
    DimensionSet,
    Limit,
    MetricCardinality,
    admit,
    needs_lookup,
)


def dset(metric: str, **dimensions: str) -> DimensionSet:
    return DimensionSet(metric, json.dumps(dimensions, sort_keys=True), frozenset(dimensions))


LIMITS = CardinalityLimits(max_keys=3, max_sets=2)


def test_a_new_metric_takes_sets_up_to_the_cap_in_batch_order() -> None:
    sets = [dset("m", a="1"), dset("m", a="2"), dset("m", a="3"), dset("m", a="1")]
    admission = admit(LIMITS, {}, sets, {})
    assert admission.admits("m", sets[0].dimensions)
    assert admission.admits("m", sets[1].dimensions)
    refusal = admission.refused[("m", sets[2].dimensions)]
    assert refusal.limit is Limit.DIMENSION_SETS
    assert "'m'" in refusal.message and "2" in refusal.message
    assert "NORTHSTAR_EVENT_MAX_DIMENSION_SETS" in refusal.message
    assert len(admission.refused) == 1  # a repeat of an admitted set is admitted


def test_a_set_that_brings_too_many_keys_is_refused_naming_them() -> None:
    sets = [dset("m", a="1", b="1"), dset("m", c="1", d="1"), dset("m", c="2")]
    admission = admit(LIMITS, {}, sets, {})
    refusal = admission.refused[("m", sets[1].dimensions)]
    assert refusal.limit is Limit.DIMENSION_KEYS
    assert "c, d" in refusal.message and "NORTHSTAR_EVENT_MAX_DIMENSION_KEYS" in refusal.message
    # Keys of a refused set are not taken: `c` alone still fits (a, b, c).
    assert admission.admits("m", sets[2].dimensions)


def test_known_sets_flow_at_the_cap_and_past_a_lowered_one() -> None:
    had = {"m": MetricCardinality(frozenset({"a", "b", "c", "d"}), 5)}
    known_set, new_set, new_key = dset("m", a="1"), dset("m", a="9"), dset("m", e="1")
    admission = admit(LIMITS, had, [known_set, new_set, new_key], {"m": {known_set.dimensions}})
    assert admission.admits("m", known_set.dimensions)
    assert admission.refused[("m", new_set.dimensions)].limit is Limit.DIMENSION_SETS
    assert admission.refused[("m", new_key.dimensions)].limit is Limit.DIMENSION_KEYS


def test_metrics_are_independent() -> None:
    had = {"full": MetricCardinality(frozenset({"a"}), 2)}
    sets = [dset("full", a="new"), dset("other", a="new")]
    admission = admit(LIMITS, had, sets, {"full": set()})
    assert not admission.admits("full", sets[0].dimensions)
    assert admission.admits("other", sets[1].dimensions)


def test_only_metrics_that_could_reach_the_cap_are_looked_up() -> None:
    had = {"near": MetricCardinality(frozenset({"a"}), 1), "far": MetricCardinality()}
    sets = [dset("near", a="1"), dset("near", a="2"), dset("far", a="1"), dset("far", a="1")]
    assert needs_lookup(LIMITS, had, sets) == {"near"}


keys = st.sampled_from("abcde")
batches = st.lists(
    st.tuples(
        st.sampled_from(["m", "n"]),
        st.dictionaries(keys, st.sampled_from("xyz"), max_size=3),
    ),
    max_size=30,
)


@st.composite
def stores(draw: st.DrawFn) -> dict[str, set[str]]:
    """What the store holds: each metric's sets (canonical JSON)."""
    held: dict[str, set[str]] = {}
    for metric, dims in draw(batches):
        held.setdefault(metric, set()).add(json.dumps(dims, sort_keys=True))
    return held


def _had(held: dict[str, set[str]]) -> dict[str, MetricCardinality]:
    return {
        metric: MetricCardinality(
            frozenset(k for text in texts for k in json.loads(text)), len(texts)
        )
        for metric, texts in held.items()
    }


@settings(max_examples=300, deadline=None)
@given(
    held=stores(),
    batch=batches,
    max_keys=st.integers(1, 6),
    max_sets=st.integers(1, 8),
)
def test_caps_hold_known_sets_flow_and_partial_lookup_decides_alike(
    held: dict[str, set[str]],
    batch: list[tuple[str, dict[str, str]]],
    max_keys: int,
    max_sets: int,
) -> None:
    limits = CardinalityLimits(max_keys=max_keys, max_sets=max_sets)
    had = _had(held)
    sets = [dset(metric, **dims) for metric, dims in batch]
    everything = {metric: {s.dimensions for s in sets} & held.get(metric, set()) for metric in had}
    full = admit(limits, had, sets, everything)

    looked_up = needs_lookup(limits, had, sets)
    partial = admit(limits, had, sets, {m: v for m, v in everything.items() if m in looked_up})
    assert partial.refused == full.refused

    for metric in {s.metric for s in sets}:
        before = had.get(metric, MetricCardinality())
        ours = {s.dimensions: s.keys for s in sets if s.metric == metric}
        admitted = {d: k for d, k in ours.items() if full.admits(metric, d)}
        new = {d: k for d, k in admitted.items() if d not in held.get(metric, set())}
        # Known sets always flow.
        assert set(ours) & held.get(metric, set()) <= set(admitted)
        # Sets: within the cap, unless it was passed before (then nothing new comes).
        assert len(new) == 0 or before.sets + len(new) <= max_sets
        # Keys: within the cap, unless it was passed before (then no new key comes).
        new_keys = frozenset().union(*new.values()) - before.keys if new else frozenset()
        assert not new_keys or len(before.keys | new_keys) <= max_keys
        # Nothing is refused that fits: a refused set would pass a cap given what was
        # admitted before it (checked against the final state, an upper bound).
        for d, k in ours.items():
            if not full.admits(metric, d):
                refusal = full.refused[(metric, d)]
                if refusal.limit is Limit.DIMENSION_SETS:
                    assert before.sets + len(new) >= max_sets
                else:
                    assert len(before.keys | new_keys | k) > max_keys
