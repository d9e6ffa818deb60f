"""Timesheet rows: reading their times, users and tags, and writing them through the API.

A row holds Date (YYYY-MM-DD), From and To (24-hour H:MM or H:MM:SS; a To before From ends on the next
day, 24:00 is midnight) or Duration (H:MM, H:MM:SS or decimal hours), and optionally User (username or
e-mail), Description and Tags (comma-separated). Times are local times of the token's user, as Kimai
reads them. A timesheet counts as already present when the server has one of the same user, project,
activity, begin and end (to the minute), so importing a file twice creates nothing the second time.

Servers with ``POST /api/ext/bulk/timesheets`` (Punchclock) get the timesheets in batches, each with an
``externalId`` made from what identifies it (that same user, project, activity, begin and end): a batch
sent again, after a timeout say, creates nothing twice. Other servers (Kimai) get one POST each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from punchclock.tools.client import (
    EXIT_PERMISSION,
    EXIT_UNREACHABLE,
    ApiError,
    KimaiClient,
    PermissionDenied,
    Rejected,
    describe,
)
from punchclock.tools.directory import (
    ACTIVITY,
    CUSTOMER,
    PROJECT,
    Directory,
    ImportFailed,
    RowError,
    Tally,
    checked_name,
    lookup,
)
from punchclock.tools.table import Row

DATE, FROM, TO, DURATION, USER = "Date", "From", "To", "Duration", "User"
DESCRIPTION, TAGS = "Description", "Tags"
NAMES = (CUSTOMER.column, PROJECT.column, ACTIVITY.column)
COLUMNS = (DATE, FROM, TO, DURATION, USER, *NAMES, DESCRIPTION, TAGS)
TAG_MIN, TAG_MAX = 2, 100
PAGE_SIZE = 500  # Kimai's largest page of timesheets
BULK_PATH = "ext/bulk/timesheets"
BULK_SIZE = 500
# Servers refuse bodies over 1 MiB (Punchclock answers 413): a batch stays below, with room to spare.
BULK_BYTES = 1_000_000

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_HOURS = re.compile(r"^(\d+)(?:[.,](\d+))?$")
# What makes a timesheet "already present": user (None: the token's), begin, end, project, activity.
Identity = tuple[int | None, dt.datetime, dt.datetime, int, int]


@dataclass(frozen=True)
class Entry:
    """A row that passed the local checks."""

    line: int
    begin: dt.datetime  # naive: a local time of the token's user
    end: dt.datetime
    user: str
    customer: str
    project: str
    activity: str
    description: str
    tags: tuple[str, ...]


def read_entry(row: Row) -> Entry:
    customer, project, activity = (checked_name(column, row.get(column)) for column in NAMES)
    begin, end = _times(row)
    return Entry(
        row.line,
        begin,
        end,
        user=row.get(USER),
        customer=customer,
        project=project,
        activity=activity,
        description=row.get(DESCRIPTION),
        tags=_tags(row.get(TAGS)),
    )


def _times(row: Row) -> tuple[dt.datetime, dt.datetime]:
    day = _date(row.get(DATE))
    start = _clock(FROM, row.get(FROM), allow_midnight=False)
    if start is None:
        raise RowError("From is empty")
    begin = dt.datetime.combine(day, dt.time()) + start
    until, duration = _clock(TO, row.get(TO), allow_midnight=True), _duration(row.get(DURATION))
    if until is None and duration is None:
        raise RowError("To and Duration are both empty")
    end = None
    try:
        if until is not None:
            end = dt.datetime.combine(day, dt.time()) + until
            if end < begin:  # an overnight entry
                end += dt.timedelta(days=1)
        if duration is not None:
            if end is not None and end - begin != duration:
                raise RowError(f"To {row.get(TO)} and Duration {row.get(DURATION)} disagree")
            end = begin + duration
    except OverflowError:
        raise RowError("the end is after 9999-12-31") from None
    assert end is not None
    return begin, end


def _date(value: str) -> dt.date:
    match = _DATE.match(value)
    if not value:
        raise RowError("Date is empty")
    try:
        if match is None:
            raise ValueError
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise RowError(f"Date {value!r} is not a date (YYYY-MM-DD)") from None


def _clock(column: str, value: str, *, allow_midnight: bool) -> dt.timedelta | None:
    """A 24-hour time as the offset from midnight; ``24:00`` is the next midnight (for To)."""
    if not value:
        return None
    match = _CLOCK.match(value)
    hours, minutes, seconds = (int(match[1]), int(match[2]), int(match[3] or 0)) if match else (99, 0, 0)
    midnight = hours == 24 and minutes == seconds == 0 and allow_midnight
    if minutes > 59 or seconds > 59 or (hours > 23 and not midnight):
        raise RowError(f"{column} {value!r} is not a time (HH:MM, 24-hour)")
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _duration(value: str) -> dt.timedelta | None:
    if not value:
        return None
    clock = _CLOCK.match(value) if value.count(":") else None
    if clock and int(clock[2]) < 60 and int(clock[3] or 0) < 60:
        return dt.timedelta(hours=int(clock[1]), minutes=int(clock[2]), seconds=int(clock[3] or 0))
    hours = _HOURS.match(value)
    if hours:
        try:
            return dt.timedelta(hours=float(f"{hours[1]}.{hours[2] or 0}"))
        except OverflowError:
            raise RowError(f"Duration {value!r} is too long") from None
    raise RowError(f"Duration {value!r} is not a duration (H:MM or decimal hours)")


def _tags(value: str) -> tuple[str, ...]:
    tags: dict[str, None] = {}
    for part in value.split(","):
        name = part.strip()
        if not name:
            continue
        if not TAG_MIN <= len(name) <= TAG_MAX:
            raise RowError(f"tag {name!r} must have {TAG_MIN} to {TAG_MAX} characters")
        tags[name] = None
    return tuple(tags)


def _minute(value: dt.datetime, *, up: bool) -> dt.datetime:
    """Kimai's default rounding: begin floored, end ceiled to the minute."""
    floor = value.replace(second=0, microsecond=0)
    return floor + dt.timedelta(minutes=1) if up and floor != value else floor


