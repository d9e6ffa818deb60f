"""Kimai's permission model: roles grant named permissions; entity voters add team-based grants.

Every permission check in the project goes through ``Caller.can`` (a global permission),
``Caller.may`` (an attribute on one customer, project or activity, with Kimai's team rules),
``Caller.may_profile`` (Kimai's user voter) or ``Caller.may_team`` (its team voter).
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
    system_account: bool = False

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

    def can_assign_role(self, role: str) -> bool:
        return can_assign_role(self.roles, role)

    def can_access_user(self, subject: Profile, *, only_enabled: bool = True) -> bool:
        """Kimai's user access rule: oneself; everybody for admins; otherwise (enabled, non-system)
        members of teams one leads, and for team leads and admins users without teams or roles."""
        if subject.id == self.id or self.sees_all:
            return True
        if only_enabled and not subject.enabled:
            return False
        if subject.system_account and not self.system_account:
            return False
        if subject.team_ids & self.lead_team_ids:
            return True
        if {"ROLE_TEAMLEAD", "ROLE_ADMIN"} & set(self.roles) and not subject.roles:
            return not subject.team_ids
        return False

    def may_profile(self, attribute: str, subject: Profile) -> bool:
        """Kimai's user voter: ``<attr>_own_profile`` on oneself, else ``<attr>_other_profile`` plus
        access to the user. Roles only of users whose every role one could assign; ``contract`` and
        ``access_user`` are rules of their own."""
        if attribute == "contract":
            return self.can("contract_other_profile")
        if attribute == "access_user":
            return self.can_access_user(subject)
        if attribute == "supervisor" and subject.id == self.id:
            return "ROLE_SUPER_ADMIN" in self.roles
        if attribute == "roles" and not all(map(self.can_assign_role, ("ROLE_USER", *subject.roles))):
            return False
        if subject.id == self.id:
            return self.can(f"{attribute}_own_profile")
        return self.can(f"{attribute}_other_profile") and self.can_access_user(subject, only_enabled=False)

    def may_team(self, attribute: str, team_id: int) -> bool:
        """Kimai's team voter (``edit``, ``delete``): admins, or the team's leads, with ``<attr>_team``."""
        if not ({"ROLE_ADMIN", "ROLE_SUPER_ADMIN"} & set(self.roles) or team_id in self.lead_team_ids):
            return False
        return self.can(f"{attribute}_team")


@dataclass(frozen=True)
class Profile:
    """What Kimai's user voter looks at on the user a check is about."""

    id: int
    enabled: bool
    system_account: bool
    roles: tuple[str, ...]
    team_ids: frozenset[int]


def can_assign_role(roles: Iterable[str], role: str) -> bool:
    """Kimai's role hierarchy for granting roles: super admin only by super admins, admin by admins
    and above, team lead by team leads and above; any other role by anybody."""
    held = set(roles)
    super_admin = "ROLE_SUPER_ADMIN" in held
    admin = super_admin or "ROLE_ADMIN" in held
    teamlead = admin or "ROLE_TEAMLEAD" in held
    required = {"ROLE_SUPER_ADMIN": super_admin, "ROLE_ADMIN": admin, "ROLE_TEAMLEAD": teamlead}
    return required.get(role.upper(), True)


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
