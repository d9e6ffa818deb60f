"""The database the sync writes: opened, checked, created, locked for one run.

SQLite (a file; WAL, so BI tools read while a sync writes) or PostgreSQL. A run refuses a database
that is not its own (a Punchclock server's, or one with these tables but no ``sync_state``) and one
of a newer schema version; a second run on the same target waits for nobody and stops (exit 12).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import operator
import os
from collections.abc import Callable, Sequence
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, Table, create_engine, inspect, make_url, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from punchclock.db import make_engine
from punchclock.tools.sync import schema

EXIT_TARGET = 11
EXIT_LOCKED = 12
_LOCK_SPACE = 0x7379_6E63  # "sync": with the schema's hash, one run per PostgreSQL schema


class TargetError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_TARGET) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver shipped); SQLite and
    PostgreSQL only. ValueError for anything else."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError("the target must be SQLite (sqlite:///FILE) or PostgreSQL (postgresql://…)")
    return url


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class Target:
    """An open target database; ``state`` mirrors ``sync_state`` (updated on each commit)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url)
        self.write_engine = self.engine.execution_options(sqlite_immediate=True)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.state: dict[str, Any] = {}
        self._lock_file: IO[bytes] | None = None
        self._lock_connection: Connection | None = None

    def open(self) -> None:
        try:
            self._lock()
            self._prepare()
        except SQLAlchemyError as exc:
            self.close()
            cause = getattr(exc, "orig", None) or exc
            raise TargetError(f"cannot use the target database {safe_url(self.url)}: {cause}") from None
        except TargetError:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_connection is not None:
            self._lock_connection.close()
            self._lock_connection.engine.dispose()
            self._lock_connection = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None
        self.engine.dispose()

    def _lock(self) -> None:
        busy = TargetError(f"another sync is writing {safe_url(self.url)}", EXIT_LOCKED)
        if self.is_sqlite:
            path = make_url(self.url).database
            if not path or path == ":memory:":
                return
            try:
                self._lock_file = open(f"{os.path.abspath(path)}-sync.lock", "wb")  # noqa: SIM115
            except OSError as exc:
                raise TargetError(
                    f"cannot use the target database {safe_url(self.url)}: {exc.strerror}"
                ) from None
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy from None
            return
        # A session-level advisory lock, on a connection of its own (no pool: closing it really
        # ends the session): released when the run closes it, or when the process dies.
        self._lock_connection = create_engine(self.url, poolclass=NullPool).connect()
        got = self._lock_connection.scalar(
            text("SELECT pg_try_advisory_lock(:space, hashtext(current_schema()))"), {"space": _LOCK_SPACE}
        )
        self._lock_connection.commit()
        if not got:
            raise busy

    def _prepare(self) -> None:
        with self.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        ours = set(schema.metadata.tables)
        where = safe_url(self.url)
        if "alembic_version" in tables:
            raise TargetError(f"{where} is a Punchclock server database; give the sync a database of its own")
        if tables & ours and "sync_state" not in tables:
            raise TargetError(
                f"{where} has tables named like the sync's but no sync_state: not a sync database"
            )
        if "sync_state" in tables:
            with self.engine.connect() as connection:
                rows = connection.execute(select(schema.sync_state.c.name, schema.sync_state.c.value))
                for row in rows:
                    try:
                        self.state[row.name] = orjson.loads(row.value)
                    except orjson.JSONDecodeError:
                        raise TargetError(
                            f"{where}: the value of {row.name!r} in sync_state is not JSON: "
                            "delete that row (the run then starts over) or give another --to"
                        ) from None
            version = self.state.get("schema_version")
            if not isinstance(version, int) or version > schema.SCHEMA_VERSION:
                raise TargetError(
                    f"{where} has sync schema version {version}; this Punchclock knows "
                    f"{schema.SCHEMA_VERSION}: update Punchclock"
                )
        with self.write_engine.begin() as connection:
            schema.metadata.create_all(connection)
            if self.state.get("schema_version") != schema.SCHEMA_VERSION:
                save_state(connection, {"schema_version": schema.SCHEMA_VERSION})
        self.state["schema_version"] = schema.SCHEMA_VERSION


def save_state(connection: Connection, values: dict[str, Any]) -> None:
    rows = [{"name": name, "value": orjson.dumps(value).decode()} for name, value in values.items()]
    statement = upsert_statement(connection, schema.sync_state, keys=("name",), update=("value",))
    connection.execute(statement, rows)


def upsert_statement(
    connection: Connection, table: Table, *, keys: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE the ``update`` columns (none: DO NOTHING)."""
    dialect: Any = sqlite if connection.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table)
    if not update:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: statement.excluded[column] for column in update}
    )


class BulkUpsert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` handed to the driver's executemany as tuples.

    SQLAlchemy's per-row parameter handling costs more than the insert itself on big batches: the
    statement is written once, and the driver gets the values as they are. Instants come as ISO
    8601 text with a ``+HH:MM`` offset, dates as ``Y-m-d`` (``records.moment``): PostgreSQL reads
    both into its types; on SQLite ``datetime(?)`` turns an instant into the UTC text that
    ``schema.Instant`` stores, in C and without the GIL.
    """

    def __init__(
        self, connection: Connection, table: Table, *, keys: tuple[str, ...], update: tuple[str, ...]
    ):
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        self.columns = [column.name for column in table.columns]
        # Rows carry every column: one C-level call takes them out in order.
        self.pick = operator.itemgetter(*self.columns) if len(self.columns) > 1 else _one(self.columns[0])
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        instant = "datetime(?)" if dialect.name == "sqlite" else mark
        marks = [instant if _python_type(column) is dt.datetime else mark for column in table.columns]
        conflict = ", ".join(quote(key) for key in keys)
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
            if update
            else "DO NOTHING"
        )
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) "
            f"VALUES ({', '.join(marks)}) ON CONFLICT ({conflict}) {action}"
        )

    def __call__(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        pick = self.pick
        connection.exec_driver_sql(self.sql, [pick(row) for row in rows])


def _one(column: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    return lambda row: (row[column],)


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None
