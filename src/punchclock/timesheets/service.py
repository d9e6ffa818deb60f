"""Timesheets: create, update, actions and lists with Kimai's rules (keyword-only, shared by API and CLI)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.activities.models import Activity
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.db import upsert, utcnow
from punchclock.entities.service import MAX_ID, declared_meta_fields, find, selectable_user
from punchclock.kimai.datetimes import parse_form_datetime
from punchclock.kimai.errors import ActionFailed, BadRequest, Forbidden, NotFound
from punchclock.kimai.forms import (
    FORM,
    INVALID_CHOICE,
    NOT_VALID,
    Check,
    Field,
    FieldError,
    Parser,
    at_least,
    checkbox,
    duration,
    fail,
    integer_id,
    money,
    submit,
    text,
)
from punchclock.projects.models import Project
from punchclock.tags.models import Tag
from punchclock.timesheets import rules
from punchclock.timesheets.access import may
from punchclock.timesheets.models import Timesheet, TimesheetFavorite, TimesheetMeta
from punchclock.timesheets.rules import activity_open, project_open
from punchclock.users.models import User

KIND = "timesheet"
INVALID_DATETIME = "Please enter a valid date and time."
STOP_FAILED = "You have an active time record which cannot be stopped automatically."
MAX_FAVORITES = 5
RATES = frozenset({"fixed_rate", "hourly_rate"})


def get(session: Session, *, timesheet_id: int) -> Timesheet:
    ts = find(session, Timesheet, timesheet_id)
    if ts is None:
        raise NotFound()
    return ts  # type: ignore[no-any-return]


def load(session: Session, *, caller: Caller, timesheet_id: int, attribute: str) -> Timesheet:
    """The record (404) the caller may ``attribute`` (403), checked in Kimai's order."""
    ts = get(session, timesheet_id=timesheet_id)
    if not may(session, caller, attribute, ts):
        raise Forbidden()
    return ts


_FORM_CACHE = "timesheet_form_cache"


def _get(session: Session, model: Any, entity_id: int) -> Any:
    """``session.get`` that keeps the object for the rest of the transaction: the identity map only
    holds weak references, and the form looks the same project up several times."""
    cache = session.info.setdefault(_FORM_CACHE, {})
    key = (model, entity_id)
    if key not in cache:
        cache[key] = find(session, model, entity_id)
    return cache[key]


def cached(session: Session, model: Any, entity_id: int) -> Any:
    """The row of ``model`` the form sees for this id (None when unknown)."""
    return _get(session, model, entity_id)


def remember(session: Session, model: Any, rows: Iterable[Any]) -> None:
    """Rows already loaded (e.g. the projects of preloaded activities), for ``_get`` to find."""
    cache = session.info.setdefault(_FORM_CACHE, {})
    for row in rows:
        cache.setdefault((model, row.id), row)


def preload(session: Session, model: Any, ids: Iterable[int]) -> None:
    """What ``_get`` would find for each id, loaded in one query per thousand (unknown ids too)."""
    cache = session.info.setdefault(_FORM_CACHE, {})
    wanted = sorted({i for i in ids if 0 < i <= MAX_ID and (model, i) not in cache})
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found = {row.id: row for row in session.scalars(select(model).where(model.id.in_(chunk)))}
        cache.update(((model, i), found.get(i)) for i in chunk)


# --- the form ---------------------------------------------------------------------------------------


def _datetime(tz: str) -> Callable[[Any], dt.datetime | None]:
    def parse(raw: Any) -> dt.datetime | None:
        if isinstance(raw, dict | list):  # the field's own invalid message, as for any bad value
            raise FieldError(INVALID_DATETIME)
        value = text(raw)
        if value is None:
            return None
        parsed = parse_form_datetime(value, tz)
        if parsed is None:
            raise FieldError(INVALID_DATETIME)
        return parsed

    return parse


