from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from punchclock.db import Base, UTCDateTime, utcnow
from punchclock.entities.models import MetaRow, Tracked


class Timesheet(Tracked, Base):
    __tablename__ = "timesheets"
    __table_args__ = (
        Index("ix_timesheets_user_begin", "user_id", "begin"),
        Index("ix_timesheets_user_end", "user_id", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), nullable=False, index=True
    )
    begin: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The owner's timezone at the last save; begin/end are rendered in it.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    duration: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    break_: Mapped[int] = mapped_column("break", Integer, default=0, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[float] = mapped_column(Float, default=0.0, nullable=False, index=True)
    internal_rate: Mapped[float | None] = mapped_column(Float)
    fixed_rate: Mapped[float | None] = mapped_column(Float)
    hourly_rate: Mapped[float | None] = mapped_column(Float)
    exported: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    billable: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    billable_mode: Mapped[str] = mapped_column(String(10), default="auto", nullable=False)
    category: Mapped[str] = mapped_column(String(10), default="work", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


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
