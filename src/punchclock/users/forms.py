"""Kimai's user forms (create and edit), for the API and the command line.

The create form has every field; the edit form only those the caller may change on that profile
(Kimai's user voter decides), so anything else is an extra field (400).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from punchclock.auth.passwords import hash_password
from punchclock.auth.permissions import Caller, Profile, system_caller
from punchclock.entities.fields import COLOR_FIELD
from punchclock.entities.service import selectable_user
from punchclock.kimai import forms
from punchclock.kimai.datetimes import timezone_names
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import (
    INVALID_CHOICE,
    Field,
    FieldError,
    Parser,
    checkbox,
    choice,
    length,
    no_special_characters,
    not_blank,
)
from punchclock.kimai.intl import LANGUAGES, LOCALES
from punchclock.users.models import User
from punchclock.users.service import TAKEN, get_user, insert_user, load_profile, profile_of, touch_user

SUPER_ADMIN = "ROLE_SUPER_ADMIN"
# What a caller may grant, strongest last (ROLE_USER is implied and never a choice).
ASSIGNABLE_ROLES = ("ROLE_TEAMLEAD", "ROLE_ADMIN", SUPER_ADMIN)
LAST_SUPER_ADMIN_ROLE = "The last enabled super administrator cannot lose this role."
LAST_SUPER_ADMIN_DISABLED = "The last enabled super administrator cannot be disabled."
# A transaction-scoped PostgreSQL advisory lock: two demotions cannot both see another super admin.
_SUPER_ADMIN_LOCK = 7_100_010


def _taken(session: Session, column: Any, value: str | None, own_id: int | None) -> bool:
    """Kimai's unique checks run on MySQL, whose collation ignores case."""
    if not value:
        return False
    query = select(User.id).where(func.lower(column) == value.lower(), User.id != (own_id or 0))
    return session.scalar(query.limit(1)) is not None


def _truncated(limit: int) -> Parser:
    """Kimai's setters cut aliases and titles to the column size, so their length never fails."""

    def parse(raw: Any) -> str | None:
        value = forms.text(raw)
        return value[:limit] if value else value

    return parse


def _secret(raw: Any) -> str | None:
    """A password field: not trimmed; empty means none."""
    if isinstance(raw, dict | list):
        raise FieldError(forms.NOT_VALID)
    return str(raw) if raw else None


def _with_default(parse: Parser, default: str) -> Parser:
    """An empty language, locale or timezone falls back as Kimai's setters do."""
    return lambda raw: parse(raw) or default


def _roles(caller: Caller) -> Parser:
    """Kimai's role choice: the built-in roles the caller may grant; ROLE_USER is not a choice."""
    choices = [role for role in ASSIGNABLE_ROLES if caller.can_assign_role(role)]

    def parse(raw: Any) -> list[str]:
        if raw is None or raw == "":
            return []
        values = list(raw.values()) if isinstance(raw, dict) else raw
        if not isinstance(values, list) or not all(isinstance(v, str) and v in choices for v in values):
            raise FieldError(INVALID_CHOICE)
        return list(dict.fromkeys(values))

    return parse


def _supervisor(session: Session, caller: Caller, own_id: int | None) -> Parser:
    def parse(raw: Any) -> int | None:
        user_id = forms.integer_id(raw)
        if user_id is not None and (user_id == own_id or not selectable_user(session, caller, user_id)):
            raise FieldError(INVALID_CHOICE)
        return user_id

    return parse


