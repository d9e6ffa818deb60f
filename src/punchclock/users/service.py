"""Users: keyword-only functions shared by the API and the CLI."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from punchclock.auth.passwords import hash_password
from punchclock.auth.permissions import ROLES
from punchclock.kimai.datetimes import is_timezone
from punchclock.users.models import User


class UserError(ValueError):
    """A user operation that cannot be done, with a message fit for people."""


def find_user(session: Session, *, login: str) -> User | None:
    """By username or e-mail, as Kimai's login does."""
    return session.scalars(select(User).where(or_(User.username == login, User.email == login))).first()


def get_user(session: Session, *, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UserError(f"unknown user: {username}")
    return user


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create_user(
    session: Session,
    *,
    username: str,
    email: str,
    password: str,
    roles: list[str] | None = None,
    timezone: str,
    api_password: str | None = None,
    alias: str | None = None,
    language: str = "en",
    enabled: bool = True,
) -> User:
    roles = [role for role in (roles or []) if role != "ROLE_USER"]
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise UserError(f"unknown role: {', '.join(unknown)} (choose from {', '.join(ROLES)})")
    if not 2 <= len(username) <= 64 or "/" in username:
        raise UserError("the username must have 2 to 64 characters and no '/'")
    if "@" not in email or len(email) > 180:
        raise UserError(f"not an e-mail address: {email}")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    if not is_timezone(timezone):
        raise UserError(f"unknown timezone: {timezone}")
    taken = session.scalars(
        select(User).where(or_(User.username.in_((username, email)), User.email.in_((username, email))))
    ).first()
    if taken is not None:
        raise UserError(f"a user with this username or e-mail exists already: {taken.username}")
    user = User(
        username=username,
        email=email,
        password=hash_password(password),
        api_password=hash_password(api_password) if api_password else None,
        roles=roles,
        timezone=timezone,
        alias=alias,
        language=language,
        locale=language,
        enabled=enabled,
    )
    session.add(user)
    session.flush()
    return user


def set_api_password(session: Session, *, username: str, api_password: str) -> User:
    if len(api_password) < 8:
        raise UserError("the API password must have at least 8 characters")
    user = get_user(session, username=username)
    user.api_password = hash_password(api_password)
    return user
