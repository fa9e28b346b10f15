"""SQLAlchemy models, mirroring the Alembic migrations exactly (`alembic check` finds drift).

Relationships are declared `lazy="raise"` so async code never loads by accident.
High-volume tables (`measurements`) are Core tables without an ORM mapping: they are
written with COPY and read with aggregate SQL, never as objects.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class ApiKey(Base):
    """An API key. Only the SHA-256 of the secret is stored; keys are 256-bit random, so a
    fast hash is the right tool (no password-style stretching is needed)."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventKey(Base):
    """The dedupe ledger: one row per `(source, event_id)` ever stored.

    Kept apart from `measurements` because a TimescaleDB hypertable can only enforce
    uniqueness on keys that include its time column, and the contract dedupes on
    `(source, event_id)` alone."""

    __tablename__ = "event_keys"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Metric(Base):
    """The catalogue of every metric seen (SPEC §7 `GET /v1/metrics`)."""

    __tablename__ = "metrics"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_received: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    event_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    dimensions: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )


measurements = Table(
    "measurements",
    Base.metadata,
    Column("time", DateTime(timezone=True), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("value", Double, nullable=False),
    Column("dimensions", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("source", String(100), nullable=False),
    Column("event_id", String(100), nullable=False),
    Index("ix_measurements_metric_time", "metric", text("time DESC")),
    comment="Raw metric events; a hypertable on `time` when TimescaleDB is installed.",
)
