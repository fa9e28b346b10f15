"""One writer per series: a salt in every rollup row's identity, and the catalogue's
per-batch counters moved from `metrics` to `metric_activity`, one row per metric and
shard (docs/architecture.md, "One writer per series").

Rows folded before this migration get salt 0, as every row of a series that is not hot
does. The counters of each metric move to shard 0 (the shards' sum is what readers see,
so where they start does not matter). Rebuilding the rollups' primary keys takes a
while on a large store; stop the evaluators first (as `docker compose up` does).

Revision ID: 0013_series
Revises: 0013_k8s
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_series"
down_revision: str | None = "0013_k8s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUPS = ("rollup_1m", "rollup_1h", "rollup_1d", "rollup_1w")
_ACTIVITY = ("first_seen", "last_seen", "last_received", "event_count")


def upgrade() -> None:
    for table in _ROLLUPS:
        op.add_column(
            table, sa.Column("salt", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
        )
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["metric", "bucket", "dimensions", "salt"])

    op.create_table(
        "metric_activity",
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "shard", name=op.f("pk_metric_activity")),
        comment="Per metric and shard (Kafka partition): first/last event time, last "
        "receipt and event count; readers sum over shards.",
    )
    op.execute(
        """
        INSERT INTO metric_activity
            (metric, shard, first_seen, last_seen, last_received, event_count)
        SELECT name, 0, first_seen, last_seen, last_received, event_count
        FROM metrics WHERE event_count > 0
        """
    )
    for column in _ACTIVITY:
        op.drop_column("metrics", column)


def downgrade() -> None:
    op.add_column(
        "metrics",
        sa.Column("first_seen", sa.DateTime(timezone=True), server_default="infinity"),
    )
    op.add_column(
        "metrics", sa.Column("last_seen", sa.DateTime(timezone=True), server_default="-infinity")
    )
    op.add_column(
        "metrics",
        sa.Column("last_received", sa.DateTime(timezone=True), server_default="-infinity"),
    )
    op.add_column("metrics", sa.Column("event_count", sa.BigInteger(), server_default="0"))
    op.execute(
        """
        UPDATE metrics m SET first_seen = a.first_seen, last_seen = a.last_seen,
            last_received = a.last_received, event_count = a.event_count
        FROM (SELECT metric, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
                     max(last_received) AS last_received, sum(event_count) AS event_count
              FROM metric_activity GROUP BY metric) a
        WHERE m.name = a.metric
        """
    )
    for column in _ACTIVITY:
        op.alter_column("metrics", column, nullable=False, server_default=None)
    op.drop_table("metric_activity")
    for table in _ROLLUPS:
        # Salted rows of one series merge back into one row per bucket (exactly, but
        # for the quantile sketch, which keeps one slice's: percentiles of a hot series'
        # buckets from before the downgrade are read from a part of their events).
        op.execute(
            f"""
            CREATE TEMPORARY TABLE merged ON COMMIT DROP AS
            SELECT metric, bucket, dimensions, sum(count) AS count, sum(sum) AS sum,
                   min(min) AS min, max(max) AS max, max(last_time) AS last_time,
                   (array_agg(last_value ORDER BY last_time DESC))[1] AS last_value,
                   (array_agg(sketch ORDER BY salt))[1] AS sketch
            FROM {table} GROUP BY 1, 2, 3 HAVING count(*) > 1
            """
        )
        op.execute(
            f"DELETE FROM {table} t USING merged m WHERE t.metric = m.metric "
            "AND t.bucket = m.bucket AND t.dimensions = m.dimensions"
        )
        op.execute(
            f"INSERT INTO {table} (metric, bucket, dimensions, salt, count, sum, min, max, "
            "last_time, last_value, sketch) SELECT metric, bucket, dimensions, 0, count, sum, "
            "min, max, last_time, last_value, sketch FROM merged"
        )
        op.execute("DROP TABLE merged")
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["metric", "bucket", "dimensions"])
        op.drop_column(table, "salt")