def tag_names(raw: Any) -> list[str]:
    """Comma-separated names (or a list of names); names that exist are looked up later."""
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise FieldError(NOT_VALID)
        names.extend(part.strip() for part in item.split(","))
    return list(dict.fromkeys(name for name in names if name))


def _billable(raw: Any) -> str:
    # Read before the form in Kimai: null, false, "" and "0" mean no; anything else yes.
    return "no" if raw in (None, "", "0", False) else "yes"


def _chosen_id(raw: Any) -> int | None:
    """The id of an entity choice; an array is an invalid choice as well."""
    if isinstance(raw, dict | list):
        raise FieldError(INVALID_CHOICE)
    return integer_id(raw)


def _running_today(project: Project) -> bool:
    """Kimai offers only projects running today (calendar dates of the UTC values, as the project list)."""
    today = utcnow().date()
    start, end = project.start, project.end
    return (start is None or start.astimezone(dt.UTC).date() <= today) and (
        end is None or end.astimezone(dt.UTC).date() >= today
    )


def _project_choice(session: Session, caller: Caller, current: int | None) -> Callable[[Any], int | None]:
    """Visible projects of visible customers, open to the caller and running today, plus the current one."""

    def parse(raw: Any) -> int | None:
        project_id = _chosen_id(raw)
        if project_id is None or project_id == current:
            return project_id
        project = _get(session, Project, project_id)
        if project is None or not (
            project.visible
            and project.customer.visible
            and project_open(caller, project)
            and _running_today(project)
        ):
            raise FieldError(INVALID_CHOICE)
        return project_id

    return parse


def _activity_choice(
    session: Session, caller: Caller, current: int | None, project_id: Callable[[], int | None]
) -> Callable[[Any], int | None]:
    """Visible activities (of visible projects and customers) open to the caller, plus the current one;
    once a project is given, only its activities and the global ones it allows."""

    def parse(raw: Any) -> int | None:
        activity_id = _chosen_id(raw)
        if activity_id is None or activity_id == current:
            return activity_id
        activity = _get(session, Activity, activity_id)
        if activity is None or not activity.visible or not activity_open(caller, activity):
            raise FieldError(INVALID_CHOICE)
        parent = activity.project
        if parent is not None and not (parent.visible and parent.customer.visible):
            raise FieldError(INVALID_CHOICE)
        chosen = project_id()
        if chosen is None:
            return activity_id
        project = _get(session, Project, chosen)
        if activity.project_id is None:
            if project is not None and not project.global_activities:
                raise FieldError(INVALID_CHOICE)
        elif activity.project_id != chosen:
            raise FieldError(INVALID_CHOICE)
        return activity_id

    return parse


def _user_choice(
    session: Session, caller: Caller, current: int | None, selectable: Callable[[int], bool] | None
) -> Callable[[Any], int | None]:
    def parse(raw: Any) -> int | None:
        user_id = _chosen_id(raw)
        if user_id is None or user_id == current:
            return user_id
        if selectable(user_id) if selectable else selectable_user(session, caller, user_id):
            return user_id
        raise FieldError(INVALID_CHOICE)

    return parse


