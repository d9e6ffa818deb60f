"""Punchclock's change feed (``GET /api/ext/changes``): upserts and deletions after a cursor.

Each kind is read on its own cursor (``entities=<kind>``), so ``--only`` can leave kinds behind and
catch them up later. Each page is one transaction together with the cursor after it. A first pass
reads the feed from the beginning; into a table that already holds rows (``--full``, a 410 for a
cursor older than the tombstones, another scope) it also notes every id it meets and, at its end,
deletes the rows it never met. Customers, projects and activities that changed come with their
rates (``include=rates``; a rate change marks its entity changed); where an item lacks them (a
server without that extension, an entity the token may not edit) they are asked for one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from punchclock.tools.client import ApiError
from punchclock.tools.sync import records
from punchclock.tools.sync.context import Context
from punchclock.tools.sync.http import read_ahead
from punchclock.tools.sync.records import Kind, Record, Row

PAGE = 1000  # the feed's largest page


def state_name(kind: Kind) -> str:
    return f"feed.{kind.name}"


class FeedSource:
    def __init__(self, context: Context) -> None:
        self.context = context

    def sync(self, kind: Kind) -> None:
        context = self.context
        state = context.state(state_name(kind)) or {}
        scope = context.scope.fingerprint()
        if context.options.full or state.get("scope") != scope or "cursor" not in state:
            self._pass(kind, self._fresh(kind), start=True)
            return
        try:
            self._pass(kind, state, start=False)
        except ApiError as exc:
            if exc.status != 410:
                raise
            context.warn(f"{kind.path}: the change feed no longer reaches back to the last run: full resync")
            self._pass(kind, self._fresh(kind), start=True)

    def _fresh(self, kind: Kind) -> dict[str, Any]:
        """A pass from the beginning. Rows already here may be gone from the server without a
        tombstone left to say so: the pass notes what it meets and deletes the rest at its end."""
        return {"cursor": None, "tracking": self.context.writer.count(kind) > 0}

    def _pass(self, kind: Kind, state: dict[str, Any], *, start: bool) -> None:
        context = self.context
        tracking = bool(state.get("tracking"))
        scope = context.scope.fingerprint()
        done = 0
        replies = self._replies(kind, state.get("cursor"))
        if kind is records.TIMESHEET:
            # Three stages, each in a thread of its own: requests back to back (the server always has
            # the next page to render), rows built from the page before, the target writing the one
            # before that (SQLite and the sockets let go of the GIL).
            replies = read_ahead(replies)
        pages: Iterator[Page] = (_prepare(kind, reply) for reply in replies)
        if kind is records.TIMESHEET:
            pages = read_ahead(pages)
        first = True
        for page in pages:
            rates = {**page.rates, **context.rates(kind, page.unrated)}
            with context.writer.batch() as batch:
                if first and start:
                    if tracking:
                        batch.forget_seen(kind)  # left by an earlier pass that did not finish
                    elif page.more:
                        batch.defer_indexes(kind)  # an empty table and more than a page to load
                    if kind in records.RATED and not context.scope.may_rates(kind):
                        batch.clear_rates(kind)
                first = False
                batch.delete(kind, page.deletes)
                batch.write(kind, page.upserts, track=tracking, force=context.options.full)
                for entity_id, rows in rates.items():
                    batch.replace_rates(kind, entity_id, rows)
                if not page.more:
                    batch.ensure_indexes(kind)
                    if tracking:
                        batch.delete_unseen(kind)
                        tracking = False
                batch.state[state_name(kind)] = {"cursor": page.cursor, "tracking": tracking, "scope": scope}
            done += page.items
            context.advance(kind, done, None)

    def _replies(self, kind: Kind, cursor: str | None) -> Iterator[dict[str, Any]]:
        """The feed's pages as they come, until the feed is read to its end."""
        while True:
            params: dict[str, Any] = {"entities": kind.name, "limit": PAGE}
            if kind in records.RATED and self.context.scope.may_rates(kind):
                params["include"] = "rates"
            if cursor is not None:
                params["cursor"] = cursor
            reply = self.context.client.get("ext/changes", params)
            yield reply
            if not reply["hasMore"]:
                return
            cursor = str(reply["nextCursor"])


def _prepare(kind: Kind, reply: dict[str, Any]) -> Page:
    items = list(reply["items"])
    upserts: dict[Any, Record] = {}
    rates: dict[int, list[Row]] = {}
    for item in items:
        if item["op"] == "upsert":
            data = item["data"]
            record = kind.record(data)
            upserts[record.key] = record  # (the feed has each entity once a page; to be sure)
            if "rates" in data:
                rates[record.key] = records.rate_rows(kind.name, record.key, data["rates"] or ())
    deletes = [int(item["id"]) for item in items if item["op"] == "delete"]
    unrated = [key for key in upserts if key not in rates] if kind in records.RATED else []
    more = bool(reply["hasMore"])
    return Page(list(upserts.values()), deletes, str(reply["nextCursor"]), more, len(items), rates, unrated)


@dataclass(frozen=True)
class Page:
    """A page of the feed made ready to write."""

    upserts: list[Record]
    deletes: list[int]
    cursor: str  # the feed's position after this page
    more: bool
    items: int
    rates: dict[int, list[Row]]  # the rates the items carried, by entity id
    unrated: list[int]  # entities of a rated kind that came without them
