"""``punchclock sync`` against the real server (uvicorn on a free port over the test database), into a
SQLite file (server on SQLite) or a PostgreSQL database (server on PostgreSQL).

The server's data is made through the API; what the target should hold is read from the server's
own tables, so every synced row is compared with the source of truth, not with another view of it.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text

from punchclock import models
from punchclock.app import create_app
from punchclock.db import Database
from punchclock.tools.sync import records, schema, source_feed
from punchclock.tools.sync.target import Target, safe_url
from punchclock.tools.sync.writer import Writer
from tests.conftest import PEOPLE, Api
from tests.conftest import test_settings as settings_for
from tests.sync_support import (
    Rows,
    assert_indexes,
    assert_same,
    clean_env,
    indexes,
    normal,
    read_target,
    state,
    sync,
    sync_command,
    sync_process,
    target_url,
)
from tests.test_projects import make_activity, make_customer, make_project
from tests.threaded_server import serving

UTC = dt.UTC
TOKEN = PEOPLE["super"].token


class Gate:
    """Holds feed requests for timesheets from the ``after``-th one on, until released."""

    def __init__(self) -> None:
        self.after: int | None = None
        self.seen = 0
        self.reached = threading.Event()
        self.release = threading.Event()


GATE = Gate()


class Served:
    """The app behind the module's server (a test may put another in its place)."""

    app: Any = None


@pytest.fixture(scope="module")
def server(database: Database, database_url: str) -> Iterator[str]:
    app = Served.app = create_app(settings_for(database_url), database)

    async def gated(scope: Any, receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"")
        if scope["type"] == "http" and scope["path"] == "/api/ext/changes" and b"entities=timesheet" in query:
            GATE.seen += 1
            if GATE.after is not None and GATE.seen >= GATE.after:
                GATE.reached.set()
                import anyio.to_thread

                await anyio.to_thread.run_sync(GATE.release.wait, 30)
        await Served.app(scope, receive, send)

    with serving(gated) as url:
        yield url
    Served.app = app


@pytest.fixture
def to(database_url: str, tmp_path: Path) -> str:
    return target_url(database_url, tmp_path)


