"""OpenAPI shapes of the change feed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from punchclock.activities.schemas import ActivityEntity
from punchclock.customers.schemas import CustomerCollection, CustomerEntity
from punchclock.entities.schemas import Rate, Shape
from punchclock.projects.schemas import ProjectEntity
from punchclock.tags.schemas import TagEntity
from punchclock.teams.schemas import TeamEntity
from punchclock.timesheets.schemas import TimesheetEntity
from punchclock.users.schemas import UserEntity

Kind = Literal["customer", "project", "activity", "user", "team", "tag", "timesheet"]


class Rated(Shape):
    rates: list[Rate] = Field(
        default_factory=list,
        description="With `include=rates`, where you may read them: as `GET /api/{kind}s/{id}/rates`",
    )


class RatedCustomer(CustomerEntity, Rated):
    pass


class RatedCustomerCollection(CustomerCollection, Rated):
    pass


class RatedProject(ProjectEntity, Rated):
    pass


class RatedActivity(ActivityEntity, Rated):
    pass


class Change(Shape):
    entity: Kind
    id: int
    op: Literal["upsert", "delete"] = Field(
        description="upsert: created or changed, `data` is the entity now; delete: deleted, or no longer "
        "visible to you (`data` is null)"
    )
    modifiedAt: str = Field(description="When the change was committed, in UTC (Y-m-d\\TH:i:sO)")
    data: (
        RatedCustomer
        | RatedCustomerCollection
        | RatedProject
        | RatedActivity
        | UserEntity
        | TeamEntity
        | TagEntity
        | TimesheetEntity
        | None
    ) = Field(description="The entity as `GET /api/{kind}s/{id}` shows it to you; null for a delete")


class ChangePage(Shape):
    items: list[Change] = Field(description="In commit order; each entity at most once")
    nextCursor: str = Field(description="Where the next request starts (also on an empty page: poll with it)")
    hasMore: bool = Field(description="Whether more changes follow right now")
