"""Users: keyword-only functions shared by the API and the CLI."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from punchclock import changes
from punchclock.auth.passwords import hash_password
from punchclock.auth.permissions import ROLES, Caller, Profile
from punchclock.db import utcnow
from punchclock.entities.listing import changed_since
from punchclock.entities.service import by_name, find, ordered, term_filter
from punchclock.kimai.datetimes import is_timezone
from punchclock.kimai.errors import BadRequest, Forbidden, NotFound
from punchclock.teams.models import Team, TeamMember
from punchclock.users import preferences, render
from punchclock.users.models import User, UserPreference
from punchclock.users.preferences import Prepared

TAKEN = "This value is already used."


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
    return insert_user(session, user)


def set_api_password(session: Session, *, username: str, api_password: str) -> User:
    if len(api_password) < 8:
        raise UserError("the API password must have at least 8 characters")
    user = get_user(session, username=username)
    user.api_password = hash_password(api_password)
    touch_user(session, user)
    return user


# --- the API: lookups and views ------------------------------------------------------------------------

SEARCH_COLUMNS = (User.alias, User.title, User.account_number, User.email, User.username)
# ``field:value`` words of a search look at preferences, as Kimai's user search does.
PREFERENCE_META = SimpleNamespace(
    id=UserPreference.id,
    entity_id=UserPreference.user_id,
    name=UserPreference.name,
    value=UserPreference.value,
)


def memberships_of(session: Session, user_id: int) -> list[tuple[Any, bool]]:
    """The user's teams (records with id, name, color, modified_at; by name) and whether the user
    leads each. Columns only: a Team object would load all its members."""
    rows = session.execute(
        select(Team.id, Team.name, Team.color, Team.modified_at, TeamMember.teamlead)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user_id)
        .order_by(by_name(Team.name), Team.id)
    )
    return [(row, row.teamlead) for row in rows]


def profile_of(session: Session, user: User) -> Profile:
    teams = session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id))
    return Profile(
        id=user.id,
        enabled=user.enabled,
        system_account=user.system_account,
        roles=tuple(user.roles),
        team_ids=frozenset(teams),
    )


def load_profile(session: Session, *, caller: Caller, user_id: int, attribute: str) -> User:
    """The user (404 first, as Kimai resolves it before any check), then Kimai's user voter (403)."""
    user: User | None = find(session, User, user_id)
    if user is None:
        raise NotFound()
    if not caller.may_profile(attribute, profile_of(session, user)):
        raise Forbidden()
    return user


def entity_view(
    session: Session, *, caller: Caller, user: User, mode: Prepared | None = None, seen: tuple[int, ...] = ()
) -> dict[str, Any]:
    """The user entity as Kimai serialises it. ``mode``: how Kimai prepared the user's preferences;
    by default the caller is prepared (Kimai does so on every request) and everybody else is not."""
    if mode is None:
        mode = Prepared.BOOTING if user.id == caller.id else Prepared.NO
    memberships = memberships_of(session, user.id)
    profile = Profile(
        id=user.id,
        enabled=user.enabled,
        system_account=user.system_account,
        roles=tuple(user.roles),
        team_ids=frozenset(team.id for team, _ in memberships),
    )
    seen = (*seen, user.id)
    supervisor: dict[str, Any] | render.Omitted | None = None
    if user.supervisor_id in seen:
        supervisor = render.OMITTED
    elif user.supervisor_id is not None and (boss := session.get(User, user.supervisor_id)) is not None:
        supervisor = entity_view(session, caller=caller, user=boss, seen=seen)
    return render.entity(
        user,
        memberships=memberships,
        preferences=preferences.shown(preferences.prepare(user, caller, profile, mode)),
        supervisor=supervisor,
    )


def list_users(
    session: Session,
    *,
    caller: Caller,
    visible: int = 1,
    order_by: str = "username",
    order: str = "ASC",
    term: str | None = None,
    full: bool = False,
    modified_after: dt.datetime | None = None,
) -> list[User]:
    """Kimai's user list (``view_user``): everybody for admins, else oneself and the members of the
    teams one leads. ``visible``: 1 enabled, 2 disabled, 3 both. ``full`` loads the preferences too."""
    if not caller.can("view_user"):
        raise Forbidden()
    query = select(User).options(selectinload(User.preferences)) if full else select(User)
    if visible == 1:
        query = query.where(User.enabled.is_(True))
    elif visible == 2:
        query = query.where(User.enabled.is_(False))
    if not caller.sees_all:
        led = select(TeamMember.user_id).where(TeamMember.team_id.in_(caller.lead_team_ids))
        query = query.where(or_(User.id == caller.id, User.id.in_(led)))
    if term:
        query = query.where(term_filter(term, SEARCH_COLUMNS, PREFERENCE_META, User.id))
    query = changed_since(query, User.modified_at, modified_after)
    keys = {"id": User.id, "modified": User.modified_at}
    key = keys[order_by] if order_by in keys else by_name(getattr(User, order_by))
    return list(session.scalars(ordered(query, key, User.id, order)))


def touch_user(session: Session, user: User) -> None:
    """Mark ``user`` modified (also when only memberships or preferences changed) and record it."""
    user.modified_at = utcnow()
    session.flush()
    changes.record(session, entity="user", entity_id=user.id, op="upsert")


def insert_user(session: Session, user: User) -> User:
    """A new user with the preferences Kimai stores on creation; recorded as a change."""
    session.add(user)
    session.flush()
    session.execute(insert(UserPreference), preferences.new_user_rows(user.id))
    changes.record(session, entity="user", entity_id=user.id, op="upsert")
    return user


def update_preferences(session: Session, *, caller: Caller, user_id: int, data: Any) -> User:
    user = load_profile(session, caller=caller, user_id=user_id, attribute="edit")
    if not isinstance(data, dict | list):
        raise BadRequest()
    preferences.update(session, caller=caller, user=user, profile=profile_of(session, user), data=data)
    touch_user(session, user)
    return user


def delete_role(session: Session, *, caller: Caller, role_id: int) -> None:
    """``DELETE /api/users/roles/{id}`` deletes a custom role in Kimai. Punchclock has only the four
    built-in roles, so every id is unknown (404, which Kimai answers before checking permissions)."""
    raise NotFound()


# --- the command line ------------------------------------------------------------------------------------


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(by_name(User.username), User.id)))
