"""The permission matrix: every API route, asked by every role (and by nobody), about own data, other
people's data, data of a team the caller leads or belongs to, and data restricted to a team the
caller is not in.

The expected answers are Kimai's rules restated here, not our voter code: a role's permissions come
from the permission table (Kimai's ``kimai.permissions`` configuration), and the entity, timesheet,
user, team and invoice voters are written out below from Kimai's source (``src/Voter/*.php``,
``RolePermissionManager``, the controllers' ``IsGranted`` attributes). Read-only cases share one
world per backend; every write case works on objects made for it, so no case depends on another.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient

from punchclock import models
from punchclock.app import create_app
from punchclock.auth.permission_table import ROLE_PERMISSIONS
from punchclock.auth.permissions import permissions_for
from punchclock.auth.service import create_token
from punchclock.db import Database
from punchclock.invoices import document
from tests.conftest import (
    EXTRA_FIELDS,
    FORBIDDEN,
    GONE,
    NOT_FOUND,
    PASSWORD,
    PEOPLE,
    UNAUTHORIZED,
    Api,
    seed_people,
    wipe,
)
from tests.conftest import test_settings as settings_for

# --- the world, by name -----------------------------------------------------------------------------

Teams = frozenset[str]
NO_TEAM: Teams = frozenset()
A: Teams = frozenset({"A"})  # led by tony_teamlead; john_user is a member
B: Teams = frozenset({"B"})  # led by olga; nobody else
C: Teams = frozenset({"C"})  # led by olga; tony_teamlead is a plain member

ROLES = ("super", "admin", "teamlead", "user")
# Two more people without roles: olga leads teams B and C; nora is in no team.
USERS = (*ROLES, "olga", "nora")
ROLES_OF: dict[str, tuple[str, ...]] = {key: PEOPLE[key].roles for key in ROLES} | {"olga": (), "nora": ()}
MEMBER_OF: dict[str, Teams] = {"teamlead": A | C, "user": A, "olga": B | C}
LEADS: dict[str, Teams] = {"teamlead": A, "olga": B | C}
TEAM_LEAD = {"A": "teamlead", "B": "olga", "C": "olga"}

CUSTOMERS: dict[str, Teams] = {"c_open": NO_TEAM, "c_a": A, "c_b": B, "c_c": C}
PROJECTS: dict[str, tuple[str, Teams]] = {  # name -> (customer, own teams)
    "p_open": ("c_open", NO_TEAM),
    "p_a": ("c_open", A),
    "p_b": ("c_open", B),
    "p_c": ("c_open", C),
    "p_ca": ("c_a", NO_TEAM),
    "p_cb": ("c_b", NO_TEAM),
    "p_mixed": ("c_b", A),  # the project is team A's, its customer team B's
}
ACTIVITIES: dict[str, tuple[str | None, Teams]] = {  # name -> (project, None if global; own teams)
    "a_global": (None, NO_TEAM),
    "a_ga": (None, A),
    "a_gb": (None, B),
    "a_gc": (None, C),
    "a_open": ("p_open", NO_TEAM),
    "a_open_a": ("p_open", A),
    "a_open_b": ("p_open", B),
    "a_pa": ("p_a", NO_TEAM),
    "a_pb": ("p_b", NO_TEAM),
    "a_pc": ("p_c", NO_TEAM),
    "a_ca": ("p_ca", NO_TEAM),
    "a_cb": ("p_cb", NO_TEAM),
    "a_mixed": ("p_mixed", NO_TEAM),
}
ENTITIES: dict[str, list[str]] = {
    "customer": list(CUSTOMERS),
    "project": list(PROJECTS),
    "activity": list(ACTIVITIES),
}
BASE = {"customer": "/api/customers", "project": "/api/projects", "activity": "/api/activities"}
# Where a timesheet is booked: (project, activity).
PLACES = {"open": ("p_open", "a_open"), "A": ("p_a", "a_pa"), "B": ("p_b", "a_pb"), "C": ("p_c", "a_pc")}
INVOICED = list(CUSTOMERS)  # one invoice per customer


class Sheet(NamedTuple):
    owner: str
    place: str
    exported: bool = False

    def __str__(self) -> str:
        return f"{self.owner}/{self.place}" + ("/exported" if self.exported else "")


# The shared world has one stopped record of every person in every place; write cases get fresh
# records of every person, open and restricted to team B, and exported ones.
WORLD_SHEETS = [Sheet(owner, place) for owner in USERS for place in PLACES]
FRESH_SHEETS = [Sheet(owner, place) for owner in USERS for place in ("open", "B")] + [
    Sheet("teamlead", "open", exported=True),
    Sheet("user", "open", exported=True),
]
WORLD_DAY = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
# Timesheet lists look at the world's day only (wide enough for every timezone).
WORLD_WINDOW = "begin=2024-04-30T00:00:00&end=2024-05-02T23:59:59&size=500"


# --- Kimai's rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """A caller as Kimai's voters see it."""

    key: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    teams: Teams
    leads: Teams

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def sees_all(self) -> bool:
        return self.can("view_all_data")

    def has_role(self, *roles: str) -> bool:
        return bool(set(roles) & set(self.roles))


def who(key: str) -> Who:
    roles = ROLES_OF[key]
    return Who(key, roles, permissions_for(roles), MEMBER_OF.get(key, NO_TEAM), LEADS.get(key, NO_TEAM))


def levels(kind: str, name: str) -> list[Teams]:
    """The teams of an entity and of its parents (project: customer; activity: project, customer)."""
    if kind == "customer":
        return [CUSTOMERS[name]]
    if kind == "project":
        customer, teams = PROJECTS[name]
        return [teams, *levels("customer", customer)]
    project, teams = ACTIVITIES[name]
    return [teams, *(levels("project", project) if project else [])]


