"""Create many timesheets at once, each validated exactly as ``POST /api/timesheets``.

Every body goes through the single POST's own form, rules and voter (``service.submit_valid_new``,
falling back to ``service.submit_new`` for the exact error report; ``rules``; ``access.may``) on a
``Draft``, with what they read loaded up front in a few queries: users, activities, projects,
tags, rates and rate preferences. The valid records are written with one statement per table
(``_insert``), and logged for the change feed with one more at commit (``changes.record_created``).

Bodies are handled in order. Creating a stopped record changes nothing that another body's
validation reads, so those are batched; what depends on stored records goes through the single
POST itself (in a savepoint), once the records before it are written:

- a running record (no end), which stops the owner's other timers;
- every record while ``timesheet_allow_overlapping`` is off (checked against the stored ones).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import suppress
from dataclasses import replace
from functools import cache
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Column, Integer, Table, func, literal_column, or_, select
from sqlalchemy.orm import Session

from punchclock import changes, collector
from punchclock.activities.models import Activity
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.db import utcnow
from punchclock.entities.service import selectable_user
from punchclock.kimai.errors import KimaiError
from punchclock.kimai.forms import FieldError, parse_id
from punchclock.projects.models import Project
from punchclock.tags.models import Tag
from punchclock.timesheets import rules, service
from punchclock.timesheets.models import Timesheet, TimesheetTag
from punchclock.users.models import User, UserPreference

Result = int | KimaiError
TIMESHEETS = cast(Table, Timesheet.__table__)
TIMESHEET_TAGS = cast(Table, TimesheetTag.__table__)

# The columns a batch writes, in this order: the id it allocates, what validation set on the draft
# (read by ``_VALUES`` as one tuple), the time it stores them at (created and last modified).
_STAMPS = ("created_at", "modified_at")
_ATTRS = [attr.key for attr in Timesheet.__mapper__.column_attrs if attr.key not in ("id", *_STAMPS)]
_VALUES = attrgetter(*_ATTRS)
_TIMESHEET_COLUMNS = [
    TIMESHEETS.c.id,
    *(TIMESHEETS.c[Timesheet.__mapper__.column_attrs[attr].columns[0].key] for attr in _ATTRS),
    *(TIMESHEETS.c[stamp] for stamp in _STAMPS),
]
_TAG_COLUMNS = [TIMESHEET_TAGS.c.timesheet_id, TIMESHEET_TAGS.c.tag_id, TIMESHEET_TAGS.c.modified_at]


class Draft:
    """A new record before it is stored: every attribute of a ``Timesheet`` the form, the rules and
    the voter read or write, without the ORM's instrumentation (an ORM object costs ~15 µs to
    build and fill, more than validating it). Unset attributes read as the class defaults below."""

    id = user_id = user = project_id = project = activity_id = activity = begin = end = timezone = None
    description = internal_rate = fixed_rate = hourly_rate = billable = modified_at = created_at = None
    duration, break_, rate, exported, billable_mode, category = 0, 0, 0.0, False, "auto", "work"

    def __init__(self, **values: Any) -> None:
        self.tags: list[Tag] = []
        self.meta: list[Any] = []
        self.__dict__.update(values)


# The form, the rules and the voter are typed for ``Timesheet``: a draft stands in for one.
_DRAFT = cast(Callable[..., Timesheet], Draft)


def create_many(
    session: Session, *, caller: Caller, settings: Settings, bodies: Sequence[Any]
) -> list[Result]:
    """Per body, in order: the new timesheet's id, or the KimaiError the single POST raises for it
    (ValidationFailed, Forbidden, BadRequest, …). Every created timesheet is recorded as changed."""
    try:
        service.may_create(caller)
    except KimaiError as exc:
        return [exc for _ in bodies]
    with collector.paused():
        if not settings.timesheet_allow_overlapping:
            return [_create_one(session, caller=caller, settings=settings, body=body) for body in bodies]
        return _Batch(session, caller, settings, bodies).run()


def _create_one(session: Session, *, caller: Caller, settings: Settings, body: Any) -> Result:
    """The single POST for one body in a savepoint, undone (with its recorded changes) when it fails."""
    savepoint = session.begin_nested()
    try:
        ts = service.create(session, caller=caller, settings=settings, data=body)
    except KimaiError as exc:
        savepoint.rollback()
        return exc
    savepoint.commit()
    return ts.id


class _Batch:
    """One call's bodies with everything their validation reads."""

    def __init__(self, session: Session, caller: Caller, settings: Settings, bodies: Sequence[Any]) -> None:
        self.session, self.caller, self.settings, self.bodies = session, caller, settings, bodies
        self.body: Any = None  # the body being submitted, for the form's activity choice
        self.form = self._remembering(
            service.post_form(
                session,
                caller=caller,
                settings=settings,
                body=lambda: self.body,
                selectable=self._selectable(),
            )
        )
        self.tags = self._preload()
        self.owner = cast(User, service.cached(session, User, caller.id))
        # A body without ``begin`` begins now, the same now for the whole batch.
        self.now = rules.round_begin_now(utcnow(), settings)
        self.refusals: dict[tuple[Any, ...], KimaiError | None] = {}

    def _remembering(self, form: service.PostForm) -> service.PostForm:
        """The form whose entity choices and times are parsed once per value: nothing the choices
        read (projects, activities, customers, users, teams) changes while timesheets are created.
        An activity's answer also depends on the project sent with it. ``begin`` and ``end`` are
        read alike (in the caller's timezone) and share their answers: records back to back
        share half their times (~3 µs a parse)."""
        keys: dict[str, Callable[[str], Hashable]] = {
            "begin": lambda raw: raw,
            "end": lambda raw: raw,
            "project": lambda raw: raw,
            "user": lambda raw: raw,
            "activity": lambda raw: (raw, self.body.get("project")),
        }
        times: dict[Hashable, tuple[Any, str | None]] = {}
        answers = {"begin": times, "end": times}
        return service.PostForm.of(
            tuple(
                replace(
                    field,
                    parse=_remembered(field.parse, keys[field.name], answers.get(field.name, {})),
                )
                if field.name in keys
                else field
                for field in form.fields
            )
        )

    def _tags(self, names: list[str]) -> list[Tag]:
        return service.existing_tags(self.tags, names)

    def _selectable(self) -> Callable[[int], bool]:
        """The ``user`` choice, asked once per user for the whole batch."""
        return cache(lambda user_id: selectable_user(self.session, self.caller, user_id))

    def _preload(self) -> dict[str, Tag]:
        """Load what the bodies refer to; returns their tags by name. Each distinct value is read
        once (bodies repeat them)."""
        sent: dict[str, set[str]] = {"project": set(), "activity": set(), "user": set()}
        tags: set[str] = set()
        tag_lists: list[Any] = []  # (a list of names: not hashable)
        for body in self.bodies:
            if not isinstance(body, dict):
                continue
            for key, values in sent.items():
                raw = body.get(key)
                if isinstance(raw, str):
                    values.add(raw)
            raw = body.get("tags")
            if isinstance(raw, str):
                tags.add(raw)
            elif raw is not None:
                tag_lists.append(raw)
        refs = {
            key: {parsed for raw in values if (parsed := parse_id(raw.strip())) is not None}
            for key, values in sent.items()
        }
        refs["user"].add(self.caller.id)
        names: set[str] = set()
        for raw in (*tags, *tag_lists):
            with suppress(FieldError):  # the form reports it
                names.update(service.tag_names(raw))
        session = self.session
        service.preload(session, User, refs["user"])
        # Activities bring their projects (mostly the ones sent along), which count for rates too.
        service.preload(session, Activity, refs["activity"])
        activities = [service.cached(session, Activity, i) for i in refs["activity"]]
        parents = [a.project for a in activities if a is not None and a.project is not None]
        service.remember(session, Project, parents)
        service.preload(session, Project, refs["project"])
        projects = [service.cached(session, Project, i) for i in refs["project"]] + parents
        self.rates = _BatchRates(
            session,
            activities={a.id for a in activities if a is not None},
            projects={p.id for p in projects if p is not None},
            customers={p.customer_id for p in projects if p is not None},
            users=refs["user"],
        )
        return _tags_by_name(session, names)

    def run(self) -> list[Result]:
        results: list[Result | None] = []
        # (result index, column values, tag ids): plain values, which the cyclic garbage collector
        # skips (kept drafts made it walk them again and again).
        pending: list[tuple[int, tuple[Any, ...], tuple[int, ...]]] = []
        for body in self.bodies:
            try:
                ts = self._validate(body)
            except KimaiError as exc:
                results.append(exc)
                continue
            if ts.end is None:
                # Starting a timer stops others (maybe one of this batch): the single POST, in order.
                self._store(pending, results)
                results.append(
                    _create_one(self.session, caller=self.caller, settings=self.settings, body=body)
                )
                continue
            pending.append((len(results), _VALUES(ts), tuple(tag.id for tag in ts.tags)))
            results.append(None)
        self._store(pending, results)
        return cast(list[Result], results)

    def _draft(self) -> Timesheet:
        ts = service.new_timesheet(self.caller, self.settings, begin=self.now, record=_DRAFT)
        ts.user = self.owner
        return ts

    def _validate(self, body: Any) -> Timesheet:
        """What ``service.create`` does before it writes, on a ``Draft``."""
        self.body = body
        session, caller, settings = self.session, self.caller, self.settings
        ts = self._draft()
        if not service.submit_valid_new(
            session, caller=caller, settings=settings, ts=ts, data=body, form=self.form, tags=self._tags
        ):
            ts = self._draft()  # the long way, which reports the errors as the single POST does
            service.submit_new(
                session, caller=caller, settings=settings, ts=ts, data=body, form=self.form, tags=self._tags
            )
        if ts.end is not None:
            self._may_insert(ts)
            service.derive(ts, settings, self.rates)
        return ts

    def _may_insert(self, ts: Timesheet) -> None:
        """``service.may_insert`` once per owner, project and activity: all the voter reads of a
        stopped record (it may query the owner's teams), none of which a batch changes."""
        key = (ts.user_id, ts.project_id, ts.activity_id)
        if key not in self.refusals:
            try:
                service.may_insert(self.session, self.caller, ts)
                self.refusals[key] = None
            except KimaiError as exc:
                self.refusals[key] = exc
        if (refusal := self.refusals[key]) is not None:
            raise refusal.with_traceback(None)

    def _store(
        self, pending: list[tuple[int, tuple[Any, ...], tuple[int, ...]]], results: list[Result | None]
    ) -> None:
        """Insert the validated records (in order, so their ids ascend as the single POSTs' would)."""
        if not pending:
            return
        session = self.session
        ids = _allocate_ids(session, len(pending))
        created = utcnow()
        rows = []
        tag_rows = []
        for new_id, (index, values, tag_ids) in zip(ids, pending, strict=True):
            rows.append((new_id, *values, created, created))
            tag_rows += [(new_id, tag_id, created) for tag_id in tag_ids]
            results[index] = new_id
        _insert(session, _TIMESHEET_COLUMNS, rows)
        if tag_rows:
            _insert(session, _TAG_COLUMNS, tag_rows)
        changes.record_created(session, entity=service.KIND, ids=ids)
        pending.clear()


