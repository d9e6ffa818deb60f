"""``timesheets.bulk.create_many`` answers and stores exactly what ``POST /api/timesheets`` would.

Random batches of bodies, valid and invalid, for every role, go once through ``create_many`` and
once, body by body, through the single POST's service (``timesheets.service.create``, each in a
savepoint as a failing POST leaves nothing behind), each run in a transaction of its own on the
same database state, rolled back afterwards. Per body the same id (by creation order) or the same
error body; afterwards the same timesheets (every column, tags, custom fields) and the same recorded
changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from punchclock import changes, models
from punchclock.auth.service import load_caller
from punchclock.config import Settings
from punchclock.db import Database, utcnow
from punchclock.kimai.body import formify
from punchclock.kimai.errors import KimaiError
from punchclock.timesheets import service
from punchclock.timesheets.bulk import Draft, create_many
from tests import conftest
from tests.conftest import PEOPLE, add_team

TODAY = utcnow().date()
# Naive wall-clock times, read in the caller's timezone (or with the offset they carry).
BASE = dt.datetime.combine(TODAY - dt.timedelta(days=10), dt.time(9))


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    """Entities in every state the form tells apart, team restrictions, rates, preferences, tags and
    a running timer of john_user's. Returns ids by name."""
    ids: dict[str, int] = {}
    year = dt.timedelta(days=400)
    with db.session(write=True) as s:

        def add(name: str, row: Any) -> None:
            s.add(row)
            s.flush()
            ids[name] = row.id

        add("acme", models.Customer(name="Acme", timezone="Europe/Berlin"))
        add("hidden_customer", models.Customer(name="Hidden", timezone="UTC", visible=False))
        add("unbilled", models.Customer(name="Unbilled", timezone="UTC", billable=False))
        add("restricted", models.Customer(name="Restricted", timezone="UTC"))
        now = utcnow()
        projects = {
            "website": {"customer_id": ids["acme"]},
            "no_globals": {"customer_id": ids["acme"], "global_activities": False},
            "ended": {"customer_id": ids["acme"], "end": now - dt.timedelta(days=2)},
            "future": {"customer_id": ids["acme"], "start": now + dt.timedelta(days=2)},
            "window": {"customer_id": ids["acme"], "start": now - dt.timedelta(days=5), "end": now + year},
            "hidden_project": {"customer_id": ids["acme"], "visible": False},
            "of_hidden": {"customer_id": ids["hidden_customer"]},
            "unbilled_project": {"customer_id": ids["unbilled"]},
            "team_project": {"customer_id": ids["restricted"]},
        }
        for name, values in projects.items():
            add(name, models.Project(name=name, **values))
        activities = {
            "design": {"project_id": ids["website"]},
            "cheap": {"project_id": ids["website"], "billable": False},
            "strict": {"project_id": ids["no_globals"]},
            "meeting": {},
            "hidden_global": {"visible": False},
            "of_hidden_project": {"project_id": ids["hidden_project"]},
            "window_work": {"project_id": ids["window"]},
            "team_work": {"project_id": ids["team_project"]},
            "unbilled_work": {"project_id": ids["unbilled_project"]},
        }
        for name, values in activities.items():
            add(name, models.Activity(name=name, **values))
        for name, visible in (("red", True), ("blue", True), ("Green", True), ("secret", False)):
            add(name, models.Tag(name=name, visible=visible))
        s.execute(
            insert(models.ActivityRate),
            [
                {"entity_id": ids["design"], "user_id": None, "rate": 80.0, "internal_rate": 60.0},
                {"entity_id": ids["design"], "user_id": PEOPLE["user"].id, "rate": 90.0},
            ],
        )
        s.execute(
            insert(models.ProjectRate),
            [{"entity_id": ids["window"], "user_id": PEOPLE["admin"].id, "rate": 500.0, "fixed": True}],
        )
        s.execute(
            insert(models.CustomerRate),
            [{"entity_id": ids["acme"], "user_id": None, "rate": 50.0, "internal_rate": 40.0}],
        )
        s.execute(
            insert(models.UserPreference),
            [
                {"user_id": PEOPLE["user"].id, "name": "hourly_rate", "value": "33.5"},
                {"user_id": PEOPLE["user"].id, "name": "internal_rate", "value": "20"},
                {"user_id": PEOPLE["teamlead"].id, "name": "hourly_rate", "value": "not a number"},
            ],
        )
        add(
            "running",
            models.Timesheet(
                user_id=PEOPLE["user"].id,
                project_id=ids["website"],
                activity_id=ids["design"],
                begin=now - dt.timedelta(hours=3),
                timezone="Pacific/Tongatapu",
            ),
        )
    add_team(db, "Crew", leads=["teamlead"], members=["user"], customers=[ids["restricted"]])
    return ids