def team_access(w: Who, kind: str, name: str) -> bool:
    """checkTeamAccess*: each level has no teams or shares one (lists, form choices, ``access``)."""
    return w.sees_all or all(not teams or teams & w.teams for teams in levels(kind, name))


def entity_voter(w: Who, attribute: str, kind: str, name: str) -> bool:
    """Customer-, Project- and ActivityVoter: ``<attr>_<kind>``, else its team variants on any team of
    the entity or of its parents; ``create`` and ``delete`` never through teams."""
    if w.can(f"{attribute}_{kind}"):
        return True
    if attribute in ("create", "delete"):
        return False
    teams = frozenset().union(*levels(kind, name))
    return bool(
        (w.can(f"{attribute}_teamlead_{kind}") and teams & w.leads)
        or (w.can(f"{attribute}_team_{kind}") and teams & w.teams)
    )


def timesheet_voter(w: Who, attribute: str, sheet: Sheet) -> bool:
    """TimesheetVoter with checkTeamAccessTimesheet (lockdown is off)."""
    project, activity = PLACES[sheet.place]
    usable = team_access(w, "project", project) and team_access(w, "activity", activity)
    if attribute in ("start", "duplicate") and not usable:
        return False
    if attribute in ("edit", "delete") and sheet.exported and not w.can("edit_exported_timesheet"):
        return False
    permission = "create" if attribute == "duplicate" else attribute
    if sheet.owner == w.key:
        return w.can(f"{permission}_own_timesheet")
    owner_teams = MEMBER_OF.get(sheet.owner, NO_TEAM)
    if not w.sees_all and not (usable and (not owner_teams or owner_teams & w.leads)):
        return False
    return w.can(f"{permission}_other_timesheet")


def user_access(w: Who, subject: str) -> bool:
    """checkUserAccess (every world user is enabled and none is a system account)."""
    if subject == w.key or w.has_role("ROLE_SUPER_ADMIN") or w.sees_all:
        return True
    if MEMBER_OF.get(subject, NO_TEAM) & w.leads:
        return True
    if w.has_role("ROLE_TEAMLEAD", "ROLE_ADMIN") and not ROLES_OF[subject]:
        return not MEMBER_OF.get(subject)
    return False


def profile_voter(w: Who, attribute: str, subject: str) -> bool:
    """UserVoter: ``<attr>_own_profile`` on oneself, else ``<attr>_other_profile`` and user access."""
    if subject == w.key:
        return w.can(f"{attribute}_own_profile")
    return w.can(f"{attribute}_other_profile") and user_access(w, subject)


def team_voter(w: Who, attribute: str, lead: str) -> bool:
    """TeamVoter: admins, super admins and the team's leads, with ``<attr>_team``."""
    allowed = w.has_role("ROLE_ADMIN", "ROLE_SUPER_ADMIN") or lead == w.key
    return allowed and w.can(f"{attribute}_team")


def invoice_voter(w: Who, permission: str, customer: str) -> bool:
    """InvoiceVoter: ``view_invoice`` and access to the customer, then the action's permission."""
    return w.can("view_invoice") and team_access(w, "customer", customer) and w.can(permission)


def status(allowed: bool, ok: int = 200) -> int:
    return ok if allowed else 403


# --- the matrix ---------------------------------------------------------------------------------------

NO_BODY = object()
META = {"name": "crm_id", "value": "42"}


@dataclass
class Request:
    url: str
    body: Any = NO_BODY
    listed: str | None = None  # a list of this kind: which world objects it shows is compared
    cleanup: Callable[[], None] | None = None


Build = Callable[..., Request]  # (world, caller key or None, item=...) -> Request
Rule = Callable[..., int]  # (caller, item=...) -> Kimai's status


@dataclass(frozen=True)
class Target:
    """One request of a route: what it is about, how to make it, and Kimai's answer per caller."""

    data: str
    build: Callable[[World, str | None], Request]
    expect: Callable[[Who], int]
    visible: Callable[[Who], set[str]] | None = None


def targets(items: Iterable[Any], build: Build, rule: Rule, label: str = "{}") -> list[Target]:
    """One target per item: ``build`` and ``rule`` get it as ``item``."""
    return [Target(label.format(i), partial(build, item=i), partial(rule, item=i)) for i in items]


def one(data: str, build: Build, rule: Rule, visible: Callable[[Who], set[str]] | None = None) -> Target:
    return Target(data, partial(build, item=None), partial(rule, item=None), visible)


def to(url: str, body: Any = NO_BODY, listed: str | None = None) -> Build:
    """A request to ``url``: ``@`` is the item, ``{name}`` the id of that world object."""
    return lambda world, _caller, item: Request(world.url(url.replace("@", str(item))), body, listed)


def always(code: int) -> Rule:
    return lambda _w, item: code


def can(permission: str, ok: int = 200) -> Rule:
    return lambda w, item: status(w.can(permission), ok)


def voters(kind: str, *attributes: str, ok: int = 200) -> Rule:
    return lambda w, item: status(all(entity_voter(w, a, kind, item) for a in attributes), ok)


MATRIX: dict[tuple[str, str], list[Target]] = {}


def route(method: str, path: str, *rows: Target | list[Target]) -> None:
    assert (method, path) not in MATRIX, f"{method} {path} twice"
    MATRIX[(method, path)] = [t for row in rows for t in (row if isinstance(row, list) else [row])]


for path in ("/api/ping", "/api/version", "/api/plugins", "/api/config/colors", "/api/config/timesheet"):
    route("GET", path, one("-", to(path), always(200)))


# Customers, projects and activities


def fresh_entity(world: World, _caller: str | None, *, item: str, kind: str) -> Request:
    return Request(f"{BASE[kind]}/{world.fresh_entity(kind, item)}")


