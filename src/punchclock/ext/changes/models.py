"""The change log: one row per changed entity holding its latest change, plus the purge horizon."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from punchclock.db import Base, UTCDateTime
from punchclock.entities.models import Tracked

# Tombstones are what the purge looks for: a partial index keeps it off the (many) upserts.
_TOMBSTONE = text("op = 'delete'")


class ChangeLogEntry(Tracked, Base):
    """The latest change of one entity. A new change deletes the row and inserts a new one, so the
    log read by ``seq`` gives each entity once, at the position of its last change, and a deleted
    entity leaves its tombstone (``op`` = delete) until the retention purges it.

    ``modified_at`` is when the change was committed. ``owner_id`` is a timesheet's user (so a
    timesheet's tombstone can still be filtered by owner), ``previous_owner_id`` the user it had
    before it moved to another one (who must learn that it is gone for them)."""

    __tablename__ = "change_log"
    __table_args__ = (
        UniqueConstraint("entity", "entity_id", name="uq_change_log_entity"),
        # Pages are read per kind in seq order.
        Index("ix_change_log_entity_seq", "entity", "seq"),
        Index(
            "ix_change_log_tombstones", "modified_at", sqlite_where=_TOMBSTONE, postgresql_where=_TOMBSTONE
        ),
        # A seq is never handed out twice, even after the highest row was deleted (cursors point at seqs).
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    entity_id: Mapped[int] = mapped_column(Integer, nullable=False)
    op: Mapped[str] = mapped_column(String(6), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    previous_owner_id: Mapped[int | None] = mapped_column(Integer)


class ChangeLogState(Tracked, Base):
    """One row (id 1): the highest purged tombstone seq (``horizon``) and the newest purged deletion
    (``purged_until``). A cursor before the horizon may have missed a purged tombstone."""

    __tablename__ = "change_log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    horizon: Mapped[int] = mapped_column(Integer, nullable=False)
    purged_until: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
