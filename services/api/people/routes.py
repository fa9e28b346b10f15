"""`/v1/people`: the people directory every signed-in person (and any key that may read)
reads, so that owners are shown by name to everyone and picked from a list (issue 24).

It answers names and ids only — no emails, roles or sign-in state: those stay with
`/v1/users`, which only admins read. Deactivated people are listed (flagged), so a goal
they still own shows their name; a picker offers the active ones.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select, tuple_

from northstar.db.models import User
from services.api.dependencies import Reader, Session
from services.api.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/people", tags=["people"])


class PersonOut(BaseModel):
    id: uuid.UUID = Field(description="The person's user id (what `owner_id` fields hold).")
    name: str = Field(description="Their name.")
    active: bool = Field(description="False once deactivated (kept for the names of owners).")


@router.get(
    "",
    response_model=Page[PersonOut],
    summary="The people directory",
    description="Every person's id and name, by name; `q` keeps those whose name contains "
    "it (case-insensitive). Readable by anyone who may read; no emails.",
)
async def list_people(
    session: Session,
    _: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of a name (type-ahead).")
    ] = None,
) -> Page[PersonOut]:
    query = select(User.id, User.name, User.status).order_by(User.name, User.id).limit(limit + 1)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(User.name).like(func.lower(pattern), escape="\\"))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(User.name, User.id) > (str(after[0]), uuid.UUID(after[1])))
    rows = (await session.execute(query)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].name, str(rows[-1].id)])
    return Page[PersonOut](
        items=[PersonOut(id=r.id, name=r.name, active=r.status == "active") for r in rows],
        next_cursor=next_cursor,
    )
