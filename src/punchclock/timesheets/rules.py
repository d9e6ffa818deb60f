"""Kimai's timesheet calculations and validation rules, on a ``Timesheet`` (or a batch's
``timesheets.bulk.Draft``, which has the same attributes).

Saving a record is: validate the values as submitted, then round begin/end, derive the duration,
resolve rates and the billable flag (Kimai's calculators run in this order after validation). Rates
are read through a ``RateSource`` (queries for one record, or preloaded for a batch), so the single
POST and the batch share every rule; the overlap check, which reads the stored records, queries.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, exists, literal, or_, select, union_all
from sqlalchemy.orm import Session

from punchclock.activities.models import ActivityRate
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.customers.models import CustomerRate
from punchclock.db import utcnow
from punchclock.entities.access import has_access
from punchclock.entities.kinds import ACTIVITY, PROJECT
from punchclock.entities.models import RateRow
from punchclock.kimai.datetimes import zone
from punchclock.kimai.forms import NOT_NULL
from punchclock.projects.models import ProjectRate
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import UserPreference

ONE_YEAR = 365 * 24 * 3600

# Violations Kimai attaches to properties that are no form fields (they become global form errors).
BEGIN = "begin_date"
END = "end_date"
DURATION = "duration"

MESSAGES = {
    "missing_begin": "You must submit a begin date.",
    "end_before_begin": "The end date must not be earlier than the start date.",
    "missing_activity": "An activity needs to be selected.",
    "missing_project": "A project needs to be selected.",
    "mismatch": "Project mismatch, project specific activity and timesheet project are different.",
    "no_globals": "Global activities are forbidden for the selected project.",
    "not_started": "The project has not started at that time.",
    "ended": "The project is finished at that time.",
    "hidden_activity": "Cannot start a disabled activity.",
    "hidden_project": "Cannot start a disabled project.",
    "hidden_customer": "Cannot start a disabled customer.",
    "project_access": "You are not allowed to use this project.",
    "activity_access": "You are not allowed to use this activity.",
    "restart": "You are not allowed to start this timesheet record.",
    "exported": "This timesheet is already exported.",
    "future_begin": "The begin date cannot be in the future.",
    "future_end": "The end date cannot be in the future.",
    "year": "Maximum duration exceeded.",
    "zero": "An empty duration is not allowed.",
    "negative": "Duration cannot be negative.",
    "overlap": "You already have an entry for this time.",
}


# --- rounding and duration --------------------------------------------------------------------------


def _round(instant: dt.datetime, minutes: int, how: str) -> dt.datetime:
    """Round on the Unix timestamp, as Kimai does (so whole hours stay whole in every zone)."""
    if minutes <= 0:
        return instant
    step = minutes * 60
    seconds = int(instant.timestamp())
    diff = seconds % step
    if diff == 0 and instant.microsecond == 0:
        return instant
    down = seconds - diff
    if how == "floor":
        target = down
    elif how == "ceil":
        target = down + step if diff or instant.microsecond else down
    else:  # closest; exactly half way goes down
        target = down + step if diff > step / 2 else down
    return dt.datetime.fromtimestamp(target, dt.UTC)


def _round_seconds(value: int, minutes: int, how: str) -> int:
    if minutes <= 0:
        return value
    step = minutes * 60
    if how == "floor":
        return value - value % step
    if how == "ceil":
        return math.ceil(value / step) * step
    diff = value % step  # closest; exactly half way goes down
    return value - diff + (step if diff > step / 2 else 0)


# mode -> how begin, end and duration are rounded
_MODES = {
    "default": ("floor", "ceil", "ceil"),
    "floor": ("floor", "floor", "floor"),
    "ceil": ("ceil", "ceil", "ceil"),
    "closest": ("closest", "closest", "closest"),
}


def round_begin_now(now: dt.datetime, settings: Settings) -> dt.datetime:
    """A new record's default begin: now, rounded as its begin would be (seconds dropped by default)."""
    return _round(
        now.replace(microsecond=0),
        settings.timesheet_rounding_begin,
        _MODES[settings.timesheet_rounding_mode][0],
    )


