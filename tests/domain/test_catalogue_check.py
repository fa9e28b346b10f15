"""KPI expressions against the metric catalogue: unknown metrics and label keys, with the
nearest known name."""

from __future__ import annotations

from northstar.domain.catalogue import catalogue_warnings
from northstar.domain.expressions import parse_expression

CATALOGUE = {"revenue": ["region", "channel"], "orders": ["region"]}


def _said(expression: str) -> list[str]:
    return [w.message for w in catalogue_warnings(parse_expression(expression), CATALOGUE)]


def test_known_metrics_and_labels_give_no_warning() -> None:
    assert _said('sum(revenue{region="eu"}) / sum(orders)') == []


def test_an_unknown_metric_is_named_with_the_nearest_known_one() -> None:
    assert _said("sum(revenu) / sum(orders)") == [
        "no event has carried the metric “revenu” yet; did you mean “revenue”?"
    ]
    assert _said("sum(headcount)") == ["no event has carried the metric “headcount” yet"]


def test_an_unknown_label_key_is_named_with_the_nearest_key_of_its_metric() -> None:
    assert _said('sum(revenue{regoin="eu", chanel="web"})') == [
        "no “revenue” event has carried the label “chanel” yet; did you mean “channel”?",
        "no “revenue” event has carried the label “regoin” yet; did you mean “region”?",
    ]
