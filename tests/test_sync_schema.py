"""docs/sync-schema.md describes every table and column ``punchclock sync`` creates, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from punchclock.tools.sync import schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "sync-schema.md"


def documented() -> dict[str, list[str]]:
    """Columns per table: ``## table`` headings, then the ``| `column` | …`` rows under them."""
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"^## (\w+)$", line):
            current = tables.setdefault(heading[1], [])
        elif (row := re.match(r"^\| `(\w+)` \|", line)) and current is not None:
            current.append(row[1])
    return tables


def test_every_table_and_column_is_documented_in_order() -> None:
    actual = {
        table.name: [column.name for column in table.columns] for table in schema.metadata.sorted_tables
    }
    assert documented() == actual


def test_the_readme_links_the_schema() -> None:
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/sync-schema.md" in readme
