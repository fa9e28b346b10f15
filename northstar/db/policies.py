"""`python -m northstar.db.policies`: apply the raw measurements' TimescaleDB compression
and retention policies from the settings (`MeasurementRetentionSettings`).

Migration 0013 applies them once; settings change later, so the migrate step of compose
and of deploy/k8s runs this after `alembic upgrade head` on every rollout. Idempotent:
each policy is removed and added again with the configured interval. On PostgreSQL
without TimescaleDB it says so and does nothing (exit 0).

Environment: `NORTHSTAR_DATABASE_URL`, `NORTHSTAR_MEASUREMENTS_COMPRESS_AFTER_DAYS`,
`NORTHSTAR_MEASUREMENTS_RETENTION_DAYS`.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from northstar.config import MeasurementRetentionSettings, load_settings
from northstar.db.timescale import (
    COMPRESSION_ENABLED_SQL,
    EXTENSION_INSTALLED_SQL,
    MEASUREMENTS,
    measurement_policy_sql,
)


async def apply(database_url: str, settings: MeasurementRetentionSettings) -> bool:
    """True when the policies were applied, False without TimescaleDB or hypertable."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if not await conn.fetchval(EXTENSION_INSTALLED_SQL):
            return False
        enabled = await conn.fetchval(COMPRESSION_ENABLED_SQL.replace(":table", "$1"), MEASUREMENTS)
        if enabled is None:
            return False
        async with conn.transaction():
            for statement in measurement_policy_sql(
                compression_enabled=bool(enabled),
                compress_after_days=settings.measurements_compress_after_days,
                retention_days=settings.measurements_retention_days,
            ):
                await conn.execute(statement)
        return True
    finally:
        await conn.close()


def main() -> None:
    url = os.environ.get("NORTHSTAR_DATABASE_URL")
    if not url:
        sys.stderr.write("northstar: NORTHSTAR_DATABASE_URL: is required but not set\n")
        raise SystemExit(2)
    settings = load_settings(MeasurementRetentionSettings)
    if asyncio.run(apply(url, settings)):
        retention = settings.measurements_retention_days
        print(
            f"measurements: compressed after {settings.measurements_compress_after_days} days, "
            + (f"dropped after {retention} days" if retention else "kept for ever")
        )
    else:
        print("measurements: no TimescaleDB hypertable, no policies to apply")


if __name__ == "__main__":
    main()
