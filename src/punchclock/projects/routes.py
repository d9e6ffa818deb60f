from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.entities.routes import add_entity_routes
from punchclock.kimai.datetimes import parse_date_or_datetime
from punchclock.kimai.errors import BadRequest
from punchclock.kimai.params import ModifiedAfter, Order, Term, Visible, ZeroOne, as_ids, strict_datetime
from punchclock.projects import render
from punchclock.projects import service as svc
from punchclock.projects.schemas import ProjectEntity, ProjectForm
from punchclock.routing import documented, ok

router = APIRouter(prefix="/api/projects", tags=["Project"])

DateParam = Annotated[
    str | None,
    Query(description="Y-m-d or Y-m-dTH:i:s in your timezone: projects running at that time"),
]


@router.get("", **documented(list[ProjectEntity], errors=(400, 401, 403)), summary="List projects")
async def list_projects(
    ctx: Ctx,
    customer: Annotated[str | None, Query(pattern=r"^\d+$", description="A customer id")] = None,
    customers: Annotated[list[str] | None, Query(alias="customers[]", description="Customer ids")] = None,
    # The bare name of the array parameter: Kimai refuses a scalar there (400).
    customers_scalar: Annotated[str | None, Query(alias="customers", include_in_schema=False)] = None,
    visible: Visible = "1",
    start: DateParam = None,
    end: DateParam = None,
    ignoreDates: Annotated[
        Literal["1"] | None,
        Query(description="1 = also projects not running now (default: only running today)"),
    ] = None,
    globalActivities: Annotated[
        ZeroOne | None, Query(description="Projects that allow global activities")
    ] = None,
    order: Order = "ASC",
    orderBy: Annotated[
        Literal["id", "name", "customer", "modified"],
        Query(description="Extension: `modified` sorts by `modifiedAt`"),
    ] = "name",
    term: Term = None,
    modified_after: ModifiedAfter = None,
) -> Response:
    since = strict_datetime(modified_after, "UTC")
    tz = ctx.caller.timezone
    ignore_dates = ignoreDates == "1"
    # Kimai reads (and so validates) start/end only when dates are not ignored.
    begin_at = parse_date_or_datetime(start, tz) if start and not ignore_dates else None
    end_at = parse_date_or_datetime(end, tz) if end and not ignore_dates else None
    if not ignore_dates and ((start and begin_at is None) or (end and end_at is None)):
        raise BadRequest()
    if customers_scalar is not None or (customers and not all(c.isdecimal() for c in customers)):
        raise BadRequest()

    def work(s: Session) -> list[dict[str, Any]]:
        rows = svc.list_projects(
            s,
            caller=ctx.caller,
            customers=as_ids(customers, customer),
            visible=int(visible),
            start=begin_at,
            end=end_at,
            ignore_dates=ignore_dates,
            global_activities=None if globalActivities is None else globalActivities == "1",
            order=order,
            order_by=orderBy,
            term=term,
            modified_after=since,
        )
        return [render.collection(p, ctx.caller) for p in rows]

    return ok(await ctx.read(work))


@router.post(
    "/{id}/duplicate",
    **documented(ProjectEntity, status=201),
    summary="Copy a project with its teams, rates, custom fields and activities",
)
async def duplicate_project(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        copy = svc.duplicate_project(
            s, caller=ctx.caller, project_id=id, number_format=ctx.settings.project_number_format
        )
        return render.entity(copy, ctx.caller)

    return ok(await ctx.write(work), status=201)


add_entity_routes(
    router,
    svc.EDIT,
    render.entity,
    ProjectEntity,
    ProjectForm,
    create_summary="Create a project (dates as Y-m-d)",
    update_summary="Update a project (dates as Y-m-dTH:i:s; absent fields stay unchanged)",
)