def own_rate(world: World, caller: str | None, *, item: str, kind: str) -> Request:
    """A rate for the caller (one per user and entity: every caller adds their own)."""
    body = {"rate": 10, "user": world.ids[caller or "super"]}
    return Request(world.url(f"{BASE[kind]}/{{{item}}}/rates"), body)


def fresh_rate(world: World, _caller: str | None, *, item: str, kind: str) -> Request:
    url = world.url(f"{BASE[kind]}/{{{item}}}/rates/") + str(world.fresh_rate(kind, item))
    return Request(url, cleanup=lambda: world.as_super("DELETE", url))  # a rate without user is unique


def fresh_comment(world: World, _caller: str | None, *, item: str, kind: str) -> Request:
    return Request(world.url(f"{BASE[kind]}/{{{item}}}/comments/") + str(world.fresh_comment(kind, item)))


def new_entity(world: World, _caller: str | None, *, item: str | None, kind: str) -> Request:
    parent = {"customer": None, "project": "customer", "activity": "project"}[kind]
    body: dict[str, Any] = {"name": world.unique(kind)}
    if parent:
        body[parent] = world.ids[item] if item else None
    return Request(BASE[kind], body)


def create_rule(w: Who, *, item: str | None, kind: str) -> int:
    """POST: the create permission (403, before the form is read), then the parent must be one the
    caller may use (a form error, 400)."""
    if not w.can(f"create_{kind}"):
        return 403
    parent = {"project": "customer", "activity": "project"}.get(kind)
    return 200 if item is None or parent is None or team_access(w, parent, item) else 400


def duplicate_rule(w: Who, *, item: str) -> int:
    edit = entity_voter(w, "edit", "project", item)
    return status(edit and w.can("create_project") and w.can("create_activity"), 201)


def entity_routes(kind: str) -> None:
    base, names = BASE[kind], ENTITIES[kind]
    one_of = f"{base}/{{@}}"
    kinded = {"kind": kind}
    route(
        "GET",
        base,
        one(
            "list",
            to(base, listed=kind),
            always(200),
            lambda w: {n for n in names if team_access(w, kind, n)},
        ),
    )
    parents = {"customer": [None], "project": list(CUSTOMERS), "activity": [None, *PROJECTS]}[kind]
    route(
        "POST", base, targets(parents, partial(new_entity, **kinded), partial(create_rule, **kinded), "in {}")
    )
    route("GET", f"{base}/{{id}}", targets(names, to(one_of), voters(kind, "view")))
    route("PATCH", f"{base}/{{id}}", targets(names, to(one_of, {}), voters(kind, "edit")))
    fresh = partial(fresh_entity, **kinded)
    route("DELETE", f"{base}/{{id}}", targets(names, fresh, voters(kind, "delete", ok=204), "fresh like {}"))
    route("PATCH", f"{base}/{{id}}/meta", targets(names, to(f"{one_of}/meta", META), voters(kind, "edit")))
    route("GET", f"{base}/{{id}}/rates", targets(names, to(f"{one_of}/rates"), voters(kind, "edit")))
    route("POST", f"{base}/{{id}}/rates", targets(names, partial(own_rate, **kinded), voters(kind, "edit")))
    route(
        "DELETE",
        f"{base}/{{id}}/rates/{{rateId}}",
        targets(names, partial(fresh_rate, **kinded), voters(kind, "edit", ok=204), "{}, fresh rate"),
    )
    route("POST", f"{base}/{{id}}/team", targets(names[:1], to(f"{one_of}/team", {}), always(410)))
    if kind == "project":
        route("POST", f"{base}/{{id}}/duplicate", targets(names, to(f"{one_of}/duplicate"), duplicate_rule))
    if kind == "activity":
        return
    comments = f"{base}/{{id}}/comments"
    route("GET", comments, targets(names, to(f"{one_of}/comments"), voters(kind, "view", "comments")))
    add = to(f"{one_of}/comments", {"message": "Seen."})
    route("POST", comments, targets(names, add, voters(kind, "view", "comments")))
    pin = to(f"{one_of}/comments/{{comment:@}}/pin")
    route(
        "PATCH",
        f"{comments}/{{commentId}}/pin",
        targets(names, pin, voters(kind, "view", "edit", "comments")),
    )
    route(
        "DELETE",
        f"{comments}/{{commentId}}",
        targets(
            names,
            partial(fresh_comment, **kinded),
            voters(kind, "view", "edit", "comments", ok=204),
            "{}, fresh comment",
        ),
    )


for _kind in BASE:
    entity_routes(_kind)


# Timesheets


def team_filtered(w: Who, owners: set[str]) -> set[str]:
    """TimesheetRepository: the owners' records whose project and activity pass the team filter."""
    return {
        f"ts:{sheet}"
        for sheet in WORLD_SHEETS
        if sheet.owner in owners
        and team_access(w, "project", PLACES[sheet.place][0])
        and team_access(w, "activity", PLACES[sheet.place][1])
    }


def listed_owners(w: Who, user: str | None) -> set[str] | None:
    """Whose records the list shows (None: 403). Without ``view_other_timesheet`` the user filter is
    ignored; ``all`` is everybody for admins, else oneself and the members of the teams one leads."""
    if not w.can("view_other_timesheet") or user is None:
        return {w.key}
    if user == "all":
        return (
            set(USERS) if w.sees_all else {w.key} | {u for u in USERS if MEMBER_OF.get(u, NO_TEAM) & w.leads}
        )
    return {user} if user_access(w, user) else None


def timesheet_list(user: str | None) -> Target:
    query = "" if user is None else "&user=all" if user == "all" else f"&user={{{user}}}"
    return one(
        f"user={user or '-'}",
        to(f"/api/timesheets?{WORLD_WINDOW}{query}", listed="timesheet"),
        lambda w, item: 403 if listed_owners(w, user) is None else 200,
        lambda w: team_filtered(w, listed_owners(w, user) or set()),
    )


