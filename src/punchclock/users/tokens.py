"""API tokens over the API: Kimai's delete route, and (extension) listing and creating one's own.

Kimai creates tokens only in its web interface; Punchclock has none, so a user may list and create
their own named tokens here (``GET``/``POST /api/users/me/api-tokens``). The secret is returned once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.auth.service import create_token
from punchclock.db import utcnow
from punchclock.entities.service import find
from punchclock.kimai import forms
from punchclock.kimai.datetimes import parse_date, start_of_day
from punchclock.kimai.errors import Forbidden, NotFound
from punchclock.kimai.forms import Field, FieldError, length, not_blank
from punchclock.users.models import ApiToken, User
from punchclock.users.service import UserError, get_user, profile_of

NOT_IN_FUTURE = "The expiry date must be in the future."


def _own(session: Session, caller: Caller) -> User:
    user: User | None = session.get(User, caller.id)
    if user is None or not caller.may_profile("api-token", profile_of(session, user)):
        raise Forbidden()
    return user


def list_own_tokens(session: Session, *, caller: Caller) -> list[ApiToken]:
    _own(session, caller)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == caller.id).order_by(ApiToken.id)))


def _expiry(timezone: str) -> forms.Parser:
    """A date: the token stops working when that day starts in the owner's timezone (as on the
    command line)."""

    def parse(raw: Any) -> dt.datetime | None:
        value = forms.text(raw)
        if value is None:
            return None
        day = parse_date(value)
        instant = start_of_day(day, timezone) if day is not None else None
        if instant is None:
            raise FieldError("Please enter a valid date.")
        return instant

    return parse


def _in_future(value: Any) -> str | None:
    return NOT_IN_FUTURE if value is not None and value <= utcnow() else None


def create_own_token(session: Session, *, caller: Caller, data: Any) -> tuple[ApiToken, str]:
    """A new token of the caller: ``name`` (2-50 characters) and an optional ``expiresAt`` date."""
    user = _own(session, caller)
    fields = (
        Field("name", forms.text, (not_blank, length(2, 50))),
        Field("expiresAt", _expiry(user.timezone), (_in_future,)),
    )
    submission = forms.submit(fields, data, current={"expires_at": None}, clear_missing=False)
    values = {"name": None, "expires_at": None, **submission.changes}
    return create_token(session, username=user.username, name=values["name"], expires_at=values["expires_at"])


def delete_token(session: Session, *, caller: Caller, token_id: int) -> None:
    """Kimai's ``DELETE /api/users/api-token/{id}``: an unknown token is 404; the caller needs the
    ``api-token`` permission on themselves and on the token's owner (403)."""
    token: ApiToken | None = find(session, ApiToken, token_id)
    if token is None:
        raise NotFound()
    _own(session, caller)
    owner = session.get(User, token.user_id)
    if owner is None or not caller.may_profile("api-token", profile_of(session, owner)):
        raise Forbidden()
    _delete(session, token)


def _delete(session: Session, token: ApiToken) -> None:
    session.delete(token)
    session.flush()
    changes.record(session, entity="api_token", entity_id=token.id, op="delete")


# --- the command line ------------------------------------------------------------------------------------


def list_tokens(session: Session, *, username: str) -> list[ApiToken]:
    user = get_user(session, username=username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, *, token_id: int) -> tuple[ApiToken, str]:
    """Delete a token by id; returns it and its owner's username."""
    token: ApiToken | None = find(session, ApiToken, token_id)
    if token is None:
        raise UserError(f"unknown token: {token_id}")
    owner = session.get(User, token.user_id)
    _delete(session, token)
    return token, owner.username if owner else "?"
