"""SQLAlchemy models, mirroring the Alembic migrations exactly (`alembic check` finds drift).

Relationships are declared `lazy="raise"` so async code never loads by accident.
High-volume tables (`measurements`) are Core tables without an ORM mapping: they are
written with COPY and read with aggregate SQL, never as objects.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
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
    # People (migration 0007): a personal key belongs to a user and acts as them; a service
    # key has no user. `created_by_*` is the actor that created it, named as it was then.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_by_kind: Mapped[str | None] = mapped_column(String(4))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by_name: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Event sources the key may write besides its own name (SPEC §3, docs/api-keys).
    sources: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )


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
    # Only changed when new dimension sets are admitted; what changes with every batch is
    # in `metric_activity`, one row per shard (docs/architecture.md, "One writer per series").
    dimensions: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )
    # How many rows `metric_dimension_sets` holds for it (the cardinality cap's count).
    dimension_sets: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class MetricActivity(Base):
    """A metric's events seen through one shard (the Kafka partition they came from):
    the catalogue's counters, kept apart per shard so each row has one writer, summed
    (first/last: least/greatest) by the readers."""

    __tablename__ = "metric_activity"
    __table_args__ = (
        {
            "comment": "Per metric and shard (Kafka partition): first/last event time, "
            "last receipt and event count; readers sum over shards."
        },
    )

    metric: Mapped[str] = mapped_column(String(100), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_received: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    event_count: Mapped[int] = mapped_column(BigInteger, nullable=False)


class MetricDimensionSet(Base):
    """One distinct dimension set of a metric (docs/ingest.md, "Cardinality limits")."""

    __tablename__ = "metric_dimension_sets"
    __table_args__ = (
        {
            "comment": "Each metric's distinct dimension sets, counted against "
            "NORTHSTAR_EVENT_MAX_DIMENSION_SETS."
        },
    )

    metric: Mapped[str] = mapped_column(String(100), primary_key=True)
    dimensions: Mapped[dict[str, str]] = mapped_column(JSONB, primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


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


# -- KPIs, goals and their evaluation (migration 0002) -----------------------------------


class OrgUnit(Base):
    """A node of the organisation: organization → department → team → individual."""

    __tablename__ = "org_units"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The strategy statement (SPEC §12), set on the organisation unit (migration 0008).
    vision: Mapped[str | None] = mapped_column(Text)
    mission: Mapped[str | None] = mapped_column(Text)
    values: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(
            "kind IN ('organization', 'department', 'team', 'individual')", name="kind"
        ),
    )


class Kpi(Base):
    """A named expression over metric aggregations (SPEC §4). `metrics` is derived from the
    parsed expression and indexed, so the evaluator finds the KPIs a batch touches."""

    __tablename__ = "kpis"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    unit: Mapped[str] = mapped_column(String(50), nullable=False, server_default="")
    expression: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    max_staleness: Mapped[timedelta | None] = mapped_column(Interval)
    metrics: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The unit whose leads may change it (SPEC §11, migration 0013); NULL: editors only.
    unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    # `manual`: values come from people's check-ins (SPEC §12, migration 0008).
    source: Mapped[str] = mapped_column(String(10), nullable=False, server_default="events")
    category: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()
    # `{granularity: hour|day, sensitivity: low|medium|high}` or NULL (SPEC §13).
    # SQL NULL when off, not JSON null (which `IS NOT NULL` would take for settings).
    anomaly: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))

    __table_args__ = (
        CheckConstraint("kind IN ('leading', 'lagging')", name="kind"),
        CheckConstraint("source IN ('events', 'manual')", name="source"),
        Index("ix_kpis_metrics", "metrics", postgresql_using="gin"),
    )


class Goal(Base):
    """A SMART goal (SPEC §5). `kpi_key` is NULL for a roll-up goal. `start`/`due` may be
    missing while a goal is being drafted; `smart` in the API reports what is missing."""

    __tablename__ = "goals"

    id: Mapped[uuid.UUID] = _uuid_pk()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    owner: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("goals.id", ondelete="RESTRICT"), index=True
    )
    kpi_key: Mapped[str | None] = mapped_column(
        ForeignKey("kpis.key", ondelete="RESTRICT", onupdate="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(12), nullable=False, server_default="reach")
    baseline: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    target: Mapped[float | None] = mapped_column(Double)
    start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pacing: Mapped[str] = mapped_column(String(10), nullable=False, server_default="linear")
    at_risk: Mapped[float] = mapped_column(Double, nullable=False, server_default="0.95")
    off_track: Mapped[float] = mapped_column(Double, nullable=False, server_default="0.85")
    weight: Mapped[float] = mapped_column(Double, nullable=False, server_default="1")
    window: Mapped[timedelta | None] = mapped_column(Interval)
    rollup: Mapped[str] = mapped_column(String(10), nullable=False, server_default="weighted")
    alert_clear_margin: Mapped[float] = mapped_column(Double, nullable=False, server_default="0.02")
    # SPEC §5: a child's score counts at most this much in the roll-up (migration 0013).
    rollup_cap: Mapped[float] = mapped_column(Double, nullable=False, server_default="1")
    # Archived goals keep their history but leave the scorecard and their parent's roll-up
    # (docs/kpis-and-goals.md, "Archiving a goal"; migration 0013).
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Plans and check-ins (SPEC §12, migration 0008). `last_check_in_at` and `plan_summary`
    # are kept up to date by the check-in and initiative writes, in their transactions, so
    # the status object and the tree read them with the goal row (see docs/plans.md).
    perspective: Mapped[str | None] = mapped_column(String(50))
    check_in_cadence: Mapped[timedelta | None] = mapped_column(Interval)
    last_check_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    plan_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cycles.id", ondelete="RESTRICT"), index=True
    )
    carried_from: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("goals.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("type IN ('reach', 'stay_above', 'stay_below')", name="type"),
        CheckConstraint("pacing IN ('linear', 'none', 'seasonal')", name="pacing"),
        CheckConstraint("rollup IN ('weighted', 'worst')", name="rollup"),
        CheckConstraint("off_track > 0 AND off_track <= at_risk", name="thresholds"),
        CheckConstraint("weight >= 0", name="weight"),
        CheckConstraint("rollup_cap > 0", name="rollup_cap"),
        CheckConstraint("due IS NULL OR start IS NULL OR due >= start", name="period"),
    )


class GoalRevision(Base):
    """A change to target, baseline, thresholds or due date of a started goal, with why."""

    __tablename__ = "goal_revisions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    changed_at: Mapped[datetime] = _created_at()
    changed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    review_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="SET NULL", use_alter=True)
    )


class GoalState(Base):
    """The latest evaluation of each goal: what the API, gauges and alerts read. Its row is
    also the lock that serialises evaluations of one goal across evaluator replicas."""

    __tablename__ = "goal_state"

    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str | None] = mapped_column(String(12))
    actual: Mapped[float | None] = mapped_column(Double)
    expected: Mapped[float | None] = mapped_column(Double)
    target: Mapped[float | None] = mapped_column(Double)
    score: Mapped[float | None] = mapped_column(Double)
    progress: Mapped[float | None] = mapped_column(Double)
    forecast_value: Mapped[float | None] = mapped_column(Double)
    forecast_status: Mapped[str | None] = mapped_column(String(16))
    # The forecast's band, probability and model (migration 0009, SPEC §13).
    forecast_low: Mapped[float | None] = mapped_column(Double)
    forecast_high: Mapped[float | None] = mapped_column(Double)
    forecast_probability: Mapped[float | None] = mapped_column(Double)
    forecast_method: Mapped[str | None] = mapped_column(String(10))
    # A roll-up goal's children counted by status (SPEC §5, migration 0013); NULL for a
    # goal with a KPI.
    children: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    history_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GoalJudgeRequest(Base):
    """A judgement asked of the evaluator replica holding `owner_partition`, the events
    topic's partition that owns the goal's tree (docs/architecture.md, "One owner per
    goal"). Inserted by any replica in its batch's transaction, deleted by the owner
    when it judges the goal: plain new rows, so replicas never wait on each other here."""

    __tablename__ = "goal_judge_requests"
    __table_args__ = (
        {
            "comment": "Goals to judge, by the evaluator replica holding owner_partition "
            "(one owner per goal tree); inserted by any replica, deleted by the owner."
        },
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    owner_partition: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    # No foreign key: it would share-lock the goal's row in every batch (migration 0014).
    goal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class AnomalyCheck(Base):
    """How far the anomaly checks of a KPI have got: buckets before `checked_until` were
    checked (or were history when detection was enabled)."""

    __tablename__ = "anomaly_checks"

    kpi_key: Mapped[str] = mapped_column(
        ForeignKey("kpis.key", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    checked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


goal_status_history = Table(
    "goal_status_history",
    Base.metadata,
    Column("time", DateTime(timezone=True), nullable=False),
    Column("goal_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(12), nullable=False),
    Column("actual", Double),
    Column("expected", Double),
    Column("score", Double),
    Index("ix_goal_status_history_goal_id_time", "goal_id", text("time DESC")),
    comment="Goal status time series; a hypertable on `time` when TimescaleDB is installed.",
)


def _rollup_table(name: str, comment: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("metric", String(100), primary_key=True),
        Column("bucket", DateTime(timezone=True), primary_key=True),
        Column("dimensions", JSONB, primary_key=True),
        # A hot series' slice (0: not salted; northstar/events/routing.py): its rows are
        # its own, written by its partition's owner, and summed by every reader.
        Column("salt", SmallInteger, primary_key=True, server_default=text("0")),
        Column("count", BigInteger, nullable=False),
        Column("sum", Double, nullable=False),
        Column("min", Double, nullable=False),
        Column("max", Double, nullable=False),
        Column("last_time", DateTime(timezone=True), nullable=False),
        Column("last_value", Double, nullable=False),
        Column("sketch", JSONB, nullable=False),
        comment=comment,
    )


# Mergeable summaries of `measurements` per metric, dimension set and bucket, maintained by
# the evaluator in the same transaction as the raw insert (see docs/kpis.md).
rollup_1m = _rollup_table("rollup_1m", "Per-minute summaries of measurements.")
rollup_1h = _rollup_table("rollup_1h", "Per-hour summaries of measurements.")
rollup_1d = _rollup_table("rollup_1d", "Per-day (UTC) summaries of measurements.")
rollup_1w = _rollup_table(
    "rollup_1w",
    "Per-week summaries of measurements (7-day buckets from the Unix epoch), without "
    "quantile sketches.",
)


# -- Alerts, outbox, webhooks and reviews (migration 0003) -------------------------------


class Alert(Base):
    """An alert on a goal (SPEC §6). The partial unique index is the invariant itself: at
    most one unresolved alert per (goal, kind), whatever the number of evaluators."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = _uuid_pk()
    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    state: Mapped[str] = mapped_column(String(14), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )

    __table_args__ = (
        CheckConstraint(
            "kind IN ('status', 'forecast', 'stale_data', 'plan', 'anomaly', 'source')",
            name="kind",
        ),
        CheckConstraint("severity IN ('warning', 'critical')", name="severity"),
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state"),
        Index(
            "uq_alerts_unresolved_goal_kind",
            "goal_id",
            "kind",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_alerts_state_opened_at", "state", "opened_at"),
        Index("ix_alerts_goal_id_opened_at", "goal_id", "opened_at"),
    )


class AlertEvent(Base):
    """Every change of an alert, as published (opened, updated, acknowledged, resolved)."""

    __tablename__ = "alert_events"

    id: Mapped[uuid.UUID] = _uuid_pk()
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(24), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    state: Mapped[str] = mapped_column(String(14), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class OutboxEvent(Base):
    """Side effects written in the same transaction as the change that causes them, then
    relayed (to `northstar.alerts` and to webhook deliveries) after it committed."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    key: Mapped[str] = mapped_column(String(100), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set instead of `relayed_at` when the event cannot be published (docs/notifications.md).
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("relayed_at IS NULL AND parked_at IS NULL"),
        ),
    )


class Webhook(Base):
    """A subscriber; its signing secrets are `WebhookSecret` rows."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = _uuid_pk()
    url: Mapped[str] = mapped_column(Text, nullable=False)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str | None] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookSecret(Base):
    """A signing secret of a webhook, encrypted (northstar/crypto.py: HMAC signing needs the
    secret itself, so it cannot be hashed). Every secret not yet expired signs each
    delivery, so a receiver can move to a new secret while the old one still verifies."""

    __tablename__ = "webhook_secrets"

    id: Mapped[uuid.UUID] = _uuid_pk()
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    ciphertext: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_secrets_webhook_id", "webhook_id"),)


class WebhookDelivery(Base):
    """One event to one subscriber: the delivery log and the retry queue in one table."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = _uuid_pk()
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    )


class Review(Base):
    """A performance review meeting; `snapshot` freezes the status of every goal in scope."""

    __tablename__ = "reviews"

    id: Mapped[uuid.UUID] = _uuid_pk()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scope_goal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("goals.id", ondelete="SET NULL")
    )
    participants: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )
    notes: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str | None] = mapped_column(String(100))


class ReviewGoal(Base):
    """Which goals a review's snapshot holds, so a goal's history can list its reviews."""

    __tablename__ = "review_goals"

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReviewDecision(Base):
    """A decision, action item or target change recorded in a review."""

    __tablename__ = "review_decisions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("kind IN ('decision', 'action', 'target_change')", name="kind"),
    )


# -- People: users, sessions, invitations, unit memberships, audit (migration 0007) ------


class User(Base):
    """A person. `email` is stored lower-cased and unique; `password_hash` is an Argon2id
    PHC string, NULL until an invited person sets a password."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="active")
    password_hash: Mapped[str | None] = mapped_column(Text)
    # As SCIM provisioning sent them: the provider's own id for the person, and their
    # login there when it is not their email.
    scim_external_id: Mapped[str | None] = mapped_column(String(255))
    scim_user_name: Mapped[str | None] = mapped_column(String(255))
    # When SCIM deleted the person: they are deactivated and SCIM no longer finds them (a
    # later POST with their userName brings the same person back); Northstar keeps them.
    scim_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'editor', 'member', 'viewer')", name="role"),
        CheckConstraint("status IN ('active', 'deactivated')", name="status"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )


class UserSession(Base):
    """A browser sign-in. Only SHA-256 digests of the session and CSRF tokens are stored:
    a copy of the table signs nobody in. Revoked by logout, deactivation or expiry."""

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(String(64))
    # Set for a sign-in through an identity provider: signing out here also offers the
    # provider's own sign-out (RP-initiated logout), with the ID token as the hint.
    identity_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="SET NULL")
    )
    id_token: Mapped[str | None] = mapped_column(Text)