def new_timesheet(world: World, _caller: str | None, *, item: tuple[str, str]) -> Request:
    owner, place = item
    project, activity = PLACES[place]
    body = {
        "project": world.ids[project],
        "activity": world.ids[activity],
        "begin": "2024-02-01T10:00:00",
        "end": "2024-02-01T11:00:00",
    }
    if owner != "self":
        body["user"] = world.ids[owner]
    return Request("/api/timesheets", body)


def new_timesheet_rule(w: Who, *, item: tuple[str, str]) -> int:
    """POST: ``user`` is a field only with ``create_other_timesheet`` (else extra: 400) and offers
    oneself and the members of led teams (admins: everybody; else 400); project and activity must be
    open to the caller (400); then the voter on the new record (403)."""
    owner, place = item
    if not w.can("create_own_timesheet"):
        return 403
    if owner != "self":
        selectable = w.sees_all or owner == w.key or MEMBER_OF.get(owner, NO_TEAM) & w.leads
        if not (w.can("create_other_timesheet") and selectable):
            return 400
    project, activity = PLACES[place]
    if not (team_access(w, "project", project) and team_access(w, "activity", activity)):
        return 400
    return status(timesheet_voter(w, "create", Sheet(w.key if owner == "self" else owner, place)))


def fresh_sheet(
    world: World, _caller: str | None, *, item: Sheet, suffix: str, running: bool = False, body: Any = NO_BODY
) -> Request:
    sheet_id = world.fresh_sheet(item, running=running)
    # A record left running (and exported) would make its owner's next restart fail.
    cleanup = partial(world.stop_sheet, sheet_id) if running else None
    return Request(f"/api/timesheets/{sheet_id}{suffix}", body, cleanup=cleanup)


def sheet_rule(w: Who, *, item: Sheet, attribute: str, ok: int = 200) -> int:
    allowed = timesheet_voter(w, attribute, item)
    if attribute == "edit_export" and item.exported:  # un-exporting needs edit_exported_timesheet
        allowed = allowed and w.can("edit_exported_timesheet")
    if allowed and attribute == "stop" and item.exported and not timesheet_voter(w, "edit_export", item):
        return 400  # the TimesheetExported constraint: saving an exported record needs edit_export on it
    return status(allowed, ok)


def fresh_favorite(world: World, _caller: str | None, *, item: Sheet) -> Request:
    return Request(f"/api/favorites/timesheets/{world.fresh_sheet(item)}")


def favorite_rule(w: Who, *, item: Sheet) -> int:
    return status(item.owner == w.key and w.can("start_own_timesheet"), 204)  # is_owner


route("GET", "/api/timesheets", [timesheet_list(user) for user in (None, "all", *USERS)])
route("GET", "/api/timesheets/active", one("-", to("/api/timesheets/active"), can("view_own_timesheet")))
route("GET", "/api/timesheets/recent", one("-", to("/api/timesheets/recent"), can("view_own_timesheet")))
route(
    "GET",
    "/api/timesheets/{id}",
    targets(WORLD_SHEETS, to("/api/timesheets/{ts:@}"), partial(sheet_rule, attribute="view")),
)
route(
    "POST",
    "/api/timesheets",
    targets(
        itertools.product(("self", "user", "olga"), PLACES),
        new_timesheet,
        new_timesheet_rule,
        "{0[0]} in {0[1]}",
    ),
)
for _method, _suffix, _attribute, _extra in (
    ("PATCH", "", "edit", {"body": {}}),
    ("DELETE", "", "delete", {}),
    ("PATCH", "/stop", "stop", {"running": True}),
    ("PATCH", "/restart", "start", {}),
    ("PATCH", "/duplicate", "duplicate", {}),
    ("PATCH", "/export", "edit_export", {}),
    ("PATCH", "/meta", "edit", {"body": META}),
):
    route(
        _method,
        f"/api/timesheets/{{id}}{_suffix}",
        targets(
            FRESH_SHEETS,
            partial(fresh_sheet, suffix=_suffix, **_extra),
            partial(sheet_rule, attribute=_attribute, ok=204 if _method == "DELETE" else 200),
            "fresh {}",
        ),
    )
route(
    "GET", "/api/favorites/timesheets", one("-", to("/api/favorites/timesheets"), can("start_own_timesheet"))
)
for _method in ("POST", "DELETE"):
    route(
        _method,
        "/api/favorites/timesheets/{id}",
        targets([s for s in FRESH_SHEETS if not s.exported], fresh_favorite, favorite_rule, "fresh {}"),
    )


# Tags: listing needs no permission, creating create_tag or manage_tag, deleting delete_tag.

route("GET", "/api/tags", one("-", to("/api/tags"), always(200)))
route("GET", "/api/tags/find", one("-", to("/api/tags/find?name=matrix"), always(200)))
route(
    "POST",
    "/api/tags",
    one(
        "new",
        lambda world, _c, item: Request("/api/tags", {"name": world.unique("tag"), "visible": True}),
        lambda w, item: status(w.can("create_tag") or w.can("manage_tag")),
    ),
)
route(
    "DELETE",
    "/api/tags/{id}",
    one("fresh", lambda world, _c, item: Request(f"/api/tags/{world.fresh_tag()}"), can("delete_tag", 204)),
)


# Users


def new_user(world: World, _caller: str | None, *, item: None) -> Request:
    name = world.unique("newbie")
    body = {"username": name, "email": f"{name}@example.com", "plainPassword": PASSWORD, "enabled": True}
    return Request("/api/users", body)


def fresh_token(world: World, caller: str | None, *, item: str) -> Request:
    return Request(f"/api/users/api-token/{world.fresh_token(caller if item == 'self' else item)}")


