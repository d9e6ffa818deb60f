from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from punchclock.activities.models import Activity
from punchclock.db import Base, UTCDateTime, utcnow
from punchclock.entities.models import MetaRow, Tracked
from punchclock.projects.models import Project
from punchclock.tags.models import Tag
from punchclock.users.models import User


class Timesheet(Tracked, Base):
    __tablename__ = "timesheets"
    # Every list order (begin, end, rate), per user and for everybody's rows, and the project/activity
    # filters in begin order. The order's tie-breaker id ends each order index: PostgreSQL then reads
    # a page, and a keyset page's (key, id) > (…, …) range, without sorting (SQLite appends the rowid
    # to every index by itself).
    __table_args__ = (
        Index("ix_timesheets_user_begin", "user_id", "begin", "id"),
        Index("ix_timesheets_user_end", "user_id", "end", "id"),
        Index("ix_timesheets_user_rate", "user_id", "rate", "id"),
        Index("ix_timesheets_begin", "begin", "id"),
        Index("ix_timesheets_end", "end", "id"),
        Index("ix_timesheets_rate", "rate", "id"),
        Index("ix_timesheets_project_begin", "project_id", "begin"),
        Index("ix_timesheets_activity_begin", "activity_id", "begin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), nullable=False)
    begin: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The owner's timezone at the last save; begin/end are rendered in it.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    duration: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    break_: Mapped[int] = mapped_column("break", Integer, default=0, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    internal_rate: Mapped[float | None] = mapped_column(Float)
    fixed_rate: Mapped[float | None] = mapped_column(Float)
    hourly_rate: Mapped[float | None] = mapped_column(Float)
    exported: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    billable: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    billable_mode: Mapped[str] = mapped_column(String(10), default="auto", nullable=False)
    category: Mapped[str] = mapped_column(String(10), default="work", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    activity: Mapped[Activity] = relationship(lazy="joined", innerjoin=True)
    # In the order the tags were created, as Kimai lists them (its join table is keyed by tag id).
    tags: Mapped[list[Tag]] = relationship(secondary="timesheet_tags", lazy="selectin", order_by=Tag.id)
    meta: Mapped[list[TimesheetMeta]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


class TimesheetTag(Tracked, Base):
    __tablename__ = "timesheet_tags"

    timesheet_id: Mapped[int] = mapped_column(
        ForeignKey("timesheets.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TimesheetMeta(MetaRow, Base):
    __tablename__ = "timesheet_meta"
    parent_table = "timesheets"


class TimesheetFavorite(Tracked, Base):
    """A user's favourite records (Kimai keeps at most five, the newest first)."""

    __tablename__ = "timesheet_favorites"
    __table_args__ = (UniqueConstraint("user_id", "timesheet_id", name="uq_timesheet_favorites_user_record"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    timesheet_id: Mapped[int] = mapped_column(
        ForeignKey("timesheets.id", ondelete="CASCADE"), nullable=False, index=True
    )