def _fields(
    session: Session,
    caller: Caller,
    settings: Settings,
    ts: Timesheet,
    body: Callable[[], Any],
    *,
    is_new: bool,
    selectable: Callable[[int], bool] | None = None,
) -> tuple[Field, ...]:
    """The API form for this caller and record: fields a permission or setting withholds are absent
    (sending them is the extra-fields error). ``body`` gives the data being submitted; ``selectable``
    answers the ``user`` choice instead of a query (a batch has it preloaded)."""
    # PATCH reads times without an offset in the record's timezone, POST in the caller's.
    tz = caller.timezone if is_new else ts.timezone

    def submitted_project() -> int | None:
        """The project the activity choices are filtered by: the one sent, even an invalid one (Kimai
        casts it to an int, so an unknown id offers only global activities), else the record's."""
        data = body()
        raw = data.get("project") if isinstance(data, dict) else None
        if raw in (None, ""):
            return ts.project_id
        try:
            return _chosen_id(raw)
        except FieldError:
            return 0

    fields = [
        Field("begin", _datetime(tz), attr="begin"),
        Field("end", _datetime(tz), attr="end"),
        Field("project", _project_choice(session, caller, ts.project_id), attr="project_id"),
        Field(
            "activity",
            _activity_choice(session, caller, ts.activity_id, submitted_project),
            attr="activity_id",
        ),
        Field("description", text, attr="description"),
        Field("tags", tag_names, attr="tag_names"),
    ]
    if may(session, caller, "edit_rate", ts):
        fields += [
            Field("fixedRate", money, (at_least(0),), attr="fixed_rate"),
            Field("hourlyRate", money, (at_least(0),), attr="hourly_rate"),
        ]
    # POST offers the owner only to those who may book for others; PATCH to whoever may edit.
    if not is_new or caller.can("create_other_timesheet"):
        fields.append(Field("user", _user_choice(session, caller, ts.user_id, selectable), attr="user_id"))
    if may(session, caller, "edit_export", ts):
        fields.append(Field("exported", checkbox, attr="exported"))
    if may(session, caller, "edit_billable", ts):
        fields.append(Field("billable", _billable, attr="billable_mode"))
    if settings.timesheet_break_time:
        # Empty means no break; negative breaks are accepted, as in Kimai.
        fields.append(Field("break", lambda raw: duration(raw) or 0, attr="break_"))
    return tuple(fields)


_RELATED = {
    "project_id": ("project", Project),
    "activity_id": ("activity", Activity),
    "user_id": ("user", User),
}


def _assign(session: Session, ts: Timesheet, values: dict[str, Any]) -> None:
    for attr, value in values.items():
        if attr == "tag_names":
            continue
        if attr in _RELATED:
            name, model = _RELATED[attr]
            setattr(ts, name, _get(session, model, value) if value is not None else None)
        setattr(ts, attr, value)


def _form_errors(violations: rules.Violations, fields: tuple[Field, ...]) -> dict[str, list[str]]:
    """Violations of form fields stay there; the others are errors of the whole form."""
    names = {f.target: f.name for f in fields}
    errors: dict[str, list[str]] = {}
    for path, messages in violations.items():
        target = {"project": "project_id", "activity": "activity_id", "user": "user_id"}.get(path, path)
        errors.setdefault(names.get(target, FORM), []).extend(messages)
    return errors


TagLookup = Callable[[list[str]], list[Tag]]


def _current(ts: Timesheet, targets: Iterable[str]) -> dict[str, Any]:
    """The record's values of the form's fields (their ``target``s), before the request."""
    before = {target: getattr(ts, target, None) for target in targets if target != "tag_names"}
    before["tag_names"] = [tag.name for tag in ts.tags]
    return before


def _entity_checks(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    ts: Timesheet,
    fields: tuple[Field, ...],
    before: dict[str, Any],
    changed: set[str],
    is_new: bool,
) -> Callable[[dict[str, Any]], dict[str, list[str]]]:
    """Kimai's validation of the record once the form mapped the request onto it (``merged``: the
    form's values); adds what the request changed to ``changed``."""

    def check(merged: dict[str, Any]) -> dict[str, list[str]]:
        submitted = {k: v for k, v in merged.items() if k in before and v != before[k]}
        changed.update(submitted)
        _assign(session, ts, {k: merged[k] for k in before if k in merged})
        violations = rules.validate(
            session,
            ts,
            caller=caller,
            settings=settings,
            is_new=is_new,
            changed=changed,
            may_start=ts.end is not None or _may_start(session, caller, ts),
            may_edit_export=may(session, caller, "edit_export", ts),
        )
        return _form_errors(violations, fields) if violations else {}

    return check


