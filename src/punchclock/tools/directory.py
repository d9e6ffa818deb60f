"""Customers, projects and activities on the server, found by name under their parent or created once.

The three lists are loaded once per run (hidden and ended entities included), so each CSV row costs
no request unless it names something new. Name matching: both sides are trimmed and cut to Kimai's
150 characters, then compared exactly (case and accents count). When several entities share a name
under one parent, a visible one wins over a hidden one, then the lowest id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from punchclock.tools.client import (
    EXIT_PERMISSION,
    KimaiClient,
    PermissionDenied,
    Rejected,
    Reply,
    Unreachable,
)

NAME_MAX = 150
NAME_MIN = 2


class RowError(Exception):
    """This row cannot be imported; the run goes on."""


class ImportFailed(Exception):
    """The run cannot go on; carries the exit code."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


@dataclass
class Tally:
    created: int = 0
    present: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Kind:
    name: str  # "customer"
    path: str  # "customers", the API collection
    column: str  # "Customer", the CSV column


CUSTOMER = Kind("customer", "customers", "Customer")
PROJECT = Kind("project", "projects", "Project")
ACTIVITY = Kind("activity", "activities", "Activity")
KINDS = {kind.name: kind for kind in (CUSTOMER, PROJECT, ACTIVITY)}

# (kind name, parent id or None, name key)
Key = tuple[str, int | None, str]


def name_key(value: str) -> str:
    """What a name is matched and created as: trimmed, cut to Kimai's 150 characters."""
    return value.strip()[:NAME_MAX].rstrip()


def checked_name(column: str, value: str) -> str:
    name = name_key(value)
    if not name:
        raise RowError(f"{column} is empty")
    if len(name) < NAME_MIN:
        raise RowError(f"{column} {name!r} is shorter than {NAME_MIN} characters")
    return name


class Directory:
    """Ids of customers, projects and activities by name; creates what is missing (or, on a dry run,
    only says what it would create). ``tallies`` counts distinct entities named by the file."""

    def __init__(
        self,
        client: KimaiClient,
        *,
        dry_run: bool,
        customer_fields: Mapping[str, str],
        plan: Callable[[str], None],
    ) -> None:
        self.client = client
        self.dry_run = dry_run
        self.customer_fields = dict(customer_fields)
        self.plan = plan
        self.tallies = {kind.path: Tally() for kind in (CUSTOMER, PROJECT, ACTIVITY)}
        self._ids: dict[Key, int] = {}
        self._counted: set[Key] = set()
        self._failed: dict[Key, str] = {}
        self._globals: dict[str, int] = {}  # global activities (no project), timesheet mode only
        self._allows_globals: dict[int, bool] = {}  # project id -> globalActivities
        self._planned_id = 0

    def load(self) -> None:
        """One request per kind, hidden ones (`visible=3`) and ended projects (`ignoreDates=1`) too."""
        for item in _preferred(self._list(CUSTOMER, {"visible": 3})):
            self._ids.setdefault((CUSTOMER.name, None, name_key(item["name"])), item["id"])
        for item in _preferred(self._list(PROJECT, {"visible": 3, "ignoreDates": 1})):
            self._ids.setdefault(
                (PROJECT.name, _id(item.get("customer")), name_key(item["name"])), item["id"]
            )
            self._allows_globals[item["id"]] = item.get("globalActivities") is not False
        for item in _preferred(self._list(ACTIVITY, {"visible": 3})):
            project = _id(item.get("project"))
            if project is None:  # a global activity belongs to no project
                self._globals.setdefault(name_key(item["name"]), item["id"])
            else:
                self._ids.setdefault((ACTIVITY.name, project, name_key(item["name"])), item["id"])

    def _list(self, kind: Kind, params: dict[str, Any]) -> list[dict[str, Any]]:
        items = lookup(self.client, kind.path, params).body
        if not isinstance(items, list) or not all(_is_entity(item) for item in items):
            raise Unreachable(f"GET {self.client.base_url}{kind.path}: not a list of {kind.path}")
        return items

    def customer(self, name: str, *, line: int) -> int:
        body = {"name": name, **self.customer_fields, "visible": True}
        return self._resolve(CUSTOMER, None, name, body, f"{name!r}", line)

    def project(self, customer: int, name: str, *, label: str, line: int) -> int:
        body = {"name": name, "customer": customer, "visible": True}
        return self._resolve(PROJECT, customer, name, body, f"{label} / {name!r}", line)

    def activity(self, project: int, name: str, *, label: str, line: int, use_global: bool = False) -> int:
        """``use_global``: when the project has no activity of that name, a global activity of that
        name is used (if the project allows global activities) instead of creating one."""
        key = (ACTIVITY.name, project, name)
        if use_global and key not in self._ids and self._allows_globals.get(project, True):
            global_id = self._globals.get(name)
            if global_id is not None:
                return self._present((ACTIVITY.name, None, name), global_id)
        body = {"name": name, "project": project, "visible": True}
        return self._resolve(ACTIVITY, project, name, body, f"{label} / {name!r}", line)

    def _resolve(
        self, kind: Kind, parent: int | None, name: str, body: dict[str, Any], label: str, line: int
    ) -> int:
        key = (kind.name, parent, name)
        known = self._ids.get(key)
        if known is not None:
            return self._present(key, known)
        if key in self._failed:
            raise RowError(f"{kind.name} {label} was rejected ({self._failed[key]})")
        tally = self.tallies[kind.path]
        if self.dry_run:
            self._planned_id -= 1
            created = self._planned_id
            self.plan(f"would create {kind.name} {label}")
        else:
            try:
                created = self._create(kind, body)
            except PermissionDenied:
                raise ImportFailed(
                    EXIT_PERMISSION,
                    f"permission denied: the token's user may not create {kind.path} "
                    f"(POST {self.client.base_url}{kind.path} answered 403, needed for {kind.name} {label})",
                ) from None
            except Rejected as exc:
                self._failed[key] = f"row {line}: {exc.message}"
                tally.failed += 1
                raise RowError(f"{kind.name} {label} rejected: {exc.message}") from None
        if kind is PROJECT:
            self._allows_globals[created] = True
        self._ids[key] = created
        self._counted.add(key)
        tally.created += 1
        return created

    def _create(self, kind: Kind, body: dict[str, Any]) -> int:
        reply = self.client.post(kind.path, body)
        created = _id(reply.get("id")) if isinstance(reply, dict) else None
        if created is None:
            raise Unreachable(f"POST {self.client.base_url}{kind.path}: the answer has no id")
        return created

    def _present(self, key: Key, entity_id: int) -> int:
        if key not in self._counted:
            self._counted.add(key)
            self.tallies[KINDS[key[0]].path].present += 1
        return entity_id


def lookup(client: KimaiClient, path: str, params: dict[str, Any] | None = None) -> Reply:
    """A GET the import cannot do without: a refusal other than 401/403 (a 404 under a wrong URL, a
    5xx) means the server is not a working Kimai API (exit code 7)."""
    try:
        return client.request("GET", path, params=params)
    except Rejected as exc:
        raise Unreachable(
            f"GET {client.base_url}{path}: {exc.message}; is this the address of a Kimai API?",
            status=exc.status,
        ) from None


def _is_entity(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), int) and isinstance(item.get("name"), str)


def _id(value: Any) -> int | None:
    """An entity reference: an id, or an expanded object carrying one."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _preferred(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visible before hidden, then oldest first: the first of each name wins."""
    return sorted(items, key=lambda item: (item.get("visible") is False, item["id"]))
