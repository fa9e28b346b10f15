"""Series keys and partitions (`northstar.events.routing`): every event of a series goes
to one partition, a hot series is sliced over salted keys, messages stay within size."""

from __future__ import annotations

from datetime import UTC, datetime

from northstar.events.model import MetricEvent
from northstar.events.routing import HotSeries, partition_of, route, series_key
from northstar.rollups.batch import canonical_dimensions

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _event(i: int, metric: str = "orders", **dims: str) -> MetricEvent:
    return MetricEvent(f"e{i}", "crm", metric, 1.0, NOW, dims)


def test_every_event_of_a_series_goes_to_the_series_partition() -> None:
    events = [
        _event(i, region=f"r{i % 7}", channel="web") if i % 2 else _event(i, channel="web")
        for i in range(2000)
    ]
    # Key order inside the dimensions does not change the series.
    events.append(
        MetricEvent("swapped", "crm", "orders", 1.0, NOW, {"region": "r1", "channel": "web"})
    )
    messages = route(events, 12, max_events=500)
    seen = [e for m in messages for e in m.events]
    assert sorted(e.event_id for e in seen) == sorted(e.event_id for e in events)
    for message in messages:
        assert 0 < len(message.events) <= 500
        assert message.salt == 0
        for event in message.events:
            key = series_key(event.metric, canonical_dimensions(event.dimensions))
            assert partition_of(key, 12) == message.partition
        first = message.events[0]
        assert message.key == series_key(first.metric, canonical_dimensions(first.dimensions))


def test_a_hot_series_is_sliced_over_its_salts_and_cools_down() -> None:
    hot = HotSeries(threshold=1000, salts=4)
    busy = [_event(i, region="eu") for i in range(3000)]
    # First window: the partition is found busy; second: the series in it is found hot.
    assert {m.salt for m in route(busy, 12, hot=hot, now=0.0, max_events=500)} == {0}
    assert {m.salt for m in route(busy, 12, hot=hot, now=1.0, max_events=500)} == {0}
    messages = route(busy, 12, hot=hot, now=2.0, max_events=500)
    messages += route(busy, 12, hot=hot, now=2.5, max_events=500)
    assert {m.salt for m in messages} == {1, 2, 3, 4}
    base = series_key("orders", '{"region":"eu"}')
    for message in messages:
        assert message.key == f"{base}#{message.salt}"
        assert message.partition == partition_of(message.key, 12)
    # A quiet series beside it is not salted.
    quiet = route([_event(0, region="na")], 12, hot=hot, now=2.6, max_events=500)
    assert [m.salt for m in quiet] == [0]
    # Below half the threshold for a window: unsalted again.
    route([_event(1, region="eu")], 12, hot=hot, now=4.0, max_events=500)
    route([_event(1, region="eu")], 12, hot=hot, now=5.0, max_events=500)
    assert {m.salt for m in route(busy[:10], 12, hot=hot, now=5.1, max_events=500)} == {0}


def test_single_events_of_a_hot_series_take_the_salts_in_turn() -> None:
    hot = HotSeries(threshold=10, salts=3)
    for now in (0.0, 1.0, 2.0):
        route([_event(i) for i in range(100)], 4, hot=hot, now=now, max_events=500)
    salts = [route([_event(i)], 4, hot=hot, now=2.1, max_events=500)[0].salt for i in range(6)]
    assert salts == [1, 2, 3, 1, 2, 3]


def test_threshold_zero_never_salts() -> None:
    hot = HotSeries(threshold=0)
    for now in (0.0, 1.0, 2.0):
        messages = route([_event(i) for i in range(5000)], 3, hot=hot, now=now, max_events=500)
        assert {m.salt for m in messages} == {0}


def test_a_hot_series_slice_is_never_empty() -> None:
    hot = HotSeries(threshold=1, salts=4)
    for now in (0.0, 1.0, 2.0):
        messages = route([_event(i) for i in range(5)], 12, hot=hot, now=now, max_events=500)
    assert sorted(len(m.events) for m in messages) == [1, 2, 2]
    assert {m.salt for m in messages} == {1, 2, 3}
