"""OpenAPI shapes of the invoice views and the custom-field body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from punchclock.customers.schemas import CustomerEmbedded
from punchclock.entities.schemas import MetaField, Shape, UserRef


class Invoice(Shape):
    """One invoice; the list shows the same fields."""

    id: int
    invoiceNumber: str
    comment: str | None
    customer: CustomerEmbedded
    user: UserRef = Field(description="Who created the invoice")
    createdAt: str = Field(description="Y-m-d\\TH:i:sO, in the creator's timezone")
    total: float = Field(description="Including tax")
    tax: float
    currency: str
    dueDays: int
    vat: float = Field(description="Tax rate in percent")
    status: Literal["new", "pending", "paid", "canceled"]
    invoiceFilename: str = Field(description="Name of the document GET /api/invoices/{id}/download sends")
    paymentDate: str | None = Field(
        description="Midnight of the payment day in your timezone (Y-m-d\\TH:i:sO)"
    )
    overdue: bool = Field(description="The due date (createdAt + dueDays) has passed, whatever the status")
    metaFields: list[MetaField]


class InvoiceCollection(Invoice):
    """An invoice in the list."""


class InvoiceMetaForm(BaseModel):
    """One custom field: both keys are required (a missing one is 400)."""

    name: str
    value: str | int | float | bool | None
