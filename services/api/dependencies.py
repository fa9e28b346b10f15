"""Request-scoped dependencies routes use: the database session and the actor.

`Reader`, `Writer` and `Admin` are the common `Permit` declarations (read anything;
change organisation-wide things, editors and up; admin only). Routes whose decision
depends on the resource (a goal's unit, its owner) declare `Permit(action, resolver)`
(see `services.api.access`).
"""

from __future__ import annotations

from services.api.access import Actor, Admin, Permit, Public, Reader, Writer
from services.api.transaction import Session, get_session

__all__ = ["Actor", "Admin", "Permit", "Public", "Reader", "Session", "Writer", "get_session"]