# --- the bodies -------------------------------------------------------------------------------------


# (project, activity) pairs: those that work for somebody (each caller's rights decide), then the
# ones that never do.
PAIRS = [
    ("website", "design"),
    ("website", "cheap"),
    ("website", "meeting"),
    ("no_globals", "strict"),
    ("window", "window_work"),
    ("unbilled_project", "unbilled_work"),
    ("team_project", "team_work"),
]
ODD_PAIRS = [
    ("no_globals", "meeting"),
    ("hidden_project", "of_hidden_project"),
    ("ended", "meeting"),
    ("future", "meeting"),
    ("of_hidden", "meeting"),
    ("website", "hidden_global"),
    ("website", "window_work"),
]
PROJECTS = sorted({project for project, _ in PAIRS + ODD_PAIRS})
ACTIVITIES = sorted({activity for _, activity in PAIRS + ODD_PAIRS})
JUNK_IDS = [999_999, "abc", "", None, [1], "  1  ", -1, 2**40, {"id": 1}]

_good_times = st.builds(
    lambda days, minutes: _stamp(BASE + dt.timedelta(days=days, minutes=minutes)),
    st.integers(-3, 9),
    st.integers(0, 24 * 60 - 1),
)
_odd_times = st.sampled_from(
    [
        _stamp(BASE - dt.timedelta(days=3650)),  # before the window project started
        f"{TODAY}T08:00:00+02:00",
        f"{TODAY - dt.timedelta(days=1)}T08:00:00Z",
        "2024-13-01T00:00:00",
        "yesterday",
        "",
        None,
        ["2024-05-01T09:00:00"],
    ]
)


def _wall_clock(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")  # noqa: DTZ007 - wall clock
    except (TypeError, ValueError):
        return None


def _often(draw: st.DrawFn, times: int = 4) -> bool:
    """True ``times`` times out of ``times + 1`` (and when shrinking)."""
    return bool(draw(st.sampled_from([True] * times + [False])))


@st.composite
def _bodies(draw: st.DrawFn, world: dict[str, int]) -> Any:
    """Mostly bodies a client would send, one in a few with something wrong (or of an odd type)."""
    if not _often(draw, 20):  # not an object at all
        return draw(st.sampled_from([5, "text", [1, 2], None, True]))
    body: dict[str, Any] = {}
    if _often(draw):
        project, activity = draw(st.sampled_from(PAIRS if _often(draw) else ODD_PAIRS))
        body["project"], body["activity"] = world[project], world[activity]
        if not _often(draw, 3):
            body["project"] = str(body["project"])
    else:
        for key, names in (("project", PROJECTS), ("activity", ACTIVITIES)):
            if _often(draw):
                body[key] = draw(st.one_of(st.sampled_from(names).map(world.get), st.sampled_from(JUNK_IDS)))
    if _often(draw, 8):
        body["begin"] = draw(_good_times if _often(draw, 6) else _odd_times)
    start = _wall_clock(body.get("begin"))
    if start is not None and _often(draw, 8):
        minutes = draw(st.sampled_from([30, 95, 8 * 60, 45, 30, 60, 0, -60, 366 * 24 * 60]))
        body["end"] = _stamp(start + dt.timedelta(minutes=minutes))
    elif _often(draw, 2):  # otherwise running
        body["end"] = draw(st.one_of(_good_times, _odd_times))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "description": st.sampled_from(["Work", "  padded  ", "", None, ["x"], "ünïcode ✓"]),
        "tags": st.sampled_from(
            ["red", "red, blue", "Green,unknown", ["blue", "red"], "", "secret", [{"a": 1}]]
        ),
        "billable": st.sampled_from([True, False, None, "0", "yes", 0]),
        "fixedRate": st.sampled_from([100, "12.5", -1, "abc", None, "1,5"]),
        "hourly_rate": st.sampled_from([75, "0", -3, "x", None]),
        "user": st.sampled_from([1, 2, 3, 4, "4", 99, "x", None]),
        "exported": st.sampled_from([True, False, None]),
        "break": st.sampled_from(["0:30", 600, "x", None]),
        "unknown": st.just(1),
    }
    weights = ["description"] * 6 + ["tags"] * 6 + ["billable", "fixedRate", "hourly_rate", "user"] * 2
    weights += ["exported", "break", "unknown"]
    for key in draw(st.lists(st.sampled_from(weights), max_size=2, unique=True)):
        body[key] = draw(optional[key])
    return body