def apply_rounding(ts: Timesheet, settings: Settings) -> None:
    """Round begin and end, then set the duration; a running record has duration 0."""
    if ts.end is None:
        ts.duration = 0
        return
    begin_how, end_how, duration_how = _MODES[settings.timesheet_rounding_mode]
    ts.begin = _round(ts.begin, settings.timesheet_rounding_begin, begin_how)
    ts.end = _round(ts.end, settings.timesheet_rounding_end, end_how)
    duration = int((ts.end - ts.begin).total_seconds()) - (ts.break_ or 0)
    ts.duration = _round_seconds(duration, settings.timesheet_rounding_duration, duration_how)


def raw_duration(ts: Timesheet) -> int | None:
    if ts.begin is None or ts.end is None:
        return None
    return int((ts.end - ts.begin).total_seconds()) - (ts.break_ or 0)


# --- rates ------------------------------------------------------------------------------------------


RATE_PREFERENCES = ("hourly_rate", "internal_rate")


def numeric_preferences(rows: Iterable[tuple[str, str | None]]) -> dict[str, float]:
    """The ``hourly_rate`` and ``internal_rate`` preferences among (name, value) rows that hold a number."""
    found: dict[str, float] = {}
    for name, value in rows:
        if name in RATE_PREFERENCES and value:
            try:
                found[name] = float(value)
            except ValueError:
                continue
    return found


@dataclass(frozen=True)
class ConfiguredRate:
    """A rate row of the record's activity, project or customer, weighed as Kimai does."""

    points: int
    rate: float
    internal_rate: float | None
    fixed: bool


# Where configured rates come from, best first: activity (5) over project (3) over customer (1); a
# rate for this very user scores one point above the rate for everybody.
RATE_TABLES: tuple[tuple[type[RateRow], int], ...] = ((ActivityRate, 5), (ProjectRate, 3), (CustomerRate, 1))


def rate_owners(ts: Timesheet) -> tuple[int, int, int]:
    """The ids the rate tables of ``RATE_TABLES`` are looked up by, in that order."""
    return ts.activity_id, ts.project_id, ts.project.customer_id


def configured_rate(
    points: int, user_id: int | None, rate: float, internal: float | None, fixed: bool
) -> ConfiguredRate:
    return ConfiguredRate(points + (1 if user_id is not None else 0), rate, internal, fixed)


class RateSource(Protocol):
    """What the rate calculation reads: the configured rates that apply to a record, the owner's rate
    preferences. ``SessionRates`` asks the database; a batch preloads them."""

    def candidates(self, ts: Timesheet) -> Iterable[ConfiguredRate]: ...

    def preferences(self, user_id: int) -> dict[str, float]: ...


class SessionRates:
    def __init__(self, session: Session) -> None:
        self.session = session

    def candidates(self, ts: Timesheet) -> Iterable[ConfiguredRate]:
        query = union_all(
            *(
                select(
                    model.rate,
                    model.internal_rate,
                    model.fixed,
                    model.user_id,
                    literal(points).label("points"),
                ).where(
                    model.entity_id == owner_id, or_(model.user_id == ts.user_id, model.user_id.is_(None))
                )
                for (model, points), owner_id in zip(RATE_TABLES, rate_owners(ts), strict=True)
            )
        )
        for row in self.session.execute(query):
            yield configured_rate(row.points, row.user_id, row.rate, row.internal_rate, row.fixed)

    def preferences(self, user_id: int) -> dict[str, float]:
        rows = self.session.execute(
            select(UserPreference.name, UserPreference.value).where(
                UserPreference.user_id == user_id, UserPreference.name.in_(RATE_PREFERENCES)
            )
        )
        return numeric_preferences(rows)


