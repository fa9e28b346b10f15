"""Async engine and session factory; the caller (request or consumer loop) owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def asyncpg_url(url: str) -> str:
    """`postgresql://…` (the configured form) → the SQLAlchemy asyncpg dialect URL."""
    scheme, rest = url.split("://", 1)
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    return url


def plain_url(url: str) -> str:
    """The form asyncpg itself (and psql) accepts."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str = "northstar"
) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={
            "timeout": 5,
            "command_timeout": 30,
            "server_settings": {"application_name": application_name},
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside `conn`'s transaction.

    Set-based SQL and COPY go to asyncpg directly. SQLAlchemy's asyncpg adapter sends
    BEGIN lazily, with its own first statement, so a raw statement issued before that
    would run in autocommit: its writes could not be rolled back and its `FOR UPDATE`
    locks would be released at once. When `conn` is in a transaction the driver is not
    yet in, this opens it through SQLAlchemy first."""
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    if conn.in_transaction() and not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return raw