# --- the server's data ---------------------------------------------------------------------------------


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def local(moment: dt.datetime) -> str:
    """A form datetime without offset (the user's local time)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def log_seeded_people(api: Api) -> None:
    """The fixtures insert the four people directly, past the change log: an edit records them."""
    for key, person in PEOPLE.items():
        ok(api.patch(f"/api/users/{person.id}", json={"title": f"The {key}"}))


def world(api: Api) -> dict[str, Any]:
    """Something of everything: hidden and ended entities, teams, tags, rates, custom fields, and
    timesheets in four timezones, one across a change of daylight saving time."""
    log_seeded_people(api)
    acme = make_customer(api, "Acme", contact="Ann", email="acme@example.com", vatId="DE1", city="Kiel")
    hidden = make_customer(api, "Hidden Ltd")  # hidden at the end: Kimai books nothing on hidden ones
    web = make_project(api, "Web", acme["id"], orderDate="2024-01-31", start="2024-02-01")
    ended = make_project(api, "Ended", acme["id"], start="2020-01-01", end="2020-12-31")
    secret = make_project(api, "Secret", hidden["id"])
    code = make_activity(api, "Code", web["id"])
    make_activity(api, "Old code", ended["id"], visible=False)
    make_activity(api, "Whisper", secret["id"])
    meeting = make_activity(api, "Meeting", billable=False)
    ok(api.patch(f"/api/customers/{acme['id']}/meta", json={"name": "crm_id", "value": "42"}))
    ok(api.patch(f"/api/projects/{web['id']}/meta", json={"name": "crm_id", "value": "P-7"}))
    ok(api.post(f"/api/customers/{acme['id']}/rates", json={"rate": 80}))
    ok(api.post(f"/api/projects/{web['id']}/rates", json={"rate": 90, "internalRate": 70, "user": 4}))
    ok(api.post(f"/api/activities/{meeting['id']}/rates", json={"rate": 10, "isFixed": True}))
    old = ok(
        api.post(
            "/api/users",
            json={
                "username": "old_timer",
                "email": "old@example.com",
                "plainPassword": "password123",
                "enabled": False,
            },
        )
    )
    team = ok(
        api.post(
            "/api/teams",
            json={
                "name": "Team A",
                "members": [
                    {"user": PEOPLE["teamlead"].id, "teamlead": True},
                    {"user": PEOPLE["user"].id, "teamlead": False},
                ],
            },
        )
    )
    ok(api.post(f"/api/teams/{team['id']}/customers/{acme['id']}"))
    ok(api.post(f"/api/teams/{team['id']}/projects/{web['id']}"))
    ok(api.post("/api/tags", json={"name": "urgent", "visible": True}))
    ok(api.post("/api/tags", json={"name": "internal"}))  # hidden: no "visible": true
    sheets = [
        # john, Pacific/Tongatapu (+13:00): his morning is the evening before in UTC.
        ok(
            api.post(
                "/api/timesheets",
                as_="user",
                json={
                    "project": web["id"],
                    "activity": code["id"],
                    "begin": "2024-05-01T09:00:00",
                    "end": "2024-05-01T11:00:00",
                    "tags": "urgent,internal",
                    "description": "early",
                },
            )
        ),
        # anna, America/New_York: the night the clocks went back.
        ok(
            api.post(
                "/api/timesheets",
                as_="admin",
                json={
                    "project": secret["id"],
                    "activity": meeting["id"],
                    "begin": "2020-11-01T00:30:00",
                    "end": "2020-11-01T03:30:00",
                },
            )
        ),
        # susan, Europe/Berlin: still running.
        ok(
            api.post(
                "/api/timesheets",
                json={"project": secret["id"], "activity": meeting["id"], "begin": "2024-03-31T01:30:00"},
            )
        ),
        # tony, Europe/Berlin, with rates of its own.
        ok(
            api.post(
                "/api/timesheets",
                as_="teamlead",
                json={
                    "project": web["id"],
                    "activity": code["id"],
                    "begin": "2024-06-01T08:00:00",
                    "end": "2024-06-01T12:15:00",
                    "tags": "urgent",
                },
            )
        ),
    ]
    ok(api.patch(f"/api/timesheets/{sheets[3]['id']}", json={"hourlyRate": 120, "fixedRate": 400}))
    ok(api.patch(f"/api/customers/{hidden['id']}", json={"visible": False}))
    return {
        "acme": acme,
        "hidden": hidden,
        "web": web,
        "ended": ended,
        "secret": secret,
        "code": code,
        "meeting": meeting,
        "old": old,
        "team": team,
        "sheets": sheets,
    }


def server_rows(db: Database, api: Api) -> Rows:
    """What a super admin's sync should hold, from the server's tables."""
    rows: Rows = {}
    m = models
    with db.session() as s:

        def table(model: Any) -> list[Any]:
            return list(s.execute(select(model.__table__)))

        rows["customer"] = {
            (
                c.id,
                c.name,
                c.number,
                c.comment,
                c.visible,
                c.billable,
                c.company,
                c.vat_id,
                c.contact,
                c.address,
                c.address_line1,
                c.address_line2,
                c.address_line3,
                c.post_code,
                c.city,
                c.country,
                c.currency,
                c.language,
                c.timezone,
                c.phone,
                c.fax,
                c.mobile,
                c.email,
                c.homepage,
                c.invoice_email,
                c.buyer_reference,
                c.color,
                c.budget,
                c.time_budget,
                c.budget_type,
                c.modified_at,
            )
            for c in table(m.Customer)
        }

        def local_day(instant: dt.datetime | None, zone: str) -> dt.date | None:
            return None if instant is None else instant.astimezone(ZoneInfo(zone)).date()

        rows["project"] = {
            (
                p.id,
                p.customer_id,
                p.name,
                p.number,
                p.order_number,
                local_day(p.order_date, p.timezone),
                local_day(p.start, p.timezone),
                local_day(p.end, p.timezone),
                p.comment,
                p.visible,
                p.billable,
                p.global_activities,
                p.color,
                p.budget,
                p.time_budget,
                p.budget_type,
                p.modified_at,
            )
            for p in table(m.Project)
        }
        rows["activity"] = {
            (
                a.id,
                a.project_id,
                a.name,
                a.number,
                a.comment,
                a.visible,
                a.billable,
                a.color,
                a.budget,
                a.time_budget,
                a.budget_type,
                a.modified_at,
            )
            for a in table(m.Activity)
        }
        rows["user_account"] = {
            (
                u.id,
                u.username,
                u.email,
                u.alias,
                u.title,
                u.account_number,
                u.avatar,
                u.color,
                u.enabled,
                u.system_account,
                ",".join(sorted(u.roles)),
                u.supervisor_id,
                u.language,
                u.locale,
                u.timezone,
                u.modified_at,
            )
            for u in table(m.User)
        }
        rows["team"] = {(t.id, t.name, t.color, t.modified_at) for t in table(m.Team)}
        rows["team_member"] = {(t.team_id, t.user_id, t.teamlead) for t in table(m.TeamMember)}
        rows["team_customer"] = {(t.team_id, t.customer_id) for t in table(m.TeamCustomer)}
        rows["team_project"] = {(t.team_id, t.project_id) for t in table(m.TeamProject)}
        rows["team_activity"] = {(t.team_id, t.activity_id) for t in table(m.TeamActivity)}
        rows["tag"] = {(t.name, t.id, t.color, t.visible) for t in table(m.Tag)}
        names = {t.id: t.name for t in table(m.Tag)}
        rows["timesheet_tag"] = {(t.timesheet_id, names[t.tag_id]) for t in table(m.TimesheetTag)}
        rows["timesheet"] = set()
        for t in table(m.Timesheet):
            zone = ZoneInfo(t.timezone)
            begin, end = t.begin.astimezone(zone), None if t.end is None else t.end.astimezone(zone)
            rows["timesheet"].add(
                (
                    t.id,
                    t.user_id,
                    t.project_id,
                    t.activity_id,
                    t.begin,
                    t.end,
                    int(begin.utcoffset().total_seconds()) // 60,
                    None if end is None else int(end.utcoffset().total_seconds()) // 60,
                    begin.date(),
                    t.duration if t.end is not None else 0,
                    t._mapping["break"],
                    t.description,
                    t.billable,
                    t.exported,
                    t.rate,
                    t.internal_rate,
                    t.hourly_rate,
                    t.fixed_rate,
                    t.modified_at,
                )
            )
        rows["meta_field"] = {
            (kind, r.entity_id, r.name, r.value)
            for kind, model in (
                ("customer", m.CustomerMeta),
                ("project", m.ProjectMeta),
                ("activity", m.ActivityMeta),
                ("timesheet", m.TimesheetMeta),
            )
            for r in table(model)
            if r.visible
        }
        rows["rate"] = {
            (kind, r.id, r.entity_id, r.user_id, r.rate, r.internal_rate, r.fixed)
            for kind, model in (
                ("customer", m.CustomerRate),
                ("project", m.ProjectRate),
                ("activity", m.ActivityRate),
            )
            for r in table(model)
        }
        user_ids = [u.id for u in table(m.User)]
    # Preferences as GET /api/users/{id} has them: stored ones plus Kimai's defaults.
    rows["user_preference"] = {
        (user_id, p["name"], p["value"])
        for user_id in user_ids
        for p in ok(api.get(f"/api/users/{user_id}"))["preferences"]
    }
    return {name: {tuple(normal(v) for v in row) for row in found} for name, found in rows.items()}


# --- tests --------------------------------------------------------------------------------------------


def test_first_sync_equals_the_server(api: Api, db: Database, server: str, to: str) -> None:
    made = world(api)
    result = sync(server, TOKEN, to)
    assert result.code == 0, result.stderr
    assert result.warnings == []
    assert "Punchclock change feed" in result.stdout
    assert_same(read_target(to), server_rows(db, api))
    assert result.tallies["customers"] == (2, 0, 0)
    assert result.tallies["timesheets"] == (4, 0, 0)
    assert result.tallies["users"] == (5, 0, 0)

    # Timezones, spelled out: UTC instants, the offset shown, the day as the user lived it.
    rows = {row[0]: row for row in read_target(to)["timesheet"]}
    early = rows[made["sheets"][0]["id"]]
    assert early[4:9] == (
        dt.datetime(2024, 4, 30, 20, 0, tzinfo=UTC),
        dt.datetime(2024, 4, 30, 22, 0, tzinfo=UTC),
        780,
        780,
        dt.date(2024, 5, 1),
    )
    night = rows[made["sheets"][1]["id"]]
    assert night[4:9] == (
        dt.datetime(2020, 11, 1, 4, 30, tzinfo=UTC),
        dt.datetime(2020, 11, 1, 8, 30, tzinfo=UTC),
        -240,
        -300,
        dt.date(2020, 11, 1),
    )
    assert night[9] == 4 * 3600  # three hours on the clock, four in fact
    running = rows[made["sheets"][2]["id"]]
    assert running[5] is None
    assert running[7] is None

    again = sync(server, TOKEN, to)
    assert again.code == 0
    assert set(again.tallies.values()) == {(0, 0, 0)}
    assert again.requests == 9  # users/me, doc.json, one feed page per kind


def test_edits_and_deletions_arrive(api: Api, db: Database, server: str, to: str) -> None:
    made = world(api)
    assert sync(server, TOKEN, to).code == 0
    ok(api.patch(f"/api/customers/{made['acme']['id']}", json={"name": "Acme Corp", "visible": False}))
    rates = ok(api.get(f"/api/customers/{made['acme']['id']}/rates"))
    assert api.delete(f"/api/customers/{made['acme']['id']}/rates/{rates[0]['id']}").status_code == 204
    assert api.delete(f"/api/customers/{made['hidden']['id']}").status_code == 204  # and its project …
    tags = ok(api.get("/api/tags/find?name=urgent"))
    assert api.delete(f"/api/tags/{tags[0]['id']}").status_code == 204
    assert api.delete(f"/api/timesheets/{made['sheets'][3]['id']}").status_code == 204
    ok(api.patch(f"/api/teams/{made['team']['id']}", json={"members": [{"user": 3, "teamlead": True}]}))
    ok(api.patch(f"/api/timesheets/{made['sheets'][0]['id']}", json={"description": "later"}))

    result = sync(server, TOKEN, to)
    assert result.code == 0, result.stderr
    assert result.tallies["customers"] == (0, 1, 1)
    assert result.tallies["projects"] == (0, 0, 1)
    assert result.tallies["activities"] == (0, 0, 1)
    assert result.tallies["tags"] == (0, 0, 1)
    # One edited (and without its tag now); one deleted, two with the deleted customer.
    assert result.tallies["timesheets"] == (0, 1, 3)
    assert_same(read_target(to), server_rows(db, api))


def test_exact_page_multiples_and_hundreds_of_entities(api: Api, db: Database, server: str, to: str) -> None:
    log_seeded_people(api)
    bulk = api.post(
        "/api/ext/bulk/customers",
        json=[{"name": f"Customer {n:03}", "visible": n % 3 > 0} for n in range(510)],
    )
    assert bulk.status_code == 200, bulk.text
    customer = make_customer(api, "Acme")
    project = make_project(api, "Web", customer["id"])
    activity = make_activity(api, "Code", project["id"])
    start = dt.datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
    for chunk in range(2):  # two pages of the feed, exactly
        items = [
            {
                "project": project["id"],
                "activity": activity["id"],
                "user": 4,
                "begin": local(start + dt.timedelta(hours=n)),
                "end": local(start + dt.timedelta(hours=n, minutes=45)),
            }
            for n in range(chunk * 1000, (chunk + 1) * 1000)
        ]
        bulk = api.post("/api/ext/bulk/timesheets", json=items)
        assert bulk.status_code == 200, bulk.text
        assert {item["status"] for item in bulk.json()} == {"created"}

    result = sync(server, TOKEN, to, only="users,customers,timesheets")
    assert result.code == 0, result.stderr
    assert_indexes(to)
    assert result.tallies["customers"] == (511, 0, 0)
    assert result.tallies["timesheets"] == (2000, 0, 0)
    # users/me, doc.json, one feed page for the users, two full ones of timesheets (and no empty
    # third), one for the customers, which carries their rates.
    assert result.requests == 2 + 4
    expected = server_rows(db, api)
    found = read_target(to)
    for name in ("customer", "timesheet", "user_account", "meta_field", "rate"):
        if name in ("meta_field", "rate"):
            expected[name] = {row for row in expected[name] if row[0] in ("customer", "timesheet")}
        assert_same({name: found[name]}, {name: expected[name]})


def test_a_killed_run_resumes(api: Api, db: Database, server: str, to: str) -> None:
    """The command, killed while it waits for the third page of timesheets; the next run reads on."""
    log_seeded_people(api)
    customer = make_customer(api, "Acme")
    project = make_project(api, "Web", customer["id"])
    activity = make_activity(api, "Code", project["id"])
    start = dt.datetime(2022, 1, 3, 8, 0, tzinfo=UTC)
    for chunk in range(3):
        items = [
            {
                "project": project["id"],
                "activity": activity["id"],
                "user": 4,
                "begin": local(start + dt.timedelta(hours=n)),
                "end": local(start + dt.timedelta(hours=n, minutes=30)),
            }
            for n in range(chunk * 1000, chunk * 1000 + (1000 if chunk < 2 else 500))
        ]
        assert api.post("/api/ext/bulk/timesheets", json=items).status_code == 200
    GATE.after, GATE.seen = 3, 0
    GATE.reached.clear()
    GATE.release.clear()
    process = subprocess.Popen(
        sync_command("--url", server, "--token", TOKEN, "--to", to),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert GATE.reached.wait(timeout=60), "the run never asked for the third page"
        engine = create_engine(to)
        deadline = dt.datetime.now(UTC) + dt.timedelta(seconds=30)
        done = 0
        while done < 2000 and dt.datetime.now(UTC) < deadline:
            with engine.connect() as connection:
                done = connection.scalar(text("SELECT count(*) FROM timesheet"))
        engine.dispose()
        assert done == 2000
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        GATE.after = None
        GATE.release.set()
        if process.poll() is None:
            process.kill()
    assert indexes(to) == set()  # a first load into an empty table builds them at its end
    result = sync(server, TOKEN, to)
    assert result.code == 0, result.stderr
    assert result.tallies["timesheets"] == (500, 0, 0)
    assert_same(read_target(to), server_rows(db, api))
    assert_indexes(to)


def test_a_plain_user_syncs_what_they_may_see(api: Api, db: Database, server: str, to: str) -> None:
    made = world(api)
    result = sync(server, PEOPLE["user"].token, to)
    assert result.code == 0, result.stderr
    assert result.warnings == [
        "warning: timesheets: the token's user may not see other users' timesheets (view_other_timesheet, "
        "ROLE_TEAMLEAD and up): only their own are synced",
        "warning: timesheets: rates are hidden from this token: rate columns stay empty",
        "warning: users: listing users needs ROLE_SUPER_ADMIN: only the token's own user is synced",
        "warning: teams: need ROLE_ADMIN or ROLE_SUPER_ADMIN: teams and their members are not synced",
        "warning: customers: the token may not view every customer in detail: contact, e-mail and address "
        "columns stay empty where it may not",
        "warning: customers, projects, activities: rates need ROLE_ADMIN or ROLE_SUPER_ADMIN: they are not "
        "synced",
    ]
    found = read_target(to)
    assert {row[0] for row in found["timesheet"]} == {made["sheets"][0]["id"]}
    assert {row[14] for row in found["timesheet"]} == {None}  # rate: hidden
    assert {row[1] for row in found["user_account"]} == {"john_user"}
    assert found["team"] == set()
    assert found["rate"] == set()
    acme = next(row for row in found["customer"] if row[1] == "Acme")
    assert acme[8] is None  # contact: only in the customer's own view
    # Hidden entities come too: the lists the user may read show them with visible=3.
    assert {row[1] for row in found["customer"]} == {"Acme", "Hidden Ltd"}


def test_a_team_lead_syncs_their_team(api: Api, db: Database, server: str, to: str) -> None:
    made = world(api)
    result = sync(server, PEOPLE["teamlead"].token, to)
    assert result.code == 0, result.stderr
    found = read_target(to)
    # Their own and their team member john's timesheets.
    assert {row[0] for row in found["timesheet"]} == {made["sheets"][0]["id"], made["sheets"][3]["id"]}


def test_a_cursor_older_than_the_tombstones_resyncs_in_full(
    api: Api, db: Database, database: Database, database_url: str, server: str, to: str
) -> None:
    made = world(api)
    assert sync(server, TOKEN, to).code == 0
    assert api.delete(f"/api/timesheets/{made['sheets'][3]['id']}").status_code == 204
    # The server restarted keeping no tombstones drops that one on its first read of the feed: the
    # last cursor can no longer say what went.
    usual = Served.app
    Served.app = create_app(settings_for(database_url, changes_retention_days=0), database)
    try:
        result = sync(server, TOKEN, to)
    finally:
        Served.app = usual
    assert result.code == 0, result.stderr
    assert (
        "warning: timesheets: the change feed no longer reaches back to the last run: full resync"
        in result.warnings
    )
    assert result.tallies["timesheets"] == (0, 0, 1)
    assert_same(read_target(to), server_rows(db, api))


def test_full_repairs_a_target_changed_by_hand(api: Api, db: Database, server: str, to: str) -> None:
    world(api)
    assert sync(server, TOKEN, to).code == 0
    engine = create_engine(to)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM customer WHERE name = 'Acme'"))
        connection.execute(text("UPDATE timesheet SET description = 'scribbled'"))
        connection.execute(text("INSERT INTO tag (name, visible, sync_hash) VALUES ('stray', true, 0)"))
    engine.dispose()
    assert sync(server, TOKEN, to).tallies["customers"] == (0, 0, 0)  # a delta knows nothing of it
    result = sync(server, TOKEN, to, full=True)
    assert result.code == 0, result.stderr
    assert result.tallies["customers"] == (1, 0, 0)
    # Rewritten, every one; counted as updated are rows the server changed, and it changed none.
    assert result.tallies["timesheets"] == (0, 0, 0)
    assert result.tallies["tags"] == (0, 0, 1)
    assert_same(read_target(to), server_rows(db, api))


def test_only_some_kinds_then_the_rest(api: Api, db: Database, server: str, to: str) -> None:
    world(api)
    result = sync(server, TOKEN, to, only="timesheets,tags")
    assert list(result.tallies) == ["timesheets", "tags"]
    found = read_target(to)
    assert len(found["timesheet"]) == 4
    assert found["customer"] == set()
    assert set(state(to)) >= {"feed.timesheet", "feed.tag"}
    assert "feed.customer" not in state(to)
    assert sync(server, TOKEN, to).tallies["timesheets"] == (0, 0, 0)
    assert_same(read_target(to), server_rows(db, api))


def test_kimai_mode_against_punchclock(api: Api, db: Database, server: str, to: str) -> None:
    """``--no-feed`` reads Punchclock as a Kimai: the same rows, but the lists lack the rate fields
    only a timesheet's own view has, tags are names only, and users' preferences are the stored ones
    (the user list adds no defaults)."""
    world(api)
    result = sync(server, TOKEN, to, feed=False)
    assert result.code == 0, result.stderr
    assert "Kimai API" in result.stdout
    expected = server_rows(db, api)
    expected["timesheet"] = {(*row[:16], None, None, row[18]) for row in expected["timesheet"]}
    expected["tag"] = {(name, None, None, visible) for name, _, _, visible in expected["tag"]}
    users = ok(api.get("/api/users?visible=3&full=1"))
    expected["user_preference"] = {(u["id"], p["name"], p["value"]) for u in users for p in u["preferences"]}
    assert_same(read_target(to), expected)


def test_switching_between_feed_and_kimai_mode_starts_over(
    api: Api, db: Database, server: str, to: str
) -> None:
    """Checkpoints belong to the way the server was read: after a run with ``--no-feed``, whose rows
    lack what only the feed has, the next feed run reads everything again instead of resuming."""
    world(api)
    assert sync(server, TOKEN, to).code == 0
    assert "feed.timesheet" in state(to)
    assert sync(server, TOKEN, to, feed=False).code == 0
    assert not [name for name in state(to) if name.startswith("feed.")]
    result = sync(server, TOKEN, to)
    assert result.code == 0, result.stderr
    assert result.tallies["timesheets"][1] > 0  # rewritten with the rate fields the lists lack
    assert_same(read_target(to), server_rows(db, api))


def test_a_tag_id_given_again_replaces_the_gone_tag(
    api: Api, db: Database, database_url: str, server: str, to: str
) -> None:
    """A SQLite server gives a deleted tag's id to the next tag; the feed then shows only the new
    tag (it keeps one row per entity), and the target must not keep the gone one under that id."""
    log_seeded_people(api)
    old = ok(api.post("/api/tags", json={"name": "old", "visible": True}))
    assert sync(server, TOKEN, to).code == 0
    assert api.delete(f"/api/tags/{old['id']}").status_code == 204
    new = ok(api.post("/api/tags", json={"name": "new", "visible": True}))
    if database_url.startswith("sqlite"):
        assert new["id"] == old["id"]  # the case itself
    result = sync(server, TOKEN, to)
    assert result.code == 0, result.stderr
    assert result.tallies["tags"] == (1, 0, 1)
    assert_same(read_target(to), server_rows(db, api))


def test_targets_that_are_not_the_syncs(db: Database, database_url: str, server: str, to: str) -> None:
    refused = sync(server, TOKEN, database_url)
    assert refused.code == 11
    assert refused.stderr == (
        f"error: {safe_url(database_url)} is a Punchclock server database; give the sync a database of its "
        "own\n"
    )
    from punchclock.tools.sync.target import Target

    holder = Target(to)
    holder.open()
    try:
        busy = sync_process("--url", server, "--token", TOKEN, "--to", to)
    finally:
        holder.close()
    assert busy.code == 12
    assert busy.stderr == f"error: another sync is writing {safe_url(to)}\n"
    assert sync(server, TOKEN, to).code == 0


# --- records: instants in their ISO forms, rates carried by the feed ----------------------------------


@pytest.mark.parametrize(
    ("begin", "utc", "offset", "day"),
    [
        ("2024-03-31T03:30:00+0200", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), 120, "2024-03-31"),
        ("2024-03-31T03:30:00+02:00", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), 120, "2024-03-31"),
        ("2024-03-31T03:30:00.750+0200", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), 120, "2024-03-31"),
        ("2024-03-31T01:30:00Z", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), 0, "2024-03-31"),
        ("2024-03-30T20:00:00-0530", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), -330, "2024-03-30"),
        ("2024-12-31T23:30:00+1300", dt.datetime(2024, 12, 31, 10, 30, tzinfo=UTC), 780, "2024-12-31"),
    ],
)
def test_instants_in_any_iso_form_are_stored_in_utc(
    to: str, begin: str, utc: dt.datetime, offset: int, day: str
) -> None:
    """The target turns the server's text into UTC itself (SQLite's ``datetime()``, PostgreSQL's input)."""
    view = {"id": 1, "begin": begin, "end": None, "user": 1, "project": 1, "activity": 1}
    target = Target(to)
    target.open()
    try:
        with Writer(target).batch() as batch:
            batch.upsert(records.TIMESHEET, [view])
    finally:
        target.close()
    engine = create_engine(to)
    table = schema.timesheet
    with engine.connect() as connection:
        row = connection.execute(
            select(table.c.begin_utc, table.c.begin_offset_minutes, table.c.begin_date, table.c.end_utc)
        ).one()
    engine.dispose()
    assert (normal(row.begin_utc), row.begin_offset_minutes, row.begin_date) == (
        utc,
        offset,
        dt.date.fromisoformat(day),
    )
    assert row.end_utc is None


