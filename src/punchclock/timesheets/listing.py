"""Timesheet lists with SQLAlchemy Core: one query for the page, one per kind of side data.

X-Total-Count needs a count only when the page is full: a short page tells the total by itself
(a count over a million rows costs tens of milliseconds; most pages are short or first pages).

Pages are read in index order (``page_rows``). Keyset paging (extension): a ``Position`` (the
order, the last row's sort value and id) opens the next page with ``(key, id) > (value, id)``,
read from a ``(user_id, key, id)`` or ``(key, id)`` index, so a deep page costs what the first one
does; nothing is counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.entities.access import has_access
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, Kind
from punchclock.entities.listing import Record, record, visible_meta
from punchclock.entities.service import MAX_ID, term_filter
from punchclock.ext import cursor
from punchclock.kimai.errors import BadRequest, Forbidden, KimaiError
from punchclock.projects.models import Project
from punchclock.tags.models import Tag
from punchclock.teams.models import TeamMember
from punchclock.timesheets.access import led_users, team_filter
from punchclock.timesheets.models import Timesheet, TimesheetMeta, TimesheetTag
from punchclock.users.models import User
from punchclock.users.service import profile_of

T = Timesheet.__table__.c
ORDER_KEYS = {"id": T.id, "begin": T.begin, "end": T.end, "rate": T.rate}


@dataclass
class Filters:
    users: list[int] = field(default_factory=list)
    all_users: bool = False
    customers: list[int] = field(default_factory=list)
    projects: list[int] = field(default_factory=list)
    activities: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    begin: dt.datetime | None = None
    end: dt.datetime | None = None
    exported: bool | None = None
    active: bool | None = None
    billable: bool | None = None
    term: str | None = None
    modified_after: dt.datetime | None = None


def _known(ids: Iterable[int]) -> list[int]:
    return [i for i in dict.fromkeys(ids) if 0 < i <= MAX_ID]


def may_access_user(session: Session, caller: Caller, user: User) -> bool:
    """Kimai's ``access_user`` (the one rule in ``Caller.can_access_user``)."""
    return caller.can_access_user(profile_of(session, user))


