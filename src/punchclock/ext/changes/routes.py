"""``GET /api/ext/changes``: every insert, update and delete, in commit order, after a cursor."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock import collector
from punchclock.context import Context, Ctx
from punchclock.db import utcnow
from punchclock.ext.changes import feed, log
from punchclock.ext.changes.schemas import ChangePage
from punchclock.kimai.errors import KimaiError
from punchclock.routing import documented, ok

router = APIRouter(prefix="/api/ext", tags=["extensions"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PURGE_INTERVAL_SECONDS = 60.0
INCLUDES = frozenset({"rates"})

DESCRIPTION = f"""
Every insert, update and delete of customers, projects, activities, users, teams, tags and timesheets,
in commit order: `{{entity, id, op, modifiedAt, data}}` per change, `data` being the entity as
`GET /api/{{kind}}s/{{id}}` shows it to you now (null for a delete). An entity changed several times
since your cursor comes once, at the place of its last change.

- **Cursors**: start without `cursor` (from the beginning), then pass `nextCursor` back; repeat while
  `hasMore`. An empty page still has a `nextCursor`: poll with it. Cursors are opaque, survive restarts,
  and never skip a change committed while you read (nor repeat one within a pass). A cursor belongs to
  its `entities`: keep the selection the same throughout a pass.
- **Deletions** leave tombstones for `PUNCHCLOCK_CHANGES_RETENTION_DAYS` (default 30). A cursor that
  may have missed a purged tombstone gets 410: read the feed again from the beginning (without a
  cursor) and replace your copy.
- **What you see** is what your lists show. Customers, projects and activities: those the lists give you
  with `visible=3` (your team access); the customer entity only with the view permission on it, else
  the list's view. Users: with `view_user` the users the user list shows you, else only yourself. Teams:
  with `view_team`, the teams the team list shows you. Tags: all, hidden ones too (see `visible`).
  Timesheets: yours, and with `view_other_timesheet` those the list with `user=all` shows you (team
  rules included). An entity that exists but that you may not (or no longer) see comes as a `delete`,
  so applying every item keeps your copy equal to your lists. Deletions of users other than yourself
  need `view_user`, of teams `view_team`, of timesheets the same owner rule.
- Visibility is decided when you read: after your own roles or teams change, or a team's access to a
  customer changed its projects', resync. A view shows related entities as they are when it is read
  (a project's `parentTitle`, a team's members): their own changes come as their own items.
- `limit`: 1 to {MAX_LIMIT:,} (default {DEFAULT_LIMIT}); `entities`: a comma-separated selection of
  `customer,project,activity,user,team,tag,timesheet` (default all). Anything else is 400.
- `include=rates`: customers, projects and activities also carry `rates`, the list
  `GET /api/{{kind}}s/{{id}}/rates` gives, where you may read it (where you may edit the entity); the
  key is left out where you may not. A rate's change comes as a change of its entity. One request
  then replaces one per entity.
"""


def _responses() -> dict[str, Any]:
    kwargs = documented(ChangePage, errors=(400, 401, 410))
    kwargs["responses"][400]["description"] = "A bad `limit`, `entities`, `include` or `cursor`"
    kwargs["responses"][410]["description"] = "The cursor is older than the retention: resync in full"
    return kwargs


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    # (the length first: int() refuses thousands of digits with an error of its own)
    if not (value.isascii() and value.isdigit() and len(value) <= 4 and 1 <= int(value) <= MAX_LIMIT):
        raise KimaiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def _includes_rates(value: str | None) -> bool:
    names = {name.strip() for name in (value or "").split(",")} - {""}
    if not names <= INCLUDES:
        raise KimaiError(400, f"include must be a comma-separated list of: {', '.join(sorted(INCLUDES))}")
    return "rates" in names


def _kinds(value: str | None) -> list[str]:
    if value is None:
        return list(log.KINDS)
    names = [name.strip() for name in value.split(",")]
    if not all(name in log.KINDS for name in names):
        raise KimaiError(400, f"entities must be a comma-separated list of: {', '.join(log.KINDS)}")
    return list(dict.fromkeys(names))


class Purger:
    """Purges old tombstones at most once a minute per app, before a feed read (so the horizon that
    read checks is current), in a write transaction of its own."""

    def __init__(self) -> None:
        self._next = 0.0

    async def run_if_due(self, ctx: Context) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + PURGE_INTERVAL_SECONDS
        older_than = utcnow() - dt.timedelta(days=ctx.settings.changes_retention_days)
        await ctx.write(lambda s: log.purge(s, older_than=older_than))


def _purger(ctx: Context) -> Purger:
    state = ctx.request.app.state
    if not hasattr(state, "change_purger"):
        state.change_purger = Purger()
    purger: Purger = state.change_purger
    return purger


@router.get(
    "/changes",
    **_responses(),
    summary="The change feed: every change since a cursor, deletions included (extension)",
    description=DESCRIPTION,
)
async def list_changes(
    ctx: Ctx,
    cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page")] = None,
    limit: Annotated[str | None, Query(description=f"Items per page, 1 to {MAX_LIMIT}")] = None,
    entities: Annotated[
        str | None, Query(description="Comma-separated kinds, e.g. `timesheet,customer` (default all)")
    ] = None,
    include: Annotated[
        str | None, Query(description="`rates`: customers, projects and activities with their rates")
    ] = None,
) -> Response:
    after = feed.Position.read(cursor) if cursor is not None else None
    size, kinds, rates = _limit(limit), _kinds(entities), _includes_rates(include)
    await _purger(ctx).run_if_due(ctx)

    def work(s: Session) -> feed.Page:
        with collector.paused():
            return feed.read(s, ctx.caller, after=after, limit=size, kinds=kinds, rates=rates)

    page = await ctx.read(work)
    return ok({"items": page.items, "nextCursor": page.next.cursor(), "hasMore": page.has_more})
