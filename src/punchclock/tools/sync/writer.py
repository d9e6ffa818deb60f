"""Batches: upserts and deletions of one page, with the checkpoint, in one transaction.

A run killed at any point leaves the target as of its last commit, the checkpoint included, so the
next run goes on from there. Rows whose fingerprint (``sync_hash``) did not change are not written
again, which keeps overlapping reads and full passes cheap and the counts honest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Table,
    bindparam,
    delete,
    exists,
    func,
    select,
)

from punchclock.tools.sync import schema
from punchclock.tools.sync.records import KINDS, Kind, Record, Row, Side, View
from punchclock.tools.sync.target import BulkUpsert, Target, save_state

_CHUNK = 500  # values per IN list
KEPT_STATE = ("schema_version", "source")  # what a change of source keeps of sync_state
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Tally:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def add(self, other: Tally) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.deleted += other.deleted


class Writer:
    """Opens batches on the target; sums what committed batches did, per kind."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tallies = {kind.name: Tally() for kind in KINDS}
        self.statements: dict[tuple[str, tuple[str, ...]], BulkUpsert] = {}

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        with self.target.write_engine.begin() as connection:
            batch = Batch(connection, self.statements)
            yield batch
            if batch.state:
                save_state(connection, batch.state)
        # Counted and remembered only once committed.
        if batch.checkpoints_reset:
            kept = {name: value for name, value in self.target.state.items() if name in KEPT_STATE}
            self.target.state = kept
        self.target.state.update(batch.state)
        for name, tally in batch.tallies.items():
            self.tallies[name].add(tally)

    def keys(self, kind: Kind) -> set[Any]:
        """Every key of ``kind`` held (for the small entity tables only)."""
        key = kind.table.c[kind.key]
        with self.target.engine.connect() as connection:
            return set(connection.scalars(select(key)))

    def count(self, kind: Kind) -> int:
        with self.target.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(kind.table)) or 0)

    def hashes(self, kind: Kind, keys: Sequence[Any]) -> dict[Any, int]:
        with self.target.engine.connect() as connection:
            return stored_hashes(connection, kind, keys)

    def unseen(self, kind: Kind, limit: int) -> list[int]:
        """Up to ``limit`` ids held but not seen by the running full pass."""
        with self.target.engine.connect() as connection:
            query = select(kind.table.c.id).where(_unseen(kind)).order_by(kind.table.c.id).limit(limit)
            return list(connection.scalars(query))


def stored_hashes(connection: Connection, kind: Kind, keys: Sequence[Any]) -> dict[Any, int]:
    key = kind.table.c[kind.key]
    query = select(key, kind.table.c.sync_hash).where(key.in_(_values()))
    found: dict[Any, int] = {}
    for chunk in chunks(keys):
        found.update((row[0], row[1]) for row in connection.execute(query, {"values": list(chunk)}))
    return found


def _values() -> BindParameter[Any]:
    """One parameter for a whole IN list (a bound parameter per value costs more than the query)."""
    return bindparam("values", expanding=True)


