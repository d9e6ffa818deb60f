"""API views (Kimai's JSON, or the change feed's ``data``) as rows of the sync tables.

A view becomes one ``Record``: the entity's row, plus the rows of the side tables the view carries
(a timesheet's tags and meta fields, a team's members…). A side table is replaced only when the view
holds its key, so a list that lacks, say, ``memberships`` leaves the stored ones alone. Both ends of
a team link carry it (a team's ``customers``, a customer's ``teams``): each view replaces the links
on its own side, so the one read last wins, and it is the newer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table

from punchclock.tools.sync import schema

View = dict[str, Any]
Row = dict[str, Any]


@dataclass(frozen=True)
class Side:
    """Rows of ``table`` that belong to one row of an entity through ``column`` (for the shared
    ``meta_field`` and ``rate`` tables, also ``entity`` = the kind's name). ``shared``: the other end
    of the link writes them too (team links and memberships)."""

    table: Table
    column: str
    rows: Callable[[View, Any], list[Row] | None] | None = None  # None: not in the view (rates)
    entity: str | None = None
    shared: bool = False


@dataclass
class Record:
    key: Any
    row: Row
    sides: dict[str, list[Row]] = field(default_factory=dict)  # by table name: replaced on write
    hash: int = 0


@dataclass(frozen=True)
class Kind:
    name: str  # as the change feed names it: "customer"
    path: str  # the API collection, also the --only name: "customers"
    table: Table
    to_row: Callable[[View], Row]
    sides: tuple[Side, ...] = ()
    key: str = "id"  # the primary key (a tag's is its name)

    def record(self, view: View) -> Record:
        row = self.to_row(view)
        key = row[self.key]
        record = Record(key, row)
        for side in self.sides:
            if side.rows is not None:
                rows = side.rows(view, key)
                if rows is not None:
                    record.sides[str(side.table.name)] = rows
        sides = [(name, [tuple(r.values()) for r in rows]) for name, rows in record.sides.items()]
        values = (tuple(row.values()), sides)
        digest = hashlib.blake2b(orjson.dumps(values), digest_size=8).digest()
        record.hash = row["sync_hash"] = int.from_bytes(digest, "big", signed=True)
        return record


# --- value helpers ----------------------------------------------------------------------------------


def instant(value: str | None) -> str | None:
    """Kimai's ``2024-05-01T09:00:00+0200``, checked, for an instant column: the target turns it into
    UTC in SQL (converting it in Python and writing it out again was a fifth of a timesheet's time)."""
    return None if value is None else moment(value)[0]


def moment(value: str) -> tuple[str, int, str]:
    """An instant as the server wrote it: (the text to store, with its offset as ``+HH:MM``, which
    SQLite's ``datetime()`` and PostgreSQL both read; its UTC offset in minutes; its local day as
    ``Y-m-d``). Anything but an ISO 8601 instant with an offset is a ValueError."""
    parsed = dt.datetime.fromisoformat(value)  # the check; the text itself is what is stored
    offset = parsed.utcoffset()
    if offset is None:
        raise ValueError(f"an instant without a UTC offset: {value!r}")
    if len(value) == 24 and value[19] in "+-":  # Kimai's form: no fractions, offset "+0200"
        return f"{value[:22]}:{value[22:]}", int(offset.total_seconds()) // 60, value[:10]
    return parsed.isoformat(), int(offset.total_seconds()) // 60, parsed.date().isoformat()


def day(value: str | None) -> str | None:
    """A project's ``Y-m-d`` (the date part, should a server send a datetime), checked."""
    return None if not value else dt.date.fromisoformat(value[:10]).isoformat()


def number(value: Any) -> float | None:
    return None if value is None else float(value)


def ref(value: Any) -> int | None:
    """An id, or an embedded object's id."""
    if isinstance(value, dict):
        return int(value["id"])
    return None if value is None else int(value)


def _meta(entity: str) -> Callable[[View, Any], list[Row] | None]:
    def rows(view: View, key: Any) -> list[Row] | None:
        fields = view.get("metaFields")
        if fields is None:
            return None
        # Kimai lists only visible fields, once each; the last wins should a server repeat one.
        values = {str(f["name"]): f.get("value") for f in fields}
        return [
            {"entity": entity, "entity_id": key, "name": name, "value": _text(value)}
            for name, value in values.items()
        ]

    return rows


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _links(key: str, column: str, own: str) -> Callable[[View, Any], list[Row] | None]:
    """Team links listed in the view under ``key``: ``{"team_id": …, column: …}`` rows."""

    def rows(view: View, owner: Any) -> list[Row] | None:
        items = view.get(key)
        if items is None:
            return None
        found = sorted({int(item["id"]) for item in items})
        if own == "team_id":
            return [{"team_id": owner, column: other} for other in found]
        return [{"team_id": other, column: owner} for other in found]

    return rows


def _budget(view: View) -> Row:
    time_budget = view.get("timeBudget")
    return {
        "budget": number(view.get("budget")),
        "time_budget": None if time_budget is None else int(time_budget),
        "budget_type": view.get("budgetType"),
    }


# --- entities ---------------------------------------------------------------------------------------


def customer_row(v: View) -> Row:
    return {
        "id": int(v["id"]),
        "name": v["name"],
        "number": v.get("number"),
        "comment": v.get("comment"),
        "visible": bool(v.get("visible", True)),
        "billable": bool(v.get("billable", True)),
        "company": v.get("company"),
        "vat_id": v.get("vatId"),
        "contact": v.get("contact"),
        "address": v.get("address"),
        "address_line1": v.get("addressLine1"),
        "address_line2": v.get("addressLine2"),
        "address_line3": v.get("addressLine3"),
        "post_code": v.get("postCode"),
        "city": v.get("city"),
        "country": v.get("country"),
        "currency": v.get("currency"),
        "language": v.get("language"),
        "timezone": v.get("timezone"),
        "phone": v.get("phone"),
        "fax": v.get("fax"),
        "mobile": v.get("mobile"),
        "email": v.get("email"),
        "homepage": v.get("homepage"),
        "invoice_email": v.get("invoiceEmail"),
        "buyer_reference": v.get("buyerReference"),
        "color": v.get("color"),
        **_budget(v),
        "modified_at": instant(v.get("modifiedAt")),
    }


def project_row(v: View) -> Row:
    return {
        "id": int(v["id"]),
        "customer_id": ref(v["customer"]),
        "name": v["name"],
        "number": v.get("number"),
        "order_number": v.get("orderNumber"),
        "order_date": day(v.get("orderDate")),
        "start_date": day(v.get("start")),
        "end_date": day(v.get("end")),
        "comment": v.get("comment"),
        "visible": bool(v.get("visible", True)),
        "billable": bool(v.get("billable", True)),
        "global_activities": bool(v.get("globalActivities", True)),
        "color": v.get("color"),
        **_budget(v),
        "modified_at": instant(v.get("modifiedAt")),
    }


def activity_row(v: View) -> Row:
    return {
        "id": int(v["id"]),
        "project_id": ref(v.get("project")),
        "name": v["name"],
        "number": v.get("number"),
        "comment": v.get("comment"),
        "visible": bool(v.get("visible", True)),
        "billable": bool(v.get("billable", True)),
        "color": v.get("color"),
        **_budget(v),
        "modified_at": instant(v.get("modifiedAt")),
    }


def user_row(v: View) -> Row:
    roles = v.get("roles")
    return {
        "id": int(v["id"]),
        "username": v["username"],
        "email": v.get("email"),
        "alias": v.get("alias"),
        "title": v.get("title"),
        "account_number": v.get("accountNumber"),
        "avatar": v.get("avatar"),
        "color": v.get("color"),
        "enabled": bool(v.get("enabled", True)),
        "system_account": bool(v.get("systemAccount", False)),
        "roles": None if roles is None else ",".join(sorted(roles)),
        "supervisor_id": ref(v.get("supervisor")),
        "language": v.get("language"),
        "locale": v.get("locale"),
        "timezone": v.get("timezone"),
        "modified_at": instant(v.get("modifiedAt")),
    }


def _preferences(view: View, key: Any) -> list[Row] | None:
    items = view.get("preferences")
    if items is None:
        return None
    values = {str(p["name"]): _text(p.get("value")) for p in items}
    return [{"user_id": key, "name": name, "value": value} for name, value in values.items()]


def _memberships(view: View, key: Any) -> list[Row] | None:
    items = view.get("memberships")
    if items is None:
        return None
    leads = {int(m["team"]["id"]): bool(m.get("teamlead")) for m in items}
    return [{"team_id": t, "user_id": key, "teamlead": lead} for t, lead in sorted(leads.items())]


def _members(view: View, key: Any) -> list[Row] | None:
    items = view.get("members")
    if items is None:
        return None
    leads = {int(m["user"]["id"]): bool(m.get("teamlead")) for m in items}
    return [{"team_id": key, "user_id": u, "teamlead": lead} for u, lead in sorted(leads.items())]


def team_row(v: View) -> Row:
    return {
        "id": int(v["id"]),
        "name": v["name"],
        "color": v.get("color"),
        "modified_at": instant(v.get("modifiedAt")),
    }


def tag_row(v: View) -> Row:
    return {
        "name": v["name"],
        "id": None if v.get("id") is None else int(v["id"]),
        "color": v.get("color"),
        "visible": bool(v.get("visible", True)),
    }


def timesheet_row(v: View) -> Row:
    begin, begin_offset, begin_date = moment(v["begin"])
    end_text = v.get("end")
    end, end_offset, _ = (None, None, None) if end_text is None else moment(end_text)
    modified = v.get("modifiedAt")
    return {
        "id": int(v["id"]),
        "user_id": ref(v["user"]),
        "project_id": ref(v["project"]),
        "activity_id": ref(v["activity"]),
        "begin_utc": begin,
        "end_utc": end,
        "begin_offset_minutes": begin_offset,
        "end_offset_minutes": end_offset,
        "begin_date": begin_date,
        "duration_seconds": int(v.get("duration") or 0),
        "break_seconds": int(v.get("break") or 0),
        "description": v.get("description"),
        "billable": bool(v.get("billable", True)),
        "exported": bool(v.get("exported", False)),
        "rate": number(v.get("rate")),
        "internal_rate": number(v.get("internalRate")),
        "hourly_rate": number(v.get("hourlyRate")),
        "fixed_rate": number(v.get("fixedRate")),
        "modified_at": None if modified is None else instant(modified),
    }


def _timesheet_tags(view: View, key: Any) -> list[Row] | None:
    names = view.get("tags")
    if not names:
        return names  # type: ignore[no-any-return]  # None (not in the view) or []
    return [{"timesheet_id": key, "tag_name": name} for name in sorted(set(names))]


def rate_rows(entity: str, entity_id: int, rates: Iterable[View]) -> list[Row]:
    """``GET /api/{kind}s/{id}/rates`` as ``rate`` rows."""
    return [
        {
            "entity": entity,
            "id": int(r["id"]),
            "entity_id": entity_id,
            "user_id": ref(r.get("user")),
            "rate": float(r.get("rate") or 0.0),
            "internal_rate": number(r.get("internalRate")),
            "is_fixed": bool(r.get("isFixed", False)),
        }
        for r in rates
    ]


def _entity_sides(name: str, link_table: Table, link_column: str) -> tuple[Side, ...]:
    return (
        Side(schema.meta_field, "entity_id", _meta(name), entity=name),
        Side(link_table, link_column, _links("teams", link_column, link_column), shared=True),
        Side(schema.rate, "entity_id", entity=name),
    )


CUSTOMER = Kind(
    "customer",
    "customers",
    schema.customer,
    customer_row,
    _entity_sides("customer", schema.team_customer, "customer_id"),
)
PROJECT = Kind(
    "project",
    "projects",
    schema.project,
    project_row,
    _entity_sides("project", schema.team_project, "project_id"),
)
ACTIVITY = Kind(
    "activity",
    "activities",
    schema.activity,
    activity_row,
    _entity_sides("activity", schema.team_activity, "activity_id"),
)
USER = Kind(
    "user",
    "users",
    schema.user_account,
    user_row,
    (
        Side(schema.user_preference, "user_id", _preferences),
        Side(schema.team_member, "user_id", _memberships, shared=True),
    ),
)
TEAM = Kind(
    "team",
    "teams",
    schema.team,
    team_row,
    (
        Side(schema.team_member, "team_id", _members, shared=True),
        Side(schema.team_customer, "team_id", _links("customers", "customer_id", "team_id"), shared=True),
        Side(schema.team_project, "team_id", _links("projects", "project_id", "team_id"), shared=True),
        Side(schema.team_activity, "team_id", _links("activities", "activity_id", "team_id"), shared=True),
    ),
)
# A tag's rows are its name; deleting one also takes it off the timesheets (as the server does).
TAG = Kind("tag", "tags", schema.tag, tag_row, (Side(schema.timesheet_tag, "tag_name"),), key="name")
TIMESHEET = Kind(
    "timesheet",
    "timesheets",
    schema.timesheet,
    timesheet_row,
    (
        Side(schema.timesheet_tag, "timesheet_id", _timesheet_tags),
        Side(schema.meta_field, "entity_id", _meta("timesheet"), entity="timesheet"),
    ),
)

# In the order a run syncs them: what others refer to first; tags last (on a Kimai, the names the
# timesheets carry tell which tags exist but are hidden).
KINDS = (USER, TEAM, CUSTOMER, PROJECT, ACTIVITY, TIMESHEET, TAG)
BY_PATH = {kind.path: kind for kind in KINDS}
BY_NAME = {kind.name: kind for kind in KINDS}
RATED = (CUSTOMER, PROJECT, ACTIVITY)
