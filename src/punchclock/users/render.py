"""User JSON views."""

from __future__ import annotations

from typing import Any

from punchclock.entities.render import color_fields, modified_at, team_ref
from punchclock.kimai.colors import initials
from punchclock.kimai.datetimes import format_datetime
from punchclock.users.models import ApiToken, User


def collection(u: User) -> dict[str, Any]:
    """The user as embedded everywhere else (timesheets, rates, comments, team members)."""
    return {
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "enabled": u.enabled,
        # Whether a legacy API password is set; never a secret.
        "apiToken": u.api_password is not None,
        "systemAccount": u.system_account,
        "alias": u.alias,
        "title": u.title,
        "avatar": u.avatar,
        "accountNumber": u.account_number,
        **color_fields(u.color, u.display_name),
        "initials": initials(u.display_name),
        "language": u.language,
        "locale": u.locale,
        "timezone": u.timezone,
        "modifiedAt": modified_at(u),
    }


def entity(
    u: User,
    *,
    memberships: list[tuple[Any, bool]],
    preferences: list[dict[str, str | None]],
    supervisor: dict[str, Any] | Omitted | None,
) -> dict[str, Any]:
    """The user with Kimai's ``User_Entity`` fields. ``supervisor`` is left out (``OMITTED``) where
    Kimai's serializer meets a user it is already rendering (a supervisor loop)."""
    view = collection(u)
    if not isinstance(supervisor, Omitted):
        view["supervisor"] = supervisor
    view["teams"] = [team_ref(team) for team, _ in memberships]
    view["roles"] = list(u.roles)
    # Kimai's serializer leaves out each membership's user: it is the user being rendered.
    view["memberships"] = [{"team": team_ref(team), "teamlead": lead} for team, lead in memberships]
    view["preferences"] = preferences
    return view


class Omitted:
    """Marks a key Kimai's serializer skips."""


OMITTED = Omitted()


def api_token(row: ApiToken, timezone: str, *, secret: str | None = None) -> dict[str, Any]:
    """Extension: an API token as its owner sees it; the secret only once, when it is created."""
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "createdAt": format_datetime(row.created_at, timezone),
        "lastUsage": format_datetime(row.last_usage, timezone),
        "expiresAt": format_datetime(row.expires_at, timezone),
    }
    if secret is not None:
        view["token"] = secret
    return view