# --- running both ways and comparing ----------------------------------------------------------------


@contextmanager
def _rolled_back(db: Database) -> Iterator[Session]:
    session = Session(bind=db.engine, expire_on_commit=False)
    session.begin()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _single_posts(session: Session, caller: Any, settings: Settings, bodies: list[Any]) -> list[Any]:
    """Each body through the single POST's service, in a savepoint (a failing POST writes nothing)."""
    results: list[Any] = []
    recorded = session.info.setdefault("changes", [])
    for body in bodies:
        before = len(recorded)
        savepoint = session.begin_nested()
        try:
            results.append(service.create(session, caller=caller, settings=settings, data=body).id)
        except KimaiError as exc:
            savepoint.rollback()
            del recorded[before:]
            results.append(exc)
        else:
            savepoint.commit()
    return results


def _outcome(
    db: Database, settings: Settings, who: str, bodies: list[Any], run: Callable[..., list[Any]]
) -> tuple[Any, ...]:
    """What ``run`` answered and left behind, new ids replaced by their creation order."""
    with _rolled_back(db) as session:
        caller = load_caller(session, session.get(models.User, PEOPLE[who].id))  # type: ignore[arg-type]
        existing = set(session.scalars(select(models.Timesheet.id)))
        results = run(session, caller, settings, bodies)
        session.flush()
        table = models.Timesheet.__table__
        rows = {row.id: dict(row._mapping) for row in session.execute(select(table))}
        new = sorted(set(rows) - existing)
        order = {timesheet_id: f"new {n}" for n, timesheet_id in enumerate(new)}

        def name(timesheet_id: int) -> Any:
            return order.get(timesheet_id, timesheet_id)

        tags: dict[Any, list[int]] = {}
        for timesheet_id, tag_id in session.execute(
            select(models.TimesheetTag.timesheet_id, models.TimesheetTag.tag_id)
        ):
            tags.setdefault(name(timesheet_id), []).append(tag_id)
        meta = select(models.TimesheetMeta.entity_id, models.TimesheetMeta.name, models.TimesheetMeta.value)
        fields = sorted(((name(i), field, value) for i, field, value in session.execute(meta)), key=str)
        stored = {
            name(timesheet_id): {k: v for k, v in row.items() if k not in ("id", "created_at", "modified_at")}
            for timesheet_id, row in rows.items()
        }
        answers = [
            name(result) if isinstance(result, int) else (type(result).__name__, result.status, result.body())
            for result in results
        ]
        recorded = [(entity, name(entity_id), op) for entity, entity_id, op in changes.recorded(session)]
        return answers, stored, {k: sorted(v) for k, v in tags.items()}, fields, recorded


