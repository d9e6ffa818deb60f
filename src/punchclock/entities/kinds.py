"""The three listed entity kinds and what the shared machinery needs to know about each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from punchclock.activities.models import Activity, ActivityMeta, ActivityRate
from punchclock.customers.models import Customer, CustomerComment, CustomerMeta, CustomerRate
from punchclock.projects.models import Project, ProjectComment, ProjectMeta, ProjectRate

Entity = Customer | Project | Activity


@dataclass(frozen=True)
class Kind:
    name: str  # Kimai's permission suffix: customer, project, activity
    plural: str  # the route segment
    label: str  # as in Kimai's 403 texts ("Cannot access Customer: 3")
    model: Any
    meta_model: Any
    rate_model: Any
    comment_model: Any  # None for activities, which have no comments


CUSTOMER = Kind("customer", "customers", "Customer", Customer, CustomerMeta, CustomerRate, CustomerComment)
PROJECT = Kind("project", "projects", "Project", Project, ProjectMeta, ProjectRate, ProjectComment)
ACTIVITY = Kind("activity", "activities", "Activity", Activity, ActivityMeta, ActivityRate, None)


def voter_teams(kind: str, entity: Any) -> set[int]:
    """The teams Kimai's voter counts for ``entity`` (an ORM object or a listing record).

    A customer: its teams. A project: its own and its customer's. An activity: its own, its
    project's and that project's customer's.
    """
    teams = {team.id for team in entity.teams}
    project = entity.project if kind == "activity" else entity if kind == "project" else None
    if project is not None:
        if project is not entity:
            teams |= {team.id for team in project.teams}
        teams |= {team.id for team in project.customer.teams}
    return teams
