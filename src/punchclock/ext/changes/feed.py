"""Reading the change feed: one page of the log after a position, as the caller may see it.

The log is read in seq order up to a bound taken first: every seq up to it is committed (see
``log``), so a page never steps over a change still to come. Each row becomes one item; its data is
the entity as it is now, rendered in batches per kind (Core and the listing helpers for
timesheets). An entity the caller may not (or no longer) see comes as a delete, so applying the
feed keeps a copy equal to what the caller's lists show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from punchclock.activities import render as activity_render
from punchclock.auth.permissions import Caller
from punchclock.customers import render as customer_render
from punchclock.customers.models import Customer
from punchclock.db import utcnow
from punchclock.entities import service as entity_service
from punchclock.entities.access import has_access
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, voter_teams
from punchclock.entities.kinds import Kind as EntityKind
from punchclock.entities.routes import rate_view
from punchclock.ext import cursor
from punchclock.ext.changes.log import KINDS, LOG, horizon, last_seq
from punchclock.kimai.datetimes import format_datetime
from punchclock.kimai.errors import Gone
from punchclock.projects import render as project_render
from punchclock.tags import render as tag_render
from punchclock.tags.models import Tag
from punchclock.teams.models import Team
from punchclock.teams.routes import entity_view as team_view
from punchclock.timesheets import listing
from punchclock.timesheets import render as timesheet_render
from punchclock.timesheets.access import led_users, team_filter
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import User
from punchclock.users.preferences import Prepared
from punchclock.users.service import entity_view as user_view

View = dict[str, Any]


MAX_SEQ = 2**31 - 1  # the column's range
RESYNC = (
    "This cursor is older than the change feed keeps deletions: resync in full, "
    "reading the feed again without a cursor."
)


@dataclass(frozen=True)
class Position:
    """A place in the feed: after the change ``seq``, in a pass that started reading at ``since``
    (from the beginning, or from the end of an empty feed)."""

    seq: int
    since: dt.datetime

    def cursor(self) -> str:
        return cursor.encode({"s": self.seq, "t": round(self.since.timestamp() * 1_000_000)})

    @classmethod
    def read(cls, value: str) -> Position:
        payload = cursor.decode(value)
        seq, since = payload.get("s"), payload.get("t")
        if payload.keys() != {"s", "t"} or type(seq) is not int or type(since) is not int:
            raise cursor.InvalidCursor()
        if not 0 <= seq <= MAX_SEQ:
            raise cursor.InvalidCursor()
        try:
            return cls(seq, dt.datetime.fromtimestamp(since / 1_000_000, dt.UTC))
        except (OverflowError, OSError, ValueError):
            raise cursor.InvalidCursor() from None


@dataclass(frozen=True)
class Page:
    items: list[View]
    next: Position
    has_more: bool


class Scope:
    """What the caller may see of each kind, decided once per page; ``rates``: customers, projects
    and activities carry their rates where the caller may read them."""

    def __init__(self, session: Session, caller: Caller, *, rates: bool = False) -> None:
        self.caller = caller
        self.rates = rates
        self.all_users = caller.can("view_user")
        self.all_teams = caller.can("view_team")
        # Timesheet owners as the list with user=all has them (None: everybody's).
        self.owners: list[int] | None
        if caller.can("view_other_timesheet"):
            self.owners = None if caller.sees_all else [caller.id, *led_users(session, caller)]
        else:
            self.owners = [caller.id] if caller.can("view_own_timesheet") else []

    def rows(self, kinds: Sequence[str]) -> list[ColumnElement[bool]]:
        """SQL for the log rows worth reading, one condition per kind (each reads its own range of
        the (entity, seq) index): the kinds asked for, without the rows the caller may never see
        (other users' timesheets; other users, and teams, without the list permissions)."""
        clauses: list[ColumnElement[bool]] = []
        for kind in kinds:
            clause = LOG.c.entity == kind
            if kind == "user" and not self.all_users:
                clause = and_(clause, LOG.c.entity_id == self.caller.id)
            elif (kind == "team" and not self.all_teams) or (kind == "timesheet" and self.owners == []):
                continue
            elif kind == "timesheet" and self.owners is not None:
                moved = LOG.c.previous_owner_id.in_(self.owners)
                clause = and_(clause, or_(LOG.c.owner_id.in_(self.owners), moved))
            clauses.append(clause)
        return clauses


def read(
    session: Session,
    caller: Caller,
    *,
    after: Position | None,
    limit: int,
    kinds: Sequence[str],
    rates: bool = False,
) -> Page:
    """Up to ``limit`` items after ``after`` (None: from the beginning). Gone (410) when tombstones
    this pass may need were purged: the position is before the horizon and the pass started before
    the newest purged deletion (a pass started later never saw what those deleted)."""
    purged = horizon(session)
    if after is None:
        after = Position(0, utcnow())
    elif after.seq < purged.seq and (purged.until is None or after.since <= purged.until):
        raise Gone(RESYNC)
    scope = Scope(session, caller, rates=rates)
    # Read first: every seq up to it is committed, and purged seqs lie below the horizon.
    bound = max(last_seq(session), purged.seq)
    columns = (LOG.c.seq, LOG.c.entity, LOG.c.entity_id, LOG.c.op, LOG.c.modified_at)
    rows: list[Any] = []
    for clause in scope.rows(kinds):
        query = select(*columns).where(clause, LOG.c.seq > after.seq, LOG.c.seq <= bound)
        rows += session.execute(query.order_by(LOG.c.seq).limit(limit + 1)).all()
    rows.sort(key=lambda row: row.seq)
    has_more = len(rows) > limit
    rows = rows[:limit]
    views = _render(session, scope, rows)
    stamps: dict[dt.datetime, str | None] = {}  # the changes of one transaction share their time
    items = []
    for row in rows:
        view = views.get((row.entity, row.entity_id))
        if (stamp := stamps.get(row.modified_at)) is None:
            stamp = stamps[row.modified_at] = format_datetime(row.modified_at, "UTC")
        items.append(
            {
                "entity": row.entity,
                "id": row.entity_id,
                "op": "delete" if view is None else "upsert",
                "modifiedAt": stamp,
                "data": view,
            }
        )
    # A short page has read all up to the bound: the rows it skipped are none of the caller's.
    seq = rows[-1].seq if has_more else max(after.seq, bound)
    return Page(items, Position(seq, after.since), has_more)


def _render(session: Session, scope: Scope, rows: Sequence[Any]) -> dict[tuple[str, int], View]:
    """The views of the upserted entities the caller may see, by (kind, id)."""
    wanted: dict[str, list[int]] = {}
    for row in rows:
        if row.op == "upsert":
            wanted.setdefault(row.entity, []).append(row.entity_id)
    views: dict[tuple[str, int], View] = {}
    for kind, ids in wanted.items():
        for entity_id, view in _RENDERERS[kind](session, scope, ids).items():
            views[(kind, entity_id)] = view
    return views


Renderer = Callable[[Session, Scope, list[int]], Mapping[int, View]]


def _customers(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
    """As ``GET /api/customers/{id}`` where the caller may view the customer, else as the list
    shows it (with the details only for ``details_customer``)."""
    caller = scope.caller
    details = caller.can("details_customer")
    views = {}
    shown = [
        c
        for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))
        if has_access(caller, "customer", c)
    ]
    for c in shown:
        if caller.may("view", "customer", voter_teams("customer", c)):
            views[c.id] = customer_render.entity(c, caller)
        else:
            views[c.id] = customer_render.collection(c, caller, full=details)
    return _with_rates(session, scope, CUSTOMER, shown, views)


