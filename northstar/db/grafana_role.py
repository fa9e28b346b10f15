"""`python -m northstar.db.grafana_role`: the read-only database role Grafana logs in as.

Grafana runs whatever SQL a dashboard (or anyone who can edit one, or a viewer using
Explore) sends, with the data source's login. As the database owner that is every
secret, key and table; so compose's Grafana logs in as `northstar_grafana`, which may
read only the tables its dashboards query (`GRAFANA_TABLES`; tests/test_compose.py checks
the dashboards against it) and nothing else. Run after the migrations (the tables must
exist): compose's `migrate` step does. Idempotent: creates the role or resets its
password, and grants exactly these tables.

Environment: `NORTHSTAR_DATABASE_URL` (an owner's URL) and
`NORTHSTAR_GRAFANA_DB_PASSWORD`.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

ROLE = "northstar_grafana"
GRAFANA_TABLES = ("goal_status_history", "alerts")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_role(database_url: str, password: str) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with conn.transaction():
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", ROLE)
            verb = "ALTER" if exists else "CREATE"
            # DDL takes no bind parameters; the password is quoted as a literal.
            await conn.execute(
                f"{verb} ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                f"PASSWORD {_literal(password)}"
            )
            database = await conn.fetchval("SELECT current_database()")
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {ROLE}')
            await conn.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
            await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
            for table in GRAFANA_TABLES:
                await conn.execute(f"GRANT SELECT ON {table} TO {ROLE}")
            await conn.execute(f"ALTER ROLE {ROLE} SET default_transaction_read_only = on")
    finally:
        await conn.close()


def main() -> None:
    url = os.environ.get("NORTHSTAR_DATABASE_URL")
    password = os.environ.get("NORTHSTAR_GRAFANA_DB_PASSWORD")
    if not url or not password:
        sys.stderr.write(
            "northstar: NORTHSTAR_DATABASE_URL and NORTHSTAR_GRAFANA_DB_PASSWORD are required\n"
        )
        raise SystemExit(2)
    asyncio.run(ensure_role(url, password))


if __name__ == "__main__":
    main()
