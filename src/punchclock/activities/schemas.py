"""OpenAPI shapes of the activity views and form."""

from __future__ import annotations

from pydantic import Field

from punchclock.entities.schemas import Budgets, Colored, ListedForm, MetaField, Modified, TeamRef
from punchclock.projects.schemas import ProjectExpanded


class _ActivityBase(Colored, Modified):
    id: int
    name: str
    number: str | None
    comment: str | None
    visible: bool
    billable: bool
    metaFields: list[MetaField]


class ActivityEmbedded(_ActivityBase):
    project: int | None = Field(description="null for a global activity")


class ActivityExpanded(_ActivityBase):
    project: ProjectExpanded | None


class ActivityEntity(ActivityEmbedded, Budgets):
    parentTitle: str | None = Field(description="The project's name; null for a global activity")
    teams: list[TeamRef]


class ActivityForm(ListedForm):
    """Kimai's activity form. ``project`` may not be sent on PATCH of a global activity."""

    name: str = Field(min_length=2, max_length=150)
    project: int | None = Field(None, description="Project id; empty for a global activity")
    number: str | None = Field(None, max_length=10, description="Automatic when empty")
    comment: str | None = None
    invoiceText: str | None = None
