from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from punchclock.customers.models import Customer
from punchclock.db import Base, UTCDateTime
from punchclock.entities.models import Budgeted, CommentRow, Listed, MetaRow, RateRow, Tracked
from punchclock.teams.models import Team


class Project(Listed, Budgeted, Tracked, Base):
    __tablename__ = "projects"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[str | None] = mapped_column(String(10))
    order_number: Mapped[str | None] = mapped_column(String(50))
    # Dates are kept as instants (00:00:00 / 23:59:59 local) with the timezone they were entered in.
    order_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    global_activities: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    teams: Mapped[list[Team]] = relationship(secondary="team_projects", lazy="selectin", order_by=Team.name)
    meta: Mapped[list[ProjectMeta]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


# Lists sort by name case-insensitively.
Index("ix_projects_name_ci", func.lower(Project.name))


class ProjectMeta(MetaRow, Base):
    __tablename__ = "project_meta"
    parent_table = "projects"


class ProjectRate(RateRow, Base):
    __tablename__ = "project_rates"
    parent_table = "projects"


class ProjectComment(CommentRow, Base):
    __tablename__ = "project_comments"
    parent_table = "projects"
