"""Cardinality limits: the known dimension sets of each metric, and their count on the
catalogue (docs/ingest.md, "Cardinality limits"), backfilled from `rollup_1d`.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_dimension_sets",
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("metric", "dimensions", name=op.f("pk_metric_dimension_sets")),
        comment="Each metric's distinct dimension sets, counted against "
        "NORTHSTAR_EVENT_MAX_DIMENSION_SETS.",
    )
    op.add_column(
        "metrics",
        sa.Column("dimension_sets", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    # Every stored event is in rollup_1d (kept without retention), so its distinct
    # (metric, dimensions) are the sets stored so far; on TimescaleDB it is a hypertable,
    # read like any table.
    op.execute(
        """
        INSERT INTO metric_dimension_sets (metric, dimensions, first_seen)
        SELECT metric, dimensions, min(bucket) FROM rollup_1d GROUP BY metric, dimensions
        """
    )
    op.execute(
        """
        UPDATE metrics m SET dimension_sets = s.n
        FROM (SELECT metric, count(*) AS n FROM metric_dimension_sets GROUP BY metric) s
        WHERE m.name = s.metric
        """
    )


def downgrade() -> None:
    op.drop_column("metrics", "dimension_sets")
    op.drop_table("metric_dimension_sets")
