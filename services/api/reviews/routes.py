"""`/v1/reviews` (read scope to read, write scope to record reviews and decisions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.audit import Audit
from services.api.dependencies import Reader, Session, Writer
from services.api.pagination import (
    Cursor,
    Limit,
    Page,
    decode_time_key,
    encode_time_key,
    page_of,
)
from services.api.reviews.repository import ReviewRepository
from services.api.reviews.schemas import (
    DecisionCreate,
    DecisionOut,
    DecisionUpdate,
    ReviewCreate,
    ReviewOut,
)
from services.api.reviews.service import ReviewService

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


def _service(session: Session) -> ReviewService:
    return ReviewService(ReviewRepository(session))


@router.post(
    "",
    status_code=201,
    response_model=ReviewOut,
    summary="Record a performance review",
    description="Freezes the status object of every goal in scope (the subtree under "
    "`scope_goal_id`, itself included, or every goal) into `snapshot`, as the goals' latest "
    "evaluations stand now; later evaluations never change it. An unknown `scope_goal_id` "
    "or a period that ends before it starts is a 422.",
)
async def create_review(
    body: ReviewCreate, session: Session, principal: Writer, audit: Audit
) -> ReviewOut:
    review = await _service(session).create(body, principal.name, datetime.now(UTC))
    # The snapshot is derived (every goal's status), not something anybody typed.
    after = review.model_dump(mode="json", exclude={"snapshot"})
    audit.record("create", "review", review.id, after=after)
    await session.commit()
    return review


@router.get(
    "",
    response_model=Page[ReviewOut],
    summary="List reviews",
    description="Most recently held first, keyset-paginated; each with its snapshot and decisions.",
)
async def list_reviews(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    goal_id: Annotated[
        uuid.UUID | None, Query(description="Only reviews whose snapshot holds this goal.")
    ] = None,
) -> Page[ReviewOut]:
    reviews = await _service(session).page(limit + 1, decode_time_key(cursor), goal_id)
    return page_of(reviews, limit, lambda r: encode_time_key(r.held_at, r.id), lambda r: r)


@router.get("/{review_id}", response_model=ReviewOut, summary="Get a review")
async def get_review(review_id: uuid.UUID, session: Session, _: Reader) -> ReviewOut:
    return await _service(session).get(review_id)


@router.post(
    "/{review_id}/decisions",
    status_code=201,
    response_model=DecisionOut,
    summary="Record a decision, action item or target change",
    description="An unknown `goal_id` is a 422; a `target_change` must name its goal. A "
    "target change is carried out by a goal PATCH that sends this review's id as "
    "`review_id`: the revision in the goal's history then cites the review.",
)
async def add_decision(
    review_id: uuid.UUID, body: DecisionCreate, session: Session, _: Writer, audit: Audit
) -> DecisionOut:
    decision = await _service(session).add_decision(review_id, body)
    audit.record("create", "review_decision", decision.id, after=decision)
    await session.commit()
    return decision


@router.patch(
    "/{review_id}/decisions/{decision_id}",
    response_model=DecisionOut,
    summary="Change a decision",
    description="Sets `done`, `text`, `owner` or `due`; only the fields sent change.",
)
async def update_decision(
    review_id: uuid.UUID,
    decision_id: uuid.UUID,
    body: DecisionUpdate,
    session: Session,
    _: Writer,
    audit: Audit,
) -> DecisionOut:
    service = _service(session)
    before = next(
        (d for d in (await service.get(review_id)).decisions if d.id == decision_id), None
    )
    decision = await service.update_decision(review_id, decision_id, body, datetime.now(UTC))
    audit.record("update", "review_decision", decision_id, before=before, after=decision)
    await session.commit()
    return decision
