from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Date, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from punchclock.db import Base, UTCDateTime
from punchclock.entities.models import MetaRow, Tracked

if TYPE_CHECKING:
    from punchclock.customers.models import Customer
    from punchclock.users.models import User

STATUSES = ("new", "pending", "paid", "canceled")


class Invoice(Tracked, Base):
    """An invoice as Kimai keeps it, plus the document it was rendered to (Kimai keeps a file)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("invoice_number", name="uq_invoices_number"),
        UniqueConstraint("invoice_filename", name="uq_invoices_filename"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(50), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    # Deleting a customer or a user deletes their invoices, as in Kimai.
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The list's date filter and order.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    # The creator's timezone: createdAt is shown, and the due date counted, in it.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    tax: Mapped[float] = mapped_column(Float, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    due_days: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    vat: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    invoice_filename: Mapped[str] = mapped_column(String(150), nullable=False)
    payment_date: Mapped[dt.date | None] = mapped_column(Date)
    # Loaded only for a download, never for views.
    document: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    document_type: Mapped[str] = mapped_column(String(100), nullable=False)

    customer: Mapped[Customer] = relationship()
    user: Mapped[User] = relationship()
    meta: Mapped[list[InvoiceMeta]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True, order_by="InvoiceMeta.id"
    )


class InvoiceMeta(MetaRow, Base):
    __tablename__ = "invoice_meta"
    parent_table = "invoices"


class InvoiceTimesheet(Tracked, Base):
    """The timesheets an invoice was made from (Kimai only marks them exported)."""

    __tablename__ = "invoice_timesheets"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    timesheet_id: Mapped[int] = mapped_column(
        ForeignKey("timesheets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
