"""Demo data at scale: ``punchclock demo --timesheets N`` and the bulk generator behind it.

Every generated record is checked against Kimai's rules (times, rounding, rates, billable, valid
project/activity pairs, no overlaps, one running record at most), on both backends, and the
timesheet API lists, renders and accepts them as its own.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.orm import Session

from punchclock import changes, models
from punchclock.db import Database
from punchclock.demo import load_demo
from punchclock.demo_bulk import (
    _TAGS,
    Booking,
    BulkSpec,
    bulk_loaded,
    load_bulk,
    plan_workers,
    timesheet_rows,
)
from punchclock.migrate import upgrade
from punchclock.users.service import create_user
from tests.conftest import PEOPLE, Api, seed_people, wipe
from tests.test_cli import assert_failed, punchclock

# A Monday: March is exported (on April 5th), April not yet; Europe and Sydney change clocks meanwhile.
UNTIL = dt.datetime(2024, 4, 8, 10, 0, tzinfo=dt.UTC)


def small(**overrides: Any) -> BulkSpec:
    """A small world; batches far smaller than the data so several of them are written."""
    values: dict[str, Any] = {
        "timesheets": 400,
        "users": 7,
        "seed": 3,
        "until": UNTIL,
        "customers": 6,
        "projects": 20,
        "activities": 60,
        "batch_size": 150,
    }
    return BulkSpec(**{**values, **overrides})


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def export_moment(day: dt.date) -> dt.datetime:
    """When the demo exports the month of ``day``: the 5th of the next month, 06:00 UTC."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.datetime(year, month, 5, 6, tzinfo=dt.UTC)


def assert_valid(session: Session, *, until: dt.datetime) -> dict[str, int]:
    """Every timesheet is one Kimai's API could have stored (default rounding, classic rates,
    automatic billable, no overlaps); returns a few counts for the caller to check."""
    T, U, P, A, C = models.Timesheet, models.User, models.Project, models.Activity, models.Customer
    hourly = {
        user_id: float(value)
        for user_id, value in session.execute(
            select(models.UserPreference.user_id, models.UserPreference.value).where(
                models.UserPreference.name == "hourly_rate"
            )
        )
    }
    rows = session.execute(
        select(
            T.__table__,
            U.timezone.label("user_timezone"),
            A.project_id.label("activity_project"),
            (A.billable & P.billable & C.billable).label("inherited_billable"),
            (A.visible & P.visible & C.visible).label("all_visible"),
            P.global_activities,
            P.start.label("project_start"),
            P.end.label("project_end"),
        )
        .join(U, U.id == T.user_id)
        .join(A, A.id == T.activity_id)
        .join(P, P.id == T.project_id)
        .join(C, C.id == P.customer_id)
        .order_by(T.user_id, T.begin)
    ).all()
    tags = defaultdict(list)
    for timesheet_id, tag_id, modified_at in session.execute(
        select(models.TimesheetTag.timesheet_id, models.TimesheetTag.tag_id, models.TimesheetTag.modified_at)
    ):
        tags[timesheet_id].append((tag_id, modified_at))
    previous: dict[int, Any] = {}
    stats = defaultdict(int)
    for row in rows:
        assert row.timezone == row.user_timezone
        assert row._mapping["break"] == 0
        assert (row.billable_mode, row.category, row.fixed_rate) == ("auto", "work", None)
        assert row.billable == row.inherited_billable
        assert row.all_visible
        assert (row.project_start, row.project_end) == (None, None)
        assert row.activity_project in (None, row.project_id)
        assert row.activity_project is not None or row.global_activities
        assert row.begin.second == row.begin.microsecond == 0
        local_begin = row.begin.astimezone(ZoneInfo(row.timezone))
        assert local_begin.weekday() < 5
        assert local_begin.time() >= dt.time(7)
        before = previous.get(row.user_id)
        assert before is None or before.end <= row.begin, "overlap"
        previous[row.user_id] = row
        assert row.created_at <= row.modified_at <= until
        if row.end is None:
            assert (row.duration, row.rate, row.internal_rate, row.hourly_rate) == (0, 0.0, 0.0, None)
            assert not row.exported
            assert row.created_at == row.begin == row.modified_at
            stats["running"] += 1
        else:
            assert row.end.second == row.end.microsecond == 0
            local_end = row.end.astimezone(ZoneInfo(row.timezone))
            assert local_end.date() == local_begin.date()
            assert local_end.time() <= dt.time(21)
            assert row.duration == (row.end - row.begin).total_seconds() > 0
            assert row.hourly_rate == hourly[row.user_id]
            assert row.rate == row.internal_rate == round(row.hourly_rate * (row.duration / 3600), 4)
            assert row.end <= row.created_at <= min(row.end + dt.timedelta(minutes=90), until)
            exported_at = export_moment(local_begin.date())
            assert row.exported == (exported_at <= until)
            assert row.modified_at == (exported_at if row.exported else row.created_at)
            stats["exported"] += row.exported
        assert len(tags[row.id]) == len({tag for tag, _ in tags[row.id]}) <= 2
        assert all(modified == row.modified_at for _, modified in tags[row.id])
        stats["tagged"] += bool(tags[row.id])
        stats["described"] += row.description is not None
        stats["billable"] += row.billable
        stats["rows"] += 1
    # A running record is its user's last, and nobody has two.
    assert all(row.end is not None for row in rows if previous[row.user_id] is not row)
    stats["timezones"] = len({row.timezone for row in rows})
    return dict(stats)