def _same_minute(check: Callable[[], None]) -> None:
    """``check`` within one clock minute: a body without ``begin`` begins now, and starting a timer
    stops another one now (both rounded to the minute), so two runs a minute apart may differ. So may
    two runs either side of a minute's first second: a stop at 10:00:00 (microseconds dropped) stays
    10:00 when rounded up, one at 10:00:01 becomes 10:01."""

    def clock() -> tuple[dt.datetime, bool]:
        now = utcnow()
        return now.replace(second=0, microsecond=0), now.second == 0

    for _ in range(3):
        before = clock()
        try:
            check()
            return
        except AssertionError:
            if clock() == before:
                raise
    raise AssertionError("no run stayed within one minute")


def _compare(db: Database, settings: Settings, who: str, bodies: list[Any]) -> tuple[Any, ...]:
    form_bodies = [formify(body) for body in bodies]
    outcome: list[tuple[Any, ...]] = []

    def check() -> None:
        bulk = _outcome(
            db,
            settings,
            who,
            form_bodies,
            lambda s, c, cfg, b: create_many(s, caller=c, settings=cfg, bodies=b),
        )
        single = _outcome(db, settings, who, form_bodies, _single_posts)
        assert bulk[0] == single[0], "answers"
        assert bulk[1] == single[1], "stored timesheets"
        assert bulk[2] == single[2], "tags"
        assert bulk[3] == single[3], "custom fields"
        assert bulk[4] == single[4], "recorded changes"
        outcome[:] = [bulk]

    _same_minute(check)
    return outcome[0]


SETTINGS_CASES = {
    "defaults": {},
    # Checked against stored records: every body goes through the single POST, in order.
    "no overlapping": {"timesheet_allow_overlapping": False},
    "break, closest rounding, limits": {
        "timesheet_break_time": True,
        "timesheet_rounding_mode": "closest",
        "timesheet_rounding_begin": 15,
        "timesheet_rounding_duration": 5,
        "timesheet_allow_zero_duration": False,
        "timesheet_allow_future_times": False,
        "timesheet_long_running_duration": 600,
        "timesheet_active_entries_hard_limit": 2,
    },
}


@pytest.mark.parametrize("case", sorted(SETTINGS_CASES))
def test_create_many_is_the_single_post_body_by_body(
    db: Database, world: dict[str, int], database_url: str, case: str
) -> None:
    app_settings = conftest.test_settings(database_url, **SETTINGS_CASES[case])

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        who=st.sampled_from(sorted(PEOPLE)),
        bodies=st.lists(_bodies(world), min_size=1, max_size=12),
    )
    def check(who: str, bodies: list[Any]) -> None:
        _compare(db, app_settings, who, bodies)

    check()


def test_a_valid_batch_is_stored_in_order_with_its_tags_and_changes(
    db: Database, world: dict[str, int], database_url: str
) -> None:
    """The fast path itself: every body valid, ids ascending in body order, the running record
    (which stops john's timer) written in its place."""
    app_settings = conftest.test_settings(database_url)
    common = {"project": world["website"], "activity": world["design"]}
    bodies = [
        {**common, "begin": _stamp(BASE), "end": _stamp(BASE + dt.timedelta(minutes=90)), "tags": "red,blue"},
        {
            **common,
            "begin": _stamp(BASE + dt.timedelta(hours=2)),
            "end": _stamp(BASE + dt.timedelta(hours=3)),
        },
        {**common, "begin": _stamp(BASE + dt.timedelta(hours=4))},  # running
        {
            **common,
            "begin": _stamp(BASE + dt.timedelta(days=1)),
            "end": _stamp(BASE + dt.timedelta(days=1, hours=8)),
        },
    ]
    answers, stored, tags, fields, recorded = _compare(db, app_settings, "user", bodies)
    assert answers == ["new 0", "new 1", "new 2", "new 3"]
    assert stored["new 0"]["duration"] == 5400
    assert stored["new 0"]["rate"] == 135.0  # design's rate for john: 90 per hour
    assert stored["new 0"]["internal_rate"] == 30.0  # his internal_rate preference: 20 per hour
    assert stored["new 2"]["end"] is None
    assert stored[world["running"]]["end"] is not None  # stopped by the new timer
    assert tags == {"new 0": sorted([world["red"], world["blue"]])}
    assert fields == []  # the POST form has no custom fields
    assert recorded == [
        ("timesheet", "new 0", "upsert"),
        ("timesheet", "new 1", "upsert"),
        ("timesheet", "new 2", "upsert"),
        ("timesheet", world["running"], "upsert"),
        ("timesheet", "new 3", "upsert"),
    ]


