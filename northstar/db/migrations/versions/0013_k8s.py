"""Raw measurements' TimescaleDB compression and retention from the settings
(`NORTHSTAR_MEASUREMENTS_COMPRESS_AFTER_DAYS`, default 7; `NORTHSTAR_MEASUREMENTS_RETENTION_DAYS`,
default 730, 0 keeps them): docs/deploy.md, "TimescaleDB".

Migration 0001 fixed both; from here they follow the settings, and
`python -m northstar.db.policies` (the migrate step of compose and deploy/k8s runs it after
`alembic upgrade head`) re-applies them when the settings change. A no-op on PostgreSQL
without TimescaleDB, where `measurements` is a plain table.

Revision ID: 0013_k8s
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from northstar.config import MeasurementRetentionSettings, load_settings
from northstar.db.timescale import apply_measurement_policies

revision: str = "0013_k8s"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    settings = load_settings(MeasurementRetentionSettings)
    apply_measurement_policies(
        settings.measurements_compress_after_days, settings.measurements_retention_days
    )


def downgrade() -> None:
    # Back to migration 0001's policies.
    apply_measurement_policies(7, 730)
