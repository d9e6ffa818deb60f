"""Kimai's permission model: roles grant named permissions; entity voters add team-based grants.

Every permission check in the project goes through ``Caller.can`` (a global permission) or
``Caller.may`` (an attribute on one customer, project or activity, with Kimai's team rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from punchclock.auth.permission_table import ROLE_PERMISSIONS

ROLES = ("ROLE_USER", "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN")
# Super admins keep these whatever the configuration says.
_SUPER_ADMIN_KEEPS = frozenset({"view_all_data", "role_permissions", "view_user"})


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """The union over the stored roles plus ROLE_USER (the role hierarchy is not used)."""
    roles = set(roles) | {"ROLE_USER"}
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    if "ROLE_SUPER_ADMIN" in roles:
        granted |= _SUPER_ADMIN_KEEPS
    return frozenset(granted)


@dataclass(frozen=True)
class Caller:
    """The authenticated user of one request, with what permission checks need."""

    id: int
    username: str
    timezone: str
    language: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    team_ids: frozenset[int] = field(default_factory=frozenset)
    lead_team_ids: frozenset[int] = field(default_factory=frozenset)
    token_id: int | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def sees_all(self) -> bool:
        return self.can("view_all_data")

    def may(self, attribute: str, kind: str, team_ids: Iterable[int] | Callable[[], Iterable[int]]) -> bool:
        """Kimai's entity voter: ``<attr>_<kind>``, else via teams the caller leads or belongs to.

        ``team_ids`` are the teams that count for this entity (for an activity: its own, its
        project's and its customer's), or a function computing them only when needed.
        ``create`` and ``delete`` are never granted through teams.
        """
        if self.can(f"{attribute}_{kind}"):
            return True
        if attribute in ("create", "delete"):
            return False
        teams = set(team_ids() if callable(team_ids) else team_ids)
        if self.can(f"{attribute}_teamlead_{kind}") and teams & self.lead_team_ids:
            return True
        return self.can(f"{attribute}_team_{kind}") and bool(teams & self.team_ids)

    def shares_team(self, team_ids: Iterable[int]) -> bool:
        """The list filter: an entity without teams is open to all, else only to its teams' members."""
        teams = set(team_ids)
        return not teams or bool(teams & self.team_ids)


def system_caller(timezone: str) -> Caller:
    """The command line acts with a super admin's permissions (it has the database anyway)."""
    roles = ("ROLE_SUPER_ADMIN",)
    return Caller(
        id=0,
        username="cli",
        timezone=timezone,
        language="en",
        roles=roles,
        permissions=permissions_for(roles),
    )