class IdentityProvider(Base):
    """An OpenID Connect provider people sign in with (docs/sso.md). The client secret is
    encrypted with the key ring (northstar/crypto.py) and never shown again.
    `role_mapping` is `{claim, map: {value: role}, default}`; `unit_mapping` is `{claim,
    map: {value: [{unit_id, role}]}}`; both are applied again at every sign-in."""

    __tablename__ = "identity_providers"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    client_id: Mapped[str] = mapped_column(String(255), nullable=False)
    client_secret_ciphertext: Mapped[str] = mapped_column(Text, nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    allowed_domains: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    role_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    unit_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    jit: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class UserIdentity(Base):
    """A person's account at an identity provider (its `sub`), linked on their first
    sign-in through it: by verified email to an existing person, or to a new one (JIT)."""

    __tablename__ = "user_identities"

    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = _created_at()
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OidcFlow(Base):
    """A sign-in under way: started by `GET /v1/auth/oidc/{id}/start`, used up (once) by
    the callback. Only the digest of `state` is stored; the nonce and PKCE verifier stay
    on the server, never in the browser."""

    __tablename__ = "oidc_flows"

    id: Mapped[uuid.UUID] = _uuid_pk()
    state_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False
    )
    nonce: Mapped[str] = mapped_column(String(100), nullable=False)
    code_verifier: Mapped[str] = mapped_column(String(128), nullable=False)
    return_to: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScimGroup(Base):
    """A group an identity provider provisions through SCIM. Its members' roles and unit
    memberships follow the identity providers' `groups` mappings (docs/sso.md)."""

    __tablename__ = "scim_groups"

    id: Mapped[uuid.UUID] = _uuid_pk()
    display_name: Mapped[str] = mapped_column(String(255), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class ScimGroupMember(Base):
    __tablename__ = "scim_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Invitation(Base):
    """A one-time token with which an invited person sets their password (digest only)."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnitMember(Base):
    """A person's role in an org unit: `lead` (manages the unit's subtree) or `member`."""

    __tablename__ = "unit_members"

    unit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (CheckConstraint("role IN ('lead', 'member')", name="role"),)


class AuditEvent(Base):
    """One mutating request: who (id and name at the time), what, before/after of the
    changed fields. Written in the transaction of the change; never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = _uuid_pk()
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    actor_kind: Mapped[str] = mapped_column(String(4), nullable=False)
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(100), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    request_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("actor_kind IN ('user', 'key')", name="actor_kind"),
        Index("ix_audit_events_at", "at", "id"),
        Index("ix_audit_events_resource", "resource_type", "resource_id", "at"),
        Index("ix_audit_events_actor", "actor_id", "at"),
    )


