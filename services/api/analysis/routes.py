"""`GET /v1/kpis/{key}/breakdown` and `GET /v1/goals/{id}/drivers` (read scope)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from northstar.domain.analysis import Compare
from services.api.analysis.repository import AnalysisRepository
from services.api.analysis.schemas import BreakdownOut, DriversOut
from services.api.analysis.service import AnalysisService
from services.api.dependencies import Reader, Session

router = APIRouter(tags=["analysis"])


def _service(session: Session) -> AnalysisService:
    return AnalysisService(AnalysisRepository(session))


@router.get(
    "/v1/kpis/{key}/breakdown",
    response_model=BreakdownOut,
    response_model_by_alias=True,
    summary="A KPI by dimension",
    description="The KPI's value per value (or combination of values) of up to three "
    "dimensions over `[from, to]`: the top `limit` groups, everything else as `other`, "
    "and the total. Each group's value is the expression evaluated on that group's "
    "events, so ratios and percentiles are right; `additive` says whether the groups add "
    "up to the total. Read from the rollups (week, day, hour and minute buckets; raw events "
    "only for the seconds at the range's edges). Unknown KPI: 404; bad `by`, `limit` or "
    "range: 422.",
)
async def kpi_breakdown(
    key: Annotated[str, Path(description="The KPI's key.", max_length=64)],
    session: Session,
    _: Reader,
    by: Annotated[
        str,
        Query(
            description="Dimension names, comma-separated (at most 3), e.g. `region` or "
            "`region,channel`.",
            max_length=200,
        ),
    ],
    start: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="RFC 3339 with offset; default `to` minus 30 days."),
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="RFC 3339 with offset; default now.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="How many groups to list before `other`.")
    ] = 10,
) -> BreakdownOut:
    return await _service(session).breakdown(key, by, start, end, limit, datetime.now(UTC))


@router.get(
    "/v1/goals/{goal_id}/drivers",
    response_model=DriversOut,
    response_model_by_alias=True,
    summary="What drives a goal's gap",
    description="The goal's gap — its actual against the expected pace now "
    "(`compare=expected`), or this period against the previous one of the same length "
    "(`compare=previous`) — split into contributions per value of one dimension, largest "
    "first. For additive KPIs the contributions sum to the gap; ratios and averages use a "
    "rate/mix decomposition that also sums to it; other shapes are ranked by weighted "
    "difference (`method` says which). Without `by`, every dimension seen on the KPI's "
    "metrics is tried and the one that concentrates the gap most is answered, the others "
    "listed in `alternatives`. Unknown goal: 404; a roll-up goal, a goal not started, "
    "no data, or `compare=expected` without a target: 422. See docs/analysis.md.",
)
async def goal_drivers(
    goal_id: Annotated[uuid.UUID, Path(description="The goal's id.")],
    session: Session,
    _: Reader,
    by: Annotated[
        str | None,
        Query(description="One dimension name; default: the most concentrated.", max_length=50),
    ] = None,
    compare: Annotated[
        Compare, Query(description="`expected` (default) or `previous`.")
    ] = Compare.EXPECTED,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="How many dimension values to list.")
    ] = 20,
) -> DriversOut:
    return await _service(session).drivers(goal_id, by, compare, limit, datetime.now(UTC))
