"""Timesheet JSON views. Begin and end are shown in the record's own timezone.

Each view takes an ORM ``Timesheet`` or a listing record; ``rates`` says whether the caller may see
this record's rates (without permission the keys are absent, not null).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defaultload, raiseload

from punchclock.activities import render as activity_render
from punchclock.activities.models import Activity
from punchclock.customers.models import Customer
from punchclock.kimai.datetimes import format_datetime
from punchclock.projects import render as project_render
from punchclock.projects.models import Project
from punchclock.users import render as user_render
from punchclock.users.models import User


def _tag_names(t: Any) -> list[str]:
    names = getattr(t, "tag_names", None)
    return list(names) if names is not None else [tag.name for tag in t.tags]


def _meta(fields: Any) -> list[dict[str, Any]]:
    return [{"name": m.name, "value": m.value} for m in sorted(fields, key=lambda m: m.id) if m.visible]


def collection(t: Any, *, rates: bool) -> dict[str, Any]:
    # (each attribute read once: lists and the change feed render thousands of records a request)
    timezone, end, meta = t.timezone, t.end, t.meta
    view: dict[str, Any] = {
        "id": t.id,
        "begin": format_datetime(t.begin, timezone),
        "end": format_datetime(end, timezone),
        "duration": t.duration if end is not None else 0,
        "break": t.break_ if hasattr(t, "break_") else getattr(t, "break"),
        "description": t.description,
        "tags": _tag_names(t),
        "exported": t.exported,
        "billable": t.billable,
        "metaFields": _meta(meta) if meta else [],
        "activity": t.activity_id,
        "project": t.project_id,
        "user": t.user_id,
        # Extension: when the record last changed, in UTC.
        "modifiedAt": format_datetime(t.modified_at, "UTC"),
    }
    if rates:
        view["rate"] = float(t.rate)
        view["internalRate"] = None if t.internal_rate is None else float(t.internal_rate)
    return view


def entity(t: Any, *, rates: bool) -> dict[str, Any]:
    view = collection(t, rates=rates)
    if rates:
        view["fixedRate"] = None if t.fixed_rate is None else float(t.fixed_rate)
        view["hourlyRate"] = None if t.hourly_rate is None else float(t.hourly_rate)
    return view


# Expanded views show custom fields but never teams: skip loading those (and every team's members).
_PROJECT = (raiseload(Project.teams), defaultload(Project.customer).raiseload(Customer.teams))
_ACTIVITY = (
    raiseload(Activity.teams),
    defaultload(Activity.project).raiseload(Project.teams),
    defaultload(Activity.project).defaultload(Project.customer).raiseload(Customer.teams),
)


class Related:
    """The users, projects and activities an expanded list nests, loaded once for the whole list."""

    def __init__(self, session: Session, records: list[Any]) -> None:
        def load(model: Any, ids: set[int], *options: Any) -> Mapping[int, Any]:
            if not ids:
                return {}
            query = select(model).where(model.id.in_(ids)).options(*options)
            return {row.id: row for row in session.scalars(query)}

        self.users = load(User, {r.user_id for r in records})
        self.projects = load(Project, {r.project_id for r in records}, *_PROJECT)
        self.activities = load(Activity, {r.activity_id for r in records}, *_ACTIVITY)

    def expand(self, view: dict[str, Any]) -> dict[str, Any]:
        view["activity"] = activity_render.expanded(self.activities[view["activity"]])
        view["project"] = project_render.expanded(self.projects[view["project"]])
        view["user"] = user_render.collection(self.users[view["user"]])
        return view