ADMIN_FIELDS = ("begin", "end", "project", "activity", "description", "tags")
ADMIN_FIELDS += ("fixedRate", "hourlyRate", "user", "exported", "billable")


def test_errors_come_back_in_place(db: Database, world: dict[str, int], database_url: str) -> None:
    app_settings = conftest.test_settings(database_url)
    valid = {"project": world["website"], "activity": world["design"], "begin": _stamp(BASE)}
    bodies = [
        {**valid, "end": _stamp(BASE + dt.timedelta(hours=1))},
        {**valid, "end": _stamp(BASE - dt.timedelta(hours=1))},
        "not an object",
        {**valid, "end": _stamp(BASE + dt.timedelta(hours=2)), "billable": True},
        {**valid, "project": world["team_project"], "activity": world["team_work"], "end": _stamp(BASE)},
    ]
    answers, stored, *_ = _compare(db, app_settings, "admin", bodies)
    empty: dict[str, Any] = {name: {} for name in ADMIN_FIELDS}
    messages = ["The end date must not be earlier than the start date.", "Duration cannot be negative."]
    assert answers == [
        "new 0",
        (
            "ValidationFailed",
            400,
            {"code": 400, "message": "Validation Failed", "errors": {"errors": messages, "children": empty}},
        ),
        (
            "ValidationFailed",
            400,
            {
                "code": 400,
                "message": "Validation Failed",
                "errors": {"errors": ["This value is not valid."], "children": empty},
            },
        ),
        "new 1",  # admins may set billable
        "new 2",  # and use every team's project
    ]
    assert stored["new 1"]["billable"] is True
    assert stored["new 2"]["duration"] == 0


def test_without_the_permission_every_body_is_forbidden(db: Database, database_url: str) -> None:
    app_settings = conftest.test_settings(database_url)
    with _rolled_back(db) as session:
        caller = load_caller(session, session.get(models.User, PEOPLE["user"].id))  # type: ignore[arg-type]
        stripped = replace(caller, permissions=frozenset())
        results = create_many(session, caller=stripped, settings=app_settings, bodies=[{}, "x"])
    assert [(type(r).__name__, getattr(r, "status", None)) for r in results] == [("Forbidden", 403)] * 2


def test_a_draft_has_every_column_of_a_timesheet() -> None:
    draft = Draft()
    for attr in models.Timesheet.__mapper__.column_attrs:
        assert hasattr(draft, attr.key), attr.key


def test_valid_bodies_cost_the_same_few_statements_however_many(
    db: Database, world: dict[str, int], database_url: str
) -> None:
    """No statement per body: loading what the form reads, then one insert per table."""
    app_settings = conftest.test_settings(database_url)

    def statements(count: int) -> int:
        bodies = [
            {
                "project": str(world["website" if n % 2 else "unbilled_project"]),
                "activity": str(world["design" if n % 2 else "unbilled_work"]),
                "begin": _stamp(BASE + dt.timedelta(hours=n)),
                "end": _stamp(BASE + dt.timedelta(hours=n, minutes=30)),
                "tags": "red" if n % 3 else "",
            }
            for n in range(count)
        ]
        seen: list[str] = []

        def count_statement(*_args: Any) -> None:
            seen.append("statement")

        with _rolled_back(db) as session:
            caller = load_caller(session, session.get(models.User, PEOPLE["admin"].id))  # type: ignore[arg-type]
            event.listen(db.engine, "before_cursor_execute", count_statement)
            try:
                results = create_many(session, caller=caller, settings=app_settings, bodies=bodies)
            finally:
                event.remove(db.engine, "before_cursor_execute", count_statement)
        assert [type(result) for result in results] == [int] * count
        return len(seen)

    assert statements(5) == statements(60) <= 20
