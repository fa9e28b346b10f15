"""`/v1/goals/{goal_id}/check-ins`: anyone may read; a member of the goal's unit, its owner,
a lead (or editor, admin) may check in."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from northstar.http.problems import Problem
from services.api.audit import Audit
from services.api.check_ins.repository import CheckInRepository
from services.api.check_ins.schemas import CheckInCreate, CheckInOut
from services.api.check_ins.service import CheckInService, check_in_out
from services.api.dependencies import Reader, Session
from services.api.initiatives.permits import CheckInContributor
from services.api.judging import utcnow
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of

router = APIRouter(prefix="/v1/goals", tags=["check-ins"])


@router.post(
    "/{goal_id}/check-ins",
    status_code=201,
    response_model=CheckInOut,
    summary="Check in on a goal",
    description="A comment, a confidence (1-10), blockers and, for a goal on a manual KPI, "
    "a value. The value travels as an event (source `check-in`, event_id = the check-in's "
    "id) through the outbox and the events topic, so the goal's status moves once the "
    "evaluator has stored it, usually within a second. Send your own `id` to make retries "
    "safe: a known id answers 200 with the stored check-in.",
    responses={
        200: {"model": CheckInOut, "description": "A retry: this id was stored before."},
        404: {"description": "No such goal"},
        409: {"description": "The id belongs to a check-in on another goal"},
        422: {"description": "A value on a goal whose KPI is not manual, or a bad field"},
    },
)
async def create_check_in(
    goal_id: uuid.UUID,
    body: CheckInCreate,
    session: Session,
    principal: CheckInContributor,
    response: Response,
    audit: Audit,
) -> CheckInOut:
    check_in, created = await CheckInService(CheckInRepository(session)).create(
        goal_id, body, principal.name, utcnow()
    )
    if created:
        audit.record("create", "check_in", check_in.id, after=check_in_out(check_in))
    await session.commit()
    if not created:
        response.status_code = 200
    return check_in_out(check_in)


@router.get(
    "/{goal_id}/check-ins",
    response_model=Page[CheckInOut],
    summary="A goal's check-ins",
    description="Newest first, keyset-paginated.",
)
async def list_check_ins(
    goal_id: uuid.UUID, session: Session, _: Reader, limit: Limit = 100, cursor: Cursor = None
) -> Page[CheckInOut]:
    repository = CheckInRepository(session)
    if await repository.goal_with_kpi(goal_id) is None:
        raise Problem(404, f"There is no goal with id {goal_id}.")
    rows = list(await repository.page(goal_id, limit + 1, decode_time_key(cursor)))
    return page_of(rows, limit, lambda r: encode_time_key(r.at, r.id), check_in_out)
