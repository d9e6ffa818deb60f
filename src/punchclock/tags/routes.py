from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.kimai.body import read_body
from punchclock.kimai.params import ModifiedAfter, strict_datetime
from punchclock.routing import body, documented, no_content, ok
from punchclock.tags import render
from punchclock.tags import service as svc
from punchclock.tags.schemas import TagEntity, TagForm

router = APIRouter(prefix="/api/tags", tags=["Tag"])

# No NUL: PostgreSQL cannot compare text with it (400 on every backend).
NameFilter = Annotated[
    str | None, Query(description="Part of the name (case-insensitive)", pattern=r"^[^\x00]*$")
]


@router.get(
    "",
    **documented(list[str], errors=(400, 401)),
    summary="Names of the visible tags (deprecated in Kimai, still widely used)",
)
async def list_tag_names(ctx: Ctx, name: NameFilter = None, modified_after: ModifiedAfter = None) -> Response:
    since = strict_datetime(modified_after, "UTC")
    return ok(await ctx.read(lambda s: svc.list_tag_names(s, name=name, modified_after=since)))


@router.get(
    "/find",
    **documented(list[TagEntity], errors=(400, 401)),
    summary="Visible tags whose name contains `name` (none without it)",
)
async def find_tags(ctx: Ctx, name: NameFilter = None, modified_after: ModifiedAfter = None) -> Response:
    since = strict_datetime(modified_after, "UTC")

    def work(s: Session) -> list[dict[str, Any]]:
        return [render.entity(t) for t in svc.find_tags(s, name=name, modified_after=since)]

    return ok(await ctx.read(work))


@router.post(
    "",
    **documented(TagEntity, errors=(400, 401, 403)),
    summary="Create a tag (absent `visible` means hidden)",
    openapi_extra=body(TagForm),
)
async def create_tag(ctx: Ctx) -> Response:
    data = await read_body(ctx.request)
    return ok(await ctx.write(lambda s: render.entity(svc.create_tag(s, caller=ctx.caller, data=data))))


@router.delete("/{id}", **documented(status=204), summary="Delete a tag (timesheets lose it)")
async def delete_tag(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.delete_tag(s, caller=ctx.caller, tag_id=id))
    return no_content()