def _after_submit(
    session: Session,
    ts: Timesheet,
    submitted: dict[str, Any],
    changed: set[str],
    *,
    is_new: bool,
    tags: TagLookup | None,
) -> None:
    if "tag_names" in submitted:
        names = submitted["tag_names"]
        ts.tags = tags(names) if tags else _existing_tags(session, names)
    if not is_new and changed & {"project_id", "activity_id", "user_id"} and not changed & RATES:
        # Kimai's rate reset: a new project, activity or owner without a changed rate starts the rates
        # over and makes billable automatic again (even a billable value sent along).
        ts.fixed_rate = ts.hourly_rate = ts.internal_rate = None
        ts.billable_mode = "auto"


def _edit(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    ts: Timesheet,
    data: Any,
    is_new: bool,
    form: tuple[Field, ...] | None = None,
    tags: TagLookup | None = None,
) -> tuple[set[str], tuple[Field, ...]]:
    """Submit ``data`` onto ``ts`` and validate the result; returns the changed attributes and the form.

    ``form``: the fields, when already built for ``data`` (see ``post_form``); ``tags``: finds tags by
    name instead of a query (a batch has them preloaded)."""
    fields = form or _fields(session, caller, settings, ts, lambda: data, is_new=is_new)
    before = _current(ts, (f.target for f in fields))
    changed: set[str] = set()
    check = _entity_checks(
        session,
        caller=caller,
        settings=settings,
        ts=ts,
        fields=fields,
        before=before,
        changed=changed,
        is_new=is_new,
    )
    with session.no_autoflush:
        submission = submit(fields, data, current=before, clear_missing=False, extra_checks=check)
    _after_submit(session, ts, submission.changes, changed, is_new=is_new, tags=tags)
    return changed, fields


def _may_start(session: Session, caller: Caller, ts: Timesheet) -> bool:
    return ts.project is not None and ts.activity is not None and may(session, caller, "start", ts)


def tags_by_name(session: Session, names: Iterable[str]) -> dict[str, Tag]:
    return {tag.name: tag for tag in session.scalars(select(Tag).where(Tag.name.in_(list(names))))}


def existing_tags(found: dict[str, Tag], names: list[str]) -> list[Tag]:
    """The tags of ``names`` among ``found``; unknown names are dropped (Kimai's API form does not
    create tags)."""
    return [found[name] for name in names if name in found]


def _existing_tags(session: Session, names: list[str]) -> list[Tag]:
    return existing_tags(tags_by_name(session, names), names) if names else []


def derive(ts: Timesheet, settings: Settings, rates: rules.RateSource) -> None:
    """What every save computes before writing: the owner's timezone, rounding, rates, billable."""
    ts.timezone = ts.user.timezone  # rendered in the owner's timezone of the last save
    rules.calculate(ts, settings, rates)
    # Kimai computes billable automatically only when the record is created or reset (its mode is
    # not stored): later saves keep the value unless a new one is sent.
    ts.billable_mode = "yes" if ts.billable else "no"
    ts.modified_at = utcnow()


def _save(session: Session, ts: Timesheet, settings: Settings) -> Timesheet:
    derive(ts, settings, rules.SessionRates(session))
    session.add(ts)
    session.flush()
    changes.record(session, entity=KIND, entity_id=ts.id, op="upsert")
    return ts


def _stop_others(session: Session, caller: Caller, ts: Timesheet, settings: Settings) -> None:
    """Starting a timer stops the owner's oldest running ones beyond the hard limit."""
    running = list(
        session.scalars(
            select(Timesheet)
            .where(Timesheet.user_id == ts.user_id, Timesheet.end.is_(None), Timesheet.id != ts.id)
            .order_by(Timesheet.begin, Timesheet.id)
        )
    )
    excess = len(running) + 1 - settings.timesheet_active_entries_hard_limit
    for other in running[: max(excess, 0)]:
        other.end = utcnow().replace(microsecond=0)
        violations = _violations(session, caller, settings, other, is_new=False)
        if violations:
            raise ActionFailed(violations, STOP_FAILED)
        _save(session, other, settings)