def best_rate(candidates: Iterable[ConfiguredRate]) -> ConfiguredRate | None:
    """The configured rate with the most points (on equal points the later one, as Kimai's keyed sort)."""
    best: ConfiguredRate | None = None
    for candidate in candidates:
        if best is None or candidate.points >= best.points:
            best = candidate
    return best


def _money(hourly: float, seconds: int) -> float:
    return round(hourly * (seconds / 3600), 4)  # the same float steps as Kimai


def apply_rates(ts: Timesheet, rates: RateSource) -> None:
    """Kimai's classic rate calculation (record override > activity > project > customer > user)."""
    if ts.end is None:
        ts.rate, ts.internal_rate = 0.0, 0.0
        return
    fixed, hourly = ts.fixed_rate, ts.hourly_rate
    fixed_internal: float | None = None
    internal: float | None = None
    configured = best_rate(rates.candidates(ts))
    if configured is not None:
        if configured.fixed:
            fixed = fixed if fixed is not None else configured.rate
            fixed_internal = configured.internal_rate
        else:
            hourly = hourly if hourly is not None else configured.rate
            internal = configured.internal_rate
    preferences = rates.preferences(ts.user_id)
    if fixed is not None:
        if fixed_internal is None:
            internal_hourly = preferences.get("internal_rate")
            fixed_internal = fixed if internal_hourly is None else _money(internal_hourly, ts.duration)
        ts.rate, ts.internal_rate, ts.fixed_rate = fixed, fixed_internal, fixed
        return
    if hourly is None:
        hourly = preferences.get("hourly_rate", 0.0)
    if internal is None:
        preferred = preferences.get("internal_rate")
        internal = hourly if preferred is None else preferred
    ts.hourly_rate = hourly
    ts.rate = _money(hourly, ts.duration)
    ts.internal_rate = _money(internal, ts.duration)


def apply_billable(ts: Timesheet) -> None:
    """``auto``: billable when activity, project and customer all are; ``yes``/``no`` are forced."""
    if ts.billable_mode == "auto":
        ts.billable = bool(ts.activity.billable and ts.project.billable and ts.project.customer.billable)
    else:
        ts.billable = ts.billable_mode == "yes"


def calculate(ts: Timesheet, settings: Settings, rates: RateSource) -> None:
    """Everything a save derives: rounding and duration, billable, rates."""
    apply_rounding(ts, settings)
    apply_billable(ts)
    apply_rates(ts, rates)


# --- validation --------------------------------------------------------------------------------------


Violations = dict[str, list[str]]


def _add(errors: Violations, path: str, key: str) -> None:
    errors.setdefault(path, []).append(MESSAGES[key])


# Kimai's team access, as the timesheet rules name it (one rule for every kind: entities.access).
def project_open(caller: Caller, project: Any) -> bool:
    return has_access(caller, PROJECT.name, project)


def activity_open(caller: Caller, activity: Any) -> bool:
    return has_access(caller, ACTIVITY.name, activity)


