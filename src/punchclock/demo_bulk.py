"""Demo data at scale: many customers, projects, activities and users with years of timesheets.

Everything is written with SQLAlchemy Core bulk inserts inside the caller's transaction: the small
tables with RETURNING for their ids, the timesheets in batches (executemany of an INSERT that Core
compiled, or COPY on PostgreSQL) while a thread makes the next batch, and their change log rows in one
INSERT … SELECT at the end. Rows are what Kimai's API would have stored, so the timesheet endpoints
accept and render them as their own:

- users work Monday to Friday in their own timezone, entries back to back during local working
  hours, never overlapping; begin and end on whole minutes (Kimai's default rounding);
- ``duration`` = end - begin, no break; the hourly rate is the user's ``hourly_rate`` preference and
  ``rate`` = ``internal_rate`` = round(hourly x duration / 3600, 4), as Kimai's classic calculator;
- ``billable`` = activity and project and customer billable (billable mode "auto"); an activity
  belongs to the record's project, or is global on a project that allows global activities; only
  visible entities without team restrictions or project dates are booked, so every rule holds;
- a month is exported on the 5th of the next month (which also modified its records);
- a few users have their last entry still running (no end, duration 0, rates 0, no hourly rate).

The random choices come from ``seed`` and the calendar from ``until``: the same pair gives the same
rows on the same database.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from queue import Full, Queue
from typing import Any, TypeVar, cast

from sqlalchemy import Column, MetaData, Table, func, insert, or_, select, text
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.activities.models import Activity
from punchclock.auth.passwords import hash_password
from punchclock.customers.models import Customer
from punchclock.db import utcnow
from punchclock.demo import DEMO_PASSWORD, demo_loaded, load_demo
from punchclock.entities.crud import default_number_format
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, Kind
from punchclock.ext.changes import log as change_log
from punchclock.kimai.colors import COLOR_CHOICES
from punchclock.kimai.datetimes import zone
from punchclock.kimai.numbers import next_free_number
from punchclock.projects.models import Project
from punchclock.tags.models import Tag
from punchclock.teams.models import Team, TeamMember
from punchclock.timesheets.models import Timesheet, TimesheetTag
from punchclock.users.models import User, UserPreference

USERNAME = "demo_user_{:03d}"
TEAM_SIZE = 10

# (country, currency, timezone, legal form, city)
_MARKETS = (
    ("DE", "EUR", "Europe/Berlin", "GmbH", "Berlin"),
    ("GB", "GBP", "Europe/London", "Ltd", "Manchester"),
    ("US", "USD", "America/New_York", "Inc.", "Boston"),
    ("US", "USD", "America/Los_Angeles", "Inc.", "San Diego"),
    ("FR", "EUR", "Europe/Paris", "SAS", "Lyon"),
    ("JP", "JPY", "Asia/Tokyo", "K.K.", "Osaka"),
    ("AU", "AUD", "Australia/Sydney", "Pty Ltd", "Sydney"),
    ("IN", "INR", "Asia/Kolkata", "Pvt Ltd", "Pune"),
    ("BR", "BRL", "America/Sao_Paulo", "Ltda", "Campinas"),
)
# Where the users work, with how many of them: most in Europe, a half-hour offset among them.
_USER_TIMEZONES = (
    ("Europe/Berlin", 6),
    ("Europe/London", 3),
    ("America/New_York", 3),
    ("America/Los_Angeles", 2),
    ("Asia/Tokyo", 2),
    ("Australia/Sydney", 1),
    ("Asia/Kolkata", 1),
    ("Pacific/Auckland", 1),
    ("America/Sao_Paulo", 1),
)
_BRANDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Wonka", "Aperture", "Oceanic", "Massive Dynamic", "Monarch", "Nakatomi", "Sterling",
    "Bluth", "Oscorp", "Gekko", "Duff", "Krusty", "Virtucon", "Prestige", "Zorg", "Dharma", "Ollivander",
)  # fmt: skip
_TRADES = ("Logistics", "Bank", "Foods", "Media", "Health", "Energy", "Retail", "Labs", "Insurance", "Travel")
_PROJECTS = (
    "Website relaunch", "Mobile app", "Data migration", "CRM integration", "Brand refresh", "Annual report",
    "Support contract", "Cloud migration", "Security audit", "Analytics dashboard", "Intranet",
    "Online shop", "API platform", "Marketing campaign", "Training programme", "Customer portal",
    "Payment gateway", "Warehouse system", "Newsletter", "Accessibility review",
)  # fmt: skip
_ACTIVITIES = (
    "Design", "Frontend development", "Backend development", "Testing", "Deployment", "Support",
    "Maintenance", "Consulting", "Analysis", "Copywriting", "Project setup", "Requirements",
    "Data modelling", "Code review", "Bug fixing", "Performance tuning", "Content migration", "UX research",
    "Prototyping", "Hosting", "Reporting", "Acceptance tests",
)  # fmt: skip
# Global activities, (name, billable).
_GLOBALS = (
    ("Internal meeting", False), ("Customer call", True), ("Coordination", True), ("Travel time", True),
    ("Training", False), ("Documentation", True), ("Workshop", True), ("Administration", False),
    ("Estimation", True), ("Presentation", True), ("Onboarding", False), ("Retrospective", False),
    ("Research", True), ("Quality assurance", True), ("Pair programming", True), ("Stand-up", False),
    ("On-call duty", True), ("Release planning", True), ("Recruiting", False), ("Mentoring", False),
)  # fmt: skip
_TAGS = (
    "urgent", "bug", "feature", "meeting", "remote", "on-site", "overtime", "review", "planning", "support",
    "hotfix", "research", "documentation", "training", "design", "travel", "weekend", "internal",
    "follow-up", "warranty",
)  # fmt: skip
_FIRST = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Hedy",
    "Tim", "Radia", "Vint", "Katherine", "Donald", "Sophie", "John", "Karen", "Niklaus", "Anita", "Bjarne",
    "Shafi", "Guido", "Yukihiro", "Rasmus", "Mary", "James", "Lynn", "Whitfield",
)  # fmt: skip
_LAST = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
    "Dijkstra", "Lamarr", "Berners-Lee", "Perlman", "Cerf", "Johnson", "Knuth", "Wilson", "McCarthy",
    "Jones", "Wirth", "Borg", "Stroustrup", "Goldwasser", "van Rossum", "Matsumoto", "Lerdorf",
)  # fmt: skip
_TITLES = ("Developer", "Senior developer", "Designer", "Consultant", "Project manager", "Tester", "Analyst")
_DESCRIPTIONS = (
    "Daily stand-up", "Sprint planning", "Fixed login issue", "Reviewed pull requests", "Client call",
    "Wrote release notes", "Updated dependencies", "Refactored the import", "Prepared the workshop",
    "Investigated slow page loads", "Deployment to staging", "Deployment to production", "Customer feedback",
    "Estimated change requests", "Pairing session", "Wrote unit tests", "Checked the nightly reports",
    "Design review", "Database backup check", "Onboarding a new colleague",
    "**Release** prepared:\n- changelog\n- tags\n- announcement",
)  # fmt: skip
# Minutes between two entries of a day (most follow on directly).
_GAPS = (0, 0, 0, 0, 5, 5, 10, 15)

_EPOCH = dt.date(1970, 1, 1).toordinal()
_MINUTES_PER_DAY = 1440

TIMESHEET_COLUMNS = (
    "id", "user_id", "project_id", "activity_id", "begin", "end", "timezone", "duration", "break",
    "description", "rate", "internal_rate", "fixed_rate", "hourly_rate", "exported", "billable",
    "billable_mode", "category", "created_at", "modified_at",
)  # fmt: skip
TAG_COLUMNS = ("timesheet_id", "tag_id", "modified_at")


@dataclass(frozen=True)
class BulkSpec:
    """How much to make. ``until``: the moment the history leads up to (whole minutes, UTC)."""

    timesheets: int
    users: int = 200
    seed: int = 1
    until: dt.datetime = field(default_factory=lambda: utcnow().replace(second=0, microsecond=0))
    customers: int = 50
    projects: int = 300
    activities: int = 1_000
    batch_size: int = 25_000

    def __post_init__(self) -> None:
        counts = (self.users, self.customers, self.projects, self.activities, self.batch_size)
        if self.timesheets < 0 or min(counts) < 1:
            raise ValueError("the demo needs at least one user, customer, project and activity")


@dataclass(frozen=True)
class BulkSummary:
    customers: int
    projects: int
    activities: int
    tags: int
    users: int
    teams: int
    timesheets: int
    running: int

    def __str__(self) -> str:
        return (
            f"bulk demo data loaded: {self.customers:,} customers, {self.projects:,} projects, "
            f"{self.activities:,} activities, {self.tags} tags, {self.users:,} users in {self.teams} "
            f"team{'' if self.teams == 1 else 's'}, "
            f"{self.timesheets:,} timesheets ({self.running} running)"
        )


@dataclass(frozen=True)
class Booking:
    """What one entry books: a project, one of its valid activities, and the resulting billable."""

    project_id: int
    activity_id: int
    billable: bool


@dataclass
class Worker:
    """A demo user as the timeline sees it; ``days`` is (local day ordinal, entries), oldest first."""

    index: int
    timezone: str
    hourly_rate: float
    day_start: int
    days: list[tuple[int, int]]
    running: bool
    rng: random.Random
    id: int = 0
    bookings: list[Booking] = field(default_factory=list)


def bulk_loaded(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.username == USERNAME.format(1))) is not None


def load_bulk(
    session: Session, spec: BulkSpec, *, progress: Callable[[int], None] | None = None, copy: bool = True
) -> BulkSummary:
    """Write the bulk demo data; ``progress`` gets the number of timesheets written after each batch.
    On PostgreSQL ``copy`` streams the timesheets with COPY instead of INSERT (measured faster)."""
    if spec.until.tzinfo is None or spec.until.second or spec.until.microsecond:
        raise ValueError("until must be a timezone-aware datetime on a whole minute")
    if bulk_loaded(session):
        raise ValueError("the bulk demo data is loaded already")
    workers = plan_workers(spec)
    first_day = min((w.days[0][0] for w in workers if w.days), default=spec.until.date().toordinal())
    # Everything the history uses existed a few weeks before its first day.
    created = dt.datetime.combine(dt.date.fromordinal(first_day - 30), dt.time(9), dt.UTC)
    rng = random.Random(spec.seed)
    catalog = _insert_catalog(session, rng, spec, created)
    tag_ids = _insert_tags(session, rng, created)
    teams = _insert_users(session, workers, created)
    for worker in workers:
        worker.bookings = _bookings(worker.rng, catalog)
    sink = _Sink(session, copy=copy and session.get_bind().dialect.name == "postgresql")
    with _loading(session, spec.timesheets):
        rows = timesheet_rows(workers, spec.until, tag_ids, sink.stamp, sink.first_id)
        written = sink.write(rows, spec, progress)
    if written:
        change_log.record_timesheet_range(session, sink.first_id, sink.first_id + written - 1)
    # Fresh planner statistics: without them PostgreSQL guesses thousands of running timers and
    # walks the whole begin index for ?active=1.
    for table in (Timesheet.__tablename__, TimesheetTag.__tablename__):
        session.execute(text(f"ANALYZE {table}"))
    return BulkSummary(
        customers=catalog.customers,
        projects=catalog.projects,
        activities=catalog.activities,
        tags=len(tag_ids),
        users=len(workers),
        teams=teams,
        timesheets=written,
        running=sum(1 for w in workers if w.running),
    )


def load_demo_at_scale(
    session: Session, *, timezone: str, spec: BulkSpec, progress: Callable[[int], None] | None = None
) -> list[str]:
    """The small demo (unless it is there already; its rows go through the services) with the bulk
    data on top; one summary line per part."""
    lines = [] if demo_loaded(session) else [load_demo(session, timezone=timezone)]
    lines.append(str(load_bulk(session, spec, progress=progress)))
    return lines


# --- who works when ---------------------------------------------------------------------------------


def plan_workers(spec: BulkSpec) -> list[Worker]:
    """Each user's profile and working days, counted back from the day before ``until`` (their local
    date) until their share of the timesheets is placed. Each user draws from a random generator of
    their own, seeded from ``seed`` and their number."""
    zones = [name for name, weight in _USER_TIMEZONES for _ in range(weight)]
    share, extra = divmod(spec.timesheets, spec.users)
    # A few users left their last timer running: one in 40 (one or two of fewer than 80 users).
    every = min(40, max(2, spec.users // 2))
    workers = []
    for index in range(spec.users):
        rng = random.Random(spec.seed * 1_000_003 + index)
        timezone = rng.choice(zones)
        quota = share + (1 if index < extra else 0)
        running = quota > 0 and index % every == every // 2
        low = rng.choice((2, 3, 4))
        today = spec.until.astimezone(zone(timezone)).date().toordinal()
        days: list[tuple[int, int]] = []
        day = today - 1
        while quota > 0:
            # Monday to Friday (ordinal 1 is a Monday), with now and then a day off.
            if (day - 1) % 7 < 5 and rng.random() >= 0.06:
                entries = min(quota, rng.randint(low, low + 4))
                days.append((day, entries))
                quota -= entries
            day -= 1
        days.reverse()
        workers.append(
            Worker(
                index=index,
                timezone=timezone,
                hourly_rate=float(rng.randrange(45, 160, 5)),
                day_start=rng.randint(7 * 60 + 20, 9 * 60 + 30),
                days=days,
                running=running,
                rng=rng,
            )
        )
    return workers


# --- customers, projects, activities, tags ------------------------------------------------------------


@dataclass
class Catalog:
    """The bookable projects with their valid activities, plus what was inserted."""

    projects_in_use: list[tuple[int, list[Booking]]] = field(default_factory=list)
    customers: int = 0
    projects: int = 0
    activities: int = 0


class _Numbers:
    """Kimai's automatic numbers for many new rows at once (the service asks the table each time)."""

    def __init__(self, session: Session, kind: Kind) -> None:
        model = kind.model
        self.taken = set(session.scalars(select(model.number).where(model.number.is_not(None))))
        self.count = session.scalar(select(func.count()).select_from(model)) or 0
        self.format = default_number_format(kind)
        self.counter = {"customer": "cc", "project": "pc", "activity": "ac"}[kind.name]

    def next(self, today: dt.date) -> str | None:
        number = next_free_number(
            self.format,
            count=self.count,
            today=today,
            taken=self.taken.__contains__,
            counter_names=frozenset({self.counter}),
        )
        self.count += 1
        if number is not None:
            self.taken.add(number)
        return number