# -- Plans and check-ins (migration 0008) ------------------------------------------------


class Cycle(Base):
    """A named planning period (`FY2027`, `2027-Q1`); goals in it take its dates by default."""

    __tablename__ = "cycles"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (CheckConstraint("due > start", name="period"),)


class Initiative(Base):
    """A piece of a goal's operational plan: owner, timeline, budget and milestones."""

    __tablename__ = "initiatives"

    id: Mapped[uuid.UUID] = _uuid_pk()
    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="planned")
    start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    spent: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, server_default="0")
    carried_from: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'in_progress', 'blocked', 'done', 'cancelled')", name="status"
        ),
        CheckConstraint("(budget_amount IS NULL) = (budget_currency IS NULL)", name="budget"),
        CheckConstraint("due IS NULL OR start IS NULL OR due >= start", name="period"),
    )


class Milestone(Base):
    """A step of an initiative; the initiative's progress is the share of them done."""

    __tablename__ = "milestones"

    id: Mapped[uuid.UUID] = _uuid_pk()
    initiative_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CheckIn(Base):
    """A person's update on a goal: judgement (confidence, blockers) and, for a goal on a
    manual KPI, a value (which also travels the pipeline as an event)."""

    __tablename__ = "check_ins"

    id: Mapped[uuid.UUID] = _uuid_pk()
    goal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), nullable=False
    )
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    confidence: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    blockers: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("confidence BETWEEN 1 AND 10", name="confidence"),
        Index("ix_check_ins_goal_id_at", "goal_id", "at"),
    )


