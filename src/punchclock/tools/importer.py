"""``punchclock import-csv``: customers, projects and activities (or timesheets) from a CSV file,
created through the Kimai API of any compatible server.

The file is read and checked before the first request. Then the server's customers, projects and
activities are loaded once, each row is matched against them and only what is missing is created, so
a second run of the same file creates nothing. A row the server rejects is reported with its number
and the server's message and the run goes on; the exit code tells that some rows failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from punchclock.tools.client import EXIT_PERMISSION, EXIT_REJECTED, ApiError, KimaiClient
from punchclock.tools.directory import (
    ACTIVITY,
    CUSTOMER,
    PROJECT,
    Directory,
    ImportFailed,
    RowError,
    Tally,
    checked_name,
)
from punchclock.tools.table import Row, Table, TableError, read_table
from punchclock.tools.timesheets import COLUMNS as TIMESHEET_COLUMNS
from punchclock.tools.timesheets import DATE, DURATION, FROM, TO, Entry, Timesheets, read_entry

MASTER_COLUMNS = (CUSTOMER.column, PROJECT.column, ACTIVITY.column)
EXIT_MISSING_COLUMN = {CUSTOMER.column: 4, PROJECT.column: 5, ACTIVITY.column: 6}
EXIT_MISSING_TIME_COLUMN = 11
PROGRESS_MIN_ROWS = 50  # shorter files finish before a bar would help


@dataclass(frozen=True)
class Options:
    delimiter: str | None = None  # the option's value; None: detected
    header: bool = True
    timesheets: bool = False
    dry_run: bool = False
    customer_fields: Mapping[str, str] = field(default_factory=dict)  # country, currency, timezone


def run_import(
    path: Path,
    *,
    url: str,
    token: str,
    options: Options,
    out: Console,
    err: Console,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Imports ``path``; prints row errors and the summary; returns the exit code."""
    try:
        table = read(path, options)
    except (TableError, ImportFailed) as exc:
        _error(err, exc.message)
        return exc.exit_code
    with KimaiClient(url, token, transport=transport) as client:
        run = Import(client, options, out=out, err=err)
        try:
            run.rows(table)
        except (ImportFailed, ApiError) as exc:
            if run.done_rows:
                run.summary()
            _error(err, exc.message)
            return exc.exit_code
        run.summary()
        return run.exit_code


def read(path: Path, options: Options) -> Table:
    """The file's rows; exit codes 1 to 3 for the file, 4 to 6 and 11 for missing columns."""
    known = TIMESHEET_COLUMNS if options.timesheets else MASTER_COLUMNS
    table = read_table(path, delimiter=options.delimiter, known=known, positional=not options.header)
    hint = " (the first line is the header; --no-header reads a file without one)" if options.header else ""
    for column in MASTER_COLUMNS:
        if column not in table.columns:
            raise ImportFailed(EXIT_MISSING_COLUMN[column], f"column {column!r} is missing{hint}")
    if options.timesheets:
        for column in (DATE, FROM):
            if column not in table.columns:
                raise ImportFailed(EXIT_MISSING_TIME_COLUMN, f"column {column!r} is missing{hint}")
        if TO not in table.columns and DURATION not in table.columns:
            raise ImportFailed(EXIT_MISSING_TIME_COLUMN, f"column {TO!r} or {DURATION!r} is missing{hint}")
    return table


class Import:
    """One run: the rows, what they created, what failed."""

    def __init__(self, client: KimaiClient, options: Options, *, out: Console, err: Console) -> None:
        self.client = client
        self.options = options
        self.out = out
        self.err = err
        self.started = time.perf_counter()
        self.directory = Directory(
            client, dry_run=options.dry_run, customer_fields=options.customer_fields, plan=self.plan
        )
        self.timesheets = (
            Timesheets(client, self.directory, dry_run=options.dry_run, plan=self.plan, done=self.done)
            if options.timesheets
            else None
        )
        self.row_count = 0
        self.done_rows = 0
        self.failed_rows: set[int] = set()
        self._advance: Callable[[], None] = lambda: None

    @property
    def exit_code(self) -> int:
        if self.timesheets is not None and self.timesheets.permission_denied:
            return EXIT_PERMISSION
        return EXIT_REJECTED if self.failed_rows else 0

    def plan(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False)

    def done(self, line: int, error: str | None) -> None:
        self.done_rows += 1
        if error is not None:
            self.failed_rows.add(line)
            self.err.print(f"row {line}: {error}", markup=False, highlight=False)
        self._advance()

    def rows(self, table: Table) -> None:
        self.row_count = len(table.rows)
        with _progress(self.err, self.row_count) as advance:
            self._advance = advance
            if self.timesheets is not None:
                self._timesheet_rows(self.timesheets, table.rows)
            else:
                self._master_rows(table.rows)

    def _master_rows(self, rows: list[Row]) -> None:
        # Every row is checked before the first request: a file of bad rows costs no lookups.
        named = []
        for row in rows:
            try:
                named.append((row.line, [checked_name(column, row.get(column)) for column in MASTER_COLUMNS]))
            except RowError as exc:
                self.done(row.line, str(exc))
        if not named:
            return
        self.directory.load()
        for line, (customer, project, activity) in named:
            try:
                customer_id = self.directory.customer(customer, line=line)
                project_id = self.directory.project(customer_id, project, label=repr(customer), line=line)
                label = f"{customer!r} / {project!r}"
                self.directory.activity(project_id, activity, label=label, line=line)
            except RowError as exc:
                self.done(line, str(exc))
            else:
                self.done(line, None)

    def _timesheet_rows(self, timesheets: Timesheets, rows: list[Row]) -> None:
        entries: list[Entry] = []
        for row in rows:
            try:
                entries.append(read_entry(row))
            except RowError as exc:
                self.done(row.line, str(exc))
        if not entries:
            return
        self.directory.load()
        timesheets.load(entries)
        for entry in entries:
            try:
                timesheets.add(entry)
            except RowError as exc:
                self.done(entry.line, str(exc))
        timesheets.flush()

    def summary(self) -> None:
        tallies: dict[str, Tally] = dict(self.directory.tallies)
        if self.timesheets is not None:
            tallies.update(self.timesheets.tallies)
        created = "to create" if self.options.dry_run else "created"
        if self.options.dry_run:
            self.out.print("dry run: nothing was written")
        width = max(len(name) for name in tallies) + 1
        for name, tally in tallies.items():
            self.out.print(
                f"{name + ':':{width}} {tally.created} {created}, {tally.present} already present, "
                f"{tally.failed} failed",
                highlight=False,
            )
        failed = len(self.failed_rows)
        seconds = time.perf_counter() - self.started
        self.out.print(
            f"{'rows:':{width}} {self.row_count} read, {self.done_rows - failed} ok, {failed} failed "
            f"({self.client.requests} requests in {seconds:.1f} s)",
            highlight=False,
        )


@contextmanager
def _progress(console: Console, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for long files, when it is a terminal."""
    if total < PROGRESS_MIN_ROWS or not console.is_terminal:
        yield lambda: None
        return
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("rows", total=total)
        yield lambda: progress.advance(task)


def _error(err: Console, message: str) -> None:
    # One line, verbatim (names may hold markup characters).
    err.print("error: " + " ".join(message.split()), markup=False, highlight=False)