def token_rule(w: Who, *, item: str) -> int:
    """api-token on oneself, then on the token's owner."""
    owner = w.key if item == "self" else item
    return status(profile_voter(w, "api-token", w.key) and profile_voter(w, "api-token", owner))


def profile_rule(w: Who, *, item: str, attribute: str) -> int:
    return status(profile_voter(w, attribute, item))


route(
    "GET", "/api/users", one("list", to("/api/users", listed="user"), can("view_user"), lambda w: set(USERS))
)
route("POST", "/api/users", one("new", new_user, can("create_user")))
route("GET", "/api/users/me", one("-", to("/api/users/me"), always(200)))
_tokens = "/api/users/me/api-tokens"
route("GET", _tokens, one("-", to(_tokens), can("api-token_own_profile")))
route("POST", _tokens, one("new", to(_tokens, {"name": "matrix"}), can("api-token_own_profile")))
route("GET", "/api/users/{id}", targets(USERS, to("/api/users/{@}"), partial(profile_rule, attribute="view")))
route(
    "PATCH",
    "/api/users/{id}",
    targets(USERS, to("/api/users/{@}", {}), partial(profile_rule, attribute="edit")),
)
route(
    "PATCH",
    "/api/users/{id}/preferences",
    targets(USERS, to("/api/users/{@}/preferences", []), partial(profile_rule, attribute="edit")),
)
route(
    "DELETE", "/api/users/api-token/{id}", targets(("self", "user", "olga"), fresh_token, token_rule, "of {}")
)
# Kimai resolves the role before checking role_permissions; there are no custom roles: 404.
route("DELETE", "/api/users/roles/{id}", one("unknown role", to("/api/users/roles/1"), always(404)))


# Teams (A is led by tony, B and C by olga)


def new_team(world: World, _caller: str | None, *, item: None) -> Request:
    body = {"name": world.unique("team"), "members": [{"user": world.ids["user"], "teamlead": True}]}
    return Request("/api/teams", body)


def fresh_team(world: World, _caller: str | None, *, item: str) -> Request:
    return Request(f"/api/teams/{world.fresh_team(item)}")


def fresh_member(world: World, _caller: str | None, *, item: str, method: str) -> Request:
    """nora joins a fresh team (or leaves it: she is in it already)."""
    team = world.fresh_team(item, member="nora" if method == "DELETE" else None)
    return Request(f"/api/teams/{team}/members/{world.ids['nora']}")


def fresh_grant(world: World, _caller: str | None, *, item: str, kind: str, method: str) -> Request:
    """A fresh team and a fresh entity without teams (granted already when the case revokes it)."""
    like = {"customer": "c_open", "project": "p_open", "activity": "a_open"}[kind]
    url = f"/api/teams/{world.fresh_team(item)}/{BASE[kind][5:]}/{world.fresh_entity(kind, like)}"
    if method == "DELETE":
        world.as_super("POST", url)
    return Request(url)


def team_rule(w: Who, *, item: str, attribute: str, ok: int = 200) -> int:
    return status(team_voter(w, attribute, item), ok)


def member_rule(w: Who, *, item: str, method: str) -> int:
    """Edit on the team; adding also needs access to the user (nora is in no team: leads may)."""
    return status(team_voter(w, "edit", item) and (method == "DELETE" or user_access(w, "nora")))


def grant_rule(w: Who, *, item: str, kind: str) -> int:
    """Edit on the team and ``permissions`` on the entity (which has no teams)."""
    return status(team_voter(w, "edit", item) and w.can(f"permissions_{kind}"))


route(
    "GET",
    "/api/teams",
    one("list", to("/api/teams", listed="team"), can("view_team"), lambda w: set(TEAM_LEAD)),
)
route("GET", "/api/teams/{id}", targets(TEAM_LEAD, to("/api/teams/{team:@}"), can("view_team")))
route("POST", "/api/teams", one("new", new_team, can("create_team")))
route(
    "PATCH",
    "/api/teams/{id}",
    [
        Target(
            team,
            partial(to(f"/api/teams/{{team:{team}}}", {}), item=None),
            partial(team_rule, item=lead, attribute="edit"),
        )
        for team, lead in TEAM_LEAD.items()
    ],
)
LEADERS = ("teamlead", "olga")
route(
    "DELETE",
    "/api/teams/{id}",
    targets(LEADERS, fresh_team, partial(team_rule, attribute="delete", ok=204), "fresh, led by {}"),
)
for _method in ("POST", "DELETE"):
    route(
        _method,
        "/api/teams/{id}/members/{userId}",
        targets(
            LEADERS,
            partial(fresh_member, method=_method),
            partial(member_rule, method=_method),
            "fresh, led by {}, nora",
        ),
    )
    for _kind in BASE:
        route(
            _method,
            f"/api/teams/{{id}}/{BASE[_kind][5:]}/{{{_kind}Id}}",
            targets(
                LEADERS,
                partial(fresh_grant, kind=_kind, method=_method),
                partial(grant_rule, kind=_kind),
                f"fresh, led by {{}}, fresh {_kind}",
            ),
        )


# Invoices


def invoice_rule(w: Who, *, item: str, permission: str, ok: int = 200) -> int:
    return status(invoice_voter(w, permission, item), ok)


route(
    "GET",
    "/api/invoices",
    one(
        "list",
        to("/api/invoices", listed="invoice"),
        can("view_invoice"),
        lambda w: {f"i:{c}" for c in INVOICED if team_access(w, "customer", c)},
    ),
)
for _method, _suffix, _permission, _body in (
    ("GET", "", "view_invoice", NO_BODY),
    ("GET", "/download", "view_invoice", NO_BODY),
    ("PATCH", "/custom-fields", "create_invoice", [{"name": "po_number", "value": "7"}]),
    ("DELETE", "", "delete_invoice", NO_BODY),  # no built-in role has delete_invoice
):
    route(
        _method,
        f"/api/invoices/{{id}}{_suffix}",
        targets(
            INVOICED,
            to(f"/api/invoices/{{i:@}}{_suffix}", _body),
            partial(invoice_rule, permission=_permission, ok=204 if _method == "DELETE" else 200),
            "of {}",
        ),
    )