# -- Notifications to people (migration 0010, docs/notifications.md) ---------------------


class NotificationChannel(Base):
    """Where messages go: an email address, a Slack or Teams webhook, any Apprise URL.
    `target` is sealed (Fernet, `northstar.crypto.SecretBox`) and never shown again.
    `owner_id` is a user's or a unit's id, as `owner_kind` says (no foreign key: it points
    at one of two tables)."""

    __tablename__ = "notification_channels"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    target: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    owner_kind: Mapped[str] = mapped_column(String(4), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # Created by Northstar for a goal owner's default critical-alert emails.
    implicit: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str | None] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('email', 'slack', 'teams', 'apprise')", name="kind"),
        CheckConstraint("owner_kind IN ('user', 'unit')", name="owner_kind"),
        Index("ix_notification_channels_owner", "owner_kind", "owner_id"),
        Index(
            "uq_notification_channels_implicit_owner",
            "owner_id",
            unique=True,
            postgresql_where=text("implicit"),
        ),
    )


class NotificationSubscription(Base):
    """What a channel hears about: one goal, a unit's subtree or the owner's own goals;
    which event types; from which severity up."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), nullable=False, index=True
    )
    scope: Mapped[str] = mapped_column(String(4), nullable=False)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), index=True
    )
    events: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    min_severity: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("scope IN ('goal', 'unit', 'mine')", name="scope"),
        CheckConstraint("min_severity IN ('info', 'warning', 'critical')", name="min_severity"),
        CheckConstraint(
            "(scope = 'goal') = (goal_id IS NOT NULL) AND (scope = 'unit') = (unit_id IS NOT NULL)",
            name="scope_target",
        ),
    )


class NotificationDigest(Base):
    """A daily or weekly summary to a channel at a local time; one message per period."""

    __tablename__ = "notification_digests"

    id: Mapped[uuid.UUID] = _uuid_pk()
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), nullable=False
    )
    cadence: Mapped[str] = mapped_column(String(6), nullable=False)
    at: Mapped[time] = mapped_column(Time, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    weekday: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = _created_at()
    # When its time was last set (created or moved): no period due before it is sent
    # (`northstar.notify.timing.period_to_send`, migration 0013).
    set_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("cadence IN ('daily', 'weekly')", name="cadence"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        UniqueConstraint("channel_id", "cadence", name="uq_notification_digests_channel_cadence"),
    )


class NotificationPreference(Base):
    """A person's quiet hours (local time), keyed by their user id."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = _created_at()