def schema_of_timesheets(session: Session) -> tuple[list[Any], list[Any]]:
    found = inspect(session.connection())
    indexes = [found.get_indexes(table) for table in ("timesheets", "timesheet_tags")]
    keys = [found.get_foreign_keys(table) for table in ("timesheets", "timesheet_tags")]
    by_name = lambda items: sorted(items, key=lambda item: str(item["name"]))  # noqa: E731
    return [by_name(i) for i in indexes], [by_name(k) for k in keys]


# --- the generator, on both backends --------------------------------------------------------------


def test_bulk_load_follows_kimais_rules(db: Database) -> None:
    with db.session() as session:
        indexes, foreign_keys = schema_of_timesheets(session)
    progress: list[int] = []
    with db.session(write=True) as session:
        summary = load_bulk(session, small(), progress=progress.append)
    assert str(summary) == (
        "bulk demo data loaded: 6 customers, 20 projects, 60 activities, 20 tags, 7 users in 1 team, "
        "400 timesheets (2 running)"
    )
    assert progress == [150, 300, 400]
    with db.session() as session:
        stats = assert_valid(session, until=UNTIL)
        assert (stats["rows"], stats["running"]) == (400, 2)
        # Realistic, not uniform: some of each.
        assert 0 < stats["exported"] < 400
        assert 0 < stats["tagged"] < 200
        assert 0 < stats["described"] < 250
        assert 300 < stats["billable"] < 400
        assert stats["timezones"] >= 3
        assert (count(session, models.Customer), count(session, models.Project)) == (6, 20)
        assert (count(session, models.Activity), count(session, models.Tag)) == (60, 20)
        users = session.execute(
            select(models.User.username, models.User.roles).where(models.User.username.like("demo%"))
        ).all()
        assert [u.username for u in users] == [f"demo_user_{n:03d}" for n in range(1, 8)]
        assert [u.roles for u in users] == [["ROLE_ADMIN"]] + [[]] * 6
        members = session.execute(select(models.TeamMember.user_id, models.TeamMember.teamlead)).all()
        assert sorted(lead for _, lead in members) == [False] * 6 + [True]
        numbers = session.scalars(select(models.Project.number)).all()
        assert len(set(numbers) - {None}) == 20
        by_user = defaultdict(list)
        for user_id, timesheet_id in session.execute(
            select(models.Timesheet.user_id, models.Timesheet.id).order_by(models.Timesheet.begin)
        ):
            by_user[user_id].append(timesheet_id)
        # Ids follow time, as in a database filled day by day.
        assert sorted(i for ids in by_user.values() for i in ids) == list(range(1, 401))
        assert all(ids == sorted(ids) for ids in by_user.values())
        # The indexes and foreign keys set aside for the load are back, as they were.
        assert schema_of_timesheets(session) == (indexes, foreign_keys)
        # Everything it made is in the change log (the timesheets in one statement, in id order).
        log = models.ChangeLogEntry
        upserts = select(log.entity, func.count()).where(log.op == "upsert").group_by(log.entity)
        assert dict(session.execute(upserts).all()) == {
            "customer": 6, "project": 20, "activity": 60, "tag": 20, "user": 7, "team": 1, "timesheet": 400
        }  # fmt: skip
        logged = session.scalars(select(log.entity_id).where(log.entity == "timesheet").order_by(log.seq))
        assert list(logged) == list(range(1, 401))

    with pytest.raises(ValueError, match="loaded already"), db.session(write=True) as session:
        load_bulk(session, small())


