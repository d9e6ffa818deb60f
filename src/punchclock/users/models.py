from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from punchclock.db import Base, UTCDateTime, utcnow
from punchclock.entities.models import Tracked


class User(Tracked, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(String(180), unique=True, nullable=False)
    password: Mapped[str] = mapped_column(String(255), nullable=False)
    # The legacy X-AUTH-TOKEN secret ("API password"), hashed like a password.
    api_password: Mapped[str | None] = mapped_column(String(255))
    alias: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(50))
    account_number: Mapped[str | None] = mapped_column(String(30))
    avatar: Mapped[str | None] = mapped_column(String(255))
    color: Mapped[str | None] = mapped_column(String(7))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    system_account: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    requires_password_reset: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Stored roles only; ROLE_USER is implied for everybody, as in Kimai.
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    language: Mapped[str] = mapped_column(String(10), default="en", nullable=False)
    locale: Mapped[str] = mapped_column(String(10), default="en", nullable=False)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    preferences: Mapped[list[UserPreference]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        return self.alias or self.username


class UserPreference(Tracked, Base):
    __tablename__ = "user_preferences"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_user_preferences_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    value: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="preferences")


class ApiToken(Tracked, Base):
    """A Bearer token. Only the SHA-256 of the secret is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    last_usage: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