def _unique_names(rng: random.Random, pool: Sequence[str], count: int) -> list[str]:
    """``count`` names from ``pool`` in random order; past its size they come round again numbered."""
    names = []
    for round_ in range(count // len(pool) + 1):
        names += [name if round_ == 0 else f"{name} {round_ + 1}" for name in rng.sample(pool, len(pool))]
    return names[:count]


def _spread(rng: random.Random, total: int, bins: int, minimum: int) -> list[int]:
    """``total`` split into ``bins`` counts of at least ``minimum`` (when there is enough)."""
    counts = [min(minimum, total // bins) for _ in range(bins)]
    for _ in range(total - sum(counts)):
        counts[rng.randrange(bins)] += 1
    return counts


def _insert_returning(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))


def _insert_catalog(session: Session, rng: random.Random, spec: BulkSpec, created: dt.datetime) -> Catalog:
    catalog = Catalog()
    stamps = {"created_at": created, "modified_at": created, "budget": 0.0, "time_budget": 0}
    today = created.date()
    # Customers: a few not billable (their records are not billable), one hidden.
    numbers = _Numbers(session, CUSTOMER)
    names = _unique_names(rng, [f"{b} {t}" for b in _BRANDS for t in _TRADES], spec.customers)
    customers = []
    for i, name in enumerate(names):
        country, currency, timezone, form, city = rng.choice(_MARKETS)
        slug = name.lower().replace(" ", "-")
        customers.append(
            {
                **stamps,
                "name": name,
                "company": f"{name} {form}",
                "number": numbers.next(today),
                "comment": "Demo data (bulk)",
                "country": country,
                "currency": currency,
                "timezone": timezone,
                "language": "en",
                "city": city,
                "email": f"office@{slug}.example",
                "homepage": f"https://{slug}.example",
                "visible": i != len(names) - 1 or len(names) < 3,
                "billable": rng.random() >= 0.06,
                "color": rng.choice((None, None, *COLOR_CHOICES.values())),
            }
        )
    customer_ids = _insert_returning(session, Customer, customers)
    catalog.customers = len(customer_ids)

    # Projects, spread over the customers; a few hidden, some without global activities.
    numbers = _Numbers(session, PROJECT)
    projects: list[dict[str, Any]] = []
    spread = _spread(rng, spec.projects, len(customers), 1)
    for customer_id, customer, count in zip(customer_ids, customers, spread, strict=True):
        for name in _unique_names(rng, _PROJECTS, count):
            projects.append(
                {
                    **stamps,
                    "customer_id": customer_id,
                    "name": name,
                    "number": numbers.next(today),
                    "order_number": f"PO-{rng.randint(10_000, 99_999)}" if rng.random() < 0.4 else None,
                    "timezone": customer["timezone"],
                    "visible": rng.random() >= 0.03,
                    "billable": rng.random() >= 0.05,
                    "global_activities": rng.random() >= 0.1,
                    "color": rng.choice((None, None, None, *COLOR_CHOICES.values())),
                    "_bookable": customer["visible"],
                    "_customer_billable": customer["billable"],
                }
            )
    project_rows = [{k: v for k, v in p.items() if not k.startswith("_")} for p in projects]
    project_ids = _insert_returning(session, Project, project_rows)
    catalog.projects = len(project_ids)

    # Activities: about one in fifty global, the rest spread over the projects (each gets one).
    numbers = _Numbers(session, ACTIVITY)
    global_count = min(len(_GLOBALS), max(1, spec.activities // 50))
    activities: list[dict[str, Any]] = []
    for name, billable in _GLOBALS[:global_count]:
        activities.append({**stamps, "project_id": None, "name": name, "billable": billable})
    spread = _spread(rng, spec.activities - global_count, len(projects), 1)
    for project_id, count in zip(project_ids, spread, strict=True):
        for name in _unique_names(rng, _ACTIVITIES, count):
            activities.append({**stamps, "project_id": project_id, "name": name, "billable": True})
    for activity in activities:
        activity["number"] = numbers.next(today)
        # A few project activities hidden (never booked); the global ones all visible.
        activity["visible"] = activity["project_id"] is None or rng.random() >= 0.02
    activity_ids = _insert_returning(session, Activity, activities)
    catalog.activities = len(activity_ids)

    globals_ = [
        Booking(0, activity_id, activity["billable"])
        for activity_id, activity in zip(activity_ids, activities, strict=True)
        if activity["project_id"] is None
    ]
    own: dict[int, list[Booking]] = {}
    for activity_id, activity in zip(activity_ids, activities, strict=True):
        if activity["project_id"] is not None and activity["visible"]:
            own.setdefault(activity["project_id"], []).append(Booking(0, activity_id, activity["billable"]))
    for project_id, project in zip(project_ids, projects, strict=True):
        if not (project["visible"] and project["_bookable"]):
            continue
        billable = project["billable"] and project["_customer_billable"]
        # Own activities three times as likely as each global one.
        options = own.get(project_id, []) * 3 + (globals_ if project["global_activities"] else [])
        bookings = [Booking(project_id, o.activity_id, billable and o.billable) for o in options]
        if bookings:
            catalog.projects_in_use.append((project_id, bookings))

    for entity, ids in (("customer", customer_ids), ("project", project_ids), ("activity", activity_ids)):
        for entity_id in ids:
            changes.record(session, entity=entity, entity_id=entity_id, op="upsert")
    return catalog


def _insert_tags(session: Session, rng: random.Random, created: dt.datetime) -> list[int]:
    """The demo tags; names that exist already are reused."""
    existing: dict[str, int] = {
        name: tag_id for name, tag_id in session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(_TAGS)))
    }
    colors = list(COLOR_CHOICES.values())
    new = [
        {"name": name, "color": rng.choice(colors), "visible": True, "modified_at": created}
        for name in _TAGS
        if name not in existing
    ]
    ids = dict(zip([row["name"] for row in new], _insert_returning(session, Tag, new), strict=True))
    for tag_id in ids.values():
        changes.record(session, entity="tag", entity_id=tag_id, op="upsert")
    return [existing.get(name) or ids[name] for name in _TAGS]


def _insert_users(session: Session, workers: list[Worker], created: dt.datetime) -> int:
    """The users (one password hash for all), their hourly rates and teams of ten, each led by its
    first member; returns the number of teams."""
    usernames = [USERNAME.format(worker.index + 1) for worker in workers]
    emails = [f"{username}@example.com" for username in usernames]
    clash = session.scalars(
        select(User.username).where(or_(User.username.in_(usernames), User.email.in_(emails)))
    ).first()
    if clash is not None:
        raise ValueError(f"the user {clash} exists already")
    password = hash_password(DEMO_PASSWORD)
    names = [f"{first} {last}" for last in _LAST for first in _FIRST]
    rng = random.Random(len(workers))
    rng.shuffle(names)
    rows = []
    for worker, username, email in zip(workers, usernames, emails, strict=True):
        lead = worker.index % TEAM_SIZE == 0
        rows.append(
            {
                "username": username,
                "email": email,
                "password": password,
                "alias": names[worker.index % len(names)],
                "title": worker.rng.choice(_TITLES),
                "roles": ["ROLE_ADMIN"] if worker.index == 0 else ["ROLE_TEAMLEAD"] if lead else [],
                "timezone": worker.timezone,
                "language": "en",
                "locale": "en",
                "enabled": True,
                "system_account": False,
                "requires_password_reset": False,
                "created_at": created,
                "modified_at": created,
            }
        )
    for worker, user_id in zip(workers, _insert_returning(session, User, rows), strict=True):
        worker.id = user_id
    session.execute(
        insert(UserPreference),
        [
            {"user_id": w.id, "name": "hourly_rate", "value": f"{w.hourly_rate:g}", "modified_at": created}
            for w in workers
        ],
    )
    taken = set(session.scalars(select(Team.name)))
    groups = [workers[i : i + TEAM_SIZE] for i in range(0, len(workers), TEAM_SIZE)]
    teams = []
    number = 0
    for _group in groups:
        number += 1
        while f"Demo team {number:02d}" in taken:
            number += 1
        teams.append({"name": f"Demo team {number:02d}", "color": None, "modified_at": created})
    team_ids = _insert_returning(session, Team, teams)
    members = [
        {"team_id": team_id, "user_id": w.id, "teamlead": w is group[0], "modified_at": created}
        for team_id, group in zip(team_ids, groups, strict=True)
        for w in group
    ]
    if members:
        session.execute(insert(TeamMember), members)
    for entity, ids in (("user", [w.id for w in workers]), ("team", team_ids)):
        for entity_id in ids:
            changes.record(session, entity=entity, entity_id=entity_id, op="upsert")
    return len(teams)


def _bookings(rng: random.Random, catalog: Catalog) -> list[Booking]:
    """The projects one user books on (4 to 10, the first ones most), as a weighted list."""
    if not catalog.projects_in_use:
        raise ValueError("no visible project with a visible activity to book on")
    chosen = rng.sample(catalog.projects_in_use, min(len(catalog.projects_in_use), rng.randint(4, 10)))
    bookings: list[Booking] = []
    for rank, (_project_id, options) in enumerate(chosen):
        picks = rng.sample(options, min(len(options), 6))
        bookings += picks * (len(chosen) - rank)
    return bookings


# --- the timesheets -----------------------------------------------------------------------------------

Stamp = Callable[[int], Any]
T = TypeVar("T")


def timesheet_rows(
    workers: list[Worker], until: dt.datetime, tag_ids: list[int], stamp: Stamp, first_id: int
) -> Iterator[tuple[dict[str, Any], list[int]]]:
    """Every record with its tag ids, day by day across all users (so ids follow time, as in a
    real database). Times are minutes since 1970 (UTC) until ``stamp`` turns them into what the
    database is given."""
    until_minute = int(until.timestamp()) // 60
    agenda: dict[int, list[tuple[Worker, int, bool]]] = {}
    for worker in workers:
        for position, (day, entries) in enumerate(worker.days):
            agenda.setdefault(day, []).append((worker, entries, position == len(worker.days) - 1))
    offsets: dict[tuple[str, int], int] = {}
    next_id = first_id
    for day in sorted(agenda):
        exported_at = _export_minute(day)
        export = (exported_at, stamp(exported_at)) if exported_at <= until_minute else None
        for worker, entries, last_day in agenda[day]:
            key = (worker.timezone, day)
            if key not in offsets:
                # The offset at local noon: clocks change at night, never during working hours.
                noon = dt.datetime.combine(dt.date.fromordinal(day), dt.time(12), zone(worker.timezone))
                offsets[key] = int(cast(dt.timedelta, noon.utcoffset()).total_seconds()) // 60
            midnight = (day - _EPOCH) * _MINUTES_PER_DAY - offsets[key]
            for j, (begin, end) in enumerate(_day_layout(worker.rng, worker.day_start, entries)):
                if last_day and worker.running and j == entries - 1:
                    row = _running(worker, next_id, midnight + begin, stamp)
                else:
                    row = _stopped(
                        worker, next_id, (midnight + begin, midnight + end), export, until_minute, stamp
                    )
                yield row, _tags(worker.rng.random, tag_ids)
                next_id += 1


def _pick(rand: Callable[[], float], items: Sequence[T]) -> T:
    """``random.choice`` for the hot loop (a third of its cost)."""
    return items[int(rand() * len(items))]


def _day_layout(rng: random.Random, day_start: int, entries: int) -> list[tuple[int, int]]:
    """``entries`` consecutive (begin, end) local minutes of one working day: 6 to 8.5 hours of work
    from about ``day_start``, cut at 5-minute marks, with short gaps and a lunch break."""
    rand = rng.random
    minute = day_start - 20 + int(rand() * 41)
    work = 360 + int(rand() * 151)
    cuts = sorted(rng.sample(range(1, work // 5), entries - 1))
    bounds = [0, *(cut * 5 for cut in cuts), work]
    lunch = entries // 2 - 1
    layout = []
    for j in range(entries):
        end = minute + bounds[j + 1] - bounds[j]
        layout.append((minute, end))
        minute = end + (30 + int(rand() * 31) if j == lunch else _pick(rand, _GAPS))
    return layout


def _common(worker: Worker, row_id: int, begin: str) -> dict[str, Any]:
    """What running and stopped records draw alike: the booking and perhaps a description."""
    rand = worker.rng.random
    booking = _pick(rand, worker.bookings)
    description = None
    if rand() < 0.35:
        description = _pick(rand, _DESCRIPTIONS)
        if rand() < 0.3:
            description += f" (#{100 + int(rand() * 9900)})"
    return {
        "id": row_id, "user_id": worker.id, "project_id": booking.project_id,
        "activity_id": booking.activity_id, "begin": begin, "timezone": worker.timezone, "break": 0,
        "description": description, "fixed_rate": None, "billable": booking.billable,
        "billable_mode": "auto", "category": "work",
    }  # fmt: skip


def _running(worker: Worker, row_id: int, begin: int, stamp: Stamp) -> dict[str, Any]:
    at = stamp(begin)
    row = _common(worker, row_id, at)
    row.update(end=None, duration=0, rate=0.0, internal_rate=0.0, hourly_rate=None, exported=False)
    row.update(created_at=at, modified_at=at)
    return row


def _stopped(
    worker: Worker,
    row_id: int,
    times: tuple[int, int],
    export: tuple[int, Any] | None,
    until: int,
    stamp: Stamp,
) -> dict[str, Any]:
    """``export``: when the record's month was exported (minute and stamp; always after the record
    was entered), None if not yet."""
    begin, end = times
    row = _common(worker, row_id, stamp(begin))
    seconds = (end - begin) * 60
    money = round(worker.hourly_rate * (seconds / 3600), 4)
    # Entered within the next hour and a half; exporting the month modified it again.
    created = min(end + int(worker.rng.random() * 91), until)
    created_at = stamp(created)
    modified_at = created_at if export is None else export[1]
    row.update(end=stamp(end), duration=seconds, rate=money, internal_rate=money)
    row.update(hourly_rate=worker.hourly_rate, exported=export is not None)
    row.update(created_at=created_at, modified_at=modified_at)
    return row


def _tags(rand: Callable[[], float], tag_ids: list[int]) -> list[int]:
    """One tag on a fifth of the records, two on one in twenty."""
    draw = rand()
    if draw < 0.2:
        return [_pick(rand, tag_ids)]
    if draw < 0.25:
        first = _pick(rand, tag_ids)
        return [first, _pick(rand, [t for t in tag_ids if t != first])]
    return []


def _export_minute(day: int) -> int:
    """When the month of ``day`` was exported: the 5th of the next month, 06:00 UTC."""
    date = dt.date.fromordinal(day)
    year, month = (date.year + 1, 1) if date.month == 12 else (date.year, date.month + 1)
    return (dt.date(year, month, 5).toordinal() - _EPOCH) * _MINUTES_PER_DAY + 6 * 60


# --- writing ------------------------------------------------------------------------------------------

_PG_INDEXES = text(
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
    " WHERE x.indrelid = CAST(:table AS regclass)"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
)
_PG_FOREIGN_KEYS = text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
)
# Indexes behind a PRIMARY KEY or UNIQUE constraint have no SQL of their own (and stay).
_SQLITE_INDEXES = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"
)


@contextmanager
def _loading(session: Session, rows: int) -> Iterator[None]:
    """The timesheet tables made ready for a bulk load, and as they were afterwards.

    When fewer rows are there than are coming, the secondary indexes (and on PostgreSQL the foreign
    keys, checked row by row by triggers) are dropped and then built again from the database's own
    definitions: one sort per index and one join per key instead of a million scattered B-tree
    inserts and lookups (PostgreSQL's advice for populating a database; measured twice as fast on
    both backends). It all happens in the load's transaction: a failed load leaves the tables as
    they were, and PostgreSQL keeps others from reading the timesheets until the commit.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    rebuild: list[str] = []
    readd: list[str] = []
    if (session.scalar(select(func.count()).select_from(Timesheet)) or 0) < rows:
        for table in (Timesheet.__tablename__, TimesheetTag.__tablename__):
            if postgres:
                for name, definition in session.execute(_PG_FOREIGN_KEYS, {"table": table}).all():
                    session.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
                    readd.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            indexes = session.execute(_PG_INDEXES if postgres else _SQLITE_INDEXES, {"table": table})
            for name, definition in indexes.all():
                session.execute(text(f'DROP INDEX "{name}"'))
                rebuild.append(definition)
    yield
    for statement in rebuild + readd:
        session.execute(text(statement))


Batch = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _batches(rows: Iterator[tuple[dict[str, Any], list[int]]], size: int) -> Iterator[Batch]:
    """Timesheets in lists of ``size``, each with the rows of their tags."""
    batch: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    for row, tag_ids in rows:
        batch.append(row)
        for tag_id in tag_ids:
            tags.append({"timesheet_id": row["id"], "tag_id": tag_id, "modified_at": row["modified_at"]})
        if len(batch) >= size:
            yield batch, tags
            batch, tags = [], []
    if batch:
        yield batch, tags


def _ahead(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """``items``, made by a thread of their own up to ``depth`` ahead: the generator's Python runs
    while the database driver works with the GIL released (measured: a million SQLite rows 15-20%
    faster)."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item: Any) -> bool:
        """Queue ``item`` unless the consumer has gone; whether it was queued."""
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                pass
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(end)
        except BaseException as exc:  # handed over to be raised where the items are used
            offer(exc)

    thread = threading.Thread(target=produce, name="demo-rows", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _plain(name: str, columns: Sequence[str]) -> Table:
    """A table without Python-side type processing: the rows already hold what the driver takes.
    (Measured: processing the ~20 values of a timesheet costs as much as SQLite's own insert.)"""
    return Table(name, MetaData(), *(Column(column) for column in columns))


class _Sink:
    """Writes timesheets and their tags in batches, with ids counted on from the highest in use."""

    def __init__(self, session: Session, *, copy: bool) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.copy = copy
        self.timesheets = _plain(Timesheet.__tablename__, TIMESHEET_COLUMNS)
        self.tags = _plain(TimesheetTag.__tablename__, TAG_COLUMNS)
        self._insert_timesheets = self._statement(self.timesheets)
        self._insert_tags = self._statement(self.tags)
        # What UTCDateTime would store: naive UTC text on SQLite, an instant on PostgreSQL.
        suffix = "+00" if self.postgres else ".000000"
        self._times = [f"{m // 60:02d}:{m % 60:02d}:00{suffix}" for m in range(_MINUTES_PER_DAY)]
        self._days: dict[int, str] = {}
        self.sequence: str | None = None  # PostgreSQL's for the ids
        self.first_id = self._first_free_id()

    def _statement(self, table: Table) -> str:
        """The table's INSERT as Core compiles it, with named parameters: each batch then goes to the
        driver's executemany as it is, a list of dicts (measured: Core's own per-row parameter
        handling took 40% of a SQLite load)."""
        dialect = self.session.get_bind().dialect
        if dialect.paramstyle not in ("named", "pyformat"):
            dialect = cast(Any, type(dialect))(paramstyle="named")
        return str(insert(table).compile(dialect=dialect))

    def stamp(self, minute: int) -> str:
        day, rest = divmod(minute, _MINUTES_PER_DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = dt.date.fromordinal(_EPOCH + day).isoformat() + " "
        return prefix + self._times[rest]

    def _first_free_id(self) -> int:
        """SQLite: the write transaction holds the database lock. PostgreSQL: inserts into the table
        wait for this transaction, and ids the sequence handed out (even rolled back) stay unused."""
        if self.postgres:
            self.session.execute(text("LOCK TABLE timesheets IN SHARE ROW EXCLUSIVE MODE"))
        top = self.session.scalar(select(func.max(Timesheet.id))) or 0
        if self.postgres:
            self.sequence = self.session.scalar(select(func.pg_get_serial_sequence("timesheets", "id")))
            last, called = self.session.execute(
                text(f"SELECT last_value, is_called FROM {self.sequence}")
            ).one()
            top = max(top, last if called else last - 1)
        return int(top) + 1

    def write(
        self,
        rows: Iterator[tuple[dict[str, Any], list[int]]],
        spec: BulkSpec,
        progress: Callable[[int], None] | None,
    ) -> int:
        written = 0
        # Closed on the way out, so the thread making the rows stops even when writing fails.
        with closing(_ahead(_batches(rows, spec.batch_size))) as batches:
            for batch, tags in batches:
                written += self._flush(batch, tags)
                if progress:
                    progress(written)
        if self.postgres and written:
            self.session.execute(select(func.setval(self.sequence, self.first_id + written - 1)))
        return written

    def _flush(self, batch: list[dict[str, Any]], tags: list[dict[str, Any]]) -> int:
        if self.copy:
            self._copy(TIMESHEET_COLUMNS, self.timesheets.name, batch)
            self._copy(TAG_COLUMNS, self.tags.name, tags)
        else:
            connection = self.session.connection()
            if batch:
                connection.exec_driver_sql(self._insert_timesheets, batch)
            if tags:
                connection.exec_driver_sql(self._insert_tags, tags)
        return len(batch)

    def _copy(self, columns: Sequence[str], table: str, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL's COPY through psycopg, in the session's transaction."""
        if not rows:
            return
        connection = self.session.connection().connection.dbapi_connection
        names = ", ".join(f'"{column}"' for column in columns)
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            values = itemgetter(*columns)
            for row in rows:
                copy.write_row(values(row))