def _owned(side: Side, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` on the side table, narrowed to the kind's rows in the shared tables."""
    return condition if side.entity is None else condition & (side.table.c.entity == side.entity)


def _unseen(kind: Kind) -> ColumnElement[bool]:
    seen = schema.sync_seen
    return ~exists().where(seen.c.entity == kind.name, seen.c.id == kind.table.c.id)


class Batch:
    """One transaction. ``state`` is saved to ``sync_state`` with it."""

    def __init__(
        self, connection: Connection, statements: dict[tuple[str, tuple[str, ...]], BulkUpsert]
    ) -> None:
        self.connection = connection
        self.state: dict[str, Any] = {}
        self.tallies: dict[str, Tally] = {}
        self.checkpoints_reset = False
        self._statements = statements

    def _upsert(
        self, table: Table, keys: tuple[str, ...], rows: Sequence[Row], *, update: bool = True
    ) -> None:
        """Rows inserted, or where their keys exist, the other columns updated (or left alone)."""
        cache_key = (str(table.name), keys if update else ())
        statement = self._statements.get(cache_key)
        if statement is None:
            others = tuple(c.name for c in table.columns if c.name not in keys) if update else ()
            statement = self._statements[cache_key] = BulkUpsert(
                self.connection, table, keys=keys, update=others
            )
        statement(self.connection, rows)

    def _tally(self, kind: Kind) -> Tally:
        return self.tallies.setdefault(kind.name, Tally())

    def upsert(
        self, kind: Kind, views: Iterable[View], *, track: bool = False, force: bool = False
    ) -> list[Record]:
        """Writes the views that differ from the stored rows (all with ``force``); returns them.
        ``track``: remember the ids as seen by the running full pass."""
        records = {}
        for view in views:
            record = kind.record(view)
            records[record.key] = record  # a view read twice (overlapping pages): the later wins
        return self.write(kind, list(records.values()), track=track, force=force)

    def write(
        self, kind: Kind, records: Sequence[Record], *, track: bool = False, force: bool = False
    ) -> list[Record]:
        if kind.key != "id":
            self._drop_reused_ids(kind, records)
        stored = stored_hashes(self.connection, kind, [r.key for r in records])
        changed = [r for r in records if force or stored.get(r.key) != r.hash]
        tally = self._tally(kind)
        for record in changed:
            if record.key not in stored:
                tally.inserted += 1
            elif stored[record.key] != record.hash:
                tally.updated += 1
        if changed:
            self._upsert(kind.table, (kind.key,), [r.row for r in changed])
            for side in kind.sides:
                self._replace_side(side, changed, stored)
        if track:
            self.seen(kind, [r.row["id"] for r in records])
        return changed

    def _drop_reused_ids(self, kind: Kind, records: Sequence[Record]) -> None:
        """Tags are keyed by name, yet their ids are unique too. A server may give a deleted tag's id
        to a new one (SQLite reuses the highest id), and its feed then reports only the new tag: the
        row still holding that id under another name is of a tag that is gone."""
        names = {r.row["id"]: r.key for r in records if r.row.get("id") is not None}
        key, ids = kind.table.c[kind.key], kind.table.c.id
        gone = [
            name
            for chunk in chunks(list(names))
            for name, held in self.connection.execute(select(key, ids).where(ids.in_(chunk)))
            if names[held] != name
        ]
        if gone:
            self.delete(kind, gone, column=kind.key)

    def _replace_side(self, side: Side, records: Sequence[Record], stored: dict[Any, int]) -> None:
        owners = [r.key for r in records if side.table.name in r.sides]
        if not owners:
            return
        # Rows only this entity writes cannot exist for one not stored yet (the bulk of a first pass).
        old = owners if side.shared else [key for key in owners if key in stored]
        if old:
            self._delete_side(side, old)
        rows = [row for r in records for row in r.sides.get(side.table.name, ())]
        self._upsert(side.table, tuple(c.name for c in side.table.primary_key.columns), rows)

    def _delete_side(self, side: Side, owners: Sequence[Any]) -> None:
        """The side rows of these owners."""
        statement = delete(side.table).where(_owned(side, side.table.c[side.column].in_(_values())))
        for chunk in chunks(owners):
            self.connection.execute(statement, {"values": list(chunk)})

    def delete(self, kind: Kind, values: Sequence[Any], *, column: str = "id") -> None:
        """Deletes the rows whose ``column`` is in ``values``, with their side rows."""
        target = kind.table.c[column]
        for chunk in chunks(list(values)):
            given = {"values": list(chunk)}
            owners: Any = chunk
            if column != kind.key:
                owners = list(
                    self.connection.scalars(
                        select(kind.table.c[kind.key]).where(target.in_(_values())), given
                    )
                )
            for side in kind.sides:
                self._delete_side(side, owners)
            result = self.connection.execute(delete(kind.table).where(target.in_(_values())), given)
            self._tally(kind).deleted += result.rowcount

    def reset_checkpoints(self) -> None:
        """Forgets every checkpoint (cursors, pages, watermarks, scopes) and the ids a full pass saw:
        they belong to one server read one way. Each kind then starts with a full pass, which rewrites
        the rows that differ and deletes those the server does not have."""
        state = schema.sync_state
        self.connection.execute(delete(state).where(state.c.name.not_in(KEPT_STATE)))
        self.connection.execute(delete(schema.sync_seen))
        self.checkpoints_reset = True

    def defer_indexes(self, kind: Kind) -> None:
        """Drops the indexes of the kind's table, for a first load into it while it is empty: kept up
        row by row, they cost most of a big load (random inserts into several B-trees, whose pages
        are written again at every commit). ``ensure_indexes`` builds them once, at the pass's end."""
        for index in kind.table.indexes:
            index.drop(self.connection, checkfirst=True)

    def ensure_indexes(self, kind: Kind) -> None:
        """Builds the kind's indexes where they are missing (after ``defer_indexes``, in whichever
        run ends that pass)."""
        for index in kind.table.indexes:
            index.create(self.connection, checkfirst=True)

    def clear_rates(self, kind: Kind) -> None:
        """Every rate of ``kind``: for a token that may not read them (any longer)."""
        self.connection.execute(delete(schema.rate).where(schema.rate.c.entity == kind.name))

    def replace_rates(self, kind: Kind, entity_id: int, rows: list[Row]) -> None:
        rate = schema.rate
        self.connection.execute(delete(rate).where(rate.c.entity == kind.name, rate.c.entity_id == entity_id))
        self._upsert(rate, ("entity", "id"), rows)

    # --- full passes: ids seen, the rest deleted at the end ------------------------------------------

    def seen(self, kind: Kind, ids: Iterable[int | None]) -> None:
        rows = [{"entity": kind.name, "id": i} for i in ids if i is not None]
        self._upsert(schema.sync_seen, ("entity", "id"), rows, update=False)

    def delete_unseen(self, kind: Kind) -> None:
        """Ends a full pass: what it did not see is gone from the server. Set-based, in any size."""
        owners = select(kind.table.c[kind.key]).where(_unseen(kind))
        for side in kind.sides:
            self.connection.execute(
                delete(side.table).where(_owned(side, side.table.c[side.column].in_(owners)))
            )
        result = self.connection.execute(delete(kind.table).where(_unseen(kind)))
        self._tally(kind).deleted += result.rowcount
        self.forget_seen(kind)

    def forget_seen(self, kind: Kind) -> None:
        self.connection.execute(delete(schema.sync_seen).where(schema.sync_seen.c.entity == kind.name))