def test_a_failed_load_leaves_nothing_behind(db: Database) -> None:
    """Rolled back with its transaction: rows, dropped indexes and foreign keys; and the thread that
    makes the rows stops."""
    with db.session() as session:
        schema = schema_of_timesheets(session)
    threads = threading.active_count()

    def interrupt(done: int) -> None:
        raise RuntimeError(f"interrupted after {done}")

    with pytest.raises(RuntimeError, match=r"^interrupted after 150$"), db.session(write=True) as session:
        load_bulk(session, small(), progress=interrupt)
    assert threading.active_count() == threads
    with db.session() as session:
        assert schema_of_timesheets(session) == schema
        assert (count(session, models.Customer), count(session, models.Timesheet)) == (0, 0)


def test_ids_continue_after_existing_records_and_the_sequence_follows(db: Database) -> None:
    """With more records there than are coming, the indexes stay; ids go on after the highest one
    and later inserts (PostgreSQL's sequence) after the loaded ones."""
    user = PEOPLE["user"]
    with db.session(write=True) as session:
        customer_id = session.scalar(
            insert(models.Customer).values(name="Old", timezone="UTC").returning(models.Customer.id)
        )
        project_id = session.scalar(
            insert(models.Project).values(name="Old", customer_id=customer_id).returning(models.Project.id)
        )
        activity_id = session.scalar(insert(models.Activity).values(name="Old").returning(models.Activity.id))
        begin = dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC)
        existing = [
            {
                "user_id": user.id,
                "project_id": project_id,
                "activity_id": activity_id,
                "begin": begin + dt.timedelta(hours=i),
                "end": begin + dt.timedelta(hours=i, minutes=30),
                "duration": 1800,
                "timezone": user.timezone,
            }
            for i in range(60)
        ]
        session.execute(insert(models.Timesheet), existing)
    with db.session(write=True) as session:
        assert not bulk_loaded(session)
        load_bulk(session, small(timesheets=50, users=3))
    with db.session(write=True) as session:
        ids = session.scalars(
            select(models.Timesheet.id).where(models.Timesheet.begin > begin + dt.timedelta(days=9))
        )
        assert sorted(ids) == list(range(61, 111))
        later = models.Timesheet(
            user_id=user.id, project_id=project_id, activity_id=activity_id, begin=begin, timezone="UTC"
        )
        session.add(later)
        session.flush()
        assert later.id == 111
        session.delete(later)
    with db.session() as session:
        assert count(session, models.Timesheet) == 110


def test_copied_or_inserted_the_same_seed_gives_the_same_rows(db: Database) -> None:
    """PostgreSQL loads with COPY, or INSERT when asked (SQLite always inserts): either way, the same
    seed and moment give the same rows."""

    def load(*, copy: bool) -> list[Any]:
        with db.session(write=True) as session:
            load_bulk(session, small(timesheets=120, users=3), copy=copy)
        with db.session() as session:
            assert assert_valid(session, until=UNTIL)["rows"] == 120
            timesheets = session.execute(select(models.Timesheet.__table__).order_by(models.Timesheet.id))
            tags = session.execute(
                select(models.TimesheetTag.__table__).order_by(*models.TimesheetTag.__table__.c)
            )
            return [*map(tuple, timesheets), *map(tuple, tags)]

    copied = load(copy=True)
    wipe(db)
    seed_people(db)
    assert load(copy=False) == copied


def test_refused_when_a_demo_user_exists(db: Database) -> None:
    with db.session(write=True) as session:
        create_user(
            session, username="x_user", email="demo_user_002@example.com", password="secret-1", timezone="UTC"
        )
    # Nothing stays behind: the refusal rolls the transaction back.
    with (
        pytest.raises(ValueError, match=r"^the user x_user exists already$"),
        db.session(write=True) as session,
    ):
        load_bulk(session, small())
    with db.session() as session:
        assert count(session, models.Customer) == 0


@pytest.mark.parametrize("field", ["users", "customers", "projects", "activities", "batch_size"])
def test_the_spec_needs_one_of_each(field: str) -> None:
    with pytest.raises(ValueError, match="at least one"):
        small(**{field: 0})