def user_scope(session: Session, caller: Caller, filters: Filters) -> list[int] | None:
    """The owners whose records are listed (None: everybody's), as Kimai picks them: without
    ``view_other_timesheet`` the user filters are ignored and only one's own rows are listed."""
    if caller.can("view_other_timesheet"):
        if filters.all_users:
            return None if caller.sees_all else [caller.id, *led_users(session, caller)]
        wanted = _known(filters.users)
        users = list(session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
        for user in users:
            if not may_access_user(session, caller, user):
                raise Forbidden()
        if users:
            return [user.id for user in users]
    return [caller.id]


def _check_access(session: Session, caller: Caller, kind: Kind, ids: list[int]) -> list[int]:
    """Filter ids that exist; one the caller may not access is 403 (unknown ids are dropped)."""
    wanted = _known(ids)
    if not wanted:
        return []
    found = list(session.scalars(select(kind.model).where(kind.model.id.in_(wanted))))
    if not all(has_access(caller, kind.name, entity) for entity in found):
        raise Forbidden()
    return [entity.id for entity in found]


def build_query(session: Session, caller: Caller, filters: Filters) -> Select[Any]:
    """Rows of the list, unordered and unpaged (403/400 on filters Kimai refuses)."""
    clauses: list[ColumnElement[bool]] = []
    owners = user_scope(session, caller, filters)
    if owners is not None:
        clauses.append(T.user_id.in_(owners) if len(owners) > 1 else T.user_id == owners[0])
    customers = _check_access(session, caller, CUSTOMER, filters.customers)
    projects = _check_access(session, caller, PROJECT, filters.projects)
    activities = _check_access(session, caller, ACTIVITY, filters.activities)
    if filters.tags:
        # Kimai looks names up on MySQL, whose collation ignores case (tag names are unique that way).
        names = {name.lower() for name in filters.tags}
        tag_ids = list(
            session.scalars(select(Tag.id).where(func.lower(Tag.name).in_(names), Tag.visible.is_(True)))
        )
        if not tag_ids:
            raise BadRequest()  # "Given tags were not found"
        clauses.append(exists().where(TimesheetTag.timesheet_id == T.id, TimesheetTag.tag_id.in_(tag_ids)))
    if filters.begin is not None:
        clauses.append(T.begin >= filters.begin)
    if filters.end is not None:
        clauses.append(T.begin <= filters.end)  # Kimai's end filter compares the begin
    if filters.active is not None:
        clauses.append(T.end.is_(None) if filters.active else T.end.is_not(None))
    if filters.exported is not None:
        clauses.append(T.exported.is_(filters.exported))
    if filters.billable is not None:
        clauses.append(T.billable.is_(filters.billable))
    if filters.modified_after is not None:
        clauses.append(T.modified_at >= filters.modified_after)
    if activities:
        clauses.append(T.activity_id.in_(activities))
    if projects:
        clauses.append(T.project_id.in_(projects))
    if customers:
        clauses.append(T.project_id.in_(select(Project.id).where(Project.customer_id.in_(customers))))
    clauses.extend(team_filter(session, caller))
    if filters.term:
        clauses.append(term_filter(filters.term, [T.description], TimesheetMeta, T.id))
    return select(Timesheet.__table__).where(*clauses)  # none: every record (an admin's user=all)


def order(query: Select[Any], order_by: str, direction: str) -> Select[Any]:
    """The key, then the id the same way; a running record's missing end sorts as on MySQL
    (first ascending, last descending)."""
    key = ORDER_KEYS[order_by]
    descending = direction == "DESC"
    ordered = key.desc() if descending else key.asc()
    if key is T.end:
        # Only end can be null; NULLS clauses on the other keys would keep PostgreSQL off their indexes.
        ordered = ordered.nulls_last() if descending else ordered.nulls_first()
    return query.order_by(ordered, T.id.desc() if descending else T.id.asc())


# --- keyset paging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """A place in one order of the list: just after the row with this sort value and id."""

    order_by: str
    direction: str
    key: dt.datetime | float | int | None  # None: a running record's end
    id: int

    @classmethod
    def after(cls, row: Any, order_by: str, direction: str) -> Position:
        return cls(order_by, direction, getattr(row, order_by), row.id)

    def cursor(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, dt.datetime) else self.key
        return cursor.encode({"by": self.order_by, "dir": self.direction, "key": key, "id": self.id})

    @classmethod
    def read(cls, value: str, order_by: str, direction: str) -> Position:
        """The position of a cursor made by ``cursor()``: 400 "Invalid cursor" for anything else, and
        400 when the request asks for another order than the cursor's."""
        payload = cursor.decode(value)
        if payload.keys() != {"by", "dir", "key", "id"}:
            raise cursor.InvalidCursor()
        by, way, key, row_id = payload["by"], payload["dir"], payload["key"], payload["id"]
        if by not in ORDER_KEYS or way not in ("ASC", "DESC") or not _is_id(row_id):
            raise cursor.InvalidCursor()
        position = cls(by, way, _sort_value(by, key), row_id)
        if (by, way) != (order_by, direction):
            raise KimaiError(400, "The cursor belongs to another orderBy or order")
        return position


def _is_id(value: Any) -> bool:
    return type(value) is int and 0 < value <= MAX_ID


def _sort_value(order_by: str, key: Any) -> dt.datetime | float | int | None:
    """A cursor's sort value as the column holds it (InvalidCursor when it cannot be one)."""
    if order_by == "id" and _is_id(key):
        return int(key)
    if order_by == "rate" and type(key) in (int, float):
        return float(key)
    if order_by == "end" and key is None:
        return None
    if order_by in ("begin", "end") and isinstance(key, str):
        try:
            instant = dt.datetime.fromisoformat(key)
            if instant.tzinfo is not None:
                return instant.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
    raise cursor.InvalidCursor()


def page_rows(
    session: Session, query: Select[Any], order_by: str, direction: str, offset: int, size: int
) -> list[Any]:
    """Rows ``offset`` to ``offset + size`` of ``query`` (unordered, from ``build_query``) in the
    order of ``order``, each part read from an index (see ``ordered_parts``)."""
    rows: list[Any] = []
    for part in ordered_parts(query, order_by, direction):
        found = session.execute(part.limit(size - len(rows)).offset(offset)).all()
        rows += found
        if len(rows) == size:
            break
        if found:
            offset = 0  # this part ended within the page: the next one continues it
        elif offset:  # the page starts after this part: skip its rows too
            offset -= session.scalar(select(func.count()).select_from(part.order_by(None).subquery())) or 0
            offset = max(offset, 0)
    return rows


def keyset_page(
    session: Session, query: Select[Any], after: Position, size: int
) -> tuple[list[Any], Position | None]:
    """Up to ``size`` rows of ``query`` (unordered, from ``build_query``) that follow ``after`` in its
    order, and the position after the last of them when more rows follow (None on the last page)."""
    wanted = size + 1  # one more tells whether another page follows, without counting
    rows: list[Any] = []
    for part in keyset_queries(query, after):
        rows += session.execute(part.limit(wanted - len(rows))).all()
        if len(rows) == wanted:
            break
    if len(rows) <= size:
        return rows, None
    return rows[:size], Position.after(rows[size - 1], after.order_by, after.direction)


def ordered_parts(query: Select[Any], order_by: str, direction: str) -> list[Select[Any]]:
    """The list in the order of ``order`` as queries to read one after the other, each in the order
    of an index: ``end`` is null for running records, which come first ascending and last
    descending, and a NULLS clause would keep PostgreSQL off the index (it sorts all rows), so the
    running and the stopped records are two parts."""
    return _parts(query, order_by, direction, None)


def keyset_queries(query: Select[Any], after: Position) -> list[Select[Any]]:
    """The rows after ``after`` as queries to read one after the other, each a range of an index."""
    return _parts(query, after.order_by, after.direction, after)


def _parts(query: Select[Any], order_by: str, direction: str, after: Position | None) -> list[Select[Any]]:
    key = ORDER_KEYS[order_by]
    descending = direction == "DESC"

    def part(*clauses: ColumnElement[bool]) -> Select[Any]:
        columns = (T.id,) if key is T.id else (key, T.id)
        return query.where(*clauses).order_by(*(c.desc() if descending else c.asc() for c in columns))

    def later(row: Any, value: Any) -> ColumnElement[bool]:
        """After ``value`` in the list's direction."""
        comparison: ColumnElement[bool] = row < value if descending else row > value
        return comparison

    running, stopped = T.end.is_(None), T.end.is_not(None)
    if key is not T.end:
        if after is None:
            return [part()]
        return [
            part(later(T.id, after.id) if key is T.id else later(tuple_(key, T.id), (after.key, after.id)))
        ]
    if after is None:
        return [part(stopped), part(running)] if descending else [part(running), part(stopped)]
    if after.key is None:  # among the running records
        later_running = part(running, later(T.id, after.id))
        return [later_running] if descending else [later_running, part(stopped)]
    later_stopped = part(stopped, later(tuple_(T.end, T.id), (after.key, after.id)))
    return [later_stopped, part(running)] if descending else [later_stopped]


def with_side_data(session: Session, rows: Iterable[Any]) -> list[Record]:
    """Records with ``tags`` (names) and ``meta`` (visible custom fields), one query each."""
    rows = list(rows)
    ids = [row.id for row in rows]
    tags: Mapping[int, list[str]] = defaultdict(list)
    meta: Mapping[int, list[Any]] = {}
    if ids:
        query = (
            select(TimesheetTag.timesheet_id, Tag.name)
            .join(Tag, Tag.id == TimesheetTag.tag_id)
            .where(TimesheetTag.timesheet_id.in_(ids))
            .order_by(TimesheetTag.tag_id)
        )
        for timesheet_id, name in session.execute(query):
            tags[timesheet_id].append(name)  # type: ignore[index]
        meta = visible_meta(session, TimesheetMeta, ids)  # type: ignore[arg-type]
    return [record(row, tag_names=tags.get(row.id, []), meta=meta.get(row.id, [])) for row in rows]


def rate_visible(session: Session, caller: Caller, records: list[Record]) -> set[int]:
    """Ids of the records whose rates the caller may see (Kimai's per-record rate exclusion)."""
    own = caller.can("view_rate_own_timesheet")
    other = caller.can("view_rate_other_timesheet")
    visible = {r.id for r in records if r.user_id == caller.id and own}
    others = {r.user_id for r in records if r.user_id != caller.id}
    if not other or not others:
        return visible
    if caller.sees_all:
        allowed = others
    else:
        in_teams = set(session.scalars(select(TeamMember.user_id).where(TeamMember.user_id.in_(others))))
        allowed = (others - in_teams) | (others & set(led_users(session, caller)))
    return visible | {r.id for r in records if r.user_id in allowed}


def recent_rows(session: Session, caller: Caller, *, since: dt.datetime | None, limit: int) -> list[Any]:
    """The caller's latest record per (project, activity), by end, newest first."""
    latest = (
        select(func.max(T.id).label("id"))
        .where(T.user_id == caller.id)
        .group_by(T.project_id, T.activity_id)
        .order_by(func.max(T.id).desc())
        .limit(limit)
    )
    if since is not None:
        latest = latest.where(T.begin >= since)
    ids = list(session.scalars(latest))
    if not ids:
        return []
    query = (
        select(Timesheet.__table__)
        .where(T.id.in_(ids), *team_filter(session, caller))
        .order_by(T.end.desc().nulls_last(), T.id.desc())
    )
    return list(session.execute(query))


def favorite_rows(session: Session, caller: Caller, ids: list[int]) -> list[Any]:
    """The favorite records the caller may still see, in the favorites' order."""
    if not ids:
        return []
    query = select(Timesheet.__table__).where(T.id.in_(ids), *team_filter(session, caller))
    rows = {row.id: row for row in session.execute(query)}
    return [rows[i] for i in ids if i in rows]