def _remembered(
    parse: Callable[[Any], Any],
    key: Callable[[str], Hashable],
    answers: dict[Hashable, tuple[Any, str | None]],
) -> Callable[[Any], Any]:
    """``parse`` answering once per key of a text value (its value or its error message), kept in
    ``answers``."""

    def parse_once(raw: Any) -> Any:
        if not isinstance(raw, str):
            return parse(raw)
        try:
            answer_key = key(raw)
            answer = answers.get(answer_key)
        except TypeError:  # an unhashable project sent along (a list): no answer to remember
            return parse(raw)
        if answer is None:
            try:
                answer = answers[answer_key] = (parse(raw), None)
            except FieldError as exc:
                answer = answers[answer_key] = (None, exc.message)
        value, error = answer
        if error is not None:
            raise FieldError(error)
        return value

    return parse_once


def _insert(session: Session, columns: Sequence[Column[Any]], rows: list[tuple[Any, ...]]) -> None:
    """INSERT ``rows`` (tuples in the order of ``columns``, all of one table) through the driver
    itself, without SQLAlchemy's per-row parameter handling. Each value is converted as SQLAlchemy
    converts it (its column type's bind processor: UTC datetimes, booleans, floats), once per
    distinct value of a column (the batch's timestamps are one value). SQLite runs one prepared
    INSERT for each row (13 µs a row instead of 18 with ``session.execute(insert(...), rows)``);
    PostgreSQL takes the rows as a COPY (22 µs instead of 38)."""
    connection = session.connection()
    dialect = connection.dialect
    values: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, column in enumerate(columns):
        # The dialect's own implementation: SQLite's writes the datetime text SQLAlchemy compares.
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            done: dict[Any, Any] = {}
            values[index] = [done[v] if v in done else done.setdefault(v, process(v)) for v in values[index]]
    converted = list(zip(*values, strict=True))
    quote = dialect.identifier_preparer.quote
    table = quote(columns[0].table.name)
    names = ", ".join(quote(column.name) for column in columns)
    if dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in converted:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", converted)