class NotificationMessage(Base):
    """One message to one channel: the grouping bucket, the retry queue and the delivery
    log in one row. Events of one goal join the open (unsealed) message of their channel
    and `group_key` until its first attempt seals it; digests and reminders are unique on
    `(channel_id, group_key)` for ever, which is the exactly-once-per-period guarantee."""

    __tablename__ = "notification_messages"

    id: Mapped[uuid.UUID] = _uuid_pk()
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    group_key: Mapped[str] = mapped_column(String(200), nullable=False)
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    events: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    held_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("kind IN ('event', 'digest', 'reminder')", name="kind"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index(
            "uq_notification_messages_open_group",
            "channel_id",
            "group_key",
            unique=True,
            postgresql_where=text("kind = 'event' AND sealed_at IS NULL"),
        ),
        Index(
            "uq_notification_messages_once",
            "channel_id",
            "group_key",
            unique=True,
            postgresql_where=text("kind <> 'event'"),
        ),
        Index(
            "ix_notification_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notification_messages_channel_id_created_at", "channel_id", "created_at"),
    )


# -- Goals as code (migration 0013) -------------------------------------------------------


class AppliedObject(Base):
    """The stable name of an object managed as a document (SPEC §18): `(kind, name)` is
    the document's identity, `object_id` the row it stands for (a UUID, or a KPI's key),
    `labels` the document's labels (what `apply --prune -l` selects on). One table for
    every kind, so no resource table grows a column for it (docs/goals-as-code.md)."""

    __tablename__ = "applied_objects"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(100), nullable=False)
    labels: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        UniqueConstraint("kind", "object_id", name="uq_applied_objects_kind_object_id"),
    )


