"""Alembic environment: runs migrations on NORTHSTAR_DATABASE_URL through asyncpg."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from northstar.db.engine import asyncpg_url
from northstar.db.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = os.environ.get("NORTHSTAR_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: NORTHSTAR_DATABASE_URL is required but not set")
    return asyncpg_url(url)


# The time column of each table `northstar.db.timescale.make_hypertable` converts.
HYPERTABLES = {
    "measurements": "time",
    "goal_status_history": "time",
    "rollup_1m": "bucket",
    "rollup_1h": "bucket",
    "rollup_1d": "bucket",
    "rollup_1w": "bucket",
}
TIMESCALE_DEFAULT_INDEXES = {f"{table}_{column}_idx" for table, column in HYPERTABLES.items()}


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # create_hypertable adds a default `<table>_<time column>_idx` index to each
    # hypertable; it is TimescaleDB's, not ours to compare.
    return not (type_ == "index" and reflected and name in TIMESCALE_DEFAULT_INDEXES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
