"""Timesheet routes (``/api/timesheets``), favorites and the timesheet configuration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from punchclock.context import Context, Ctx
from punchclock.entities.schemas import MetaFieldForm
from punchclock.kimai.body import read_body
from punchclock.kimai.errors import BadRequest, Forbidden
from punchclock.kimai.paging import PageRequest, fetch_page, php_int
from punchclock.kimai.params import Order, Term, ZeroOne, ZeroOneBool, as_ids, strict_datetime
from punchclock.routing import body, documented, no_content, ok
from punchclock.timesheets import listing, render
from punchclock.timesheets import service as svc
from punchclock.timesheets.access import may
from punchclock.timesheets.models import Timesheet
from punchclock.timesheets.schemas import (
    RestartForm,
    TimesheetCollection,
    TimesheetCollectionExpanded,
    TimesheetConfig,
    TimesheetEntity,
    TimesheetEntityExpanded,
    TimesheetForm,
)

router = APIRouter(prefix="/api/timesheets", tags=["Timesheet"])
favorites = APIRouter(prefix="/api/favorites", tags=["Favorites"])
config = APIRouter(prefix="/api/config", tags=["Default"])


Id = Annotated[str | None, Query(pattern=r"^\d+$")]
Ids = Annotated[list[str] | None, Query(pattern=r"^\d+$")]
# The bare name of an array parameter: Kimai refuses a scalar there (400).
Scalar = Annotated[str | None, Query(include_in_schema=False)]
LocalTime = Annotated[
    str | None, Query(description="Y-m-dTH:i:s in your timezone", pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
]
Digits = Annotated[str | None, Query(pattern=r"^\d+$")]


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "1"


def _entity(s: Session, ctx: Context, ts: Timesheet, *, expanded: bool = False) -> dict[str, Any]:
    view = render.entity(ts, rates=may(s, ctx.caller, "view_rate", ts))
    return render.Related(s, [ts]).expand(view) if expanded else view


def _expanded_list(s: Session, ctx: Context, rows: list[Any]) -> list[dict[str, Any]]:
    records = listing.with_side_data(s, rows)
    visible = listing.rate_visible(s, ctx.caller, records)
    related = render.Related(s, records)
    return [related.expand(render.collection(r, rates=r.id in visible)) for r in records]


CURSOR = (
    "Extension: keyset paging, an alternative to `page`: the `X-Next-Cursor` header of a full page (of "
    "any request, with or without a cursor) opens the rows after it in the same order, at the same cost "
    "however deep. `page` is then ignored and nothing is counted: `X-Total-Count`, `X-Total-Pages` and "
    "`X-Page` are left out (`X-Per-Page` stays). The cursor holds the order and the position only: "
    "repeat every filter and `size`, and the same `orderBy` and `order` (another order is 400). The "
    "last page has no `X-Next-Cursor`; an invalid cursor is 400."
)
_LIST = documented(list[TimesheetCollection] | list[TimesheetCollectionExpanded], errors=(400, 401, 403, 404))
_LIST["responses"][200]["headers"] = {
    name: {"description": text, "schema": {"type": "string" if name == "X-Next-Cursor" else "integer"}}
    for name, text in (
        ("X-Page", "The page (not with `cursor`)"),
        ("X-Total-Count", "Rows of the list (not with `cursor`)"),
        ("X-Total-Pages", "Pages of the list (not with `cursor`)"),
        ("X-Per-Page", "Rows per page"),
        ("X-Next-Cursor", "Extension: the `cursor` of the next page; only when more rows may follow"),
    )
}


@router.get(
    "",
    **_LIST,
    summary="List timesheets (paged: X-Page, X-Total-Count, X-Total-Pages, X-Per-Page; X-Next-Cursor)",
)
async def list_timesheets(
    ctx: Ctx,
    user: Annotated[
        str | None,
        Query(pattern=r"^(\d+|all)$", description="A user id, or all (needs view_other_timesheet)"),
    ] = None,
    users: Annotated[list[str] | None, Query(alias="users[]", description="User ids")] = None,
    users_scalar: Annotated[str | None, Query(alias="users", include_in_schema=False)] = None,
    customer: Id = None,
    customers: Annotated[list[str] | None, Query(alias="customers[]", description="Customer ids")] = None,
    customers_scalar: Annotated[str | None, Query(alias="customers", include_in_schema=False)] = None,
    project: Id = None,
    projects: Annotated[list[str] | None, Query(alias="projects[]", description="Project ids")] = None,
    projects_scalar: Annotated[str | None, Query(alias="projects", include_in_schema=False)] = None,
    activity: Id = None,
    activities: Annotated[list[str] | None, Query(alias="activities[]", description="Activity ids")] = None,
    activities_scalar: Annotated[str | None, Query(alias="activities", include_in_schema=False)] = None,
    tags: Annotated[list[str] | None, Query(alias="tags[]", description="Tag names (any of them)")] = None,
    tags_scalar: Annotated[str | None, Query(alias="tags", include_in_schema=False)] = None,
    page: Annotated[Digits, Query(description="Page, from 1")] = None,
    size: Annotated[Digits, Query(description="Rows per page (default 50, at most 500)")] = None,
    orderBy: Annotated[Literal["id", "begin", "end", "rate"], Query()] = "begin",
    order: Order = "DESC",
    begin: LocalTime = None,
    end: Annotated[
        str | None,
        Query(description="Y-m-dTH:i:s in your timezone: records that BEGIN at or before it"),
    ] = None,
    exported: Annotated[ZeroOne | None, Query()] = None,
    active: Annotated[ZeroOne | None, Query(description="1 = running, 0 = stopped")] = None,
    billable: Annotated[ZeroOne | None, Query()] = None,
    full: Annotated[ZeroOneBool | None, Query(description="1/true: nested objects")] = None,
    term: Term = None,
    modified_after: Annotated[
        str | None, Query(description="Y-m-dTH:i:s in UTC: records changed at or after it")
    ] = None,
    cursor: Annotated[str | None, Query(description=CURSOR)] = None,
) -> Response:
    for scalar in (users_scalar, customers_scalar, projects_scalar, activities_scalar, tags_scalar):
        if scalar is not None:
            raise BadRequest()
    for values in (users, customers, projects, activities):
        # Kimai's \d+ (Unicode digits); non-ASCII ones then name no row and are ignored (as_ids).
        if values and not all(v.isdecimal() for v in values):
            raise BadRequest()
    tz = ctx.caller.timezone
    filters = listing.Filters(
        users=as_ids(users, user if user != "all" else None),
        all_users=user == "all",
        customers=as_ids(customers, customer),
        projects=as_ids(projects, project),
        activities=as_ids(activities, activity),
        tags=list(tags or []),
        begin=strict_datetime(begin, tz),
        end=strict_datetime(end, tz),
        exported=_flag(exported),
        active=_flag(active),
        billable=_flag(billable),
        term=term or None,
        modified_after=strict_datetime(modified_after, "UTC"),
    )
    after = listing.Position.read(cursor, orderBy, order) if cursor is not None else None
    paging = PageRequest.parse(page if after is None else None, size)
    expanded = full in ("1", "true")

    def work(s: Session) -> tuple[list[dict[str, Any]], dict[str, str]]:
        if not ctx.caller.can("view_own_timesheet") and not ctx.caller.can("view_other_timesheet"):
            raise Forbidden()
        query = listing.build_query(s, ctx.caller, filters)
        if after is None:
            result = fetch_page(
                s,
                query,
                paging,
                lambda offset, size: listing.page_rows(s, query, orderBy, order, offset, size),
            )
            rows, headers = result.rows, paging.headers(result.total)
            more = result.total > paging.offset + len(rows)
            following = listing.Position.after(rows[-1], orderBy, order) if more else None
        else:
            rows, following = listing.keyset_page(s, query, after, paging.size)
            headers = {"X-Per-Page": str(paging.size)}
        if following is not None:
            headers["X-Next-Cursor"] = following.cursor()
        records = listing.with_side_data(s, rows)
        visible = listing.rate_visible(s, ctx.caller, records)
        views = [render.collection(r, rates=r.id in visible) for r in records]
        if expanded:
            related = render.Related(s, records)
            views = [related.expand(view) for view in views]
        return views, headers

    views, headers = await ctx.read(work)
    return ok(views, headers=headers)


@router.get(
    "/active",
    **documented(list[TimesheetCollectionExpanded], errors=(401, 403)),
    summary="Your running records, newest first",
)
async def active_timesheets(ctx: Ctx) -> Response:
    def work(s: Session) -> list[dict[str, Any]]:
        if not ctx.caller.can("view_own_timesheet"):
            raise Forbidden()
        query = (
            select(Timesheet.__table__)
            .where(Timesheet.user_id == ctx.caller.id, Timesheet.end.is_(None))
            .order_by(Timesheet.begin.desc(), Timesheet.id.desc())
        )
        return _expanded_list(s, ctx, list(s.execute(query)))

    return ok(await ctx.read(work))


@router.get(
    "/recent",
    **documented(list[TimesheetCollectionExpanded], errors=(400, 401, 403)),
    summary="Your latest record of each project and activity pair",
)
async def recent_timesheets(
    ctx: Ctx,
    begin: LocalTime = None,
    size: Annotated[Digits, Query(description="How many (default 10)")] = None,
) -> Response:
    since = strict_datetime(begin, ctx.caller.timezone)
    limit = min(php_int(size), 2**31) if size is not None else 10

    def work(s: Session) -> list[dict[str, Any]]:
        if not ctx.caller.can("view_own_timesheet"):
            raise Forbidden()
        return _expanded_list(s, ctx, listing.recent_rows(s, ctx.caller, since=since, limit=limit))

    return ok(await ctx.read(work))


@router.get("/{id}", **documented(TimesheetEntity), summary="One timesheet")
async def get_timesheet(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        return _entity(s, ctx, svc.load(s, caller=ctx.caller, timesheet_id=id, attribute="view"))

    return ok(await ctx.read(work))


@router.post(
    "",
    **documented(TimesheetEntity | TimesheetEntityExpanded, errors=(400, 401, 403)),
    summary="Create a timesheet (running when it has no end)",
    openapi_extra=body(TimesheetForm),
)
async def create_timesheet(
    ctx: Ctx,
    full: Annotated[str | None, Query(description="Any value: nested objects")] = None,
) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        ts = svc.create(s, caller=ctx.caller, settings=ctx.settings, data=data)
        return _entity(s, ctx, ts, expanded=full is not None)

    return ok(await ctx.write(work))


@router.patch(
    "/{id}",
    **documented(TimesheetEntity, errors=(400, 401, 403, 404)),
    summary="Update a timesheet (absent fields stay unchanged)",
    openapi_extra=body(TimesheetForm, partial=True),
)
async def update_timesheet(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        ts = svc.update(s, caller=ctx.caller, settings=ctx.settings, timesheet_id=id, data=data)
        return _entity(s, ctx, ts)

    return ok(await ctx.write(work))


@router.delete("/{id}", **documented(status=204), summary="Delete a timesheet")
async def delete_timesheet(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.remove(s, caller=ctx.caller, timesheet_id=id))
    return no_content()


def _action(name: str, summary: str) -> Any:
    async def act(id: int, ctx: Ctx) -> Response:
        action = getattr(svc, name)

        def work(s: Session) -> dict[str, Any]:
            return _entity(s, ctx, action(s, caller=ctx.caller, settings=ctx.settings, timesheet_id=id))

        return ok(await ctx.write(work))

    path = {"toggle_export": "export"}.get(name, name)
    router.patch(
        f"/{{id}}/{path}", **documented(TimesheetEntity, errors=(400, 401, 403, 404)), summary=summary
    )(act)
    return act


_action("stop", "Stop a running record (now)")
_action("duplicate", "Copy a record (not exported)")
_action("toggle_export", "Toggle the exported flag")


@router.patch(
    "/{id}/restart",
    **documented(TimesheetEntity, errors=(400, 401, 403, 404)),
    summary="Start a new record for yourself with this record's project and activity",
    openapi_extra=body(RestartForm, partial=True),
)
async def restart_timesheet(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)
    params = data if isinstance(data, dict) else {}
    # Strict body parameters: copy is "all", begin Kimai's local datetime; an empty value (or JSON
    # null) passes Symfony's constraints and means "absent" (no copy, begin now).
    copy, begin = (None if params.get(key) == "" else params.get(key) for key in ("copy", "begin"))

    def work(s: Session) -> dict[str, Any]:
        # Kimai reads the parameters after the record (404) and the voter (403).
        svc.load(s, caller=ctx.caller, timesheet_id=id, attribute="start")
        if (copy is not None and copy != "all") or (begin is not None and not isinstance(begin, str)):
            raise BadRequest()
        since = strict_datetime(begin, ctx.caller.timezone) if begin is not None else None
        ts = svc.restart(
            s,
            caller=ctx.caller,
            settings=ctx.settings,
            timesheet_id=id,
            begin=since,
            copy_all=copy == "all",
        )
        return _entity(s, ctx, ts)

    return ok(await ctx.write(work))


@router.patch(
    "/{id}/meta",
    **documented(TimesheetEntity, errors=(400, 401, 403, 404)),
    summary="Set a custom field of a timesheet",
    openapi_extra=body(MetaFieldForm),
)
async def set_timesheet_meta(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        ts = svc.set_meta(s, caller=ctx.caller, settings=ctx.settings, timesheet_id=id, data=data)
        return _entity(s, ctx, ts)

    return ok(await ctx.write(work))


@favorites.get(
    "/timesheets",
    **documented(list[TimesheetCollectionExpanded], errors=(401, 403)),
    summary="Your favorite records (templates for new ones), newest first",
)
async def list_favorites(ctx: Ctx) -> Response:
    def work(s: Session) -> list[dict[str, Any]]:
        if not ctx.caller.can("start_own_timesheet"):
            raise Forbidden()
        return _expanded_list(
            s, ctx, listing.favorite_rows(s, ctx.caller, svc.favorite_ids(s, caller=ctx.caller))
        )

    return ok(await ctx.read(work))


@favorites.post(
    "/timesheets/{id}", **documented(status=204), summary="Add one of your records to the favorites"
)
async def add_favorite(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.add_favorite(s, caller=ctx.caller, timesheet_id=id))
    return no_content()


@favorites.delete("/timesheets/{id}", **documented(status=204), summary="Remove a record from the favorites")
async def remove_favorite(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.remove_favorite(s, caller=ctx.caller, timesheet_id=id))
    return no_content()


@config.get("/timesheet", **documented(TimesheetConfig, errors=(401,)), summary="Timesheet settings")
async def timesheet_config(ctx: Ctx) -> Response:
    settings = ctx.settings
    return ok(
        {
            "trackingMode": "default",
            "defaultBeginTime": "now",
            "activeEntriesHardLimit": settings.timesheet_active_entries_hard_limit,
            "isAllowFutureTimes": settings.timesheet_allow_future_times,
            "isAllowOverlapping": settings.timesheet_allow_overlapping,
        }
    )
