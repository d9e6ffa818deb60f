from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from punchclock.db import Base
from punchclock.entities.models import Budgeted, Listed, MetaRow, RateRow, Tracked
from punchclock.projects.models import Project
from punchclock.teams.models import Team


class Activity(Listed, Budgeted, Tracked, Base):
    __tablename__ = "activities"

    # No project means a global activity, usable with any project that allows globals.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[str | None] = mapped_column(String(10))

    project: Mapped[Project | None] = relationship(lazy="selectin")
    teams: Mapped[list[Team]] = relationship(secondary="team_activities", lazy="selectin", order_by=Team.name)
    meta: Mapped[list[ActivityMeta]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


# Lists sort by name case-insensitively.
Index("ix_activities_name_ci", func.lower(Activity.name))


class ActivityMeta(MetaRow, Base):
    __tablename__ = "activity_meta"
    parent_table = "activities"


class ActivityRate(RateRow, Base):
    __tablename__ = "activity_rates"
    parent_table = "activities"
