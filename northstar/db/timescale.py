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
