"""Activities: keyword-only service functions shared by the API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from punchclock.activities.models import Activity, ActivityMeta
from punchclock.auth.permissions import Caller
from punchclock.customers.models import Customer
from punchclock.entities import fields as common
from punchclock.entities.access import check_filter_access, open_to, parent_choice
from punchclock.entities.crud import EditSpec
from punchclock.entities.kinds import ACTIVITY, PROJECT
from punchclock.entities.listing import Record, changed_since, ids_of, record, team_refs, visible_meta
from punchclock.entities.service import by_name, ordered, term_filter
from punchclock.kimai.forms import Field, length, text
from punchclock.projects.models import Project
from punchclock.projects.service import visible_to as project_visible_to
from punchclock.teams.models import TeamActivity, TeamCustomer, TeamProject

SEARCH_COLUMNS = (Activity.name, Activity.comment, Activity.number)


def list_activities(
    session: Session,
    *,
    caller: Caller,
    projects: list[int] | None = None,
    visible: int = 1,
    globals_only: bool = False,
    order_by: str = "name",
    order: str = "ASC",
    term: str | None = None,
    modified_after: dt.datetime | None = None,
) -> list[Record]:
    filtered = check_filter_access(session, caller, PROJECT, projects or [])
    projects = list(filtered)
    project = aliased(Project)
    customer = aliased(Customer)
    query = (
        select(*Activity.__table__.columns, project.name.label("project_name"), project.customer_id)
        .select_from(Activity)
        .outerjoin(project, Activity.project)
        .outerjoin(customer, project.customer)
    )
    if globals_only:
        query = query.where(Activity.project_id.is_(None))
    elif projects:
        with_globals = True
        if len(projects) == 1:
            with_globals = filtered[projects[0]].global_activities
        in_projects = Activity.project_id.in_(projects)
        query = query.where(or_(in_projects, Activity.project_id.is_(None)) if with_globals else in_projects)
    if visible in (1, 2):
        # Hidden (2) means hidden activities whose project and customer are visible (or global ones).
        query = query.where(Activity.visible.is_(visible == 1))
        if not globals_only:
            query = query.where(
                or_(
                    Activity.project_id.is_(None), and_(project.visible.is_(True), customer.visible.is_(True))
                )
            )
    if not caller.sees_all:
        # The customer join lets the customer team rule correlate with each project.
        parents = select(Project.id).join(Project.customer).where(project_visible_to(caller))
        query = query.where(
            open_to(caller, TeamActivity.activity_id, Activity.id),
            or_(Activity.project_id.is_(None), Activity.project_id.in_(parents)),
        )
    if term:
        query = query.where(term_filter(term, SEARCH_COLUMNS, ActivityMeta, Activity.id))
    query = changed_since(query, Activity.modified_at, modified_after)
    keys = {"id": Activity.id, "project": by_name(project.name), "modified": Activity.modified_at}
    key = keys.get(order_by, by_name(Activity.name))
    query = ordered(query, key, Activity.id, order)
    rows = session.execute(query).all()
    teams = team_refs(session, TeamActivity.activity_id, ids_of(query, Activity.id))
    project_teams = team_refs(session, TeamProject.project_id, ids_of(query, Activity.project_id))
    customer_teams = team_refs(session, TeamCustomer.customer_id, ids_of(query, project.customer_id))
    meta = visible_meta(session, ActivityMeta, ids_of(query, Activity.id))

    def parent(row: Any) -> Record | None:
        if row.project_id is None:
            return None
        owner = Record(id=row.customer_id, teams=customer_teams.get(row.customer_id, []))
        return Record(
            id=row.project_id,
            name=row.project_name,
            teams=project_teams.get(row.project_id, []),
            customer=owner,
        )

    return [
        record(row, teams=teams.get(row.id, []), meta=meta.get(row.id, []), project=parent(row))
        for row in rows
    ]


def _fields(session: Session, caller: Caller, activity: Activity | None) -> tuple[Field, ...]:
    result: list[Field] = [
        common.name_field(),
        Field("number", text, (length(maximum=10),)),
        Field("comment", text),
        Field("invoiceText", text),
    ]
    # A global activity stays global: its project cannot be set afterwards.
    if activity is None or activity.project_id is not None:
        current = activity.project_id if activity else None
        result.append(Field("project", parent_choice(session, caller, PROJECT, current), attr="project_id"))
    return (*result, *common.shared_fields(session, caller, "activity", activity))


EDIT = EditSpec(
    kind=ACTIVITY,
    fields=_fields,
    defaults=lambda caller: dict(common.LISTED_DEFAULTS),
)
