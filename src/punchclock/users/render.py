"""User JSON views."""

from __future__ import annotations

from typing import Any

from punchclock.entities.render import color_fields
from punchclock.kimai.colors import initials
from punchclock.users.models import User


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
    }
