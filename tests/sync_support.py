"""What the sync tests share: servers on free ports, target databases, running the command, and the
target's rows read back as plain tuples."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import create_engine, inspect, select, text

from punchclock.tools.sync import schema
from punchclock.tools.sync.records import KINDS
from punchclock.tools.sync.run import Request, parse_kinds, run_sync
from tests.conftest import POSTGRES_URL, database_beside

# The tables a sync fills, without its own bookkeeping.
DATA_TABLES = [t for t in schema.metadata.sorted_tables if t.name not in ("sync_state", "sync_seen")]
Rows = dict[str, set[tuple[Any, ...]]]


def target_url(server_url: str, tmp_path: Path) -> str:
    """A fresh target on the server's backend: a SQLite file, or (PostgreSQL) a database named after
    the test database plus ``_target``, created once and emptied here."""
    if server_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'bi.db'}"
    url = database_beside(POSTGRES_URL, "target")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def tallies(self) -> dict[str, tuple[int, int, int]]:
        """Per kind: (inserted, updated, deleted) from the summary."""
        found = {}
        for line in self.stdout.splitlines():
            match = re.match(r"^(\w+): +([\d,]+) inserted, ([\d,]+) updated, ([\d,]+) deleted$", line)
            if match:
                found[match[1]] = tuple(int(match[i].replace(",", "")) for i in (2, 3, 4))
        return found  # type: ignore[return-value]

    @property
    def requests(self) -> int:
        match = re.search(r": ([\d,]+) requests", self.stdout)
        assert match, self.stdout
        return int(match[1].replace(",", ""))

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("warning: ")]


def sync(url: str, token: str, to: str, *, only: str | None = None, **options: Any) -> Result:
    """``punchclock sync`` in-process (what the command does after parsing its options)."""
    out, err = io.StringIO(), io.StringIO()
    kinds = KINDS if only is None else parse_kinds(only)
    request = Request(url=url, token=token, to=to, kinds=kinds, **options)
    code = run_sync(
        request,
        out=Console(file=out, width=200, soft_wrap=True),
        err=Console(file=err, width=200, soft_wrap=True),
    )
    return Result(code, out.getvalue(), err.getvalue())


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1")
    return env


def sync_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "punchclock", "sync", *args]


def sync_process(*args: str, timeout: float = 120) -> Result:
    done = subprocess.run(
        sync_command(*args), capture_output=True, text=True, env=clean_env(), timeout=timeout
    )
    return Result(done.returncode, done.stdout, done.stderr)


# --- the target's rows --------------------------------------------------------------------------------


def normal(value: Any) -> Any:
    """One form for both backends: instants aware UTC to the second, floats to 4 places."""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(microsecond=0)
    if isinstance(value, float):
        return round(value, 4)
    return value


def read_target(url: str) -> Rows:
    """Every row of the sync's data tables, as tuples in column order (without ``sync_hash``)."""
    engine = create_engine(url)
    found: Rows = {}
    with engine.connect() as connection:
        for table in DATA_TABLES:
            columns = [c for c in table.columns if c.name != "sync_hash"]
            rows = connection.execute(select(*columns))
            found[table.name] = {tuple(normal(v) for v in row) for row in rows}
    engine.dispose()
    return found


def indexes(url: str, table: str = "timesheet") -> set[str]:
    """The names of ``table``'s indexes in the target."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {str(index["name"]) for index in inspect(connection).get_indexes(table)}
    engine.dispose()
    return found


def assert_indexes(url: str) -> None:
    """Every index the schema declares is in the target (a first load builds them at its end)."""
    for table in schema.metadata.tables.values():
        assert indexes(url, table.name) >= {str(index.name) for index in table.indexes}, table.name


def state(url: str) -> dict[str, Any]:
    import orjson

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(schema.sync_state.c.name, schema.sync_state.c.value))
        values = {row.name: orjson.loads(row.value) for row in rows}
    engine.dispose()
    return values


def assert_same(found: Rows, expected: Rows) -> None:
    """Table by table, with what is missing and what is extra."""
    for name in expected:
        missing = expected[name] - found.get(name, set())
        extra = found.get(name, set()) - expected[name]
        assert not missing, f"{name}: missing {sorted(missing, key=repr)[:5]}"
        assert not extra, f"{name}: extra {sorted(extra, key=repr)[:5]}"
