"""A fake Kimai 2.66 API for the sync tests: what a real Kimai does that a sync trips over.

- Entity lists (customers, projects, activities, users, teams, tags) are whole lists: ``page`` and
  ``size`` are ignored. Default filters hide things: ``visible=1`` (projects also need a visible
  customer, activities a visible project and customer), projects only when running today unless
  ``ignoreDates=1``; ``/api/tags`` names only visible tags. Strict parameters (``visible``,
  ``ignoreDates``, ``full``, ``modified_after``…) answer 400 for anything else.
- ``/api/users`` is for ``view_user`` (super admins), ``/api/teams`` for ``view_team`` (admins);
  others get 403. Customer details (``GET /api/customers/{id}``) need ``view_customer``; entity rates
  need ``edit_<kind>``.
- ``/api/timesheets``: ``user=all`` only with ``view_other_timesheet`` (else silently the caller's own
  rows; team leads see their team members'), ``modified_after`` a naive ``YYYY-MM-DDTHH:MM:SS``
  compared in UTC with a row's modification time (NULL never matches), pages of at most 500, the
  ``X-*`` headers, and 404 for a page past the last. ``rate``/``internalRate`` only where the caller
  may see rates; no ``modifiedAt`` anywhere; no ``/api/doc.json`` (404), so no change feed.

Tests change ``FakeKimai``'s dictionaries directly (as another Kimai user would through its UI),
and may make the next requests fail (``fail``) or wait (``hold``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchclock.auth.permissions import permissions_for
from punchclock.kimai.datetimes import format_datetime

Entity = dict[str, Any]
STRICT_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


BAD_REQUEST = Refused(400, "Bad Request")
FORBIDDEN = Refused(403, "Forbidden")
NOT_FOUND = Refused(404, "Not Found")


@dataclass
class Hold:
    """Requests to ``path`` wait from the ``after``-th one on, until ``release``."""

    path: str
    after: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0


@dataclass
class FakeKimai:
    users: dict[int, Entity] = field(default_factory=dict)
    customers: dict[int, Entity] = field(default_factory=dict)
    projects: dict[int, Entity] = field(default_factory=dict)
    activities: dict[int, Entity] = field(default_factory=dict)
    teams: dict[int, Entity] = field(default_factory=dict)
    tags: dict[int, Entity] = field(default_factory=dict)
    timesheets: dict[int, Entity] = field(default_factory=dict)
    rates: dict[tuple[str, int], list[Entity]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    failures: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    # Called after a timesheet page is rendered, with its number: to change data between pages.
    after_page: Any = None
    _ids: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- building data (tests) ---------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def add_user(
        self,
        username: str,
        *,
        roles: tuple[str, ...] = (),
        timezone: str = "Europe/Berlin",
        token: str | None = None,
        **fields: Any,
    ) -> Entity:
        user = {
            "id": self.next_id("user"),
            "username": username,
            "email": f"{username}@example.com",
            "enabled": True,
            "alias": None,
            "title": None,
            "accountNumber": None,
            "color": None,
            "roles": list(roles),
            "timezone": timezone,
            "language": "en",
            "locale": "en",
            "supervisor": None,
            "preferences": [{"name": "hourly_rate", "value": "50"}],
            **fields,
        }
        self.users[user["id"]] = user
        if token:
            self.tokens[token] = user["id"]
        return user

    def add_customer(self, name: str, **fields: Any) -> Entity:
        customer = {
            "id": self.next_id("customer"),
            "name": name,
            "number": None,
            "comment": None,
            "visible": True,
            "billable": True,
            "company": None,
            "vatId": None,
            "contact": None,
            "address": None,
            "addressLine1": None,
            "addressLine2": None,
            "addressLine3": None,
            "postCode": None,
            "city": None,
            "country": "DE",
            "currency": "EUR",
            "language": "en",
            "phone": None,
            "fax": None,
            "mobile": None,
            "email": None,
            "homepage": None,
            "timezone": "Europe/Berlin",
            "invoiceEmail": None,
            "buyerReference": None,
            "color": None,
            "budget": 0.0,
            "timeBudget": 0,
            "budgetType": None,
            "meta": {},
            "teams": [],
            **fields,
        }
        self.customers[customer["id"]] = customer
        return customer

    def add_project(self, name: str, customer: int, **fields: Any) -> Entity:
        project = {
            "id": self.next_id("project"),
            "name": name,
            "customer": customer,
            "number": None,
            "orderNumber": None,
            "orderDate": None,
            "start": None,
            "end": None,
            "comment": None,
            "visible": True,
            "billable": True,
            "globalActivities": True,
            "color": None,
            "budget": 0.0,
            "timeBudget": 0,
            "budgetType": None,
            "meta": {},
            "teams": [],
            **fields,
        }
        self.projects[project["id"]] = project
        return project

    def add_activity(self, name: str, project: int | None, **fields: Any) -> Entity:
        activity = {
            "id": self.next_id("activity"),
            "name": name,
            "project": project,
            "number": None,
            "comment": None,
            "visible": True,
            "billable": True,
            "color": None,
            "budget": 0.0,
            "timeBudget": 0,
            "budgetType": None,
            "meta": {},
            "teams": [],
            **fields,
        }
        self.activities[activity["id"]] = activity
        return activity

    def add_team(self, name: str, members: dict[int, bool], **links: list[int]) -> Entity:
        team = {
            "id": self.next_id("team"),
            "name": name,
            "color": None,
            "members": members,
            "customers": links.get("customers", []),
            "projects": links.get("projects", []),
            "activities": links.get("activities", []),
        }
        self.teams[team["id"]] = team
        return team

    def add_tag(self, name: str, *, visible: bool = True) -> Entity:
        tag = {"id": self.next_id("tag"), "name": name, "visible": visible, "color": None}
        self.tags[tag["id"]] = tag
        return tag

    def add_rate(
        self,
        kind: str,
        entity_id: int,
        rate: float,
        *,
        user: int | None = None,
        internal: float | None = None,
        fixed: bool = False,
    ) -> Entity:
        row = {
            "id": self.next_id(f"rate:{kind}"),
            "user": user,
            "rate": rate,
            "internalRate": internal,
            "isFixed": fixed,
        }
        self.rates.setdefault((kind, entity_id), []).append(row)
        return row

    def add_timesheet(
        self,
        user: int,
        project: int,
        activity: int,
        begin: dt.datetime,
        end: dt.datetime | None,
        *,
        tags: tuple[str, ...] = (),
        modified: dt.datetime | str | None = "now",
        **fields: Any,
    ) -> Entity:
        """``begin``/``end`` aware; shown in the owner's timezone, as Kimai stores it."""
        duration = 0 if end is None else int((end - begin).total_seconds())
        sheet = {
            "id": self.next_id("timesheet"),
            "user": user,
            "project": project,
            "activity": activity,
            "begin": begin,
            "end": end,
            "timezone": self.users[user]["timezone"],
            "duration": duration,
            "break": 0,
            "description": None,
            "tags": list(tags),
            "exported": False,
            "billable": True,
            "rate": round(duration / 3600 * 50, 4),
            "internalRate": round(duration / 3600 * 40, 4),
            "fixedRate": None,
            "hourlyRate": None,
            "meta": {},
            "modified_at": now() if modified == "now" else modified,
            **fields,
        }
        self.timesheets[sheet["id"]] = sheet
        return sheet

    def touch(self, sheet: Entity, **changes: Any) -> None:
        """An edit through Kimai: the row's modification time moves to now (UTC)."""
        sheet.update(changes)
        sheet["modified_at"] = now()

    def fail(self, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        for _ in range(times):
            self.failures.append((path, status, headers or {}))

    def hold(self, path: str, after: int) -> Hold:
        hold = Hold(path, after)
        self.holds.append(hold)
        return hold

    def calls(self, path: str) -> list[dict[str, str]]:
        return [query for seen, query in self.requests if seen == path]

    # --- rendering -----------------------------------------------------------------------------------

    def caller(self, headers: dict[str, str]) -> Entity:
        auth = headers.get("authorization", "")
        user_id = self.tokens.get(auth.removeprefix("Bearer ").strip())
        if user_id is None or not self.users[user_id]["enabled"]:
            raise Refused(401, "Unauthorized")
        return self.users[user_id]

    @staticmethod
    def can(user: Entity, permission: str) -> bool:
        return permission in permissions_for(user["roles"])

    def memberships(self, user_id: int) -> list[tuple[Entity, bool]]:
        return [(t, t["members"][user_id]) for t in self.teams.values() if user_id in t["members"]]

    def user_view(self, user: Entity, *, full: bool) -> Entity:
        view = {
            k: user[k]
            for k in (
                "id",
                "username",
                "email",
                "enabled",
                "alias",
                "title",
                "accountNumber",
                "color",
                "language",
                "locale",
                "timezone",
            )
        }
        view.update(
            {
                "apiToken": False,
                "systemAccount": False,
                "avatar": None,
                "color-safe": "#5319e7",
                "initials": user["username"][:2].upper(),
            }
        )
        if full:
            supervisor = self.users.get(user["supervisor"]) if user["supervisor"] else None
            teams = self.memberships(user["id"])
            view.update(
                {
                    "supervisor": None if supervisor is None else self.user_view(supervisor, full=False),
                    "teams": [self.team_ref(t) for t, _ in teams],
                    "roles": list(user["roles"]),
                    "memberships": [{"team": self.team_ref(t), "teamlead": lead} for t, lead in teams],
                    "preferences": list(user["preferences"]),
                }
            )
        return view

    @staticmethod
    def team_ref(team: Entity) -> Entity:
        return {"id": team["id"], "name": team["name"], "color": team["color"], "color-safe": "#03A9F4"}

    def teams_of(self, kind: str, entity_id: int) -> list[Entity]:
        return [self.team_ref(t) for t in self.teams.values() if entity_id in t[kind]]

    @staticmethod
    def meta(entity: Entity) -> list[Entity]:
        return [{"name": name, "value": value} for name, value in entity["meta"].items()]

    def customer_view(self, c: Entity, caller: Entity, *, entity: bool, details: bool) -> Entity:
        keys = [
            "id",
            "name",
            "number",
            "comment",
            "visible",
            "billable",
            "company",
            "country",
            "language",
            "currency",
            "phone",
            "fax",
            "mobile",
            "homepage",
            "timezone",
            "color",
        ]
        if entity or details:
            keys += ["vatId", "addressLine1", "addressLine2", "addressLine3", "postCode", "city"]
        if entity:
            keys += ["contact", "address", "email", "invoiceEmail", "buyerReference"]
        view = {k: c[k] for k in keys}
        view.update(
            {
                "metaFields": self.meta(c),
                "color-safe": "#5319e7",
                "teams": self.teams_of("customers", c["id"]),
            }
        )
        if self.can(caller, "budget_customer"):
            view.update({k: c[k] for k in ("budget", "timeBudget", "budgetType")})
        return view

    def project_view(self, p: Entity, caller: Entity) -> Entity:
        view = {
            k: p[k]
            for k in (
                "id",
                "name",
                "customer",
                "number",
                "orderNumber",
                "orderDate",
                "start",
                "end",
                "comment",
                "visible",
                "billable",
                "globalActivities",
                "color",
            )
        }
        view.update(
            {
                "parentTitle": self.customers[p["customer"]]["name"],
                "metaFields": self.meta(p),
                "color-safe": "#5319e7",
                "teams": self.teams_of("projects", p["id"]),
            }
        )
        if self.can(caller, "budget_project"):
            view.update({k: p[k] for k in ("budget", "timeBudget", "budgetType")})
        return view

    def activity_view(self, a: Entity, caller: Entity) -> Entity:
        view = {
            k: a[k] for k in ("id", "name", "project", "number", "comment", "visible", "billable", "color")
        }
        parent = self.projects.get(a["project"]) if a["project"] else None
        view.update(
            {
                "parentTitle": None if parent is None else parent["name"],
                "metaFields": self.meta(a),
                "color-safe": "#5319e7",
                "teams": self.teams_of("activities", a["id"]),
            }
        )
        if self.can(caller, "budget_activity"):
            view.update({k: a[k] for k in ("budget", "timeBudget", "budgetType")})
        return view

    def team_view(self, t: Entity, caller: Entity) -> Entity:
        return {
            **self.team_ref(t),
            "members": [
                {"user": self.user_view(self.users[u], full=False), "teamlead": lead}
                for u, lead in t["members"].items()
            ],
            "customers": [{"id": i, "name": self.customers[i]["name"]} for i in t["customers"]],
            "projects": [
                {"id": i, "name": self.projects[i]["name"], "customer": self.projects[i]["customer"]}
                for i in t["projects"]
            ],
            "activities": [
                {"id": i, "name": self.activities[i]["name"], "project": self.activities[i]["project"]}
                for i in t["activities"]
            ],
        }

    def sees_rate(self, caller: Entity, sheet: Entity) -> bool:
        own = sheet["user"] == caller["id"]
        return self.can(caller, "view_rate_own_timesheet" if own else "view_rate_other_timesheet")

    def timesheet_view(self, s: Entity, caller: Entity, *, entity: bool) -> Entity:
        view = {
            "id": s["id"],
            "begin": format_datetime(s["begin"], s["timezone"]),
            "end": format_datetime(s["end"], s["timezone"]),
            "duration": s["duration"],
            "break": s["break"],
            "description": s["description"],
            "tags": list(s["tags"]),
            "exported": s["exported"],
            "billable": s["billable"],
            "metaFields": self.meta(s),
            "activity": s["activity"],
            "project": s["project"],
            "user": s["user"],
        }
        if self.sees_rate(caller, s):
            view.update({"rate": s["rate"], "internalRate": s["internalRate"]})
            if entity:
                view.update({"fixedRate": s["fixedRate"], "hourlyRate": s["hourlyRate"]})
        return view

    # --- endpoints -----------------------------------------------------------------------------------

    def visible_filter(self, query: dict[str, str]) -> int:
        value = query.get("visible", "1")
        if value not in ("1", "2", "3"):
            raise BAD_REQUEST
        return int(value)

    @staticmethod
    def matches(visible: int, *flags: bool) -> bool:
        if visible == 3:
            return True
        own, *parents = flags
        return own == (visible == 1) and all(parents)

    def get(self, path: str, query: dict[str, str], caller: Entity) -> tuple[Any, dict[str, str]]:
        parts = path.strip("/").split("/")[1:]  # after "api"
        if parts == ["ping"]:
            return {"message": "pong"}, {}
        if parts == ["version"]:
            return {"version": "2.66.0", "versionId": 26600, "copyright": "Kimai"}, {}
        if parts == ["users", "me"]:
            return self.user_view(caller, full=True), {}
        if parts == ["users"]:
            if not self.can(caller, "view_user"):
                raise FORBIDDEN
            visible = self.visible_filter(query)
            full = query.get("full", "0")
            if full not in ("0", "1", "true", "false"):
                raise BAD_REQUEST
            return [
                self.user_view(u, full=full in ("1", "true"))
                for u in self.users.values()
                if self.matches(visible, u["enabled"])
            ], {}
        if parts == ["teams"]:
            if not self.can(caller, "view_team"):
                raise FORBIDDEN
            return [self.team_ref(t) for t in sorted(self.teams.values(), key=lambda t: t["name"])], {}
        if len(parts) == 2 and parts[0] == "teams":
            if not self.can(caller, "view_team"):
                raise FORBIDDEN
            return self.team_view(self.find(self.teams, parts[1]), caller), {}
        if parts == ["customers"]:
            visible = self.visible_filter(query)
            full = query.get("full", "0")
            if full not in ("0", "1"):
                raise BAD_REQUEST
            details = full == "1" and self.can(caller, "details_customer")
            return [
                self.customer_view(c, caller, entity=False, details=details)
                for c in self.customers.values()
                if self.matches(visible, c["visible"])
            ], {}
        if parts == ["projects"]:
            visible = self.visible_filter(query)
            ignore = query.get("ignoreDates")
            if ignore not in (None, "1"):
                raise BAD_REQUEST
            today = dt.datetime.now(ZoneInfo(caller["timezone"])).date().isoformat()
            return [
                self.project_view(p, caller)
                for p in self.projects.values()
                if self.matches(visible, p["visible"], self.customers[p["customer"]]["visible"])
                and (ignore == "1" or ((p["start"] or today) <= today <= (p["end"] or today)))
            ], {}
        if parts == ["activities"]:
            visible = self.visible_filter(query)
            found = []
            for a in self.activities.values():
                parents = []
                if a["project"]:
                    project = self.projects[a["project"]]
                    parents = [project["visible"], self.customers[project["customer"]]["visible"]]
                if self.matches(visible, a["visible"], *parents):
                    found.append(self.activity_view(a, caller))
            return found, {}
        if parts == ["tags"]:
            return sorted(t["name"] for t in self.tags.values() if t["visible"]), {}
        if len(parts) == 2 and parts[0] in ("customers", "projects", "activities"):
            entity = self.find(getattr(self, parts[0]), parts[1])
            if parts[0] == "customers":
                if not self.can(caller, "view_customer"):
                    raise FORBIDDEN
                return self.customer_view(entity, caller, entity=True, details=True), {}
            view = self.project_view if parts[0] == "projects" else self.activity_view
            return view(entity, caller), {}
        if len(parts) == 3 and parts[2] == "rates" and parts[0] in ("customers", "projects", "activities"):
            kind = {"customers": "customer", "projects": "project", "activities": "activity"}[parts[0]]
            self.find(getattr(self, parts[0]), parts[1])
            if not self.can(caller, f"edit_{kind}"):
                raise FORBIDDEN
            return [
                {
                    **r,
                    "user": None if r["user"] is None else self.user_view(self.users[r["user"]], full=False),
                }
                for r in self.rates.get((kind, int(parts[1])), [])
            ], {}
        if parts == ["timesheets"]:
            return self.timesheet_list(query, caller)
        if len(parts) == 2 and parts[0] == "timesheets":
            sheet = self.find(self.timesheets, parts[1])
            if sheet["user"] != caller["id"] and not self.can(caller, "view_other_timesheet"):
                raise FORBIDDEN
            return self.timesheet_view(sheet, caller, entity=True), {}
        raise NOT_FOUND

    @staticmethod
    def find(entities: dict[int, Entity], raw: str) -> Entity:
        if not raw.isdigit() or int(raw) not in entities:
            raise NOT_FOUND
        return entities[int(raw)]

    def owners(self, caller: Entity, query: dict[str, str]) -> set[int] | None:
        """Whose rows the list shows (None: everybody's)."""
        if not self.can(caller, "view_other_timesheet"):
            return {caller["id"]}  # user / users[] silently ignored, as Kimai does
        if query.get("user") == "all":
            if self.can(caller, "view_all_data"):
                return None
            led = [t for t, lead in self.memberships(caller["id"]) if lead]
            return {caller["id"]} | {u for t in led for u in t["members"]}
        return {int(query.get("user") or caller["id"])}

    def timesheet_list(self, query: dict[str, str], caller: Entity) -> tuple[Any, dict[str, str]]:
        for name in ("page", "size"):
            if name in query and not query[name].isdigit():
                raise BAD_REQUEST
        page = max(1, int(query.get("page", "1") or 1))
        size = int(query.get("size", "50") or 50) or 50
        size = min(size, 500)
        order_by = query.get("orderBy", "begin")
        order = query.get("order", "DESC")
        if order_by not in ("id", "begin", "end", "rate") or order not in ("ASC", "DESC"):
            raise BAD_REQUEST
        modified_after = query.get("modified_after")
        if modified_after is not None and not STRICT_DATETIME.match(modified_after):
            raise BAD_REQUEST
        owners = self.owners(caller, query)
        rows = [s for s in self.timesheets.values() if owners is None or s["user"] in owners]
        if modified_after is not None:
            # Kimai compares the naive string as UTC; NULL modification times never match.
            bound = dt.datetime.fromisoformat(modified_after).replace(tzinfo=dt.UTC)
            rows = [s for s in rows if s["modified_at"] is not None and s["modified_at"] >= bound]

        def key(s: Entity) -> Any:
            value = s[order_by] if order_by != "end" else s["end"] or dt.datetime.max.replace(tzinfo=dt.UTC)
            return (value, s["id"])

        rows.sort(key=key, reverse=order == "DESC")
        total = len(rows)
        pages = max(1, math.ceil(total / size))
        if page > pages:
            raise NOT_FOUND
        chunk = rows[(page - 1) * size : page * size]
        body = [self.timesheet_view(s, caller, entity=False) for s in chunk]
        headers = {
            "X-Page": str(page),
            "X-Total-Count": str(total),
            "X-Total-Pages": str(pages),
            "X-Per-Page": str(size),
        }
        if self.after_page is not None:
            self.after_page(page)
        return body, headers

    # --- the ASGI app ---------------------------------------------------------------------------------

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            import anyio.to_thread

            return await anyio.to_thread.run_sync(
                self.handle,
                request.url.path,
                dict(request.query_params),
                dict(request.headers),
                request.method,
            )

        return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PATCH", "DELETE"])])

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str], method: str) -> Response:
        for hold in self.holds:
            if path == hold.path:
                hold.seen += 1
                if hold.seen >= hold.after:
                    hold.reached.set()
                    hold.release.wait(timeout=30)
        with self.lock:
            self.requests.append((path, query))
            for index, (failing, status, extra) in enumerate(self.failures):
                if path == failing:
                    del self.failures[index]
                    response = error(status, "Service Unavailable" if status >= 500 else "Too Many Requests")
                    response.headers.update(extra)
                    return response
            if method != "GET":
                return error(405, "Method Not Allowed")
            if not path.startswith("/api/") or path == "/api/doc.json":
                return error(404, "Not Found")
            try:
                caller = self.caller(headers)
                body, extra = self.get(path, query, caller)
            except Refused as exc:
                return error(exc.status, exc.message)
        return JSONResponse(body, headers=extra)
