from __future__ import annotations

from sqlalchemy import Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from punchclock.db import Base
from punchclock.entities.models import Budgeted, CommentRow, Listed, MetaRow, RateRow, Tracked
from punchclock.teams.models import Team


class Customer(Listed, Budgeted, Tracked, Base):
    __tablename__ = "customers"

    number: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str | None] = mapped_column(String(100))
    vat_id: Mapped[str | None] = mapped_column(String(50))
    contact: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    address_line1: Mapped[str | None] = mapped_column(String(150))
    address_line2: Mapped[str | None] = mapped_column(String(150))
    address_line3: Mapped[str | None] = mapped_column(String(150))
    post_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="DE")
    language: Mapped[str] = mapped_column(String(10), nullable=False, default="en")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    phone: Mapped[str | None] = mapped_column(String(30))
    fax: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(75))
    homepage: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    invoice_template_id: Mapped[int | None] = mapped_column()
    invoice_email: Mapped[str | None] = mapped_column(String(75))
    buyer_reference: Mapped[str | None] = mapped_column(String(50))

    teams: Mapped[list[Team]] = relationship(secondary="team_customers", lazy="selectin", order_by=Team.name)
    meta: Mapped[list[CustomerMeta]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


# Lists sort by name case-insensitively.
Index("ix_customers_name_ci", func.lower(Customer.name))


class CustomerMeta(MetaRow, Base):
    __tablename__ = "customer_meta"
    parent_table = "customers"


class CustomerRate(RateRow, Base):
    __tablename__ = "customer_rates"
    parent_table = "customers"


class CustomerComment(CommentRow, Base):
    __tablename__ = "customer_comments"
    parent_table = "customers"
