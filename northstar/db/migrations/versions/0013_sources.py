"""Sources: `sources` (what to pull, sealed connection, schedule, watermark) and
`source_runs` (the run queue and log), alert kind `source` (SPEC §16, docs/sources.md).

Revision ID: 0013_sources
Revises: 0013_oidc
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_sources"
down_revision: str | None = "0013_oidc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERT_KINDS = ("status", "forecast", "stale_data", "plan", "anomaly")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("connection", sa.Text(), nullable=False),
        sa.Column("connection_host", sa.String(length=255), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column(
            "mapping",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("lookback", sa.Interval(), nullable=False),
        sa.Column("settle", sa.Interval(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_run_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "kind IN ('sql', 'prometheus', 'http_json')", name=op.f("ck_sources_kind")
        ),
        sa.CheckConstraint("timeout_seconds > 0", name=op.f("ck_sources_timeout")),
        sa.CheckConstraint("max_rows > 0", name=op.f("ck_sources_max_rows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_index(op.f("ix_sources_metric"), "sources", ["metric"], unique=False)
    op.create_index(
        "ix_sources_due",
        "sources",
        ["next_run_at"],
        unique=False,
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "source_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=True),
        sa.Column("duplicates", sa.Integer(), nullable=True),
        sa.Column("rejected", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'manual')", name=op.f("ck_source_runs_trigger")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_source_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_runs_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_runs")),
        sa.UniqueConstraint("source_id", "slot", name="uq_source_runs_source_slot"),
    )
    op.create_index(
        "ix_source_runs_source_id_created_at",
        "source_runs",
        ["source_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_source_runs_pending",
        "source_runs",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(
        op.f("ck_alerts_kind"), "alerts", _in("kind", (*ALERT_KINDS, "source"))
    )


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'source'")
    op.drop_constraint(op.f("ck_alerts_kind"), "alerts", type_="check")
    op.create_check_constraint(op.f("ck_alerts_kind"), "alerts", _in("kind", ALERT_KINDS))
    op.drop_index("ix_source_runs_pending", table_name="source_runs")
    op.drop_index("ix_source_runs_source_id_created_at", table_name="source_runs")
    op.drop_table("source_runs")
    op.drop_index("ix_sources_due", table_name="sources")
    op.drop_index(op.f("ix_sources_metric"), table_name="sources")
    op.drop_table("sources")
