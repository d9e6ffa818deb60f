"""Reading the importer's CSV files.

UTF-8 with or without a byte order mark; `,` `;` or tab between fields (detected unless given); quoted
fields may hold delimiters, quotes (doubled) and line breaks; blank lines are skipped; every value is
trimmed. Columns are found by their header name, case-insensitively, or by position without a header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_FILE_MISSING = 1
EXIT_FILE_UNREADABLE = 2
EXIT_EMPTY_DELIMITER = 3

DELIMITERS = (",", ";", "\t")
# Records looked at to detect the delimiter.
SAMPLE_RECORDS = 20


class TableError(Exception):
    """The file cannot be imported at all; carries the exit code."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


@dataclass(frozen=True)
class Row:
    """One record: ``line`` is the file line it starts on (the header is line 1), ``cells`` maps the
    canonical column name to the trimmed value (columns the file lacks are absent)."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class Table:
    columns: frozenset[str]
    rows: list[Row]
    delimiter: str


def parse_delimiter(value: str) -> str:
    """``--delimiter``: one character; ``\\t`` and ``tab`` name the tab. Empty is exit code 3."""
    if value == "":
        raise TableError(EXIT_EMPTY_DELIMITER, "the delimiter must not be empty")
    if value in ("\\t", "tab", "TAB"):
        return "\t"
    if len(value) != 1 or value in '\r\n"':
        raise ValueError(f"the delimiter must be one character (or \\t), not {value!r}")
    return value


def read_text(path: Path) -> str:
    if not path.exists():
        raise TableError(EXIT_FILE_MISSING, f"file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TableError(EXIT_FILE_UNREADABLE, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TableError(
            EXIT_FILE_UNREADABLE, f"cannot read {path}: not UTF-8 text (line {line}, byte {exc.start})"
        ) from None


def read_table(path: Path, *, delimiter: str | None, known: Sequence[str], positional: bool = False) -> Table:
    """The rows of ``path`` keyed by the names in ``known`` (canonical spelling). ``delimiter`` is the
    option's value (None: detect). ``positional``: the file has no header and its columns are those
    names, in order."""
    text = read_text(path)
    if delimiter is not None:  # checked after the file, as the seed did
        delimiter = parse_delimiter(delimiter)
    else:
        delimiter = detect_delimiter(text, known=None if positional else known, width=len(known))
    records = _records(text, delimiter, path)
    if positional:
        columns = list(known)
    else:
        header = next(records, None)
        if header is None:
            return Table(frozenset(), [], delimiter)
        by_name = {name.casefold(): name for name in known}
        columns = [by_name.get(cell.strip().casefold(), "") for cell in header[1]]
    rows = []
    for line, cells in records:
        values: dict[str, str] = {}
        for name, value in zip(columns, cells, strict=False):
            if name and name not in values:  # a repeated header name: the first column counts
                values[name] = value.strip()
        rows.append(Row(line, values))
    if positional:  # without a header, the columns are those the first record has
        present = frozenset(rows[0].cells) if rows else frozenset(known)
    else:
        present = frozenset(name for name in columns if name)
    return Table(present, rows, delimiter)


def _records(text: str, delimiter: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of every record that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise TableError(
                EXIT_FILE_UNREADABLE, f"cannot read {path}: line {reader.line_num}: {exc}"
            ) from None
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


def detect_delimiter(text: str, *, known: Sequence[str] | None, width: int) -> str:
    """With a header: the delimiter that splits it into the most known column names. Without: the one
    that gives the expected number of fields on most of the first records. Ties go to `,` then `;`."""

    def score(candidate: str) -> tuple[int, int]:
        sample = []
        for _line, cells in _records(text, candidate, Path("-")):
            sample.append(cells)
            if len(sample) == SAMPLE_RECORDS:
                break
        if not sample:
            return (0, 0)
        if known is not None:
            names = {name.casefold() for name in known}
            return (sum(cell.strip().casefold() in names for cell in sample[0]), len(sample[0]))
        return (sum(len(cells) == width for cells in sample), len(sample[0]))

    scores = {}
    for candidate in DELIMITERS:
        try:
            scores[candidate] = score(candidate)
        except TableError:  # unreadable under this candidate: decide on the others
            continue
    if not scores:
        return ","
    best = max(scores.values())
    return next(candidate for candidate in DELIMITERS if scores.get(candidate) == best)