def test_sqlite_times_are_stored_as_the_model_stores_them(tmp_path: Path) -> None:
    """SQLite keeps instants as text and compares them as text: the loader's must be identical."""
    url = f"sqlite:///{tmp_path / 'times.db'}"
    upgrade(url)
    db = Database(url)
    with db.session(write=True) as session:
        load_bulk(session, small(timesheets=20, users=2))
    with db.session(write=True) as session:
        first = session.scalars(select(models.Timesheet).order_by(models.Timesheet.id).limit(1)).one()
        copy = models.Timesheet(
            user_id=first.user_id,
            project_id=first.project_id,
            activity_id=first.activity_id,
            begin=first.begin,
            end=first.end,
            timezone=first.timezone,
            created_at=first.created_at,
            modified_at=first.modified_at,
        )
        session.add(copy)
        session.flush()
        raw = text('SELECT "begin", "end", created_at, modified_at FROM timesheets WHERE id IN (:a, :b)')
        bulk, orm = session.execute(raw, {"a": first.id, "b": copy.id}).all()
        assert tuple(bulk) == tuple(orm)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:00\.000000", bulk[0])
    db.dispose()


def test_the_timesheet_api_lists_renders_and_accepts_the_records(api: Api, db: Database) -> None:
    with db.session(write=True) as session:
        load_bulk(session, small())
    listed = api.get("/api/timesheets?user=all&size=500")
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "400"
    records = listed.json()
    assert {r["id"] for r in records} == set(range(1, 401))
    assert api.get("/api/timesheets?user=all&size=50&full=1").status_code == 200
    running = [r for r in records if r["end"] is None]
    assert [(r["duration"], r["rate"], r["internalRate"]) for r in running] == [(0, 0.0, 0.0)] * 2
    tagged = next(r for r in records if r["tags"])
    matches = api.get(f"/api/timesheets?user=all&size=500&tags[]={tagged['tags'][0]}").json()
    assert tagged["id"] in {r["id"] for r in matches}
    assert all(tagged["tags"][0] in r["tags"] for r in matches)

    # Saved again through the API, a record keeps its times, duration, rates and billable: the
    # stored values are the ones Kimai's calculations give.
    stopped = next(r for r in records if r["end"] is not None and not r["exported"])
    before = api.get(f"/api/timesheets/{stopped['id']}").json()
    after = api.patch(f"/api/timesheets/{stopped['id']}", json={"description": "checked"})
    assert after.status_code == 200, after.text
    unchanged = {key: value for key, value in before.items() if key != "modifiedAt"}
    assert {**after.json(), **unchanged, "description": "checked"} == after.json()
    assert after.json()["description"] == "checked"

    # A new record after the load gets the next id (PostgreSQL's sequence was moved on).
    created = api.post(
        "/api/timesheets",
        json={
            "project": stopped["project"],
            "activity": stopped["activity"],
            "begin": "2024-04-08T09:00:00",
            "end": "2024-04-08T10:00:00",
        },
    )
    assert created.status_code == 200, created.text
    assert created.json()["id"] == 401


# --- the generator alone --------------------------------------------------------------------------


def generated(spec: BulkSpec) -> list[tuple[dict[str, Any], list[int]]]:
    """The records the generator makes for ``spec`` with a fixed set of bookings and tags."""
    workers = plan_workers(spec)
    for number, worker in enumerate(workers, start=1):
        worker.id = number
        worker.bookings = [Booking(p, 10 * p + a, a != 2) for p in range(1, 4) for a in range(3)]
    return list(timesheet_rows(workers, spec.until, list(range(1, 21)), lambda minute: minute, 1))


def test_the_same_seed_gives_the_same_records() -> None:
    spec = small(timesheets=2_000, users=20)
    first = generated(spec)
    assert len(first) == 2_000
    assert generated(spec) == first
    assert generated(small(timesheets=2_000, users=20, seed=4)) != first


@pytest.mark.parametrize(
    ("timesheets", "users", "running"), [(1, 1, 0), (3, 5, 1), (7, 3, 1), (100, 200, 2), (300, 200, 5)]
)
def test_few_records_or_many_users(timesheets: int, users: int, running: int) -> None:
    rows = generated(small(timesheets=timesheets, users=users))
    assert len(rows) == timesheets
    assert sum(row["end"] is None for row, _ in rows) == running