def _entities(kind: EntityKind, render: Callable[[Any, Caller], View]) -> Renderer:
    """Projects or activities: as ``GET /api/{kind}s/{id}``, for those the caller has access to."""

    def views(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
        caller, model = scope.caller, kind.model
        rows = session.scalars(select(model).where(model.id.in_(ids)))
        shown = [e for e in rows if has_access(caller, kind.name, e)]
        return _with_rates(session, scope, kind, shown, {e.id: render(e, caller) for e in shown})

    return views


def _with_rates(
    session: Session, scope: Scope, kind: EntityKind, entities: list[Any], views: dict[int, View]
) -> dict[int, View]:
    """With ``include=rates``: ``rates`` as ``GET /api/{kind}s/{id}/rates`` has them, in the views
    of the entities whose rates the caller may read (the others go without the key)."""
    if scope.rates:
        found = entity_service.rates_of(session, caller=scope.caller, kind=kind, entities=entities)
        for entity_id, rates in found.items():
            views[entity_id]["rates"] = [rate_view(rate, session) for rate in rates]
    return views


def _users(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
    """As ``GET /api/users/{id}``; others than oneself as the user list has them."""
    caller = scope.caller
    query = select(User).where(User.id.in_(ids))
    if scope.all_users and not caller.sees_all:
        query = query.where(User.id.in_([caller.id, *led_users(session, caller)]))
    elif not scope.all_users:
        query = query.where(User.id == caller.id)
    views = session.scalars(query.options(selectinload(User.preferences)))
    return {u.id: user_view(session, caller=caller, user=u, mode=Prepared.BOOTING) for u in views}


def _teams(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
    """As ``GET /api/teams/{id}``, for the teams the team list shows."""
    caller = scope.caller
    if not scope.all_teams:
        return {}
    query = select(Team).where(Team.id.in_(ids))
    if not caller.sees_all:
        query = query.where(Team.id.in_(caller.lead_team_ids))
    return {t.id: team_view(session, t) for t in session.scalars(query)}


def _tags(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
    """Every tag, hidden ones too (``visible`` says which): everybody may list and use tags."""
    return {t.id: tag_render.entity(t) for t in session.scalars(select(Tag).where(Tag.id.in_(ids)))}


# What the entity view shows (not: created_at, billable_mode, category; each datetime costs).
_SHOWN = [c for c in Timesheet.__table__.c if c.key not in ("created_at", "billable_mode", "category")]


class _Row:
    """A result row as ``with_side_data`` reads it, whose ``_asdict`` is free: SQLAlchemy's builds a
    view of the keys anew for each row, a fifth of the time a page of timesheets takes."""

    __slots__ = ("_values", "id")

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values
        self.id = values["id"]

    def _asdict(self) -> dict[str, Any]:
        return self._values


def _timesheets(session: Session, scope: Scope, ids: list[int]) -> Mapping[int, View]:
    """As ``GET /api/timesheets/{id}``, for the records the list with user=all shows."""
    t = Timesheet.__table__.c
    # (one expanding parameter: a thousand literals cost more to coerce than the query to run)
    query = select(*_SHOWN).where(
        t.id.in_(bindparam("ids", expanding=True)), *team_filter(session, scope.caller)
    )
    if scope.owners is not None:
        query = query.where(t.user_id.in_(scope.owners))
    result = session.execute(query, {"ids": ids})
    keys = list(result.keys())
    records = listing.with_side_data(session, (_Row(dict(zip(keys, row, strict=True))) for row in result))
    rates = listing.rate_visible(session, scope.caller, records)
    return {r.id: timesheet_render.entity(r, rates=r.id in rates) for r in records}


_RENDERERS: dict[str, Renderer] = {
    "customer": _customers,
    "project": _entities(PROJECT, project_render.entity),
    "activity": _entities(ACTIVITY, activity_render.entity),
    "user": _users,
    "team": _teams,
    "tag": _tags,
    "timesheet": _timesheets,
}
assert set(_RENDERERS) == set(KINDS)