def _fields(session: Session, caller: Caller, user: User | None) -> tuple[Field, ...]:
    """Kimai's user form: the create form for a new user, else the edit form with the fields the
    caller may change on this profile (others are extra fields: 400)."""
    own_id = user.id if user is not None else None
    profile = (
        profile_of(session, user)
        if user is not None
        else Profile(id=-1, enabled=True, system_account=False, roles=(), team_ids=frozenset())
    )

    def taken(column: Any, message: str) -> forms.Check:
        return lambda value: message if _taken(session, column, value, own_id) else None

    def no_slash(value: Any) -> str | None:
        return forms.NOT_VALID if isinstance(value, str) and "/" in value else None

    # Kimai's order of checks: its user constraint and unique-entity rules (on the class), then the
    # field's own constraints.
    username_checks = (
        taken(User.email, "An equal e-mail address is already in use."),
        taken(User.username, "The username is already used."),
        taken(User.username, TAKEN),
        not_blank,
        no_slash,
        length(2, 64),
        no_special_characters,
    )
    email_checks = (
        taken(User.email, "This e-mail address is already in use."),
        taken(User.username, "An equal username is already used."),
        taken(User.email, TAKEN),
        not_blank,
        forms.email,
        length(2, 180),
    )
    new = user is None
    result: list[Field] = [Field("username", forms.text, username_checks)] if new else []
    result += [
        Field("alias", _truncated(60), (no_special_characters,)),
        Field("title", _truncated(50), (no_special_characters,)),
        Field("accountNumber", forms.text, (no_special_characters, length(maximum=30))),
        COLOR_FIELD,
        Field("email", forms.text, email_checks),
    ]
    if new or caller.may_profile("preferences", profile):
        result += [
            Field("language", _with_default(choice(LANGUAGES), "en")),
            Field("locale", _with_default(choice(LOCALES), "en")),
            Field(
                "timezone",
                _with_default(choice(timezone_names, "Please select a valid timezone."), caller.timezone),
            ),
        ]
    if new or caller.may_profile("supervisor", profile):
        result.append(Field("supervisor", _supervisor(session, caller, own_id), attr="supervisor_id"))
    if caller.may_profile("roles", profile):
        result.append(Field("roles", _roles(caller)))
    if new:
        result += [
            Field("plainPassword", _secret, (not_blank, length(8, 60)), attr="plain_password"),
            Field("plainApiToken", _secret, attr="plain_api_token"),
        ]
    if new or own_id != caller.id:
        result.append(Field("enabled", checkbox))
    if new or caller.may_profile("password", profile):
        result += [Field("systemAccount", checkbox), Field("requiresPasswordReset", checkbox)]
    return tuple(result)


def _keeps_a_super_admin(session: Session, user: User) -> Callable[[dict[str, Any]], dict[str, list[str]]]:
    """Extension: the last enabled super administrator can neither be disabled nor lose the role."""

    def check(merged: dict[str, Any]) -> dict[str, list[str]]:
        keeps_role = SUPER_ADMIN in merged["roles"]
        if not (user.enabled and SUPER_ADMIN in user.roles) or (merged["enabled"] and keeps_role):
            return {}
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_SUPER_ADMIN_LOCK)))
        others = session.execute(select(User.roles).where(User.enabled.is_(True), User.id != user.id))
        if any(SUPER_ADMIN in roles for (roles,) in others):
            return {}
        errors: dict[str, list[str]] = {}
        if not keeps_role:
            errors["roles"] = [LAST_SUPER_ADMIN_ROLE]
        if not merged["enabled"]:
            errors["enabled"] = [LAST_SUPER_ADMIN_DISABLED]
        return errors

    return check


def create_from_form(session: Session, *, caller: Caller, data: Any) -> User:
    """``POST /api/users`` (``create_user``): every absent field is submitted empty (clear-missing),
    so a user created without ``enabled: true`` is disabled, as in Kimai."""
    if not caller.can("create_user"):
        raise Forbidden()
    submission = forms.submit(_fields(session, caller, None), data, current={}, clear_missing=True)
    values = dict(submission.changes)
    plain_password = values.pop("plain_password")
    plain_api_token = values.pop("plain_api_token")
    user = User(
        **values,
        password=hash_password(plain_password),
        api_password=hash_password(plain_api_token) if plain_api_token else None,
    )
    return insert_user(session, user)


def update_from_form(session: Session, *, caller: Caller, user_id: int, data: Any) -> User:
    """``PATCH /api/users/{id}``: absent fields stay; ``roles`` replaces the stored roles."""
    user = load_profile(session, caller=caller, user_id=user_id, attribute="edit")
    fields = _fields(session, caller, user)
    current = {column.key: getattr(user, column.key) for column in User.__table__.columns}
    submission = forms.submit(
        fields, data, current=current, clear_missing=False, extra_checks=_keeps_a_super_admin(session, user)
    )
    for attr, value in submission.changes.items():
        setattr(user, attr, value)
    touch_user(session, user)
    return user


# --- the command line ------------------------------------------------------------------------------------


def update_by_name(session: Session, *, username: str, data: dict[str, Any], timezone: str) -> User:
    """The API's edit form, for the command line (which acts as a super admin)."""
    user = get_user(session, username=username)
    return update_from_form(session, caller=system_caller(timezone), user_id=user.id, data=data)
