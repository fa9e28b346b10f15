"""Unit membership bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from northstar.auth.policy import UnitRole


class MembershipSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: UnitRole


class MemberOut(BaseModel):
    unit_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    email: str
    role: UnitRole
    created_at: datetime
