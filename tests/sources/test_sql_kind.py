"""The `sql` kind against real servers: the harness's PostgreSQL and a throwaway MariaDB.

Safety is the database's: a query that writes is refused by the server inside the
read-only transaction (never parsed by us), one that runs past the source's timeout is
cut off by the server's own statement timeout, and the error says so in words."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from devstack.mariadb import MariaDBServer
from northstar.domain.sources import Window
from northstar.sources.kinds.sql import SqlKind
from northstar.sources.spec import Connection, SourceError, SourceSpec
from tests.sources.conftest import NOW

WINDOW = Window(NOW - timedelta(hours=1), NOW + timedelta(minutes=1))
SELECT_PG = (
    "SELECT resolved_at AS time, hours AS value, team FROM tickets "
    "WHERE resolved_at >= :start AND resolved_at < :end ORDER BY id"
)
SELECT_MARIADB = (
    "SELECT resolved_at AS time, hours AS value, team FROM shop.tickets "
    "WHERE resolved_at >= :start AND resolved_at < :end ORDER BY id"
)


def spec(url: str, query: str, timeout: float = 5) -> SourceSpec:
    return SourceSpec(
        name="shop",
        kind="sql",
        connection=Connection(url=url),
        query=query,
        metric="ticket_hours",
        mapping={},
        timeout_seconds=timeout,
    )


@pytest.fixture(scope="module")
def maria(mariadb: MariaDBServer) -> str:
    naive = NOW.replace(tzinfo=None)
    mariadb.sql(
        "DELETE FROM shop.tickets;"
        f"INSERT INTO shop.tickets VALUES (1, '{naive - timedelta(minutes=50)}', 3, 'eu'),"
        f"(2, '{naive - timedelta(minutes=40)}', 5, 'us'),"
        f"(3, '{naive - timedelta(hours=3)}', 7, 'eu');"
    )
    return mariadb.url("shop")


async def test_postgres_rows_of_the_window_become_values(shop_db: str) -> None:
    pulled = await SqlKind().fetch(spec(shop_db, SELECT_PG), WINDOW, limit=10, allow_private=True)
    assert [(row.value, row.dimensions) for _, row in pulled.values] == [
        (3.0, {"team": "eu"}),
        (5.0, {"team": "us"}),
        (7.0, {"team": "eu"}),
    ]
    assert not pulled.problems


async def test_postgres_refuses_a_query_that_writes(shop_db: str) -> None:
    for query in (
        "UPDATE tickets SET hours = 0 RETURNING resolved_at AS time, hours AS value",
        "WITH gone AS (DELETE FROM tickets RETURNING *) SELECT resolved_at AS time, "
        "hours AS value FROM gone",
        "COMMIT; DELETE FROM tickets",
    ):
        with pytest.raises(SourceError) as refused:
            await SqlKind().fetch(spec(shop_db, query), WINDOW, limit=10, allow_private=True)
        assert "refused" in str(refused.value) or "cannot" in str(refused.value), refused.value
    conn = await asyncpg.connect(shop_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tickets WHERE hours > 0") == 3
    finally:
        await conn.close()


async def test_postgres_cuts_off_a_query_past_its_timeout(shop_db: str) -> None:
    query = "SELECT now() AS time, 1 AS value FROM pg_sleep(5)"
    with pytest.raises(SourceError) as cut:
        await SqlKind().fetch(
            spec(shop_db, query, timeout=0.5), WINDOW, limit=10, allow_private=True
        )
    assert "longer than the source's timeout of 0.5 s" in str(cut.value)


async def test_mariadb_rows_of_the_window_become_values(maria: str) -> None:
    pulled = await SqlKind().fetch(
        spec(maria, SELECT_MARIADB), WINDOW, limit=10, allow_private=True
    )
    assert [(row.value, row.dimensions) for _, row in pulled.values] == [
        (3.0, {"team": "eu"}),
        (5.0, {"team": "us"}),
    ]


async def test_mariadb_refuses_a_query_that_writes(maria: str, mariadb: MariaDBServer) -> None:
    for query in (
        "UPDATE shop.tickets SET hours = 0",
        "DELETE FROM shop.tickets",
        "COMMIT; DELETE FROM shop.tickets",
    ):
        with pytest.raises(SourceError) as refused:
            await SqlKind().fetch(spec(maria, query), WINDOW, limit=10, allow_private=True)
        # MariaDB answers the first statement of `COMMIT; DELETE …` alone: no rows, no write.
        assert "refused" in str(refused.value) or "no rows" in str(refused.value), refused.value
    assert mariadb.sql("SELECT count(*) FROM shop.tickets WHERE hours > 0;").strip() == "3"


async def test_mariadb_cuts_off_a_query_past_its_timeout(maria: str) -> None:
    query = (
        "SELECT NOW() AS time, COUNT(*) AS value FROM information_schema.columns a, "
        "information_schema.columns b, information_schema.columns c"
    )
    with pytest.raises(SourceError) as cut:
        await SqlKind().fetch(spec(maria, query, timeout=0.5), WINDOW, limit=10, allow_private=True)
    assert "longer than the source's timeout of 0.5 s" in str(cut.value)


async def test_a_loopback_database_is_refused_unless_private_networks_are_allowed(
    shop_db: str,
) -> None:
    with pytest.raises(SourceError) as refused:
        await SqlKind().fetch(spec(shop_db, SELECT_PG), WINDOW, limit=10, allow_private=False)
    assert "loopback" in str(refused.value)