def new_timesheet(
    caller: Caller,
    settings: Settings,
    *,
    begin: dt.datetime | None = None,
    record: Callable[..., Timesheet] = Timesheet,
) -> Timesheet:
    """A new record's defaults; ``record`` builds it (a batch uses a lighter stand-in)."""
    return record(
        user_id=caller.id,
        begin=begin or rules.round_begin_now(utcnow(), settings),
        end=None,
        timezone=caller.timezone,
        break_=0,
        billable_mode="auto",
        exported=False,
        tags=[],
    )


@dataclass(frozen=True)
class PostForm:
    """The form of ``POST /api/timesheets`` for one caller, built once for many bodies."""

    fields: tuple[Field, ...]
    by_name: dict[str, tuple[str, Parser]]  # name -> (target, parse)
    checked: tuple[tuple[str, tuple[Check, ...]], ...]  # (target, checks) of the fields with checks
    targets: tuple[str, ...]

    @classmethod
    def of(cls, fields: tuple[Field, ...]) -> PostForm:
        return cls(
            fields,
            {f.name: (f.target, f.parse) for f in fields},
            tuple((f.target, f.checks) for f in fields if f.checks),
            tuple(f.target for f in fields),
        )


def post_form(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    body: Callable[[], Any],
    selectable: Callable[[int], bool] | None = None,
) -> PostForm:
    """The fields of ``POST /api/timesheets`` for ``caller``: the same for every body (``body`` gives
    the one being submitted)."""
    fields = _fields(
        session, caller, settings, new_timesheet(caller, settings), body, is_new=True, selectable=selectable
    )
    return PostForm.of(fields)


def submit_new(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    ts: Timesheet,
    data: Any,
    form: PostForm,
    tags: TagLookup,
) -> None:
    """``create``'s form on a new ``ts`` with a prebuilt form and tag lookup."""
    _edit(
        session, caller=caller, settings=settings, ts=ts, data=data, is_new=True, form=form.fields, tags=tags
    )


def submit_valid_new(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    ts: Timesheet,
    data: Any,
    form: PostForm,
    tags: TagLookup,
) -> bool:
    """``submit_new`` for a body without any error, the short way: the same parsers, constraints and
    entity checks, without the bookkeeping an error report needs. False when the body has an error
    (``ts`` is then half-assigned: start over with ``submit_new``, which reports it)."""
    if not isinstance(data, dict):
        return False
    values: dict[str, Any] = {}
    for name, raw in data.items():
        field = form.by_name.get(name)
        if field is None:  # an extra field
            return False
        target, parse = field
        try:
            values[target] = parse(raw)
        except FieldError:
            return False
    before = _current(ts, form.targets)
    merged = {**before, **values}
    for target, checks in form.checked:
        if any(check(merged.get(target)) for check in checks):
            return False
    changed: set[str] = set()
    check = _entity_checks(
        session,
        caller=caller,
        settings=settings,
        ts=ts,
        fields=form.fields,
        before=before,
        changed=changed,
        is_new=True,
    )
    with session.no_autoflush:
        if check(merged):
            return False
    _after_submit(session, ts, values, changed, is_new=True, tags=tags)
    return True


def may_create(caller: Caller) -> None:
    if not caller.can("create_own_timesheet"):
        raise Forbidden()


def create(session: Session, *, caller: Caller, settings: Settings, data: Any) -> Timesheet:
    may_create(caller)
    ts = new_timesheet(caller, settings)
    ts.user = session.get(User, caller.id)  # type: ignore[assignment]
    _, fields = _edit(session, caller=caller, settings=settings, ts=ts, data=data, is_new=True)
    try:
        _insert(session, caller=caller, settings=settings, ts=ts)
    except ActionFailed as exc:
        # POST reports a failed save as an error of the whole form.
        fail(fields, {}, [exc.message])
    return ts


