"""Projects: keyword-only service functions shared by the API and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.activities.models import Activity, ActivityMeta, ActivityRate
from punchclock.auth.permissions import Caller
from punchclock.customers.models import Customer
from punchclock.customers.service import visible_to as customer_visible_to
from punchclock.entities import fields as common
from punchclock.entities.access import check_filter_access, open_to, parent_choice
from punchclock.entities.crud import EditSpec, default_number_format
from punchclock.entities.kinds import CUSTOMER, PROJECT
from punchclock.entities.listing import Record, changed_since, ids_of, record, team_refs, visible_meta
from punchclock.entities.service import by_name, load, next_number, ordered, term_filter
from punchclock.kimai.datetimes import end_of_day, parse_date, parse_strict_datetime, start_of_day
from punchclock.kimai.errors import ActionFailed, Forbidden
from punchclock.kimai.forms import Field, FieldError, checkbox, length, not_null, text
from punchclock.projects.models import Project, ProjectMeta, ProjectRate
from punchclock.teams.models import TeamCustomer, TeamProject

SEARCH_COLUMNS = (Project.name, Project.comment, Project.order_number, Project.number)
END_BEFORE_START = "The end date must not be earlier than the start date."


def visible_to(caller: Caller) -> Any:
    """The list team filter: the project's teams and its customer's teams must each be empty or shared."""
    if caller.sees_all:
        return None
    return and_(open_to(caller, TeamProject.project_id, Project.id), customer_visible_to(caller))


def list_projects(
    session: Session,
    *,
    caller: Caller,
    customers: list[int] | None = None,
    visible: int = 1,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    ignore_dates: bool = False,
    global_activities: bool | None = None,
    order_by: str = "name",
    order: str = "ASC",
    term: str | None = None,
    now: dt.datetime | None = None,
    modified_after: dt.datetime | None = None,
) -> list[Record]:
    customers = list(check_filter_access(session, caller, CUSTOMER, customers or []))
    query = select(*Project.__table__.columns, Customer.name.label("customer_name")).join(Project.customer)
    if customers:
        query = query.where(Project.customer_id.in_(customers))
    if visible in (1, 2):
        # Hidden (2) means hidden projects of visible customers; only 3 shows a hidden customer's projects.
        query = query.where(Project.visible.is_(visible == 1), Customer.visible.is_(True))
    if not ignore_dates:
        if start is None and end is None:
            start = end = now or dt.datetime.now(dt.UTC)
        for moment in (start, end):
            if moment is not None:
                # Kimai compares calendar dates of the UTC values (SQL DATE() on its UTC columns).
                day = moment.astimezone(dt.UTC).date()
                first = dt.datetime.combine(day, dt.time(), dt.UTC)
                last = dt.datetime.combine(day, dt.time.max, dt.UTC)  # no next midnight after 9999-12-31
                query = query.where(
                    or_(Project.start.is_(None), Project.start <= last),
                    or_(Project.end.is_(None), Project.end >= first),
                )
    if global_activities is not None:
        query = query.where(Project.global_activities.is_(global_activities))
    query = changed_since(query, Project.modified_at, modified_after)
    team_rule = visible_to(caller)
    if team_rule is not None:
        query = query.where(team_rule)
    if term:
        query = query.where(term_filter(term, SEARCH_COLUMNS, ProjectMeta, Project.id))
    keys = {"id": Project.id, "customer": by_name(Customer.name), "modified": Project.modified_at}
    key = keys.get(order_by, by_name(Project.name))
    query = ordered(query, key, Project.id, order)
    rows = session.execute(query).all()
    teams = team_refs(session, TeamProject.project_id, ids_of(query, Project.id))
    customer_teams = team_refs(session, TeamCustomer.customer_id, ids_of(query, Project.customer_id))
    meta = visible_meta(session, ProjectMeta, ids_of(query, Project.id))
    records = []
    for row in rows:
        owner = Record(
            id=row.customer_id, name=row.customer_name, teams=customer_teams.get(row.customer_id, [])
        )
        records.append(record(row, teams=teams.get(row.id, []), meta=meta.get(row.id, []), customer=owner))
    return records


def _date(*, patch: bool, timezone: str, end: bool) -> Callable[[Any], dt.datetime | None]:
    """Project dates: Y-m-d on POST, Y-m-dTH:i:s on PATCH (Kimai's inconsistency), pinned to the day's
    first second (last for ``end``) in the caller's timezone."""

    def parse(raw: Any) -> dt.datetime | None:
        value = text(raw)
        if value is None:
            return None
        if patch:
            valid = parse_strict_datetime(value, timezone) is not None
            day = dt.date.fromisoformat(value[:10]) if valid else None
        else:
            day = parse_date(value)
        # A day whose first (last) second cannot be held in UTC (0001-01-01 east of UTC) is invalid too.
        moment = None if day is None else (end_of_day if end else start_of_day)(day, timezone)
        if moment is None:
            raise FieldError("Please enter a valid date.")
        return moment

    return parse


def _fields(session: Session, caller: Caller, project: Project | None) -> tuple[Field, ...]:
    patch = project is not None
    tz = caller.timezone
    result: list[Field] = [
        common.name_field(),
        Field(
            "customer",
            parent_choice(session, caller, CUSTOMER, project.customer_id if project else None),
            (not_null,),
            attr="customer_id",
        ),
        Field("number", text, (length(maximum=10),)),
        Field("comment", text),
        Field("invoiceText", text),
        Field("orderNumber", text, (length(maximum=50),)),
        Field("orderDate", _date(patch=patch, timezone=tz, end=False)),
        Field("start", _date(patch=patch, timezone=tz, end=False)),
        Field("end", _date(patch=patch, timezone=tz, end=True)),
        Field("globalActivities", checkbox),
    ]
    return (*result, *common.shared_fields(session, caller, "project", project))


def _end_after_start(merged: dict[str, Any]) -> dict[str, list[str]]:
    start, end = merged.get("start"), merged.get("end")
    return {"end": [END_BEFORE_START]} if start is not None and end is not None and end < start else {}


def _dates_in_caller_zone(
    project: Project, caller: Caller, changed: dict[str, Any], before: dict[str, Any]
) -> None:
    """Dates are entered (and then shown) in the caller's timezone. As in Kimai, the project takes
    the caller's zone only when a date really gets a new value: resending or clearing one must not
    shift how the others are shown."""
    dates = ("order_date", "start", "end")
    if not before or any(changed.get(key) not in (None, before.get(key)) for key in dates if key in changed):
        project.timezone = caller.timezone


EDIT = EditSpec(
    kind=PROJECT,
    fields=_fields,
    defaults=lambda caller: {**common.LISTED_DEFAULTS, "global_activities": True},
    rules=_end_after_start,
    after=_dates_in_caller_zone,
)


def _copy_rates(session: Session, model: Any, source_id: int, target_id: int) -> None:
    for rate in session.scalars(select(model).where(model.entity_id == source_id)):
        session.add(
            model(
                entity_id=target_id,
                user_id=rate.user_id,
                rate=rate.rate,
                internal_rate=rate.internal_rate,
                fixed=rate.fixed,
            )
        )


_COPIED = ("comment", "invoice_text", "visible", "billable", "color", "budget", "time_budget", "budget_type")


def duplicate_project(
    session: Session, *, caller: Caller, project_id: int, number_format: str | None = None
) -> Project:
    """A copy named ``<name> [COPY]`` with its teams, rates, custom fields and (visible) activities;
    comments are not copied."""
    original: Project = load(session, caller=caller, kind=PROJECT, entity_id=project_id, attributes=("edit",))
    if not (caller.can("create_project") and caller.can("create_activity")):
        raise Forbidden()
    name = original.name + " [COPY]"
    number_format = default_number_format(PROJECT) if number_format is None else number_format
    number = next_number(session, kind=PROJECT, number_format=number_format, timezone=caller.timezone)
    # The copy is validated like any project; a failure is Kimai's action error, not a form error.
    problems = {"name": length(2, 150)(name), "number": length(maximum=10)(number)}
    if any(problems.values()):
        raise ActionFailed({field: [message] for field, message in problems.items() if message})
    copy = Project(
        name=name,
        customer_id=original.customer_id,
        number=number,
        order_number=original.order_number,
        order_date=original.order_date,
        # A project that ended is continued: the copy starts where the original ended.
        start=original.end if original.end is not None else original.start,
        end=None if original.end is not None else original.end,
        timezone=original.timezone,
        global_activities=original.global_activities,
        **{attr: getattr(original, attr) for attr in _COPIED},
    )
    copy.teams = list(original.teams)
    copy.meta = [ProjectMeta(name=m.name, value=m.value, visible=m.visible) for m in original.meta]
    session.add(copy)
    session.flush()
    _copy_rates(session, ProjectRate, original.id, copy.id)
    # Only visible activities are copied, and none of a hidden project or customer (as Kimai does).
    copied = select(Activity).where(Activity.project_id == original.id, Activity.visible.is_(True))
    activities = session.scalars(copied).all() if original.visible and original.customer.visible else []
    for activity in activities:
        twin = Activity(
            project_id=copy.id,
            name=activity.name,
            number=None,
            **{attr: getattr(activity, attr) for attr in _COPIED},
        )
        twin.teams = list(activity.teams)
        twin.meta = [ActivityMeta(name=m.name, value=m.value, visible=m.visible) for m in activity.meta]
        session.add(twin)
        session.flush()
        _copy_rates(session, ActivityRate, activity.id, twin.id)
        changes.record(session, entity="activity", entity_id=twin.id, op="upsert")
    session.flush()
    changes.record(session, entity=PROJECT.name, entity_id=copy.id, op="upsert")
    return copy
