"""OpenAPI shapes of the project views and form."""

from __future__ import annotations

from pydantic import Field

from punchclock.customers.schemas import CustomerEmbedded
from punchclock.entities.schemas import Budgets, Colored, ListedForm, MetaField, Modified, TeamRef


class _ProjectBase(Colored, Modified):
    id: int
    name: str
    number: str | None
    orderNumber: str | None
    orderDate: str | None = Field(description="Y-m-d")
    start: str | None = Field(description="Y-m-d")
    end: str | None = Field(description="Y-m-d")
    comment: str | None
    visible: bool
    billable: bool
    globalActivities: bool
    lockedUntil: str | None = Field(description="Always null (no project locks)")
    metaFields: list[MetaField]


class ProjectEmbedded(_ProjectBase):
    customer: int


class ProjectExpanded(_ProjectBase):
    customer: CustomerEmbedded


class ProjectEntity(ProjectEmbedded, Budgets):
    parentTitle: str = Field(description="The customer's name")
    teams: list[TeamRef]


class ProjectForm(ListedForm):
    """Kimai's project form. Dates: POST takes Y-m-d, PATCH takes Y-m-dTH:i:s (as Kimai does)."""

    name: str = Field(min_length=2, max_length=150)
    customer: int
    number: str | None = Field(None, max_length=10, description="Automatic when empty")
    comment: str | None = None
    invoiceText: str | None = None
    orderNumber: str | None = Field(None, max_length=50)
    orderDate: str | None = None
    start: str | None = None
    end: str | None = None
    globalActivities: bool = True