def may_insert(session: Session, caller: Caller, ts: Timesheet) -> None:
    """Permission to start (a running record) or create (a stopped one)."""
    if not may(session, caller, "start" if ts.end is None else "create", ts):
        raise Forbidden()


def _insert(session: Session, *, caller: Caller, settings: Settings, ts: Timesheet) -> None:
    """Kimai's saveNewTimesheet: permission to start (running) or create, then stop other timers."""
    may_insert(session, caller, ts)
    _save(session, ts, settings)
    if ts.end is None:
        _stop_others(session, caller, ts, settings)


def update(
    session: Session, *, caller: Caller, settings: Settings, timesheet_id: int, data: Any
) -> Timesheet:
    ts = load(session, caller=caller, timesheet_id=timesheet_id, attribute="edit")
    _edit(session, caller=caller, settings=settings, ts=ts, data=data, is_new=False)
    return _save(session, ts, settings)


def remove(session: Session, *, caller: Caller, timesheet_id: int) -> None:
    ts = load(session, caller=caller, timesheet_id=timesheet_id, attribute="delete")
    session.delete(ts)
    session.flush()
    changes.record(session, entity=KIND, entity_id=timesheet_id, op="delete", owner_id=ts.user_id)


def _violations(
    session: Session, caller: Caller, settings: Settings, ts: Timesheet, *, is_new: bool
) -> rules.Violations:
    """Validation outside a form (stop, restart, duplicate, stopping other timers)."""
    return rules.validate(
        session,
        ts,
        caller=caller,
        settings=settings,
        is_new=is_new,
        changed=set(),
        may_start=ts.end is not None or _may_start(session, caller, ts),
        # Stopping an exported record (also another timer) needs edit_export, as in Kimai.
        may_edit_export=may(session, caller, "edit_export", ts),
    )


def _validate_action(
    session: Session, caller: Caller, settings: Settings, ts: Timesheet, *, is_new: bool
) -> None:
    violations = _violations(session, caller, settings, ts, is_new=is_new)
    if violations:
        raise ActionFailed(violations)


def stop(session: Session, *, caller: Caller, settings: Settings, timesheet_id: int) -> Timesheet:
    ts = load(session, caller=caller, timesheet_id=timesheet_id, attribute="stop")
    if ts.end is not None:
        return ts
    ts.end = utcnow().replace(microsecond=0)
    _validate_action(session, caller, settings, ts, is_new=False)
    return _save(session, ts, settings)


def restart(
    session: Session,
    *,
    caller: Caller,
    settings: Settings,
    timesheet_id: int,
    begin: dt.datetime | None,
    copy_all: bool,
) -> Timesheet:
    original = load(session, caller=caller, timesheet_id=timesheet_id, attribute="start")
    ts = new_timesheet(caller, settings, begin=rules.round_begin_now(begin, settings) if begin else None)
    ts.user = session.get(User, caller.id)  # type: ignore[assignment]
    ts.project, ts.activity = original.project, original.activity
    if copy_all:
        # Rates are never copied; billable is recomputed from the entities.
        ts.description = original.description
        ts.tags = list(original.tags)
        ts.meta = [TimesheetMeta(name=m.name, value=m.value, visible=m.visible) for m in original.meta]
    _validate_action(session, caller, settings, ts, is_new=True)
    _insert(session, caller=caller, settings=settings, ts=ts)
    return ts


