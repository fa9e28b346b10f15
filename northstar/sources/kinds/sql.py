"""`sql`: a query against PostgreSQL or MySQL/MariaDB through SQLAlchemy's async engine.

Safety is the database's, not a parser's:
- PostgreSQL (asyncpg): `SET TRANSACTION READ ONLY` and `SET LOCAL statement_timeout`
  open the transaction the query runs in;
- MySQL/MariaDB (aiomysql): `SET SESSION max_statement_time` (MariaDB; on MySQL, which
  does not know it, `max_execution_time` instead), then `START TRANSACTION READ ONLY`.
A query that writes is refused by the server (read-only transaction), one that runs too
long is cancelled by it; the transaction is always rolled back. Both drivers send one
statement per call (asyncpg prepares it; aiomysql does not enable multi-statements), so a
`COMMIT; DELETE …` cannot step out of the read-only transaction. The connection goes to
the address the SSRF guard checked. The query may use `:start` and `:end` (the run's
window, timestamps with time zone) to ask only for new rows; rows are columns named by
`mapping` (`time`, `value`, default every other column a dimension).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, ResourceClosedError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from northstar.domain.sources import Window
from northstar.http.ssrf import DestinationRefused, resolve_host
from northstar.sources.rows import (
    Pulled,
    PulledRow,
    RowError,
    RowProblem,
    as_dimension,
    as_time,
    as_value,
)
from northstar.sources.spec import Connection, SourceConfigError, SourceError, SourceSpec

_POSTGRES = {"postgresql", "postgres", "postgresql+asyncpg"}
_MYSQL = {"mysql", "mariadb", "mysql+aiomysql", "mariadb+aiomysql"}
CONNECT_TIMEOUT = 10.0
# Rows fetched per round trip from the server-side cursor (the driver's default is 50).
FETCH_BATCH = 5_000


def _url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SourceConfigError(
            "connection.url", "must be a database URL such as postgresql://user:pass@host/db"
        ) from None
    if url.drivername not in _POSTGRES | _MYSQL:
        raise SourceConfigError(
            "connection.url",
            f"the scheme {url.drivername!r} is not supported; use postgresql:// or mysql:// "
            "(MariaDB too)",
        )
    if not url.host:
        raise SourceConfigError("connection.url", "must name a host")
    return url


def _is_postgres(url: URL) -> bool:
    return url.drivername in _POSTGRES


def columns(mapping: dict[str, Any]) -> tuple[str, str, list[str] | None]:
    """The time and value columns and the dimension columns (None: every other one)."""
    dims = mapping.get("dimensions")
    return (
        str(mapping.get("time") or "time"),
        str(mapping.get("value") or "value"),
        None if dims is None else [str(d) for d in dims],
    )


class SqlKind:
    def check(self, connection: Connection | None, query: str, mapping: dict[str, Any]) -> None:
        if connection is not None:
            _url(connection.url)
        if not query.strip():
            raise SourceConfigError("query", "must be a SELECT returning time and value columns")
        dims = mapping.get("dimensions")
        if dims is not None and (
            not isinstance(dims, list) or not all(isinstance(d, str) for d in dims)
        ):
            raise SourceConfigError("mapping.dimensions", "must be a list of column names")
        unknown = set(mapping) - {"time", "value", "dimensions"}
        if unknown:
            raise SourceConfigError(
                "mapping", f"sql mapping takes time, value and dimensions, not {sorted(unknown)}"
            )

    def host(self, connection: Connection) -> str:
        url = _url(connection.url)
        port = url.port or (5432 if _is_postgres(url) else 3306)
        return f"{url.host}:{port}"

    async def fetch(
        self, spec: SourceSpec, window: Window, *, limit: int, allow_private: bool
    ) -> Pulled:
        url = _url(spec.connection.url)
        postgres = _is_postgres(url)
        port = url.port or (5432 if postgres else 3306)
        assert url.host is not None
        try:
            address = await resolve_host(url.host, port, allow_private=allow_private)
        except DestinationRefused as refused:
            raise SourceError(f"the database host is refused: {refused}") from None
        pinned = url.set(
            drivername="postgresql+asyncpg" if postgres else "mysql+aiomysql",
            host=str(address),
            port=port,
        )
        connect_args: dict[str, Any] = (
            {"timeout": CONNECT_TIMEOUT, "server_settings": {"application_name": "northstar"}}
            if postgres
            else {"connect_timeout": CONNECT_TIMEOUT}
        )
        engine = create_async_engine(pinned, poolclass=NullPool, connect_args=connect_args)
        where = f"{url.host}:{port}"
        try:
            async with engine.connect() as conn:
                return await self._read(conn, spec, window, limit=limit, postgres=postgres)
        except DBAPIError as error:
            original = error.orig if error.orig is not None else error
            raise SourceError(_words(original, spec.timeout_seconds, where)) from None
        except (TimeoutError, OSError) as error:
            raise SourceError(f"cannot connect to the database at {where}: {error}") from None
        except ResourceClosedError:
            raise SourceError(
                "the query returned no rows: it must be one SELECT returning time and value columns"
            ) from None
        except SQLAlchemyError as error:
            raise SourceError(f"the query failed: {error}") from None
        except Exception as error:
            # The drivers' own errors (asyncpg's, PyMySQL's) can surface unwrapped from a
            # streamed result: the database's refusal, said plainly all the same.
            raise SourceError(_words(error, spec.timeout_seconds, where)) from None
        finally:
            await engine.dispose()

    async def _read(
        self,
        conn: AsyncConnection,
        spec: SourceSpec,
        window: Window,
        *,
        limit: int,
        postgres: bool,
    ) -> Pulled:
        if postgres:
            milliseconds = max(1, int(spec.timeout_seconds * 1000))
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            await conn.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
        else:
            seconds = max(0.001, spec.timeout_seconds)
            try:
                await conn.execute(text(f"SET SESSION max_statement_time = {seconds:.3f}"))
            except DBAPIError as error:
                if "unknown system variable" not in str(error.orig).lower():
                    raise
                # MySQL (not MariaDB): its own name, in milliseconds, for SELECTs.
                await conn.rollback()
                milliseconds = max(1, int(seconds * 1000))
                await conn.execute(text(f"SET SESSION max_execution_time = {milliseconds}"))
            await conn.execute(text("START TRANSACTION READ ONLY"))
        try:
            result = await conn.stream(
                text(spec.query).execution_options(yield_per=FETCH_BATCH),
                {"start": window.start, "end": window.end},
            )
            fetched = await result.fetchmany(limit)
            await result.close()
            keys = list(result.keys())
        finally:
            await conn.rollback()
        return convert([dict(zip(keys, row, strict=True)) for row in fetched], spec.mapping)


def convert(rows: list[dict[str, Any]], mapping: dict[str, Any]) -> Pulled:
    """Rows of named columns → values, by the mapping's column names."""
    time_column, value_column, dimension_columns = columns(mapping)
    pulled = Pulled(rows=rows)
    for index, row in enumerate(rows):
        try:
            if time_column not in row or value_column not in row:
                raise RowError(
                    f"the query must return the columns {time_column!r} and {value_column!r} "
                    f"(it returned {', '.join(row) or 'none'}); name them with AS or set "
                    "mapping.time and mapping.value"
                )
            names = dimension_columns
            if names is None:
                names = [c for c in row if c not in (time_column, value_column)]
            dims = {}
            for name in names:
                if name not in row:
                    raise RowError(f"the dimension column {name!r} is not in the result")
                value = as_dimension(row[name])
                if value is not None:
                    dims[name] = value
            pulled.values.append(
                (index, PulledRow(as_time(row[time_column]), as_value(row[value_column]), dims))
            )
        except RowError as error:
            pulled.problems.append(RowProblem(index, str(error)))
    return pulled


def _words(error: BaseException, timeout: float, where: str) -> str:
    """The database's refusal, said plainly (never the statement's parameters)."""
    message = str(error).strip() or type(error).__name__
    name = type(error).__name__
    lowered = message.lower()
    if "read-only transaction" in lowered or "read only transaction" in lowered:
        return (
            "the query tried to write and the database refused it: sources run in a "
            f"read-only transaction ({message})"
        )
    if (
        "statement timeout" in lowered
        or "max_statement_time" in lowered
        or "maximum statement execution time" in lowered
        or name == "QueryCanceledError"
    ):
        return (
            f"the query ran longer than the source's timeout of {timeout:g} s and the "
            f"database cut it off ({message})"
        )
    if isinstance(error, OSError) or "connect" in lowered:
        return f"cannot connect to the database at {where}: {message}"
    return f"the database refused the query: {message}"
