"""`/v1/metrics` (read scope): the catalogue of metrics seen."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from northstar.db.models import Metric
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
    query = select(Metric).order_by(Metric.name).limit(limit + 1)
    if after:
        query = query.where(Metric.name > str(after[0]))
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit, lambda m: encode_cursor([m.name]), _metric_out)


def _metric_out(m: Metric) -> MetricOut:
    return MetricOut(
        name=m.name,
        first_seen=m.first_seen,
        last_seen=m.last_seen,
        last_received=m.last_received,
        event_count=m.event_count,
        dimensions=m.dimensions,
        dimension_sets=m.dimension_sets,
    )