def duplicate(session: Session, *, caller: Caller, settings: Settings, timesheet_id: int) -> Timesheet:
    original = load(session, caller=caller, timesheet_id=timesheet_id, attribute="duplicate")
    # Mapped attribute names, not column names: the column "break" is the attribute ``break_``.
    ts = Timesheet(
        **{
            attr.key: getattr(original, attr.key)
            for attr in Timesheet.__mapper__.column_attrs
            if attr.key not in ("id", "modified_at", "created_at")
        }
    )
    ts.exported = False
    ts.user, ts.project, ts.activity = original.user, original.project, original.activity
    ts.tags = list(original.tags)
    ts.meta = [TimesheetMeta(name=m.name, value=m.value, visible=m.visible) for m in original.meta]
    _validate_action(session, caller, settings, ts, is_new=True)
    _insert(session, caller=caller, settings=settings, ts=ts)
    return ts


def toggle_export(session: Session, *, caller: Caller, settings: Settings, timesheet_id: int) -> Timesheet:
    ts = load(session, caller=caller, timesheet_id=timesheet_id, attribute="edit_export")
    if ts.exported and not caller.can("edit_exported_timesheet"):
        raise Forbidden()
    ts.exported = not ts.exported
    return _save(session, ts, settings)


def set_meta(
    session: Session, *, caller: Caller, settings: Settings, timesheet_id: int, data: Any
) -> Timesheet:
    """``name`` is looked up before ``value`` is read (an unknown name is 404 even without a value)."""
    ts = load(session, caller=caller, timesheet_id=timesheet_id, attribute="edit")
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise BadRequest()
    declared = declared_meta_fields(session, entity_type=KIND, configured=settings.meta_fields)
    known = {row.name.lower(): (row.name, row.visible) for row in ts.meta}
    for declared_name, visible in declared.items():
        known.setdefault(declared_name.lower(), (declared_name, visible))
    if name.lower() not in known:
        raise NotFound()
    value = data.get("value")
    if not isinstance(value, str):
        raise BadRequest()
    stored_name, visible = known[name.lower()]
    upsert(
        session,
        TimesheetMeta.__table__,
        {
            "entity_id": ts.id,
            "name": stored_name,
            "value": value,
            "visible": visible,
            "modified_at": utcnow(),
        },
        keys=("entity_id", "name"),
        update=("value", "modified_at"),
    )
    session.expire(ts, ["meta"])
    ts.modified_at = utcnow()
    session.flush()
    changes.record(session, entity=KIND, entity_id=ts.id, op="upsert")
    return ts


# --- favorites --------------------------------------------------------------------------------------


def _own_record(session: Session, caller: Caller, timesheet_id: int) -> Timesheet:
    ts = get(session, timesheet_id=timesheet_id)
    if not caller.can("start_own_timesheet") or ts.user_id != caller.id:
        raise Forbidden()
    return ts


def add_favorite(session: Session, *, caller: Caller, timesheet_id: int) -> None:
    """Newest first; a sixth favorite pushes out the oldest."""
    ts = _own_record(session, caller, timesheet_id)
    owned = TimesheetFavorite.user_id == caller.id
    if session.scalar(select(TimesheetFavorite.id).where(owned, TimesheetFavorite.timesheet_id == ts.id)):
        return
    ids = list(
        session.scalars(select(TimesheetFavorite.id).where(owned).order_by(TimesheetFavorite.id.desc()))
    )
    if len(ids) >= MAX_FAVORITES:
        session.execute(delete(TimesheetFavorite).where(TimesheetFavorite.id.in_(ids[MAX_FAVORITES - 1 :])))
    session.add(TimesheetFavorite(user_id=caller.id, timesheet_id=ts.id))
    session.flush()


def remove_favorite(session: Session, *, caller: Caller, timesheet_id: int) -> None:
    ts = _own_record(session, caller, timesheet_id)
    session.execute(
        delete(TimesheetFavorite).where(
            TimesheetFavorite.user_id == caller.id, TimesheetFavorite.timesheet_id == ts.id
        )
    )


def favorite_ids(session: Session, *, caller: Caller) -> list[int]:
    return list(
        session.scalars(
            select(TimesheetFavorite.timesheet_id)
            .where(TimesheetFavorite.user_id == caller.id)
            .order_by(TimesheetFavorite.id.desc())
        )
    )