class Timesheets:
    """Writes entries: users and tags resolved, master data through ``directory``, duplicates skipped.

    ``done(line, error)`` is called once per entry, when the server has answered for it (with bulk
    writes that is later than ``add``), with None or the reason it failed."""

    def __init__(
        self,
        client: KimaiClient,
        directory: Directory,
        *,
        dry_run: bool,
        plan: Callable[[str], None],
        done: Callable[[int, str | None], None],
    ) -> None:
        self.client = client
        self.directory = directory
        self.dry_run = dry_run
        self.plan = plan
        self.done = done
        self.tallies = {"tags": Tally(), "timesheets": Tally()}
        self.permission_denied = False
        self._users: dict[str, int] = {}
        self._by_user = False  # the file names users: identities carry user ids
        self._me: int | None = None
        self._tags: set[str] = set()
        self._failed_tags: dict[str, str] = {}
        self._counted_tags: set[str] = set()
        self._existing: set[Identity] = set()
        self._bulk_size = 0
        self._queue: list[tuple[int, Identity, dict[str, Any]]] = []
        self._queued_bytes = 0

    def load(self, entries: Iterable[Entry]) -> None:
        """Users (only if the file names any), tags, the timesheets already in the file's date range,
        and whether the server offers bulk writes."""
        entries = list(entries)
        caller_zone = None
        self._by_user = by_user = any(entry.user for entry in entries)
        if by_user:
            caller_zone = self._load_users()
        tags = lookup(self.client, "tags").body
        self._tags = {name for name in tags if isinstance(name, str)} if isinstance(tags, list) else set()
        if entries:
            first = min(entry.begin for entry in entries).date()
            last = max(entry.begin for entry in entries).date()
            self._load_existing(first, last, by_user=by_user, caller_zone=caller_zone)
        if not self.dry_run:
            self._bulk_size = self._bulk_route()

    def _load_users(self) -> ZoneInfo | None:
        """Users by username and e-mail (case-insensitive); returns the token user's timezone."""
        try:
            users = self.client.get("users", {"visible": 3})
            me = self.client.get("users/me")
        except PermissionDenied:
            raise ImportFailed(
                EXIT_PERMISSION,
                f"the User column needs a token that may list users (GET {self.client.base_url}users "
                "answered 403; in Kimai's default permissions only ROLE_SUPER_ADMIN may)",
            ) from None
        except Rejected as exc:
            raise ImportFailed(
                EXIT_UNREACHABLE,
                f"the User column needs GET {self.client.base_url}users and users/me: {exc.message}",
            ) from None
        for user in users if isinstance(users, list) else ():
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                for key in ("username", "email"):
                    if isinstance(user.get(key), str):
                        self._users.setdefault(user[key].casefold(), user["id"])
        self._me = me.get("id") if isinstance(me, dict) else None
        try:
            return ZoneInfo(me["timezone"])
        except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
            return None

    def _load_existing(
        self, first: dt.date, last: dt.date, *, by_user: bool, caller_zone: ZoneInfo | None
    ) -> None:
        """Timesheets that begin in [first, last], pages of 500. Their times come in each record's
        zone; ours are the token user's local times, so theirs are converted to that zone."""
        params: dict[str, Any] = {
            "begin": f"{first.isoformat()}T00:00:00",
            "end": f"{last.isoformat()}T23:59:59",
            "size": PAGE_SIZE,
            "orderBy": "id",
            "order": "ASC",
        }
        if by_user:
            params["user"] = "all"
        page = 1
        while True:
            reply = lookup(self.client, "timesheets", {**params, "page": page})
            for record in reply.body if isinstance(reply.body, list) else ():
                identity = self._identity_of(record, by_user=by_user, zone=caller_zone)
                if identity is not None:
                    self._existing.add(identity)
            pages = reply.headers.get("X-Total-Pages", "1")
            if not pages.isdigit() or page >= int(pages):
                return
            page += 1

    def _identity_of(self, record: Any, *, by_user: bool, zone: ZoneInfo | None) -> Identity | None:
        try:
            begin = dt.datetime.strptime(record["begin"], "%Y-%m-%dT%H:%M:%S%z")
            end = dt.datetime.strptime(record["end"], "%Y-%m-%dT%H:%M:%S%z")
            if zone is not None:
                begin, end = begin.astimezone(zone), end.astimezone(zone)
            project, activity = record["project"], record["activity"]
            user = record["user"] if by_user else None
        except (KeyError, TypeError, ValueError):
            return None  # a running record (no end) or an unexpected shape: nothing to match
        local = _minute(begin.replace(tzinfo=None), up=False), _minute(end.replace(tzinfo=None), up=True)
        return (user, *local, project, activity)

    def _bulk_route(self) -> int:
        """The batch size if the server's OpenAPI document lists ``POST /api/ext/bulk/timesheets``, else 0."""
        try:
            document = self.client.get("doc.json")
        except ApiError:  # Kimai serves no document: plain POSTs
            return 0
        paths = document.get("paths") if isinstance(document, dict) else None
        operation = paths.get(f"/api/{BULK_PATH}", {}).get("post") if isinstance(paths, dict) else None
        if not isinstance(operation, dict):
            return 0
        schema = (
            operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        )
        limit = schema.get("maxItems") if isinstance(schema, dict) else None
        return min(limit, BULK_SIZE) if isinstance(limit, int) and limit > 0 else BULK_SIZE

    def add(self, entry: Entry) -> None:
        """Prepares one entry and writes it (or queues it for a bulk write). Raises RowError."""
        user = self._user_id(entry.user)
        customer = self.directory.customer(entry.customer, line=entry.line)
        label = repr(entry.customer)
        project = self.directory.project(customer, entry.project, label=label, line=entry.line)
        label += f" / {entry.project!r}"
        activity = self.directory.activity(
            project, entry.activity, label=label, line=entry.line, use_global=True
        )
        for tag in entry.tags:
            self._ensure_tag(tag, entry.line)
        identity = (
            (user if entry.user else self._me) if self._by_user else None,
            _minute(entry.begin, up=False),
            _minute(entry.end, up=True),
            project,
            activity,
        )
        tally = self.tallies["timesheets"]
        if identity in self._existing:
            tally.present += 1
            self.done(entry.line, None)
            return
        self._existing.add(identity)
        if self.dry_run:
            tally.created += 1
            self.done(entry.line, None)
            return
        body: dict[str, Any] = {
            "begin": entry.begin.isoformat(timespec="seconds"),
            "end": entry.end.isoformat(timespec="seconds"),
            "project": project,
            "activity": activity,
        }
        if entry.description:
            body["description"] = entry.description
        if entry.tags:
            body["tags"] = ",".join(entry.tags)
        if entry.user:
            body["user"] = user
        if self._bulk_size:
            self._enqueue(entry.line, identity, body)
            return
        try:
            self.client.post("timesheets", body)
        except (PermissionDenied, Rejected) as exc:
            self._failed(entry.line, identity, exc)
            return
        tally.created += 1
        self.done(entry.line, None)

    def _enqueue(self, line: int, identity: Identity, body: dict[str, Any]) -> None:
        """Queues a bulk item (with its externalId); a full batch is written first."""
        body = {**body, "externalId": external_id(identity, self._me)}
        size = len(json.dumps(body)) + 1  # as sent at most: every character ASCII-escaped, a comma
        if self._queue and (len(self._queue) >= self._bulk_size or self._queued_bytes + size > BULK_BYTES):
            self.flush()
        self._queue.append((line, identity, body))
        self._queued_bytes += size

    def flush(self) -> None:
        """Writes the queued entries with one bulk request."""
        queue, self._queue, self._queued_bytes = self._queue, [], 0
        if not queue:
            return
        try:
            answers = self.client.post(BULK_PATH, [body for _line, _identity, body in queue])
        except (PermissionDenied, Rejected) as exc:
            for line, identity, _body in queue:
                self._failed(line, identity, exc)
            return
        if not isinstance(answers, list) or len(answers) != len(queue):
            answers = [None] * len(queue)
        for (line, identity, _body), answer in zip(queue, answers, strict=True):
            status = answer.get("status") if isinstance(answer, dict) else None
            if status == "created":
                self.tallies["timesheets"].created += 1
                self.done(line, None)
            elif status in ("updated", "unchanged"):  # the server had it under its key already
                self.tallies["timesheets"].present += 1
                self.done(line, None)
            elif status == "error" and isinstance(answer, dict) and isinstance(answer.get("error"), dict):
                self._failed(line, identity, _item_error(answer["error"]))
            else:
                unclear = f"the answer of POST {BULK_PATH} does not give one result per timesheet"
                self._failed(line, identity, Rejected(unclear))

    def _failed(self, line: int, identity: Identity, exc: ApiError) -> None:
        """Reports a refused timesheet as a plain ``POST /api/timesheets`` refusal is reported."""
        self._existing.discard(identity)  # a later identical row may try again
        self.tallies["timesheets"].failed += 1
        if isinstance(exc, PermissionDenied):
            self.permission_denied = True
            self.done(line, "timesheet refused: permission denied (403)")
        else:
            self.done(line, f"timesheet rejected: {exc.message}")

    def _user_id(self, name: str) -> int | None:
        if not name:
            return None
        found = self._users.get(name.casefold())
        if found is None:
            raise RowError(f"unknown user {name!r}")
        return found

    def _ensure_tag(self, name: str, line: int) -> None:
        if name in self._tags:
            if name not in self._counted_tags:
                self._counted_tags.add(name)
                self.tallies["tags"].present += 1
            return
        if name in self._failed_tags:
            raise RowError(f"tag {name!r} was rejected ({self._failed_tags[name]})")
        tally = self.tallies["tags"]
        if self.dry_run:
            self.plan(f"would create tag {name!r}")
        else:
            try:
                self.client.post("tags", {"name": name, "visible": True})
            except PermissionDenied:
                raise ImportFailed(
                    EXIT_PERMISSION,
                    f"permission denied: the token's user may not create tags (POST {self.client.base_url}"
                    f"tags answered 403, needed for tag {name!r})",
                ) from None
            except Rejected as exc:
                self._failed_tags[name] = f"row {line}: {exc.message}"
                tally.failed += 1
                raise RowError(f"tag {name!r} rejected: {exc.message}") from None
        self._tags.add(name)
        self._counted_tags.add(name)
        tally.created += 1


def external_id(identity: Identity, me: int | None) -> str:
    """A bulk item's key: what makes the timesheet "already present" (user, begin, end, project and
    activity), hashed; the same whichever file or line the row comes from. The token's own user is
    the same whether the file names users or not."""
    user, begin, end, project, activity = identity
    owner = "" if user is None or user == me else str(user)
    content = "\x1f".join((owner, begin.isoformat(), end.isoformat(), str(project), str(activity)))
    return "import-csv:" + hashlib.sha256(content.encode()).hexdigest()


def _item_error(body: dict[str, Any]) -> ApiError:
    """The refusal of one bulk item: the body the single POST would have answered."""
    code = body.get("code")
    status = int(code) if isinstance(code, int | str) and str(code).isdigit() else 400
    message = describe(body, status)
    return (
        PermissionDenied(message, status=status, body=body)
        if status == 403
        else Rejected(message, status=status, body=body)
    )