def _allocate_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new timesheets, ascending. PostgreSQL: from the id sequence. SQLite: the
    ones it would give itself (max + 1, …), which nobody else can take while this write
    transaction holds the database's write lock (``Database.session(write=True)``: BEGIN IMMEDIATE;
    in a deferred transaction a concurrent writer makes the insert fail, never collide)."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = literal_column("nextval(pg_get_serial_sequence('timesheets', 'id'))", Integer)
        return sorted(session.scalars(select(sequence).select_from(func.generate_series(1, count))))
    last = session.scalar(select(func.max(Timesheet.id))) or 0
    return list(range(last + 1, last + 1 + count))


def _tags_by_name(session: Session, names: set[str]) -> dict[str, Tag]:
    found: dict[str, Tag] = {}
    ordered = sorted(names)
    for start in range(0, len(ordered), 1000):
        found.update(service.tags_by_name(session, ordered[start : start + 1000]))
    return found


class _BatchRates:
    """``rules.RateSource`` over rates and preferences loaded once for the whole batch."""

    def __init__(
        self,
        session: Session,
        *,
        activities: set[int],
        projects: set[int],
        customers: set[int],
        users: set[int],
    ) -> None:
        self.rows: dict[tuple[int, int], list[tuple[int | None, rules.ConfiguredRate]]] = {}
        for index, ((model, points), owners) in enumerate(
            zip(rules.RATE_TABLES, (activities, projects, customers), strict=True)
        ):
            if not owners:
                continue
            query = select(
                model.entity_id, model.user_id, model.rate, model.internal_rate, model.fixed
            ).where(model.entity_id.in_(owners), or_(model.user_id.in_(users), model.user_id.is_(None)))
            for entity_id, user_id, rate, internal, fixed in session.execute(query):
                configured = rules.configured_rate(points, user_id, rate, internal, fixed)
                self.rows.setdefault((index, entity_id), []).append((user_id, configured))
        by_user: dict[int, list[tuple[str, str | None]]] = {}
        preferences = select(UserPreference.user_id, UserPreference.name, UserPreference.value).where(
            UserPreference.user_id.in_(users), UserPreference.name.in_(rules.RATE_PREFERENCES)
        )
        for owner_id, name, value in session.execute(preferences):
            by_user.setdefault(owner_id, []).append((name, value))
        self.by_user = {user_id: rules.numeric_preferences(rows) for user_id, rows in by_user.items()}
        self.by_record: dict[tuple[int, ...], list[rules.ConfiguredRate]] = {}

    def candidates(self, ts: Timesheet) -> Iterable[rules.ConfiguredRate]:
        """In ``RATE_TABLES`` order, as the single POST's query lists them."""
        owners = rules.rate_owners(ts)
        key = (*owners, ts.user_id)
        if key not in self.by_record:
            self.by_record[key] = [
                configured
                for index, owner_id in enumerate(owners)
                for user_id, configured in self.rows.get((index, owner_id), ())
                if user_id is None or user_id == ts.user_id
            ]
        return self.by_record[key]

    def preferences(self, user_id: int) -> dict[str, float]:
        return self.by_user.get(user_id, {})
