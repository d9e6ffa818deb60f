"""User preferences as Kimai keeps them: stored rows, plus defaults that Kimai adds (without storing
them) whenever it "prepares" a user, each enabled or not for the caller.

Kimai prepares the caller on every request and the user of ``GET /api/users/{id}`` (``BOOTING``);
``PATCH /api/users/{id}/preferences`` prepares fully (``FULL``: the work-contract preferences too)
and then stores everything it prepared. Other views list the stored rows only, all enabled. Only
enabled preferences outside ``HIDDEN`` appear in the JSON.

``timezone``, ``language`` and ``locale`` are columns of the user in Punchclock; as preferences they
read and write those columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller, Profile
from punchclock.db import upsert, utcnow
from punchclock.kimai.datetimes import is_timezone
from punchclock.kimai.errors import BadRequest, Forbidden, NotFound
from punchclock.kimai.forms import parse_decimal
from punchclock.kimai.intl import LANGUAGES, LOCALES
from punchclock.users.models import User, UserPreference


class Prepared(Enum):
    NO = "no"
    BOOTING = "booting"
    FULL = "full"


@dataclass(frozen=True)
class Preference:
    name: str
    value: str | None
    enabled: bool = True


# Internal preferences Kimai never lists (or lists as fields of their own).
HIDDEN = frozenset(
    {
        "timezone",
        "locale",
        "language",
        "skin",
        "calendar_initial_view",
        "login_initial_view",
        "update_browser_title",
        "daily_stats",
        "export_decimal",
    }
)
# Yes/no preferences: any value but false, null, "" or a list is stored as "1".
CHECKBOXES = frozenset({"update_browser_title", "daily_stats", "export_decimal"})
COLUMNS = ("timezone", "language", "locale")
RATES = ("hourly_rate", "internal_rate")
# What the user gets on creation, besides timezone, language and locale (columns here).
CREATED: tuple[tuple[str, str | None], ...] = (("skin", "auto"),)
WORK_CONTRACT: tuple[tuple[str, str | None], ...] = (
    ("work_contract_type", "none"),
    ("work_monday", "0"),
    ("work_tuesday", "0"),
    ("work_wednesday", "0"),
    ("work_thursday", "0"),
    ("work_friday", "0"),
    ("work_saturday", "0"),
    ("work_sunday", "0"),
    ("public_holiday_group", None),
    ("holidays", "0"),
    ("work_start_day", None),
    ("work_last_day", None),
)
MAX_VALUE_LENGTH = 250  # Kimai's Length constraint on a preference value


def new_user_rows(user_id: int) -> list[dict[str, Any]]:
    """Rows a new user is created with (Kimai stores the work-contract defaults at creation)."""
    now = utcnow()
    return [
        {"user_id": user_id, "name": name, "value": value, "modified_at": now}
        for name, value in (*CREATED, *WORK_CONTRACT)
    ]


def _booting_defaults(user: User, caller: Caller, profile: Profile) -> list[Preference]:
    rates = caller.may_profile("hourly-rate", profile)
    return [
        Preference("hourly_rate", "0", rates),
        Preference("internal_rate", None, rates),
        Preference("timezone", user.timezone),
        Preference("language", user.language),
        Preference("locale", user.locale),
        Preference("first_weekday", "monday"),
        Preference("skin", "auto"),
        Preference("update_browser_title", "1"),
        Preference("calendar_initial_view", "month"),
        Preference("login_initial_view", "timesheet"),
        Preference("favorite_routes", ""),
        Preference("daily_stats", ""),
        Preference("export_decimal", ""),
    ]


def stored(user: User) -> list[Preference]:
    """The user's own preferences, the three columns first (Kimai stores them at creation)."""
    rows = sorted(user.preferences, key=lambda row: row.id)
    columns = [Preference(name, getattr(user, name)) for name in COLUMNS]
    return columns + [Preference(row.name, row.value) for row in rows if row.name not in COLUMNS]