# A document is no entity: manage_invoice_template first, then 404 for an unknown name.
route(
    "DELETE",
    "/api/invoices/documents/{name}",
    one("unknown", to("/api/invoices/documents/unknown"), can("manage_invoice_template", 404)),
)
# A template is an entity, resolved before any permission: an unknown one is 404 for everybody.
route("DELETE", "/api/invoices/templates/{id}", one("unknown", to("/api/invoices/templates/1"), always(404)))


# The change feed answers everybody, showing each caller only what it may see (tests/test_change_feed.py).
_FEED_KINDS = ("customer", "project", "activity", "user", "team", "tag", "timesheet")
route(
    "GET",
    "/api/ext/changes",
    [one(kind, to(f"/api/ext/changes?limit=1000&entities={kind}"), always(200)) for kind in _FEED_KINDS],
)


# Bulk writes: the whole call needs the permission to create the kind; each item then gets what its
# single POST gets (tests/test_bulk.py).


def new_bulk(world: World, caller: str | None, *, item: str) -> Request:
    """One item, as POST of the kind would get it (projects in c_open, activities in p_open)."""
    if item == "timesheets":
        body = new_timesheet(world, caller, item=("self", "open")).body
    else:
        kind = {"customers": "customer", "projects": "project", "activities": "activity"}[item]
        parent = {"project": "c_open", "activity": "p_open"}.get(kind)
        body = new_entity(world, caller, item=parent, kind=kind).body
    return Request(f"/api/ext/bulk/{item}", [body])


_BULK_PERMISSIONS = {
    "customers": "create_customer",
    "projects": "create_project",
    "activities": "create_activity",
    "timesheets": "create_own_timesheet",
}
for _plural, _permission in _BULK_PERMISSIONS.items():
    route("POST", f"/api/ext/bulk/{_plural}", targets([_plural], new_bulk, can(_permission), "new"))


@dataclass(frozen=True)
class Case:
    """One request as one caller (None: without credentials), with Kimai's answer."""

    role: str | None
    method: str
    route: str
    data: str
    build: Callable[[World, str | None], Request]
    expected: int
    visible: frozenset[str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.route} [{self.data}] as {self.role or 'nobody'} -> {self.expected}"


def all_cases() -> list[Case]:
    cases = []
    for (method, path), rows in MATRIX.items():
        for target in rows:
            for role in ROLES:
                caller = who(role)
                visible = frozenset(target.visible(caller)) if target.visible else None
                cases.append(
                    Case(role, method, path, target.data, target.build, target.expect(caller), visible)
                )
        # Without credentials every route is 401: the firewall runs before any lookup.
        cases.append(Case(None, method, path, rows[0].data, rows[0].build, 401))
    return cases


CASES = all_cases()


# --- the world, built ---------------------------------------------------------------------------------