def validate(
    session: Session,
    ts: Timesheet,
    *,
    caller: Caller,
    settings: Settings,
    is_new: bool,
    changed: set[str],
    may_start: bool,
    may_edit_export: bool,
) -> Violations:
    """Every violation of Kimai's timesheet constraints, keyed by Kimai's property path.

    ``changed``: the attributes the request changed (team access is re-checked only for those).
    """
    errors: Violations = {}
    project, activity = ts.project, ts.activity
    # Basic: begin/end, project and activity.
    if ts.begin is None:
        _add(errors, BEGIN, "missing_begin")
    elif ts.end is not None and ts.begin > ts.end:
        _add(errors, END, "end_before_begin")
    if activity is None and settings.timesheet_require_activity:
        _add(errors, "activity", "missing_activity")
    if project is None:
        _add(errors, "project", "missing_project")
    else:
        if activity is not None and activity.project_id is not None and activity.project_id != project.id:
            _add(errors, "project", "mismatch")
        if activity is not None and not project.global_activities and activity.project_id is None:
            _add(errors, "activity", "no_globals")
        if ts.begin is not None and (project.start is not None or project.end is not None):
            if project.start is not None and ts.begin < project.start:
                _add(errors, BEGIN, "not_started")
            elif project.end is not None and ts.begin > project.end:
                _add(errors, BEGIN, "ended")
            if ts.end is not None:
                if project.end is not None and ts.end > project.end:
                    _add(errors, END, "ended")
                elif project.start is not None and ts.end < project.start:
                    _add(errors, END, "not_started")
    # Hidden entities cannot be used on a new or running record.
    if is_new or ts.end is None:
        if activity is not None and not activity.visible:
            _add(errors, "activity", "hidden_activity")
        if project is not None:
            if not project.visible:
                _add(errors, "project", "hidden_project")
            if not project.customer.visible:
                _add(errors, "customer", "hidden_customer")
    if not is_new and ts.exported and not may_edit_export:
        _add(errors, "exported", "exported")
    if not settings.timesheet_allow_future_times and ts.begin is not None:
        now = utcnow().timestamp()
        if ts.begin.timestamp() > now + settings.timesheet_rounding_begin * 60 + 60:
            _add(errors, BEGIN, "future_begin")
        if ts.end is not None and ts.end.timestamp() > now + settings.timesheet_rounding_end * 60 + 60:
            _add(errors, "end_time", "future_end")
    duration = raw_duration(ts)
    if duration is not None:
        limit = settings.timesheet_long_running_duration
        if duration > ONE_YEAR:
            _add(errors, DURATION, "year")
        elif limit > 0 and duration / 60 > limit:
            errors.setdefault(DURATION, []).append(f"Maximum {limit // 60}:{limit % 60:02d} hours allowed.")
        if duration < 0:
            _add(errors, DURATION, "negative")
    # (Not for reversed times, which already failed above.)
    checks_overlap = not settings.timesheet_allow_overlapping and ts.begin is not None
    if checks_overlap and not (ts.end is not None and ts.begin > ts.end) and overlaps(session, ts):
        _add(errors, BEGIN, "overlap")
    # Removing the end restarts the record, which needs the start permission (looked at only when
    # the rules above passed, as Kimai orders its constraints).
    if ts.end is None and not errors and not may_start:
        _add(errors, END, "restart")
    # Team access, for what this request chose.
    if not caller.sees_all:
        if project is not None and (is_new or "project_id" in changed) and not project_open(caller, project):
            _add(errors, "project", "project_access")
        if (
            activity is not None
            and (is_new or "activity_id" in changed)
            and not activity_open(caller, activity)
        ):
            _add(errors, "activity", "activity_access")
    if duration == 0 and not settings.timesheet_allow_zero_duration:
        _add(errors, DURATION, "zero")
    # The entity's property constraints come after its class constraints.
    for path, value in (("user", ts.user_id), ("activity", activity), ("project", project)):
        if value is None:
            errors.setdefault(path, []).append(NOT_NULL)
    return errors


def overlaps(session: Session, ts: Timesheet) -> bool:
    """Kimai's check against the owner's stopped records (running ones never count): one of them
    holds begin + 1 s or end - 1 s, or starts or ends between the two. The second lets a record
    start when the previous one ends."""
    other = Timesheet.__table__.c
    begin = ts.begin + dt.timedelta(seconds=1)
    hits = [and_(other.begin <= begin, other.end >= begin)]
    if ts.end is not None:
        end = ts.end - dt.timedelta(seconds=1)
        hits += [
            and_(other.begin <= end, other.end >= end),
            and_(other.begin >= begin, other.begin <= end),
            and_(other.end >= begin, other.end <= end),
        ]
    clauses = [other.user_id == ts.user_id, other.end.is_not(None), or_(*hits)]
    if ts.id is not None:
        clauses.append(other.id != ts.id)
    return bool(session.scalar(select(exists().where(and_(*clauses)))))


def local(instant: dt.datetime, tz: str) -> dt.datetime:
    return instant.astimezone(zone(tz))
