from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from punchclock.db import Base
from punchclock.entities.models import Tracked


class Tag(Tracked, Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    color: Mapped[str | None] = mapped_column(String(7))
    visible: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
