"""Raw measurements' TimescaleDB policies from the settings (migration 0013_k8s and
`python -m northstar.db.policies`): the statements they run, the settings' checks, and the
no-op on PostgreSQL without the extension (the suite's PostgreSQL has none; the template
database every test copies was migrated through 0013 already)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from pydantic import ValidationError

from devstack.processes import REPO_ROOT
from northstar.config import MeasurementRetentionSettings
from northstar.db.timescale import measurement_policy_sql
from tests.support import fetchval


def test_policies_are_replaced_with_the_configured_intervals() -> None:
    assert measurement_policy_sql(
        compression_enabled=False, compress_after_days=3, retention_days=400
    ) == [
        "ALTER TABLE measurements SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'metric', timescaledb.compress_orderby = 'time DESC')",
        "SELECT remove_compression_policy('measurements', if_exists => true)",
        "SELECT add_compression_policy('measurements', "
        "compress_after => INTERVAL '3 days', if_not_exists => true)",
        "SELECT remove_retention_policy('measurements', if_exists => true)",
        "SELECT add_retention_policy('measurements', "
        "drop_after => INTERVAL '400 days', if_not_exists => true)",
    ]
    # Compression already on (migration 0001): its settings are not touched again (that
    # fails once chunks are compressed); retention 0 keeps raw measurements for ever.
    kept = measurement_policy_sql(compression_enabled=True, compress_after_days=7, retention_days=0)
    assert not any(s.startswith("ALTER TABLE") for s in kept)
    assert kept[-1] == "SELECT remove_retention_policy('measurements', if_exists => true)"
    assert not any("add_retention_policy" in s for s in kept)


def test_settings_defaults_and_checks() -> None:
    defaults = MeasurementRetentionSettings()
    assert defaults.measurements_compress_after_days == 7
    assert defaults.measurements_retention_days == 730
    assert MeasurementRetentionSettings(measurements_retention_days=0)
    with pytest.raises(ValidationError, match="RETENTION_DAYS"):
        MeasurementRetentionSettings(
            measurements_compress_after_days=30, measurements_retention_days=30
        )


def _policies(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "northstar.db.policies"],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_without_timescaledb_the_command_does_nothing(database_url: str) -> None:
    # Migrated to the head, so through 0013_k8s (which applies the policies when it can).
    head = ScriptDirectory.from_config(Config(str(REPO_ROOT / "alembic.ini"))).get_current_head()
    assert await fetchval(database_url, "SELECT version_num FROM alembic_version") == head
    result = await asyncio.to_thread(_policies, {"NORTHSTAR_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "no TimescaleDB hypertable" in result.stdout
    bad = await asyncio.to_thread(
        _policies,
        {"NORTHSTAR_DATABASE_URL": database_url, "NORTHSTAR_MEASUREMENTS_RETENTION_DAYS": "2"},
    )
    assert bad.returncode == 2 and "NORTHSTAR_MEASUREMENTS_RETENTION_DAYS" in bad.stderr
