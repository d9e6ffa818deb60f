"""Column mixins and the per-entity side tables (meta fields, rates, comments)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from punchclock.db import Base, UTCDateTime, utcnow


class Tracked:
    """Every table keeps ``modified_at`` (UTC), maintained on insert and on every update."""

    modified_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )


class Budgeted:
    budget: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    time_budget: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    budget_type: Mapped[str | None] = mapped_column(String(10))


class Listed:
    """What customers, projects and activities have in common."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), nullable=False, index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    invoice_text: Mapped[str | None] = mapped_column(Text)
    visible: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    billable: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    color: Mapped[str | None] = mapped_column(String(7))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class _ChildOf:
    """A row owned by one customer/project/activity/timesheet (``parent_table``), deleted with it."""

    parent_table: ClassVar[str]

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def entity_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey(f"{cls.parent_table}.id", ondelete="CASCADE"), nullable=False, index=True
        )


class MetaRow(_ChildOf, Tracked):
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    value: Mapped[str | None] = mapped_column(Text)
    visible: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (UniqueConstraint("entity_id", "name", name=f"uq_{table}_entity_name"),)


class RateRow(_ChildOf, Tracked):
    rate: Mapped[float] = mapped_column(Float, nullable=False)
    internal_rate: Mapped[float | None] = mapped_column(Float)
    fixed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        # One rate per user and entity; the rate for everybody (no user) counts as one user too.
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (Index(f"uq_{table}_entity_user", "entity_id", text("coalesce(user_id, 0)"), unique=True),)


class CommentRow(_ChildOf, Tracked):
    message: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    @declared_attr
    def created_by_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


class MetaFieldDefinition(Tracked, Base):
    """A custom field an administrator declared for one entity type (customer, project, …)."""

    __tablename__ = "meta_field_definitions"
    __table_args__ = (UniqueConstraint("entity_type", "name", name="uq_meta_field_definitions_type_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    visible: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


__all__ = ["Budgeted", "CommentRow", "Listed", "MetaFieldDefinition", "MetaRow", "RateRow", "Tracked"]
