from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.activities import render
from punchclock.activities import service as svc
from punchclock.activities.schemas import ActivityEntity, ActivityForm
from punchclock.context import Ctx
from punchclock.entities.kinds import ACTIVITY
from punchclock.entities.routes import add_shared_routes
from punchclock.entities.service import load
from punchclock.kimai.body import read_body
from punchclock.kimai.errors import BadRequest, Forbidden
from punchclock.kimai.params import Order, Term, Visible, ZeroOneBool, as_ids
from punchclock.routing import body, documented, ok

router = APIRouter(prefix="/api/activities", tags=["Activity"])


@router.get("", **documented(list[ActivityEntity], errors=(400, 401, 403)), summary="List activities")
async def list_activities(
    ctx: Ctx,
    project: Annotated[
        str | None, Query(pattern=r"^\d+$", description="A project id: its activities plus global ones")
    ] = None,
    projects: Annotated[list[str] | None, Query(alias="projects[]", description="Project ids")] = None,
    visible: Visible = "1",
    globals: Annotated[ZeroOneBool | None, Query(description="1/true = only global activities")] = None,
    orderBy: Annotated[Literal["id", "name", "project"], Query()] = "name",
    order: Order = "ASC",
    term: Term = None,
) -> Response:
    if projects and not all(p.isdecimal() for p in projects):
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
        )
        return [render.collection(a, ctx.caller) for a in rows]

    return ok(await ctx.read(work))


@router.get("/{id}", **documented(ActivityEntity), summary="One activity")
async def get_activity(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        activity = load(s, caller=ctx.caller, kind=ACTIVITY, entity_id=id, attributes=("view",))
        return render.entity(activity, ctx.caller)

    return ok(await ctx.read(work))


@router.post(
    "",
    **documented(ActivityEntity, errors=(400, 401, 403)),
    summary="Create an activity (without project: a global activity)",
    openapi_extra=body(ActivityForm),
)
async def create_activity(ctx: Ctx) -> Response:
    if not ctx.caller.can("create_activity"):
        raise Forbidden()
    data = await read_body(ctx.request)
    settings = ctx.settings

    def work(s: Session) -> dict[str, Any]:
        activity = svc.create_activity(
            s,
            caller=ctx.caller,
            data=data,
            number_format=settings.activity_number_format,
            allow_duplicates=settings.allow_duplicate_numbers,
        )
        return render.entity(activity, ctx.caller)

    return ok(await ctx.write(work))


@router.patch(
    "/{id}",
    **documented(ActivityEntity, errors=(400, 401, 403, 404)),
    summary="Update an activity (absent fields stay unchanged)",
    openapi_extra=body(ActivityForm),
)
async def update_activity(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        activity = svc.update_activity(
            s,
            caller=ctx.caller,
            activity_id=id,
            data=data,
            allow_duplicates=ctx.settings.allow_duplicate_numbers,
        )
        return render.entity(activity, ctx.caller)

    return ok(await ctx.write(work))


add_shared_routes(router, ACTIVITY, render.entity, ActivityEntity)
