"""OpenAPI shapes of the customer views and form."""

from __future__ import annotations

from pydantic import BaseModel, Field

from punchclock.entities.schemas import Budgets, Colored, ListedForm, MetaField, Modified, TeamRef


class CustomerEmbedded(Colored, Modified):
    id: int
    name: str
    number: str | None
    comment: str | None
    visible: bool
    billable: bool
    company: str | None
    country: str
    language: str
    currency: str
    phone: str | None
    fax: str | None
    mobile: str | None
    homepage: str | None
    timezone: str
    metaFields: list[MetaField]


class _Details(BaseModel):
    vatId: str | None = Field(
        None, description="With full=1 and the details permission, always in the entity"
    )
    addressLine1: str | None = None
    addressLine2: str | None = None
    addressLine3: str | None = None
    postCode: str | None = None
    city: str | None = None


class CustomerCollection(CustomerEmbedded, _Details, Budgets):
    teams: list[TeamRef]


class CustomerEntity(CustomerEmbedded, Budgets):
    teams: list[TeamRef]
    vatId: str | None
    addressLine1: str | None
    addressLine2: str | None
    addressLine3: str | None
    postCode: str | None
    city: str | None
    contact: str | None
    email: str | None
    address: str | None
    invoiceEmail: str | None
    buyerReference: str | None


class CustomerForm(ListedForm):
    """Kimai's customer form. Booleans: JSON false is false, anything else true; absent keeps the value."""

    name: str = Field(min_length=2, max_length=150)
    number: str | None = Field(None, max_length=50, description="Automatic (0001, 0002, …) when empty")
    comment: str | None = None
    company: str | None = Field(None, max_length=100)
    vatId: str | None = Field(None, max_length=50)
    contact: str | None = Field(None, max_length=100)
    addressLine1: str | None = Field(None, max_length=150)
    addressLine2: str | None = Field(None, max_length=150)
    addressLine3: str | None = Field(None, max_length=150)
    postCode: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=50)
    country: str = Field("DE", description="ISO 3166-1 alpha-2")
    language: str = "en"
    currency: str = Field("EUR", description="ISO 4217")
    phone: str | None = Field(None, max_length=30)
    fax: str | None = Field(None, max_length=30)
    mobile: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=75)
    homepage: str | None = Field(None, max_length=100)
    timezone: str | None = Field(None, description="Defaults to the caller's timezone")
    invoiceText: str | None = None
    invoiceTemplate: int | None = None
    invoiceEmail: str | None = Field(None, max_length=75)
    buyerReference: str | None = Field(None, max_length=50)
    timeBudget: str | None = Field(
        None, description="Hours (1.5), H:MM or 1h30m; only with the time permission"
    )
