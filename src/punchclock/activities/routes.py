from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.activities import render
from punchclock.activities import service as svc
from punchclock.activities.schemas import ActivityEntity, ActivityForm
from punchclock.context import Ctx
from punchclock.entities.routes import add_entity_routes
from punchclock.kimai.errors import BadRequest
from punchclock.kimai.params import ModifiedAfter, Order, Term, Visible, ZeroOneBool, as_ids, strict_datetime
from punchclock.routing import documented, ok

router = APIRouter(prefix="/api/activities", tags=["Activity"])


@router.get("", **documented(list[ActivityEntity], errors=(400, 401, 403)), summary="List activities")
async def list_activities(
    ctx: Ctx,
    project: Annotated[
        str | None, Query(pattern=r"^\d+$", description="A project id: its activities plus global ones")
    ] = None,
    projects: Annotated[list[str] | None, Query(alias="projects[]", description="Project ids")] = None,
    # The bare name of the array parameter: Kimai refuses a scalar there (400).
    projects_scalar: Annotated[str | None, Query(alias="projects", include_in_schema=False)] = None,
    visible: Visible = "1",
    globals: Annotated[ZeroOneBool | None, Query(description="1/true = only global activities")] = None,
    orderBy: Annotated[
        Literal["id", "name", "project", "modified"],
        Query(description="Extension: `modified` sorts by `modifiedAt`"),
    ] = "name",
    order: Order = "ASC",
    term: Term = None,
    modified_after: ModifiedAfter = None,
) -> Response:
    since = strict_datetime(modified_after, "UTC")
    if projects_scalar is not None or (projects and not all(p.isdecimal() for p in projects)):
        raise BadRequest()

    def work(s: Session) -> list[dict[str, Any]]:
        rows = svc.list_activities(
            s,
            caller=ctx.caller,
            projects=as_ids(projects, project),
            visible=int(visible),
            globals_only=globals in ("1", "true"),
            order=order,
            order_by=orderBy,
            term=term,
            modified_after=since,
        )
        return [render.collection(a, ctx.caller) for a in rows]

    return ok(await ctx.read(work))


add_entity_routes(
    router,
    svc.EDIT,
    render.entity,
    ActivityEntity,
    ActivityForm,
    create_summary="Create an activity (without project: a global activity)",
    update_summary="Update an activity (absent fields stay unchanged)",
)
