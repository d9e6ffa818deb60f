"""A real Kimai 2 (no change feed): whole entity lists, timesheets by ``modified_after``, id
reconciliation for deletions.

- Entity lists are one request each, hidden and ended entities included (``visible=3``,
  ``ignoreDates=1``); Kimai ignores ``page``/``size`` there, so they are never paged. Rows that no
  longer come are deleted (also those the token may no longer see). Customers that are new or
  changed are read once more in detail (contact, e-mail… are not in the list), and new or changed
  customers, projects and activities get their rates; ``--reconcile``, ``--full`` and a change of
  the token's roles or teams refresh both for all.
- Timesheets: ``user=all``, pages of 500 in id order, following ``X-Total-Pages`` and ending on a
  404 past the last page. A delta asks for ``modified_after`` = the server's time when the last pass
  started, minus an overlap, in UTC in Kimai's strict form (it compares in UTC). Rows whose
  modification time is NULL never match: the first pass and ``--reconcile`` read everything.
- Deletions of timesheets: ``--reconcile`` reads every page, notes the ids in ``sync_seen`` and
  deletes the rows it did not meet; a few such rows are first asked for one by one, so a row that
  moved between pages while they were read is not lost.
- Page numbers shift when rows are deleted meanwhile: when the total drops between pages, reading
  steps back by as many pages, so no row is skipped (some are read twice, which costs nothing).
- Tags: ``/api/tags`` names the visible ones; a name on a timesheet that is not listed is a hidden
  tag. Kimai does not mark timesheets changed when a tag is deleted: the name stays on them until a
  ``--reconcile`` reads them again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from punchclock.tools.client import ApiError, PermissionDenied
from punchclock.tools.sync import records, schema
from punchclock.tools.sync.context import Context
from punchclock.tools.sync.http import read_ahead
from punchclock.tools.sync.records import Kind, Record, View

PAGE_SIZE = 500  # Kimai's largest page
OVERLAP = dt.timedelta(minutes=15)  # transactions still open, clocks a little apart
VERIFY_MAX = 100  # unseen timesheets asked for one by one before deleting them
STATE = "kimai.timesheets"
# Only in the entity view of a timesheet; rows from the list lack them.
_ENTITY_ONLY = ("fixedRate", "hourlyRate")


def strict_utc(value: dt.datetime) -> str:
    """Kimai's ``modified_after``: ``YYYY-MM-DDTHH:MM:SS`` in UTC, no offset, no fraction."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class KimaiSource:
    def __init__(self, context: Context) -> None:
        self.context = context

    def sync(self, kind: Kind) -> None:
        if kind is records.TIMESHEET:
            self._timesheets()
        elif kind is records.TAG:
            self._tags()
        else:
            self._entities(kind)

    # --- entities -------------------------------------------------------------------------------------

    def _list(self, kind: Kind) -> list[View]:
        """Every ``kind`` the token may see: what the target should hold of it. A token that may
        not list users sees itself; one that may not list teams sees none."""
        context, client = self.context, self.context.client
        try:
            if kind is records.USER:
                if context.scope.can("view_user"):
                    return list(client.get("users", {"visible": 3, "full": 1}))
                return [context.me]
            if kind is records.TEAM:
                if not context.scope.can("view_team"):
                    return []
                views = []  # the list lacks members and links: each team's own view has them
                for answer in context.fan.get_all([f"teams/{team['id']}" for team in client.get("teams")]):
                    if isinstance(answer, ApiError):
                        if answer.status == 404:  # deleted since it was listed
                            continue
                        raise answer
                    views.append(answer)
                return views
            if kind is records.CUSTOMER:
                return list(client.get("customers", {"visible": 3, "full": 1}))
            if kind is records.PROJECT:
                return list(client.get("projects", {"visible": 3, "ignoreDates": 1}))
            return list(client.get("activities", {"visible": 3}))
        except PermissionDenied:
            # A Kimai whose roles are configured otherwise: say so, and go on with the rest.
            context.warn(f"{kind.path}: the server refused to list them (403): they are not synced")
            return [context.me] if kind is records.USER else []

    def _entities(self, kind: Kind) -> None:
        context = self.context
        found = [kind.record(view) for view in self._list(kind)]
        refresh = context.options.full or context.options.reconcile or context.rescoped(kind)
        stored = context.writer.hashes(kind, [r.key for r in found])
        stale = [r for r in found if refresh or stored.get(r.key) != r.hash]
        if kind is records.CUSTOMER:
            stale = self._detailed(stale)
        rates = context.rates(kind, [int(r.key) for r in stale])
        gone = context.writer.keys(kind) - {r.key for r in found}
        with context.writer.batch() as batch:
            batch.write(kind, stale, force=refresh)
            if kind in records.RATED and not context.scope.may_rates(kind):
                batch.clear_rates(kind)
            for entity_id, rows in rates.items():
                batch.replace_rates(kind, entity_id, rows)
            batch.delete(kind, sorted(gone))
        context.advance(kind, len(found), len(found))

    def _detailed(self, found: list[Record]) -> list[Record]:
        """Customers with the fields only their entity view has, keeping the fingerprint of their
        list view (which is what the next run compares)."""
        context = self.context
        if not found or not context.scope.can("view_customer"):
            return found
        answers = context.fan.get_all([f"customers/{record.key}" for record in found])
        detailed = []
        for record, answer in zip(found, answers, strict=True):
            if isinstance(answer, ApiError):
                if answer.status not in (403, 404):  # 404: deleted meanwhile; 403: not this one
                    raise answer
                detailed.append(record)
                continue
            better = records.CUSTOMER.record(answer)
            better.hash = better.row["sync_hash"] = record.hash
            detailed.append(better)
        return detailed

    def _tags(self) -> None:
        """Listed names are visible tags; names only on timesheets are hidden ones; the rest went."""
        context = self.context
        listed = {str(name) for name in context.client.get("tags")}
        tag, links = schema.tag, schema.timesheet_tag
        with context.writer.target.engine.connect() as connection:
            used = set(connection.scalars(select(links.c.tag_name).distinct()))
            stored = set(connection.scalars(select(tag.c.name)))
        views = [{"name": name, "visible": True} for name in sorted(listed)]
        views += [{"name": name, "visible": False} for name in sorted(used - listed)]
        with context.writer.batch() as batch:
            batch.upsert(records.TAG, views, force=context.options.full)
            batch.delete(records.TAG, sorted(stored - listed - used), column="name")
        context.advance(records.TAG, len(views), len(views))

    # --- timesheets -----------------------------------------------------------------------------------

    def _timesheets(self) -> None:
        context = self.context
        kind = records.TIMESHEET
        state = context.state(STATE) or {}
        scope = context.scope.fingerprint()
        current = state.get("pass")
        explicit = context.options.full or context.options.reconcile
        if current is None or explicit or current.get("scope") != scope:
            watermark = state.get("watermark") if state.get("scope") == scope else None
            full = explicit or watermark is None
            current = {
                "full": full,
                "modified_after": None if full else watermark,
                "page": 1,
                "started": strict_utc(context.started),
                "tracking": full and context.writer.count(kind) > 0,
                "scope": scope,
            }
            with context.writer.batch() as batch:
                if current["tracking"]:
                    batch.forget_seen(kind)  # left by an earlier pass that did not finish
                elif full:
                    batch.defer_indexes(kind)  # a first load into an empty table
        else:
            # Resumed: rows may have moved while nobody read; one page back catches them.
            current = {**current, "page": max(1, int(current["page"]) - 1)}
        tracking = bool(current["tracking"])
        done = 0
        for views, next_page, total in read_ahead(self._pages(current)):
            with context.writer.batch() as batch:
                batch.upsert(kind, views, track=tracking, force=context.options.full)
                batch.state[STATE] = {**state, "pass": {**current, "page": next_page, "total": total}}
            done += len(views)
            context.advance(kind, done, total)
        if tracking:
            self._verify_unseen()
        started = dt.datetime.fromisoformat(str(current["started"])).replace(tzinfo=dt.UTC)
        with context.writer.batch() as batch:
            batch.ensure_indexes(kind)
            if tracking:
                batch.delete_unseen(kind)
            batch.state[STATE] = {"watermark": strict_utc(started - OVERLAP), "scope": scope, "pass": None}

    def _pages(self, current: dict[str, Any]) -> Iterator[tuple[list[View], int, int | None]]:
        """(rows, the page to read next, the total) until the last page, or a 404 past it."""
        page = int(current["page"])
        # (a resumed pass compares with the total its last page saw: rows deleted while nobody read
        # move the rest to earlier pages)
        previous_total: int | None = current.get("total")
        while True:
            params: dict[str, Any] = {
                "user": "all",
                "size": PAGE_SIZE,
                "page": page,
                "orderBy": "id",
                "order": "ASC",
            }
            if current["modified_after"] is not None:
                params["modified_after"] = current["modified_after"]
            try:
                reply = self.context.client.request("GET", "timesheets", params=params)
            except ApiError as exc:
                if exc.status == 404:  # past the last page: rows went while we read
                    return
                raise
            views = list(reply.body)
            total = _header_int(reply.headers.get("x-total-count"))
            pages = _header_int(reply.headers.get("x-total-pages"))
            if pages is None:  # not Kimai's headers: go on while pages come full, until a 404
                pages = page + 1 if len(views) >= PAGE_SIZE else page
            following = page + 1
            if total is not None and previous_total is not None and total < previous_total:
                following = max(1, page - math.ceil((previous_total - total) / PAGE_SIZE))
            previous_total = total if total is not None else previous_total
            yield views, following, total
            if following > pages or (not views and following > page):
                return
            page = following

    def _verify_unseen(self) -> None:
        """Rows the pass did not meet, asked for one by one when they are few: kept if they exist."""
        context = self.context
        kind = records.TIMESHEET
        candidates = context.writer.unseen(kind, VERIFY_MAX + 1)
        if not candidates or len(candidates) > VERIFY_MAX:
            return
        alive = []
        for timesheet_id in candidates:
            try:
                view = context.client.get(f"timesheets/{timesheet_id}")
            except ApiError as exc:
                if exc.status in (403, 404):  # gone, or no longer for this token's eyes
                    continue
                raise
            alive.append({key: value for key, value in view.items() if key not in _ENTITY_ONLY})
        if alive:
            with context.writer.batch() as batch:
                batch.upsert(kind, alive, track=True)


def _header_int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None
