"""The ``idempotency_keys`` table: one row per user and Idempotency-Key, holding the answer to replay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from punchclock.db import Base, UTCDateTime
from punchclock.entities.models import Tracked

IN_PROGRESS = "in_progress"
DONE = "done"


class IdempotencyKey(Tracked, Base):
    """Claimed (``in_progress``) while its request runs, then ``done`` with the answer; the row of a
    request that failed with 5xx is deleted, so a retry runs again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique constraint starts with user_id: it serves the foreign key's lookups too.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    # Hex SHA-256 of method, path, query, content type and body.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(11), nullable=False)
    status: Mapped[int | None] = mapped_column(Integer)
    # [[name, value], …] as sent (lower-case names), only those worth replaying.
    headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
