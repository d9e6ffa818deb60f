"""Turning request credentials into a ``Caller``; creating API tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller, permissions_for
from punchclock.auth.tokens import new_token, token_hash
from punchclock.db import utcnow
from punchclock.teams.models import TeamMember
from punchclock.users.models import ApiToken, User
from punchclock.users.service import UserError, find_user, get_user


def load_caller(session: Session, user: User, *, token_id: int | None = None) -> Caller:
    memberships = session.execute(
        select(TeamMember.team_id, TeamMember.teamlead).where(TeamMember.user_id == user.id)
    ).all()
    return Caller(
        id=user.id,
        username=user.username,
        timezone=user.timezone,
        language=user.language,
        roles=tuple(user.roles),
        permissions=permissions_for(user.roles),
        team_ids=frozenset(team for team, _ in memberships),
        lead_team_ids=frozenset(team for team, lead in memberships if lead),
        token_id=token_id,
        system_account=user.system_account,
    )


def find_token(session: Session, *, token: str, now: dt.datetime) -> tuple[ApiToken, User] | None:
    """A valid (known, unexpired) token and its user."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    return api_token, user


def touch_token(session: Session, *, token_id: int, now: dt.datetime, interval_seconds: int) -> None:
    """Record the token's last usage, at most once per interval (a conditional UPDATE, race-free)."""
    stale = now - dt.timedelta(seconds=interval_seconds)
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_usage.is_(None)) | (ApiToken.last_usage < stale))
        .values(last_usage=now)
    )


@dataclass(frozen=True)
class LegacyLogin:
    """What the legacy X-AUTH login needs from the database; the slow hash check happens outside it."""

    user_id: int
    enabled: bool
    caller: Caller
    api_password: str | None
    # Extension: X-AUTH-TOKEN may also be one of the user's (valid) API tokens.
    token_matches: bool


def find_legacy_login(session: Session, *, login: str, secret: str) -> LegacyLogin | None:
    user = find_user(session, login=login)
    if user is None:
        return None
    found = find_token(session, token=secret, now=utcnow())
    return LegacyLogin(
        user_id=user.id,
        enabled=user.enabled,
        caller=load_caller(session, user),
        api_password=user.api_password,
        token_matches=found is not None and found[1].id == user.id,
    )


def store_api_password_hash(session: Session, *, user_id: int, hashed: str) -> None:
    """Replace an outdated hash (bcrypt from Kimai) with the current one after a successful login."""
    session.execute(update(User).where(User.id == user_id).values(api_password=hashed))


def create_token(
    session: Session, *, username: str, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``username``; returns the row and the plain secret (never stored)."""
    if not 2 <= len(name) <= 50:
        raise UserError("the token name must have 2 to 50 characters")
    if expires_at is not None and expires_at <= utcnow():
        raise UserError("the expiry date must be in the future")
    user = get_user(session, username=username)
    plain = new_token()
    api_token = ApiToken(user_id=user.id, token_hash=token_hash(plain), name=name, expires_at=expires_at)
    session.add(api_token)
    session.flush()
    changes.record(session, entity="api_token", entity_id=api_token.id, op="upsert")
    return api_token, plain