@pytest.mark.parametrize(
    "text", ["2024-03-31T03:30:00", "2024-03-31", "yesterday", "2024-02-30T10:00:00+0100"]
)
def test_an_instant_without_an_offset_or_not_iso_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        records.moment(text)


def test_feed_items_without_rates_are_asked_for_one_by_one() -> None:
    """An item of a rated kind that lacks ``rates`` (a server without ``include=rates``, or an entity
    the token may not edit) is listed for the per-entity route; one with them carries its rows."""
    rate = {"id": 7, "user": None, "rate": 80.0, "internalRate": None, "isFixed": False}
    reply = {
        "items": [
            {
                "entity": "project",
                "id": 1,
                "op": "upsert",
                "data": {**PROJECT_VIEW, "id": 1, "rates": [rate]},
            },
            {"entity": "project", "id": 2, "op": "upsert", "data": {**PROJECT_VIEW, "id": 2}},
            {"entity": "project", "id": 3, "op": "upsert", "data": {**PROJECT_VIEW, "id": 3, "rates": []}},
            {"entity": "project", "id": 4, "op": "delete", "data": None},
        ],
        "nextCursor": "c",
        "hasMore": False,
    }
    page = source_feed._prepare(records.PROJECT, reply)
    assert page.unrated == [2]
    assert page.rates == {1: records.rate_rows("project", 1, [rate]), 3: []}
    assert page.deletes == [4]
    assert source_feed._prepare(records.TIMESHEET, {**reply, "items": []}).unrated == []


PROJECT_VIEW = {"name": "Web", "customer": 1, "visible": True, "billable": True, "globalActivities": True}
