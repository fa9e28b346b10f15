"""`/v1/metrics` (read scope): the catalogue of metrics seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Row, func, select

from northstar.db.models import Metric, MetricActivity
from services.api.dependencies import Reader, Session
from services.api.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor, page_of

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


class MetricOut(BaseModel):
    name: str
    first_seen: datetime
    last_seen: datetime
    last_received: datetime
    event_count: int
    dimensions: list[str] = Field(description="Every dimension key seen on the metric.")
    dimension_sets: int = Field(
        description="Distinct dimension sets stored for the metric, counted against the cap "
        "NORTHSTAR_EVENT_MAX_DIMENSION_SETS (events adding a set past it are refused)."
    )


@router.get("", response_model=Page[MetricOut], summary="Every metric seen, by name")
async def list_metrics(
    session: Session, _: Reader, limit: Limit = 100, cursor: Cursor = None
) -> Page[MetricOut]:
    after = decode_cursor(cursor)
    # The counters are kept per shard, one writer each (docs/architecture.md, "One writer
    # per series"); a metric is listed once an event of it was stored.
    activity = (
        select(
            MetricActivity.metric,
            func.min(MetricActivity.first_seen).label("first_seen"),
            func.max(MetricActivity.last_seen).label("last_seen"),
            func.max(MetricActivity.last_received).label("last_received"),
            func.sum(MetricActivity.event_count).label("event_count"),
        )
        .group_by(MetricActivity.metric)
        .subquery()
    )
    query = (
        select(Metric, activity)
        .join(activity, activity.c.metric == Metric.name)
        .order_by(Metric.name)
        .limit(limit + 1)
    )
    if after:
        query = query.where(Metric.name > str(after[0]))
    rows = list((await session.execute(query)).all())
    return page_of(rows, limit, lambda row: encode_cursor([row.Metric.name]), _metric_out)


def _metric_out(row: Row[Any]) -> MetricOut:
    return MetricOut(
        name=row.Metric.name,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        last_received=row.last_received,
        event_count=int(row.event_count),
        dimensions=row.Metric.dimensions,
        dimension_sets=row.Metric.dimension_sets,
    )
