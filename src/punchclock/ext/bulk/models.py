"""Client-chosen keys (``externalId``) of entities written through the bulk routes."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from punchclock.db import Base
from punchclock.entities.models import Tracked


class ExternalId(Tracked, Base):
    """``external_id`` names one ``entity`` (customer, project, activity, timesheet) for its owner.

    There is no foreign key to the entity (it may be of four tables): a mapping whose entity was
    deleted is replaced when the key is used again. ``modified_at`` is when the key was (re)mapped:
    an entity created after it merely reuses the id (SQLite reuses the id of a deleted last row).
    """

    __tablename__ = "external_ids"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer, nullable=False)
