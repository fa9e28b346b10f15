"""The metric event as it travels from ingest through Kafka to the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class MetricEvent:
    """A validated event. `timestamp` is timezone-aware; `source` and `event_id` are set
    (by the client or by ingest) before the event leaves ingest."""

    event_id: str
    source: str
    metric: str
    value: float
    timestamp: datetime
    dimensions: dict[str, str]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one event of a request, reported back as `{index, field, message}`."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}
