"""Grafana's database role (compose's datasource login) reads the dashboards' tables and
nothing else: no keys, no webhook secrets, no writes."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from northstar.db.grafana_role import ROLE, ensure_role


async def test_the_grafana_role_reads_only_the_dashboard_tables(database_url: str) -> None:
    password = "a-grafana-password-for-tests"
    await ensure_role(database_url, password)
    await ensure_role(database_url, password)  # idempotent
    parts = urlsplit(database_url)
    netloc = f"{ROLE}:{password}@{parts.hostname}:{parts.port}"
    conn = await asyncpg.connect(urlunsplit(parts._replace(netloc=netloc)))
    try:
        assert await conn.fetchval("SELECT count(*) FROM alerts") == 0
        assert await conn.fetchval("SELECT count(*) FROM goal_status_history") == 0
        for table in ("api_keys", "webhook_secrets", "users", "goals"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("DELETE FROM alerts")
    finally:
        await conn.close()
