"""Engine, sessions and the rules that keep SQLite safe under several processes.

SQLite: WAL journal, foreign keys on, a busy timeout, and write transactions opened with
``BEGIN IMMEDIATE`` so two workers never deadlock upgrading a read lock to a write lock.
PostgreSQL: psycopg 3. Database work runs on a small dedicated thread limiter, never on the
event loop and never on the framework's 40-thread pool (measured 6x slower).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy import DateTime, Engine, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant stored in UTC and always returned timezone-aware.

    Naive datetimes are refused: every caller must say which timezone it means.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(dt.UTC)
        # SQLite stores text; a fixed naive UTC form keeps string comparison in index order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    # Sessions in UTC: stored instants then read back the same whatever the server's own timezone.
    # Options the URL sets (e.g. a search_path) are kept: connect_args would replace them.
    options = make_url(url).query.get("options", "")
    utc = {"options": f"{options} -c timezone=UTC".strip()}
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=utc)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine plus the thread limiter that all database work of this process shares."""

    def __init__(self, url: str, *, threads: int = 2, busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        self._write_engine = self.engine.execution_options(sqlite_immediate=True)
        self.limiter = CapacityLimiter(threads)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        bind = self._write_engine if write else self.engine
        with Session(bind=bind, expire_on_commit=False, autoflush=True) as session, session.begin():
            yield session

    async def run(self, fn: Callable[[Session], T], *, write: bool = False) -> T:
        """Run ``fn(session)`` in one transaction on the database threads."""

        def call() -> T:
            with self.session(write=write) as session:
                return fn(session)

        return await anyio.to_thread.run_sync(call, limiter=self.limiter)

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(
    session: Session, table: Any, values: dict[str, Any], *, keys: tuple[str, ...], update: tuple[str, ...]
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL alike."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement: Any = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: statement.excluded[column] for column in update}
    )
    session.execute(statement)
