"""First start on an empty database: an administrator and a one-time API token."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from punchclock.auth.service import create_token
from punchclock.users.service import count_users, create_user

FIRST_USERNAME = "admin"


def create_first_admin(session: Session, *, timezone: str) -> tuple[str, str, str] | None:
    """(username, password, token) when the database had no user; None otherwise."""
    if count_users(session):
        return None
    password = secrets.token_urlsafe(12)
    create_user(
        session,
        username=FIRST_USERNAME,
        email="admin@example.com",
        password=password,
        roles=["ROLE_SUPER_ADMIN"],
        timezone=timezone,
    )
    _row, token = create_token(session, username=FIRST_USERNAME, name="first token")
    return FIRST_USERNAME, password, token