class World:
    """The shared objects of one backend (names -> ids) and factories of fresh ones."""

    def __init__(self, api: Api, db: Database) -> None:
        self.api, self.db = api, db
        self.ids: dict[str, int] = {key: PEOPLE[key].id for key in ROLES}
        self.kinds: dict[str, dict[int, str]] = {}  # kind -> id -> name, to read lists
        self._numbers = itertools.count(1)
        self._minutes = itertools.count()

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._numbers)}"

    def url(self, template: str) -> str:
        """Replaces every ``{name}`` with the id of that world object."""
        parts = template.replace("}", "{").split("{")
        return "".join(str(self.ids[part]) if i % 2 else part for i, part in enumerate(parts))

    def as_super(self, method: str, url: str, body: Any = NO_BODY) -> Any:
        kwargs = {} if body is NO_BODY else {"json": body}
        response = self.api.request(method, url, **kwargs)
        assert response.status_code in (200, 204, 404), f"{method} {url}: {response.text}"
        return response.json() if response.status_code == 200 and response.content else None

    def _named(self, kind: str, name: str, object_id: int) -> None:
        self.ids[name] = object_id
        self.kinds.setdefault(kind, {})[object_id] = name

    def build(self) -> None:
        for key in ("olga", "nora"):
            body = {
                "username": key,
                "email": f"{key}@example.com",
                "plainPassword": PASSWORD,
                "enabled": True,
            }
            self.ids[key] = self.as_super("POST", "/api/users", body)["id"]
        for key in USERS:
            self._named("user", key, self.ids[key])
        for team, lead in TEAM_LEAD.items():
            others = [u for u in USERS if u != lead and team in MEMBER_OF.get(u, NO_TEAM)]
            members = [{"user": self.ids[u], "teamlead": u == lead} for u in (lead, *others)]
            created = self.as_super("POST", "/api/teams", {"name": f"matrix-{team}", "members": members})
            self._named("team", team, created["id"])
            self.ids[f"team:{team}"] = created["id"]
        for kind, names in ENTITIES.items():
            for name in names:
                self._named(kind, name, self._create(kind, like=name, name=name))
        with self.db.session(write=True) as session:
            for sheet in WORLD_SHEETS:
                row = self._sheet_row(sheet, WORLD_DAY, running=False)
                session.add(row)
                session.flush()
                self._named("timesheet", f"ts:{sheet}", row.id)
            for number, customer in enumerate(INVOICED, start=1):
                invoice = _invoice(self.ids[customer], number)
                session.add(invoice)
                session.flush()
                self._named("invoice", f"i:{customer}", invoice.id)
        for kind in ("customer", "project"):
            for name in ENTITIES[kind]:
                self.ids[f"comment:{name}"] = self.fresh_comment(kind, name)

    def intact(self) -> bool:
        """Another module's test may have emptied the database since (never one of this module)."""
        with self.db.session() as session:
            team = session.get(models.Team, self.ids["team:A"])
            return team is not None and team.name == "matrix-A"

    def _create(self, kind: str, *, like: str, name: str) -> int:
        """A customer, project or activity with the parent and teams of the world's ``like``."""
        body: dict[str, Any] = {"name": name}
        if kind == "customer":
            teams = CUSTOMERS[like]
        elif kind == "project":
            customer, teams = PROJECTS[like]
            body["customer"] = self.ids[customer]
        else:
            project, teams = ACTIVITIES[like]
            body["project"] = self.ids[project] if project else None
        body["teams"] = [self.ids[f"team:{team}"] for team in sorted(teams)]
        return int(self.as_super("POST", BASE[kind], body)["id"])

    def _sheet_row(self, sheet: Sheet, begin: dt.datetime, *, running: bool) -> models.Timesheet:
        project, activity = PLACES[sheet.place]
        end = None if running else begin + dt.timedelta(hours=1)
        return models.Timesheet(
            user_id=self.ids[sheet.owner],
            project_id=self.ids[project],
            activity_id=self.ids[activity],
            begin=begin,
            end=end,
            duration=0 if end is None else 3600,
            timezone="Europe/Berlin",
            rate=0.0 if end is None else 100.0,
            exported=sheet.exported,
        )

    # fresh objects of write cases

    def fresh_entity(self, kind: str, like: str) -> int:
        return self._create(kind, like=like, name=self.unique(kind))

    def fresh_sheet(self, sheet: Sheet, *, running: bool = False) -> int:
        if running:
            begin = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        else:  # stopped records a minute apart, before the world's day
            begin = dt.datetime(2024, 3, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=next(self._minutes))
        with self.db.session(write=True) as session:
            row = self._sheet_row(sheet, begin, running=running)
            session.add(row)
            session.flush()
            return row.id

    def stop_sheet(self, sheet_id: int) -> None:
        with self.db.session(write=True) as session:
            row = session.get(models.Timesheet, sheet_id)
            if row is not None and row.end is None:
                row.end, row.duration = row.begin + dt.timedelta(hours=1), 3600

    def fresh_rate(self, kind: str, name: str) -> int:
        return int(self.as_super("POST", self.url(f"{BASE[kind]}/{{{name}}}/rates"), {"rate": 5})["id"])

    def fresh_comment(self, kind: str, name: str) -> int:
        url = self.url(f"{BASE[kind]}/{{{name}}}/comments")
        return int(self.as_super("POST", url, {"message": "Noted."})["id"])

    def fresh_tag(self) -> int:
        return int(self.as_super("POST", "/api/tags", {"name": self.unique("tag"), "visible": True})["id"])

    def fresh_token(self, owner: str | None) -> int:
        with self.db.session(write=True) as session:
            user = session.get(models.User, self.ids[owner or "super"])
            assert user is not None
            return create_token(session, username=user.username, name="matrix")[0].id

    def fresh_team(self, lead: str, member: str | None = None) -> int:
        members = [{"user": self.ids[lead], "teamlead": True}]
        members += [{"user": self.ids[member], "teamlead": False}] if member else []
        body = {"name": self.unique("team"), "members": members}
        return int(self.as_super("POST", "/api/teams", body)["id"])


def _invoice(customer_id: int, number: int) -> models.Invoice:
    name = f"MATRIX-{number}"
    return models.Invoice(
        invoice_number=name,
        customer_id=customer_id,
        user_id=PEOPLE["super"].id,
        created_at=WORLD_DAY,
        timezone="Europe/Berlin",
        total=119.0,
        tax=19.0,
        currency="EUR",
        due_days=30,
        vat=19.0,
        status="new",
        invoice_filename=f"{name}.html",
        document=f"<p>{name}</p>".encode(),
        document_type=document.CONTENT_TYPE,
    )


@dataclass
class Shared:
    api: Api
    db: Database
    world: World | None = None

    def current(self) -> World:
        if self.world is None or not self.world.intact():
            wipe(self.db)
            seed_people(self.db)
            self.world = World(self.api, self.db)
            self.world.build()
        return self.world


@pytest.fixture(scope="module")
def shared(database_url: str, database: Database, openapi_document: dict[str, Any]) -> Iterator[Shared]:
    meta = {kind: ["crm_id"] for kind in ("customer", "project", "activity", "timesheet")}
    settings = settings_for(database_url, meta_fields={**meta, "invoice": ["po_number"]})
    app = create_app(settings, database)
    app.openapi_schema = openapi_document
    with TestClient(app) as client:
        yield Shared(Api(client, openapi_document), database)


@pytest.fixture
def world(shared: Shared) -> World:
    return shared.current()


# --- tests ---------------------------------------------------------------------------------------


def test_every_documented_route_is_in_the_matrix(openapi_document: dict[str, Any]) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document["paths"].items()
        for method in operations
    }
    assert documented - set(MATRIX) == set(), "routes without a row in the permission matrix"
    assert set(MATRIX) - documented == set(), "matrix rows for routes the API does not serve"


