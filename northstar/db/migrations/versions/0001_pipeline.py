"""The pipeline: API keys, the dedupe ledger, the metric catalogue and raw measurements.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from northstar.db.timescale import make_hypertable

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "event_keys",
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("source", "event_id", name="pk_event_keys"),
    )
    op.create_table(
        "metrics",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column(
            "dimensions",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name="pk_metrics"),
    )
    op.create_table(
        "measurements",
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column(
            "dimensions",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        comment="Raw metric events; a hypertable on `time` when TimescaleDB is installed.",
    )
    op.create_index("ix_measurements_metric_time", "measurements", ["metric", sa.text("time DESC")])
    # Raw events are kept two years (long enough for any annual goal plus its review);
    # chunks older than a week are compressed, segmented by metric for per-KPI scans.
    make_hypertable(
        "measurements",
        "time",
        chunk_interval="1 day",
        compress_after="7 days",
        segment_by="metric",
        retain_for="730 days",
    )


def downgrade() -> None:
    op.drop_table("measurements")
    op.drop_table("metrics")
    op.drop_table("event_keys")
    op.drop_table("api_keys")
