"""TimescaleDB when present, plain PostgreSQL when not: helpers the migrations call.

The same migrations must produce a working schema on both. With the extension,
time-series tables become hypertables with compression and retention policies; without
it they stay plain tables, and the indexes the migrations create serve the same queries.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text


def timescale_available() -> bool:
    """True when the extension is installed in the database or can be created there."""
    bind = op.get_bind()
    installed = bind.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).scalar()
    if installed:
        return True
    available = bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar()
    if not available:
        return False
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    return True


def make_hypertable(
    table: str,
    time_column: str,
    *,
    chunk_interval: str,
    compress_after: str | None = None,
    segment_by: str | None = None,
    retain_for: str | None = None,
) -> bool:
    """Turn `table` into a hypertable with optional policies; no-op without TimescaleDB."""
    if not timescale_available():
        return False
    op.execute(
        f"SELECT create_hypertable('{table}', '{time_column}', "
        f"chunk_time_interval => INTERVAL '{chunk_interval}', migrate_data => true)"
    )
    if compress_after is not None:
        segment = f", timescaledb.compress_segmentby = '{segment_by}'" if segment_by else ""
        op.execute(f"ALTER TABLE {table} SET (timescaledb.compress{segment})")
        op.execute(f"SELECT add_compression_policy('{table}', INTERVAL '{compress_after}')")
    if retain_for is not None:
        op.execute(f"SELECT add_retention_policy('{table}', INTERVAL '{retain_for}')")
    return True


#: The raw measurements hypertable and the column its compression segments by.
MEASUREMENTS = "measurements"
MEASUREMENTS_SEGMENT_BY = "metric"


def measurement_policy_sql(
    *, compression_enabled: bool, compress_after_days: int, retention_days: int
) -> list[str]:
    """The statements that make the raw measurements' TimescaleDB policies what the
    settings say, whatever they were before: compression switched on when it is not yet
    (segmented by metric, newest first), the compression policy replaced, the retention
    policy replaced or, with `retention_days == 0`, removed. Idempotent."""
    table = MEASUREMENTS
    statements = []
    if not compression_enabled:
        statements.append(
            f"ALTER TABLE {table} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{MEASUREMENTS_SEGMENT_BY}', "
            f"timescaledb.compress_orderby = 'time DESC')"
        )
    statements += [
        f"SELECT remove_compression_policy('{table}', if_exists => true)",
        f"SELECT add_compression_policy('{table}', "
        f"compress_after => INTERVAL '{int(compress_after_days)} days', if_not_exists => true)",
        f"SELECT remove_retention_policy('{table}', if_exists => true)",
    ]
    if retention_days:
        statements.append(
            f"SELECT add_retention_policy('{table}', "
            f"drop_after => INTERVAL '{int(retention_days)} days', if_not_exists => true)"
        )
    return statements


#: Run only once the extension is known to be installed (the view is TimescaleDB's).
COMPRESSION_ENABLED_SQL = (
    "SELECT compression_enabled FROM timescaledb_information.hypertables "
    "WHERE hypertable_schema = current_schema() AND hypertable_name = :table"
)
EXTENSION_INSTALLED_SQL = "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"


def apply_measurement_policies(compress_after_days: int, retention_days: int) -> bool:
    """In a migration: set the raw measurements' policies from the settings. A no-op
    (False) without TimescaleDB, or when `measurements` is not a hypertable."""
    bind = op.get_bind()
    if not bind.execute(text(EXTENSION_INSTALLED_SQL)).scalar():
        return False
    enabled = bind.execute(text(COMPRESSION_ENABLED_SQL), {"table": MEASUREMENTS}).scalar()
    if enabled is None:
        return False
    for statement in measurement_policy_sql(
        compression_enabled=bool(enabled),
        compress_after_days=compress_after_days,
        retention_days=retention_days,
    ):
        op.execute(statement)
    return True
