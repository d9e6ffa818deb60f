"""The one place every write reports what it changed.

Services call ``record`` for each inserted, updated or deleted row of a tracked entity. The
records travel with the session (``session.info``) and are written to the change log in the same
transaction, just before it commits (``punchclock.ext.changes.log``): whatever writes (API, command
line, tools) and records goes through the one hook registered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

Operation = Literal["upsert", "delete"]


def record(
    session: Session, *, entity: str, entity_id: int, op: Operation, owner_id: int | None = None
) -> None:
    """``owner_id``: a deleted timesheet's user (an upserted one's is looked up at commit)."""
    session.info.setdefault("changes", []).append((entity, entity_id, op))
    if owner_id is not None:
        session.info.setdefault("change_owners", {})[entity_id] = owner_id


def record_created(session: Session, *, entity: str, ids: Sequence[int]) -> None:
    """``record`` of rows this transaction inserted (upserted), many at once: the change log writes
    new timesheets with one statement per run of ids instead of a row each (bulk inserts)."""
    session.info.setdefault("changes", []).extend([(entity, entity_id, "upsert") for entity_id in ids])
    session.info.setdefault("created", {}).setdefault(entity, set()).update(ids)


def recorded(session: Session) -> list[tuple[str, int, Operation]]:
    return list(session.info.get("changes", []))


@dataclass
class Pending:
    changes: list[tuple[str, int, Operation]] = field(default_factory=list)
    owners: dict[int, int] = field(default_factory=dict)  # timesheet id -> user id
    # entity -> ids given to ``record_created`` (their last recorded op decides, as for any id)
    created: dict[str, set[int]] = field(default_factory=dict)


def take(session: Session) -> Pending:
    """What was recorded so far, and forget it."""
    session.info.pop("change_marks", None)
    created = session.info.pop("created", {})
    pending = Pending(recorded(session), dict(session.info.get("change_owners", {})), created)
    session.info.get("changes", []).clear()
    session.info.get("change_owners", {}).clear()
    return pending


@event.listens_for(Session, "before_commit")
def _persist(session: Session) -> None:
    # Also called for each savepoint's commit: only the outermost commit writes.
    if session.info.get("changes") and not session.in_nested_transaction():
        from punchclock.ext.changes.log import persist

        persist(session)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:  # a SAVEPOINT: where its records begin, in case it is rolled back
        marks = session.info.setdefault("change_marks", {})
        marks[transaction] = len(session.info.get("changes", ()))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction is gone, and what it recorded with it
        take(session)
    elif previous.nested:  # a rolled-back SAVEPOINT takes back what was recorded inside it
        mark = session.info.get("change_marks", {}).pop(previous, None)
        if mark is not None:
            del session.info.get("changes", [])[mark:]