def prepare(user: User, caller: Caller, profile: Profile, mode: Prepared) -> list[Preference]:
    """The preferences as Kimai holds them after preparing ``user`` for ``caller``: stored ones first
    (re-flagged by the defaults of their name), then the work-contract defaults (FULL only), then
    the other defaults, each only when not stored already."""
    result = stored(user)
    if mode is Prepared.NO:
        return result
    index = {pref.name: i for i, pref in enumerate(result)}

    def apply(defaults: list[Preference]) -> None:
        for default in defaults:
            if default.name in index:
                current = result[index[default.name]]
                result[index[default.name]] = Preference(current.name, current.value, default.enabled)
            else:
                index[default.name] = len(result)
                result.append(default)

    if mode is Prepared.FULL:
        contract = caller.may_profile("contract", profile)
        apply([Preference(name, value, contract) for name, value in WORK_CONTRACT])
    apply(_booting_defaults(user, caller, profile))
    return result


def shown(preferences: list[Preference]) -> list[dict[str, str | None]]:
    return [
        {"name": p.name, "value": p.value}
        for p in preferences
        if p.enabled and p.name not in HIDDEN and not p.name.startswith("_")
    ]


def _sanitized(name: str) -> str:
    return name.replace(".", "_").replace("-", "_")


def _value(name: str, raw: Any, current: str | None) -> str | None:
    """Kimai's setValue: yes/no preferences become "0"/"1"; lists leave other values unchanged."""
    if name in CHECKBOXES:
        return "0" if raw is None or raw == "" or isinstance(raw, list | dict) else "1"
    if isinstance(raw, list | dict):
        return current
    return raw if raw is None else str(raw)


def _is_rate(value: str | None) -> bool:
    """Rates are amounts of money (or empty): Kimai stores anything, which its calculators then
    cannot use; Punchclock refuses what its money fields would refuse, and negative amounts."""
    if not value:
        return True
    amount = parse_decimal(value)
    return amount is not None and amount >= 0


def _column_value(name: str, value: str | None) -> str:
    """A timezone, language or locale set as a preference. Kimai stores anything there (and then
    fails on it); Punchclock refuses what the user form would refuse."""
    allowed = {"timezone": is_timezone, "language": LANGUAGES.__contains__, "locale": LOCALES.__contains__}
    if value is None or not allowed[name](value):
        raise BadRequest()
    return value


def update(session: Session, *, caller: Caller, user: User, profile: Profile, data: Any) -> list[Preference]:
    """``PATCH /api/users/{id}/preferences``: a list of ``{"name", "value"}``. Not a list of objects,
    or an item without both keys: 400; an unknown name: 404; a disabled one: 403. Everything Kimai
    prepared is then stored, as Kimai does."""
    prefs = prepare(user, caller, profile, Prepared.FULL)
    index = {pref.name: i for i, pref in enumerate(prefs)}
    items = data.values() if isinstance(data, dict) else data
    dirty = False
    for item in items:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise BadRequest()
        name, raw = item["name"], item["value"]
        if not isinstance(name, str):
            raise BadRequest()
        position = index.get(_sanitized(name))
        if position is None:
            raise NotFound()
        pref = prefs[position]
        if not pref.enabled:
            raise Forbidden()
        value = _value(pref.name, raw, pref.value)
        if value is not None and len(value) > MAX_VALUE_LENGTH:
            raise BadRequest()
        if pref.name in COLUMNS:
            value = _column_value(pref.name, value)
            setattr(user, pref.name, value)
        elif pref.name in RATES and not _is_rate(value):
            raise BadRequest()
        prefs[position] = Preference(pref.name, value, pref.enabled)
        dirty = True
    if dirty:
        _store(session, user, prefs)
    return prefs


def _store(session: Session, user: User, prefs: list[Preference]) -> None:
    now = utcnow()
    table = UserPreference.__table__
    for pref in prefs:
        if pref.name in COLUMNS:
            continue
        # One statement per row, so concurrent first writes of a preference cannot collide.
        upsert(
            session,
            table,
            {"user_id": user.id, "name": pref.name, "value": pref.value, "modified_at": now},
            keys=("user_id", "name"),
            update=("value", "modified_at"),
        )
    session.expire(user, ["preferences"])
