"""Metric events: the validated event, its validation rules (SPEC §3) and its Kafka encoding."""

from northstar.events.model import FieldError, MetricEvent

__all__ = ["FieldError", "MetricEvent"]