def test_the_role_table_grants_what_kimai_documents() -> None:
    """Anchors from Kimai's role overview, independent of how the table is written down."""
    names = (
        "view_customer", "view_teamlead_customer", "create_activity", "edit_teamlead_activity",
        "edit_teamlead_project", "view_other_timesheet", "edit_exported_timesheet", "view_user",
        "edit_other_profile", "roles_own_profile", "view_team", "delete_tag", "create_tag", "view_invoice",
        "delete_invoice", "view_all_data", "api_access",
    )  # fmt: skip
    holders = {name: {key for key in ROLES if name in who(key).permissions} for name in names}
    everybody, leads_up, admins = set(ROLES), {"super", "admin", "teamlead"}, {"super", "admin"}
    assert holders == {
        "view_customer": admins,
        "view_teamlead_customer": {"teamlead"},  # no role hierarchy: admins have view_customer instead
        "create_activity": leads_up,
        "edit_teamlead_activity": {"teamlead"},
        "edit_teamlead_project": set(),
        "view_other_timesheet": leads_up,
        "edit_exported_timesheet": admins,
        "view_user": {"super"},
        "edit_other_profile": {"super"},
        "roles_own_profile": {"super"},
        "view_team": admins,
        "delete_tag": leads_up,
        "create_tag": everybody,
        "view_invoice": leads_up,
        "delete_invoice": set(),
        "view_all_data": admins,
        "api_access": everybody,
    }
    assert set(ROLE_PERMISSIONS) == {"ROLE_USER", "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN"}


PLAIN_BODIES = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 410: GONE}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_matrix(world: World, case: Case) -> None:
    request = case.build(world, case.role)
    kwargs = {} if request.body is NO_BODY else {"json": request.body}
    try:
        response = world.api.request(case.method, request.url, as_=case.role, **kwargs)
        assert response.status_code == case.expected, f"{request.url} -> {response.text[:300]}"
        if case.expected in PLAIN_BODIES:
            assert response.json() == PLAIN_BODIES[case.expected]
        if case.visible is not None and request.listed and response.status_code == 200:
            names = world.kinds[request.listed]
            assert {names[row["id"]] for row in response.json() if row["id"] in names} == case.visible
    finally:
        if request.cleanup:
            request.cleanup()


# --- roles: nobody raises their own, the last super admin stays -------------------------------------

LAST_SUPER_ADMIN = "The last enabled super administrator cannot lose this role."
RANKS = ("ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN")


def can_assign(w: Who, role: str) -> bool:
    """User::canAssignRole: roles up to one's own rank (super admin > admin > team lead)."""
    return RANKS.index(role) <= max((RANKS.index(r) for r in w.roles), default=-1)


@pytest.mark.parametrize(
    ("caller", "subject", "role"),
    [
        (c, s, r)
        for c in ROLES
        for s in ("self", "user", "super")
        for r in RANKS
        if (c, s) != ("super", "self")
    ],
)
def test_roles_are_granted_only_as_kimai_allows(api: Api, caller: str, subject: str, role: str) -> None:
    """PATCH roles: the edit voter on the profile (403), then ``roles`` is a field only with the roles
    voter (else an extra field: 400), whose choices are the roles the caller could assign (400)."""
    target = caller if subject == "self" else subject
    w, person = who(caller), PEOPLE[target]
    wanted = sorted({*person.roles, role})
    response = api.patch(f"/api/users/{person.id}", json={"roles": wanted}, as_=caller)
    grants = profile_voter(w, "roles", target) and all(can_assign(w, r) for r in (*person.roles, role))
    expected = 403 if not profile_voter(w, "edit", target) else 200 if grants else 400
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json() == FORBIDDEN
    stored = api.get(f"/api/users/{person.id}").json()["roles"]
    assert sorted(stored) == (wanted if expected == 200 else sorted(person.roles))


def test_nobody_raises_their_own_roles(api: Api) -> None:
    """Without ``roles_own_profile`` the field is not in one's own form: sending it is 400."""
    for caller in ("user", "teamlead", "admin"):
        person = PEOPLE[caller]
        response = api.patch(f"/api/users/{person.id}", json={"roles": ["ROLE_SUPER_ADMIN"]}, as_=caller)
        assert response.status_code == 400
        assert response.json()["errors"]["errors"] == [EXTRA_FIELDS]
        assert api.get("/api/users/me", as_=caller).json()["roles"] == list(person.roles)


def test_the_last_super_admin_cannot_be_demoted_or_disabled(api: Api) -> None:
    susan = PEOPLE["super"].id

    def state(user_id: int) -> tuple[list[str], bool]:
        body = api.get(f"/api/users/{user_id}").json()
        return body["roles"], body["enabled"]

    for roles in ([], ["ROLE_ADMIN"], ["ROLE_TEAMLEAD", "ROLE_ADMIN"]):
        response = api.patch(f"/api/users/{susan}", json={"roles": roles})
        assert response.status_code == 400
        assert response.json()["errors"]["children"]["roles"] == {"errors": [LAST_SUPER_ADMIN]}
    # One's own ``enabled`` is not a field, and nobody else may edit a super admin.
    response = api.patch(f"/api/users/{susan}", json={"enabled": False})
    assert (response.status_code, response.json()["errors"]["errors"]) == (400, [EXTRA_FIELDS])
    for caller in ("admin", "teamlead", "user"):
        for body in ({"enabled": False}, {"roles": []}):
            assert api.patch(f"/api/users/{susan}", json=body, as_=caller).json() == FORBIDDEN
    assert state(susan) == (["ROLE_SUPER_ADMIN"], True)
    # A disabled second super admin does not count; an enabled one does.
    sam = {
        "username": "sam",
        "email": "sam@example.com",
        "plainPassword": PASSWORD,
        "roles": ["ROLE_SUPER_ADMIN"],
    }
    sam_id = api.post("/api/users", json=sam).json()["id"]
    assert state(sam_id) == (["ROLE_SUPER_ADMIN"], False)
    assert api.patch(f"/api/users/{susan}", json={"roles": []}).status_code == 400
    assert api.patch(f"/api/users/{sam_id}", json={"enabled": True}).status_code == 200
    assert api.patch(f"/api/users/{susan}", json={"roles": ["ROLE_ADMIN"]}).status_code == 200
    assert state(susan) == (["ROLE_ADMIN"], True)