# -- Sources: pulled data (migration 0013, SPEC §16, docs/sources.md) ---------------------


class Source(Base):
    """A place Northstar pulls one metric's values from on a schedule. `connection` is
    sealed (northstar/crypto.py) and never shown again; `connection_host` is what people
    see of it. `name` never changes: pulled events carry `pull:<name>` as their source,
    half of their dedupe key. `next_run_at` is the next slot the schedulers claim;
    `watermark` the newest row time a run has stored."""

    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    connection: Mapped[str] = mapped_column(Text, nullable=False)
    connection_host: Mapped[str] = mapped_column(String(255), nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    metric: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    timeout_seconds: Mapped[float] = mapped_column(Double, nullable=False)
    max_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    lookback: Mapped[timedelta] = mapped_column(Interval, nullable=False)
    settle: Mapped[timedelta] = mapped_column(Interval, nullable=False)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("kind IN ('sql', 'prometheus', 'http_json')", name="kind"),
        CheckConstraint("timeout_seconds > 0", name="timeout"),
        CheckConstraint("max_rows > 0", name="max_rows"),
        Index("ix_sources_due", "next_run_at", postgresql_where=text("enabled")),
    )


class SourceRun(Base):
    """One run of a source: the queue (`queued` rows are claimed by a collector with
    `FOR UPDATE SKIP LOCKED`) and the run log in one table. A scheduled run names its
    `slot`; the unique `(source_id, slot)` is what keeps one slot to one run whatever the
    number of collectors. `lease_until` is when a `running` run is given up as lost."""

    __tablename__ = "source_runs"

    id: Mapped[uuid.UUID] = _uuid_pk()
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
    )
    slot: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int | None] = mapped_column(Integer)
    events: Mapped[int | None] = mapped_column(Integer)
    duplicates: Mapped[int | None] = mapped_column(Integer)
    rejected: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("trigger IN ('schedule', 'manual')", name="trigger"),
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        UniqueConstraint("source_id", "slot", name="uq_source_runs_source_slot"),
        Index("ix_source_runs_source_id_created_at", "source_id", "created_at"),
        Index(
            "ix_source_runs_pending",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )
