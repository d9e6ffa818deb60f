"""Writing the change log: the changes a transaction recorded, persisted just before it commits.

Seq order is commit order. SQLite serialises writers. On PostgreSQL transactions commit out of
order, so each one takes a transaction-level advisory lock right before it allocates its seqs (as
late as possible) and holds it until it commits: while seq N is not committed, no N+1 exists, so a
reader that has seen N+1 can never meet N later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Integer, Table, delete, func, insert, literal, literal_column, select, text
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.db import UTCDateTime, upsert, utcnow
from punchclock.ext.changes.models import ChangeLogEntry, ChangeLogState
from punchclock.timesheets.models import Timesheet

KINDS = ("customer", "project", "activity", "user", "team", "tag", "timesheet")
LOG = cast(Table, ChangeLogEntry.__table__)
STATE = cast(Table, ChangeLogState.__table__)
# Any constant: the one advisory lock that orders seq allocation (on PostgreSQL).
_LOCK_KEY = 0x7075_6E63_6866_6564  # "punchfed"
_CHUNK = 1000  # ids per IN list
# SQLite uses a partial index only when the query spells out its condition (not a parameter).
_IS_TOMBSTONE = LOG.c.op == literal_column("'delete'")

T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def lock(session: Session) -> None:
    """Take the seq allocation lock until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def persist(session: Session) -> None:
    """Write what ``changes.record`` collected in this transaction: the last operation per entity
    wins; other kinds (API tokens, invoices) are not in the feed. New timesheets given to
    ``changes.record_created`` come last, in id order, with one statement per run of ids."""
    pending = changes.take(session)
    latest: dict[tuple[str, int], str] = {}
    for entity, entity_id, recorded_op in pending.changes:
        if entity in KINDS:
            latest.pop((entity, entity_id), None)  # re-inserted: the order of last changes counts
            latest[(entity, entity_id)] = recorded_op
    if not latest:
        return
    session.flush()
    created = _created_timesheets(latest, pending.created.get("timesheet", set()))
    upserted = [i for (entity, i), op in latest.items() if entity == "timesheet" and op == "upsert"]
    owners = dict(pending.owners)
    _owners(session, upserted, owners)
    lock(session)
    before: dict[int, tuple[int | None, int | None]] = {}  # timesheet -> (owner, previous owner)
    fresh = _replace_runs(session, created, latest, before)
    _owners(session, [i for i in created if ("timesheet", i) in latest], owners)
    now = utcnow()
    _write(session, latest, owners, before, now)
    for first, last in fresh:
        _insert_timesheets(session, first, last, now)


def _owners(session: Session, ids: list[int], owners: dict[int, int]) -> None:
    """Adds the owners of the timesheets ``ids`` to ``owners``."""
    for chunk in _chunks(ids):
        found = session.execute(select(Timesheet.id, Timesheet.user_id).where(Timesheet.id.in_(chunk)))
        owners.update({row.id: row.user_id for row in found})


def _created_timesheets(latest: dict[tuple[str, int], str], created: set[int]) -> list[int]:
    """Takes the timesheets given to ``record_created`` whose last op is an upsert out of ``latest``;
    returns their ids, ascending."""
    ids = sorted(i for i in created if latest.get(("timesheet", i)) == "upsert")
    for timesheet_id in ids:
        del latest[("timesheet", timesheet_id)]
    return ids


def _replace_runs(
    session: Session,
    ids: list[int],
    latest: dict[tuple[str, int], str],
    before: dict[int, tuple[int | None, int | None]],
) -> list[tuple[int, int]]:
    """The runs of consecutive ``ids`` (first, last) that have no log rows yet: those are written
    with one INSERT … SELECT each. A run that had some (SQLite gives a new row the id of a deleted
    last one, whose tombstone is in the log) goes back to ``latest``, to be written row by row
    with its former owners in ``before``."""
    fresh = []
    for first, last in _runs(ids):
        replaced = session.execute(
            delete(LOG)
            .where(LOG.c.entity == "timesheet", LOG.c.entity_id.between(first, last))
            .returning(LOG.c.entity_id, LOG.c.owner_id, LOG.c.previous_owner_id)
        ).all()
        if not replaced:
            fresh.append((first, last))
            continue
        before.update((row[0], (row[1], row[2])) for row in replaced)
        latest.update((("timesheet", i), "upsert") for i in range(first, last + 1))
    return fresh


def _runs(ids: list[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in the ascending ``ids``."""
    start = 0
    for index in range(1, len(ids) + 1):
        if index == len(ids) or ids[index] != ids[index - 1] + 1:
            yield ids[start], ids[index - 1]
            start = index


def _write(
    session: Session,
    latest: dict[tuple[str, int], str],
    owners: dict[int, int],
    before: dict[int, tuple[int | None, int | None]],
    now: dt.datetime,
) -> None:
    """Replace the log rows of ``latest``, in its order."""
    if not latest:
        return
    by_kind: dict[str, list[int]] = {}
    for entity, entity_id in latest:
        by_kind.setdefault(entity, []).append(entity_id)
    for entity, ids in by_kind.items():
        for chunk in _chunks(ids):
            statement = delete(LOG).where(LOG.c.entity == entity, LOG.c.entity_id.in_(chunk))
            if entity != "timesheet":
                session.execute(statement)
                continue
            returning = statement.returning(LOG.c.entity_id, LOG.c.owner_id, LOG.c.previous_owner_id)
            before.update((row[0], (row[1], row[2])) for row in session.execute(returning))
    rows: list[dict[str, Any]] = []
    for (entity, entity_id), op in latest.items():
        owner = previous = None
        if entity == "timesheet":
            old_owner, old_previous = before.get(entity_id, (None, None))
            owner = owners.get(entity_id, old_owner)
            # A record that moved to another user: its former owner must still learn it is gone.
            previous = old_owner if old_owner is not None and old_owner != owner else old_previous
        rows.append(
            {
                "entity": entity,
                "entity_id": entity_id,
                "op": op,
                "owner_id": owner,
                "previous_owner_id": previous,
                "modified_at": now,
            }
        )
    session.execute(insert(LOG), rows)


def record_timesheet_range(session: Session, first_id: int, last_id: int) -> None:
    """Log the timesheets with ids first_id..last_id as upserted, in id order, in one statement
    (bulk loads: a Python round trip per row would cost as much as the load itself)."""
    lock(session)
    session.execute(
        delete(LOG).where(LOG.c.entity == "timesheet", LOG.c.entity_id.between(first_id, last_id))
    )
    _insert_timesheets(session, first_id, last_id, utcnow())


def _insert_timesheets(session: Session, first_id: int, last_id: int, now: dt.datetime) -> None:
    """Log rows for the timesheets with ids first_id..last_id (none there yet), in id order."""
    rows = (
        select(
            literal("timesheet"),
            Timesheet.id,
            literal("upsert"),
            Timesheet.user_id,
            literal(now, UTCDateTime()),
        )
        .where(Timesheet.id.between(first_id, last_id))
        .order_by(Timesheet.id)
    )
    columns = ["entity", "entity_id", "op", "owner_id", "modified_at"]
    session.execute(insert(LOG).from_select(columns, rows))


@dataclass(frozen=True)
class Horizon:
    """The highest purged tombstone seq and the newest deletion purged (None: nothing purged yet)."""

    seq: int
    until: dt.datetime | None


def horizon(session: Session) -> Horizon:
    row = session.execute(select(STATE.c.horizon, STATE.c.purged_until).where(STATE.c.id == 1)).first()
    return Horizon(0, None) if row is None else Horizon(row.horizon, row.purged_until)


def purge(session: Session, *, older_than: dt.datetime) -> int:
    """Delete the tombstones of deletions before ``older_than`` and raise the horizon past them;
    returns how many went."""
    lock(session)  # one purge at a time, and never between a writer's seqs and its commit
    found = session.execute(
        select(func.max(LOG.c.seq), func.max(LOG.c.modified_at), func.count()).where(
            _IS_TOMBSTONE, LOG.c.modified_at < older_than
        )
    ).one()
    top, newest, count = found
    if not count:
        return 0
    session.execute(delete(LOG).where(_IS_TOMBSTONE, LOG.c.modified_at < older_than))
    current = horizon(session)
    values = {
        "id": 1,
        "horizon": max(current.seq, int(top)),
        "purged_until": max(current.until or newest, newest),
        "modified_at": utcnow(),
    }
    upsert(session, STATE, values, keys=("id",), update=("horizon", "purged_until", "modified_at"))
    return int(count)


def last_seq(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(LOG.c.seq), literal(0, Integer)))) or 0)