# --- the command line -----------------------------------------------------------------------------


def test_demo_with_timesheets_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = punchclock("demo", "--timesheets", "300", "--users", "4", "--seed", "9", "--database-url", url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "demo data loaded: 3 customers, 5 projects, 16 activities, 3 users (password 'demo-password') "
        "in one team",
        "bulk demo data loaded: 50 customers, 300 projects, 1,000 activities, 20 tags, 4 users in 1 team, "
        "300 timesheets (2 running)",
    ]
    assert re.fullmatch(r"300 timesheets in \d+\.\d s \([\d,]+ rows/s\)", lines[2])
    assert len(lines) == 3
    assert "300/300" in result.stderr  # the progress bar
    db = Database(url)
    try:
        with db.session() as session:
            assert assert_valid(session, until=dt.datetime.now(dt.UTC))["rows"] == 300
            assert (count(session, models.Customer), count(session, models.User)) == (53, 7)
    finally:
        db.dispose()

    assert_failed(
        punchclock("demo", "--timesheets", "10", "--database-url", url),
        "the bulk demo data is loaded already",
    )


def test_demo_with_timesheets_on_top_of_the_demo_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.session(write=True) as session:
            load_demo(session, timezone="Europe/Berlin")
        result = punchclock("demo", "--timesheets", "50", "--users", "2", "--database-url", url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("bulk demo data loaded: 50 customers, 300 projects, 1,000 activities")
        assert "50 timesheets (1 running)\n50 timesheets in " in result.stdout
        with db.session() as session:
            assert (count(session, models.Timesheet), count(session, models.Customer)) == (50, 53)
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--users", "5"], "Invalid value for '--users' / '--seed': only with --timesheets"),
        (["--seed", "5"], "Invalid value for '--users' / '--seed': only with --timesheets"),
        (["--timesheets", "0"], "Invalid value for '--timesheets'"),
        (["--timesheets", "10", "--users", "0"], "Invalid value for '--users'"),
        (["--timesheets", "many"], "Invalid value for '--timesheets'"),
    ],
)
def test_demo_usage_errors(tmp_path: Path, args: list[str], complaint: str) -> None:
    result = punchclock("demo", *args, "--database-url", f"sqlite:///{tmp_path / 'demo.db'}")
    assert result.returncode == 64, result.stderr
    assert complaint in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "demo.db").exists()


def test_bulk_load_records_its_users_teams_and_new_tags(db: Database) -> None:
    with db.session(write=True) as session:
        session.add(models.Tag(name=_TAGS[0], visible=True))
    with db.session(write=True) as session:
        load_bulk(session, small(timesheets=30, users=12))
        recorded = {
            (entity, entity_id) for entity, entity_id, op in changes.recorded(session) if op == "upsert"
        }
    with db.session() as session:
        users = session.scalars(select(models.User.id).where(models.User.username.like("demo_user_%")))
        teams = session.scalars(select(models.Team.id))
        new_tags = session.scalars(select(models.Tag.id).where(models.Tag.name != _TAGS[0]))
        expected = (
            {("user", i) for i in users} | {("team", i) for i in teams} | {("tag", i) for i in new_tags}
        )
    assert len(expected) == 12 + 2 + len(_TAGS) - 1
    assert expected <= recorded
    assert not {entity_id for entity, entity_id in recorded if entity == "tag"} - {i for _, i in expected}


def test_the_small_demo_is_in_the_change_feed(db: Database) -> None:
    with db.session(write=True) as session:
        load_demo(session, timezone="Europe/Berlin")
    with db.session() as session:
        logged = {
            (row.entity, row.entity_id)
            for row in session.execute(text("SELECT entity, entity_id FROM change_log WHERE op = 'upsert'"))
        }
        tables = {"customer": models.Customer, "project": models.Project, "activity": models.Activity}
        tables |= {"team": models.Team}
        expected = {
            (entity, entity_id)
            for entity, model in tables.items()
            for entity_id in session.scalars(select(model.id))
        }
        demo_users = session.scalars(select(models.User.id).where(models.User.id > len(PEOPLE)))
        expected |= {("user", user_id) for user_id in demo_users}
    assert expected - logged == set()
    assert ("team", next(i for e, i in expected if e == "team")) in logged
