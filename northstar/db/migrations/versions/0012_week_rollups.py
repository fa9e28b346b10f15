"""Week rollups: `rollup_1w`, 7-day buckets from the Unix epoch, backfilled from
`rollup_1d` (docs/performance.md, "Week rollups").

A range of whole weeks then reads one row per dimension set and week instead of seven
day rows, for every function but percentiles (the week level keeps no quantile sketch;
percentiles read the day rows as before). The evaluator folds every level in the batch's
transaction, so once this migration has run and the evaluators run the code that knows
the level, the week rows hold every event. Stop the evaluators before migrating (as
`docker compose up` does: the services start after `migrate`), or an old evaluator's
batches committed after the backfill would be missing from the week rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from northstar.db.timescale import make_hypertable

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_1w",
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_value", sa.Double(), nullable=False),
        sa.Column("sketch", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("metric", "bucket", "dimensions", name=op.f("pk_rollup_1w")),
        comment="Per-week summaries of measurements (7-day buckets from the Unix epoch), "
        "without quantile sketches.",
    )
    # Kept for good, like the day level it is merged from; a chunk holds ten years of
    # weeks (a seventh of the day level's rows per year).
    make_hypertable("rollup_1w", "bucket", chunk_interval="3650 days")
    # Day buckets tile week buckets (both counted from the epoch), so merging the day
    # rows of each week gives exactly the rows the evaluator would have folded. The week
    # level keeps no quantile sketch (`northstar/rollups/levels.py`): `{}`.
    op.execute(
        """
        INSERT INTO rollup_1w (metric, bucket, dimensions, count, sum, min, max, last_time,
                               last_value, sketch)
        SELECT metric, date_bin('7 days', bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00'),
               dimensions, sum(count), sum(sum), min(min), max(max), max(last_time),
               (array_agg(last_value ORDER BY last_time DESC))[1], '{}'::jsonb
        FROM rollup_1d
        GROUP BY 1, 2, 3
        """
    )


def downgrade() -> None:
    op.drop_table("rollup_1w")
