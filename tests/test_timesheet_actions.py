"""Timesheet records one by one and the side routes: get, delete, stop, restart, duplicate, export,
meta, running timers (the hard limit), active, recent, favorites and the timesheet configuration,
with the answers of Kimai's TimesheetControllerTest and FavoritesControllerTest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from punchclock import models
from punchclock.config import Settings
from punchclock.db import Database
from tests.conftest import BAD_REQUEST, FORBIDDEN, NOT_ALLOWED, NOT_FOUND, PEOPLE, Api, add_team
from tests.conftest import test_settings as settings_for
from tests.test_projects import hide, make_activity, make_customer, make_project, validation_failed
from tests.test_timesheets import FORM_FIELDS_USER, local_time, post
from tests.test_timesheets import world as world  # the fixture, re-exported for this module

# Keys of the entity view: without rate permission (ROLE_USER's own records) and the rate keys.
VIEW_KEYS = {
    "id",
    "begin",
    "end",
    "duration",
    "break",
    "description",
    "tags",
    "exported",
    "billable",
    "metaFields",
    "activity",
    "project",
    "user",
    "modifiedAt",
}
RATE_KEYS = {"rate", "internalRate"}
ENTITY_RATE_KEYS = {"fixedRate", "hourlyRate"}
# Kimai's Default serializer group of the entities an expanded timesheet nests.
CUSTOMER_KEYS = {
    "id",
    "name",
    "number",
    "comment",
    "visible",
    "billable",
    "company",
    "country",
    "language",
    "currency",
    "phone",
    "fax",
    "mobile",
    "homepage",
    "timezone",
    "metaFields",
    "color",
    "color-safe",
    "modifiedAt",  # extension
}
PROJECT_KEYS = {
    "id",
    "name",
    "number",
    "orderNumber",
    "orderDate",
    "start",
    "end",
    "comment",
    "visible",
    "billable",
    "globalActivities",
    "lockedUntil",  # extension (newer Kimai versions have it)
    "metaFields",
    "color",
    "color-safe",
    "modifiedAt",  # extension
}
ACTIVITY_KEYS = {
    "id",
    "name",
    "number",
    "comment",
    "visible",
    "billable",
    "metaFields",
    "color",
    "color-safe",
    "modifiedAt",  # extension
}
JOHN = {
    "id": 4,
    "username": "john_user",
    "email": "john_user@example.com",
    "enabled": True,
    "apiToken": True,  # the seeded users have a legacy API password
    "systemAccount": False,
    "alias": None,
    "title": None,
    "avatar": None,
    "accountNumber": None,
    "color": None,
    "color-safe": "#85144b",
    "initials": "JO",
    "language": "en",
    "locale": "en",
    "timezone": "Pacific/Tongatapu",
}
DAY = {"begin": "2024-05-01T09:00:00", "end": "2024-05-01T10:00:00"}
SAVE_FAILED = "There was a problem saving."
STOP_FAILED = "You have an active time record which cannot be stopped automatically."


@pytest.fixture
def app_settings(database_url: str) -> Settings:
    """A declared timesheet custom field (Kimai's stock install has none: every name is 404)."""
    settings = settings_for(database_url)
    settings.meta_fields = {**settings.meta_fields, "timesheet": ["ticket"]}
    return settings


# --- helpers ----------------------------------------------------------------------------------------


def make(
    api: Api, world: dict[str, Any], owner: str = "user", *, by: str | None = None, **fields: Any
) -> Any:
    """A record of ``owner``, created by the owner or ``by`` (a caller allowed to pick the user)."""
    creator = by or owner
    if creator != owner:
        fields["user"] = PEOPLE[owner].id
    response = post(api, world, as_=creator, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def stopped(api: Api, world: dict[str, Any], owner: str = "user", **fields: Any) -> Any:
    return make(api, world, owner, **{**DAY, **fields})


def running(
    api: Api,
    world: dict[str, Any],
    owner: str = "user",
    *,
    hours_ago: float = 1,
    by: str | None = None,
    **fields: Any,
) -> Any:
    """A running record; its begin is written in the creator's timezone, as POST reads it."""
    tz = PEOPLE[by or owner].timezone
    return make(api, world, owner, by=by, begin=local_time(hours_ago=hours_ago, tz=tz), **fields)


def fetch(api: Api, timesheet_id: int, as_: str = "super") -> Any:
    response = api.get(f"/api/timesheets/{timesheet_id}", as_=as_)
    assert response.status_code == 200, response.text
    return response.json()


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def active_ids(api: Api, as_: str = "user") -> list[int]:
    response = api.get("/api/timesheets/active", as_=as_)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


def add_tags(db: Database, *names: str) -> None:
    with db.session(write=True) as session:
        session.add_all(models.Tag(name=name, visible=True) for name in names)


def now_minute_bounds() -> tuple[dt.datetime, Callable[[], dt.datetime]]:
    """The minute a request starts in, and (called afterwards) the minute after the request ended."""
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    def upper() -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    return start, upper


def action_error(children: dict[str, list[str]], message: str = SAVE_FAILED) -> dict[str, Any]:
    """Kimai's ValidationFailedException body (stop, restart, duplicate): ``code`` is a string."""
    return {
        "code": "400",
        "message": message,
        "errors": {"children": {path: {"errors": errors} for path, errors in children.items()}},
    }


# Team set-ups for the voter: who leads and who belongs to which team.
Teams = Callable[[Database], None]


def no_teams(db: Database) -> None:
    pass


def user_led_by_teamlead(db: Database) -> None:
    add_team(db, "Led", leads=["teamlead"], members=["user"])


def teamlead_plain_member(db: Database) -> None:
    add_team(db, "Shared", leads=["admin"], members=["user", "teamlead"])


def user_in_other_team(db: Database) -> None:
    add_team(db, "Theirs", leads=["admin"], members=["user"])
    add_team(db, "Mine", leads=["teamlead"], members=["super"])


# --- GET /api/timesheets/{id} -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "timesheet_id", ["999", "0", "9223372036854775807", "99999999999999999999", "abc", "1.5", "-1"]
)
def test_get_unknown_is_404(api: Api, timesheet_id: str) -> None:
    response = api.get(f"/api/timesheets/{timesheet_id}", as_="user")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_get_own_record(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world, description="notes")
    response = api.get(f"/api/timesheets/{created['id']}", as_="user")
    assert response.status_code == 200
    assert response.json() == created
    assert set(created) == VIEW_KEYS  # ROLE_USER sees no rates, not even of own records
    assert created["user"] == PEOPLE["user"].id
    assert created["begin"] == "2024-05-01T09:00:00+1300"  # the owner's timezone (Tongatapu)


@pytest.mark.parametrize(
    ("owner", "teams", "viewer", "status", "rates"),
    [
        ("admin", no_teams, "user", 403, False),
        ("teamlead", no_teams, "user", 403, False),
        # A team lead sees users in no team, and members of the teams they lead.
        ("user", no_teams, "teamlead", 200, True),
        ("admin", no_teams, "teamlead", 200, True),
        ("user", user_led_by_teamlead, "teamlead", 200, True),
        # ... but not as a plain member of the owner's team, nor through a team of their own.
        ("user", teamlead_plain_member, "teamlead", 403, False),
        ("user", user_in_other_team, "teamlead", 403, False),
        ("user", user_in_other_team, "admin", 200, True),
        ("teamlead", user_in_other_team, "super", 200, True),
    ],
)
def test_get_access(
    api: Api,
    db: Database,
    world: dict[str, Any],
    owner: str,
    teams: Teams,
    viewer: str,
    status: int,
    rates: bool,
) -> None:
    created = stopped(api, world, owner, by="super")
    teams(db)
    response = api.get(f"/api/timesheets/{created['id']}", as_=viewer)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == FORBIDDEN
    else:
        assert set(response.json()) == VIEW_KEYS | (RATE_KEYS | ENTITY_RATE_KEYS if rates else set())


def test_get_denied_when_the_customer_is_closed_to_the_teamlead(
    api: Api, db: Database, world: dict[str, Any]
) -> None:
    """Leading the owner's team is not enough when the customer belongs to a team the lead is not in
    (CVE-2024-29200 regression test); the owner keeps access to their own record."""
    created = stopped(api, world)
    add_team(db, "Owner team", leads=["teamlead"], members=["user"])
    add_team(db, "Customer team", members=["user"], customers=[world["customer"]["id"]])
    assert api.get(f"/api/timesheets/{created['id']}", as_="teamlead").json() == FORBIDDEN
    assert api.get(f"/api/timesheets/{created['id']}", as_="user").status_code == 200


# --- DELETE /api/timesheets/{id} --------------------------------------------------------------------


def test_delete_own(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.delete(f"/api/timesheets/{created['id']}", as_="user")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/timesheets/{created['id']}").json() == NOT_FOUND
    assert api.delete(f"/api/timesheets/{created['id']}", as_="user").json() == NOT_FOUND


@pytest.mark.parametrize(
    ("owner", "teams", "caller", "status"),
    [
        ("admin", no_teams, "user", 403),
        ("user", no_teams, "admin", 204),
        ("user", user_led_by_teamlead, "teamlead", 204),
        ("user", teamlead_plain_member, "teamlead", 403),
        ("user", user_in_other_team, "teamlead", 403),
        ("teamlead", no_teams, "super", 204),
    ],
)
def test_delete_access(
    api: Api, db: Database, world: dict[str, Any], owner: str, teams: Teams, caller: str, status: int
) -> None:
    created = stopped(api, world, owner, by="super")
    teams(db)
    response = api.delete(f"/api/timesheets/{created['id']}", as_=caller)
    assert response.status_code == status
    still_there = api.get(f"/api/timesheets/{created['id']}").status_code == 200
    assert still_there is (status == 403)


@pytest.mark.parametrize(
    ("owner", "caller", "status"),
    [
        ("user", "user", 403),  # edit_exported_timesheet: admins only
        ("teamlead", "teamlead", 403),
        ("user", "admin", 204),
        ("user", "super", 204),
    ],
)
def test_delete_exported(api: Api, world: dict[str, Any], owner: str, caller: str, status: int) -> None:
    created = stopped(api, world, owner, by="super", exported=True)
    assert created["exported"] is True
    response = api.delete(f"/api/timesheets/{created['id']}", as_=caller)
    assert response.status_code == status
    if status == 403:
        assert response.json() == FORBIDDEN
        assert fetch(api, created["id"]) == created


# --- PATCH /{id}/stop ---------------------------------------------------------------------------------


def test_stop_sets_end_to_now_rounded(api: Api, world: dict[str, Any]) -> None:
    created = make(api, world, begin=local_time(hours_ago=2, tz=PEOPLE["user"].timezone))
    assert created["end"] is None
    assert created["duration"] == 0
    lower, upper = now_minute_bounds()
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_="user")
    assert response.status_code == 200, response.text
    body = response.json()
    end, begin = instant(body["end"]), instant(body["begin"])
    assert lower <= end <= upper()
    assert end.second == 0
    assert begin.second == 0
    assert begin <= instant(created["begin"]) < begin + dt.timedelta(minutes=1)
    assert body["duration"] == (end - begin).total_seconds()
    assert body["end"].endswith("+1300")  # the record's (owner's) timezone
    assert set(body) == VIEW_KEYS
    assert fetch(api, created["id"], "user") == body
    assert active_ids(api) == []


def test_stop_shows_the_calculated_rates(api: Api, world: dict[str, Any]) -> None:
    created = make(api, world, "super", begin=local_time(hours_ago=2), hourlyRate=60)
    assert (created["rate"], created["internalRate"]) == (0.0, 0.0)  # running
    body = api.patch(f"/api/timesheets/{created['id']}/stop").json()
    assert body["hourlyRate"] == 60.0
    assert body["rate"] == round(60 * body["duration"] / 3600, 4)


def test_stop_a_stopped_record_changes_nothing(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_="user")
    assert response.status_code == 200
    assert response.json() == created
    assert fetch(api, created["id"], "user") == created


def test_stop_fails_validation_on_long_running(
    api: Api, world: dict[str, Any], app_settings: Settings
) -> None:
    """Kimai's testStopActionTriggersValidationOnLongRunning: 750 minutes, begun 13 hours ago."""
    app_settings.timesheet_long_running_duration = 750
    created = make(api, world, begin=local_time(hours_ago=13, tz=PEOPLE["user"].timezone))
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_="user")
    assert response.status_code == 400
    assert response.json() == action_error({"duration": ["Maximum 12:30 hours allowed."]})
    assert fetch(api, created["id"])["end"] is None


def test_stop_a_record_that_began_in_the_future(api: Api, world: dict[str, Any]) -> None:
    created = running(api, world, hours_ago=-2)
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_="user")
    assert response.status_code == 400
    assert response.json() == action_error(
        {
            "end_date": ["The end date must not be earlier than the start date."],
            "duration": ["Duration cannot be negative."],
        }
    )


@pytest.mark.parametrize(("owner", "status"), [("user", 400), ("teamlead", 200)])
def test_stop_an_exported_record_needs_edit_export(
    api: Api, world: dict[str, Any], owner: str, status: int
) -> None:
    """Kimai's TimesheetExported constraint runs when the record is stopped: ROLE_USER lacks
    edit_export_own_timesheet, a team lead has it."""
    created = running(api, world, owner, by="super", exported=True)
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_=owner)
    assert response.status_code == status
    if status == 400:
        assert response.json() == action_error({"exported": ["This timesheet is already exported."]})
    assert (fetch(api, created["id"])["end"] is None) is (status == 400)


@pytest.mark.parametrize(
    ("owner", "teams", "caller", "status"),
    [
        ("admin", no_teams, "user", 403),
        ("user", user_led_by_teamlead, "teamlead", 200),
        ("user", teamlead_plain_member, "teamlead", 403),
        ("user", no_teams, "admin", 200),
    ],
)
def test_stop_access(
    api: Api, db: Database, world: dict[str, Any], owner: str, teams: Teams, caller: str, status: int
) -> None:
    created = running(api, world, owner, by="super")
    teams(db)
    response = api.patch(f"/api/timesheets/{created['id']}/stop", as_=caller)
    assert response.status_code == status
    assert (fetch(api, created["id"])["end"] is None) is (status == 403)
    if status == 403:
        assert response.json() == FORBIDDEN


@pytest.mark.parametrize("action", ["stop", "restart", "duplicate", "export", "meta"])
def test_actions_on_unknown_record_are_404(api: Api, action: str) -> None:
    response = api.patch(
        f"/api/timesheets/9223372036854775807/{action}", json={"name": "ticket", "value": "1"}
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("action", ["stop", "restart", "duplicate", "export", "meta"])
def test_actions_need_patch(api: Api, world: dict[str, Any], action: str) -> None:
    """GET no longer changes anything (GHSA-wv7c-q6q8-8rpw): 405."""
    created = running(api, world)
    response = api.get(f"/api/timesheets/{created['id']}/{action}", as_="user")
    assert response.status_code == 405
    assert response.json() == NOT_ALLOWED
    assert fetch(api, created["id"], "user") == created


# --- PATCH /{id}/restart ------------------------------------------------------------------------------


def test_restart_copies_project_and_activity_only(api: Api, db: Database, world: dict[str, Any]) -> None:
    add_tags(db, "another", "bar")
    original = stopped(api, world, description="foo", tags="another,bar")
    assert original["tags"] == ["another", "bar"]
    lower, upper = now_minute_bounds()
    response = api.patch(f"/api/timesheets/{original['id']}/restart", as_="user")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == VIEW_KEYS
    assert body["id"] != original["id"]
    assert (body["project"], body["activity"], body["user"]) == (
        original["project"],
        original["activity"],
        PEOPLE["user"].id,
    )
    assert (body["description"], body["tags"], body["metaFields"]) == (None, [], [])
    assert (body["end"], body["duration"], body["exported"]) == (None, 0, False)
    begin = instant(body["begin"])
    assert lower <= begin < upper()
    assert begin.second == 0
    assert fetch(api, original["id"])["end"] == original["end"]
    assert active_ids(api) == [body["id"]]


def test_restart_copy_all(api: Api, db: Database, world: dict[str, Any]) -> None:
    """copy=all: description, tags and custom fields (hidden ones too); never rates; billable is
    calculated again."""
    add_tags(db, "another", "bar", "testing")
    original = stopped(
        api,
        world,
        by="super",
        description="foo",
        tags="another,bar,testing",
        fixedRate=2016,
        billable=False,
    )
    assert (
        api.patch(
            f"/api/timesheets/{original['id']}/meta", json={"name": "ticket", "value": "T-1"}
        ).status_code
        == 200
    )
    with db.session(write=True) as session:
        session.add(models.TimesheetMeta(entity_id=original["id"], name="secret", value="x", visible=False))
    response = api.patch(f"/api/timesheets/{original['id']}/restart", json={"copy": "all"}, as_="admin")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == PEOPLE["admin"].id  # the caller, not the original's owner
    assert body["description"] == "foo"
    assert body["tags"] == ["another", "bar", "testing"]
    assert body["metaFields"] == [{"name": "ticket", "value": "T-1"}]
    assert body["billable"] is True
    assert {key: body[key] for key in RATE_KEYS | ENTITY_RATE_KEYS} == {
        "rate": 0.0,
        "internalRate": 0.0,
        "fixedRate": None,
        "hourlyRate": None,
    }
    with db.session() as session:
        copied = session.execute(
            select(models.TimesheetMeta.name, models.TimesheetMeta.value, models.TimesheetMeta.visible)
            .where(models.TimesheetMeta.entity_id == body["id"])
            .order_by(models.TimesheetMeta.name)
        ).all()
    assert [tuple(row) for row in copied] == [("secret", "x", False), ("ticket", "T-1", True)]


def test_restart_reads_a_form_body(api: Api, world: dict[str, Any]) -> None:
    original = stopped(api, world, description="foo")
    response = api.patch(f"/api/timesheets/{original['id']}/restart", data={"copy": "all"}, as_="user")
    assert response.status_code == 200
    assert response.json()["description"] == "foo"


@pytest.mark.parametrize(
    ("caller", "sent", "shown"),
    [
        ("super", "2019-11-27T13:55:00", "2019-11-27T13:55:00+0100"),  # Kimai's testRestartActionWithBegin
        ("super", "2024-07-01T08:30:59", "2024-07-01T08:30:00+0200"),  # rounded down like a new record
        ("user", "2019-11-27T13:55:00", "2019-11-27T13:55:00+1300"),  # the caller's timezone
        ("admin", "2024-03-10T02:30:00", "2024-03-10T03:30:00-0400"),  # a missing hour moves forward
    ],
)
def test_restart_with_begin(api: Api, world: dict[str, Any], caller: str, sent: str, shown: str) -> None:
    original = stopped(api, world, caller, by="super", description="foo")
    response = api.patch(f"/api/timesheets/{original['id']}/restart", json={"begin": sent}, as_=caller)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["begin"], body["end"], body["description"]) == (shown, None, None)


@pytest.mark.parametrize("body", [{"begin": None}, {"begin": ""}, {"copy": None}, {"copy": ""}, {}, None])
def test_restart_empty_parameters_mean_absent(api: Api, world: dict[str, Any], body: Any) -> None:
    """Symfony's Regex and DateTime constraints accept an empty value: no copy, begin now."""
    original = stopped(api, world, description="foo")
    lower, upper = now_minute_bounds()
    response = api.patch(f"/api/timesheets/{original['id']}/restart", json=body, as_="user")
    assert response.status_code == 200, response.text
    assert response.json()["description"] is None
    assert lower <= instant(response.json()["begin"]) < upper()


@pytest.mark.parametrize(
    "body",
    [
        {"begin": "2019-11-27 13:55:00"},
        {"begin": "2019-11-27T13:55"},
        {"begin": "2019-11-27T13:55:00+01:00"},
        {"begin": "2019-11-27T13:55:00Z"},
        {"begin": "2019-11-27T13:55:00.5"},
        {"begin": "2019-02-30T10:00:00"},
        {"begin": "2019-11-27T24:00:00"},
        {"begin": "now"},
        {"begin": 20191127},
        {"begin": True},
        {"begin": ["2019-11-27T13:55:00"]},
        {"copy": "ALL"},
        {"copy": "none"},
        {"copy": "all "},
        {"copy": True},
        {"copy": ["all"]},
    ],
)
def test_restart_bad_parameters(api: Api, world: dict[str, Any], body: dict[str, Any]) -> None:
    original = stopped(api, world)
    response = api.patch(f"/api/timesheets/{original['id']}/restart", json=body, as_="user")
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST
    assert active_ids(api) == []


def test_restart_checks_the_record_before_the_parameters(api: Api, world: dict[str, Any]) -> None:
    """Kimai resolves the record (404) and the voter (403) before it reads the body (400)."""
    bad = {"begin": "yesterday", "copy": "some"}
    assert api.patch("/api/timesheets/999/restart", json=bad, as_="user").json() == NOT_FOUND
    foreign = stopped(api, world, "admin", by="super")
    assert api.patch(f"/api/timesheets/{foreign['id']}/restart", json=bad, as_="user").json() == FORBIDDEN


def test_restart_stops_the_running_timer(api: Api, world: dict[str, Any]) -> None:
    timer = running(api, world, hours_ago=2)
    original = stopped(api, world)
    new = api.patch(f"/api/timesheets/{original['id']}/restart", as_="user").json()
    assert active_ids(api) == [new["id"]]
    assert fetch(api, timer["id"])["end"] is not None


def test_restart_fails_when_the_running_timer_cannot_be_stopped(
    api: Api, world: dict[str, Any], app_settings: Settings
) -> None:
    app_settings.timesheet_long_running_duration = 750
    timer = running(api, world, hours_ago=13)
    original = stopped(api, world)
    response = api.patch(f"/api/timesheets/{original['id']}/restart", as_="user")
    assert response.status_code == 400
    assert response.json() == action_error({"duration": ["Maximum 12:30 hours allowed."]}, STOP_FAILED)
    assert active_ids(api) == [timer["id"]]


@pytest.mark.parametrize(
    ("owner", "teams", "caller", "status"),
    [
        ("admin", no_teams, "user", 403),
        ("user", user_led_by_teamlead, "teamlead", 200),
        ("user", teamlead_plain_member, "teamlead", 403),
        ("user", no_teams, "super", 200),
    ],
)
def test_restart_access(
    api: Api, db: Database, world: dict[str, Any], owner: str, teams: Teams, caller: str, status: int
) -> None:
    original = stopped(api, world, owner, by="super")
    teams(db)
    response = api.patch(f"/api/timesheets/{original['id']}/restart", as_=caller)
    assert response.status_code == status
    if status == 200:
        assert response.json()["user"] == PEOPLE[caller].id
        assert active_ids(api, caller) == [response.json()["id"]]
    else:
        assert response.json() == FORBIDDEN
        assert active_ids(api, caller) == []


def hide_project(api: Api, db: Database, world: dict[str, Any]) -> None:
    hide(api, "projects", world["project"]["id"])


def hide_activity(api: Api, db: Database, world: dict[str, Any]) -> None:
    hide(api, "activities", world["activity"]["id"])


def hide_customer(api: Api, db: Database, world: dict[str, Any]) -> None:
    hide(api, "customers", world["customer"]["id"])


def revoke_customer(api: Api, db: Database, world: dict[str, Any]) -> None:
    add_team(db, "Without the owner", leads=["admin"], customers=[world["customer"]["id"]])


@pytest.mark.parametrize("action", ["restart", "duplicate"])
@pytest.mark.parametrize("change", [hide_project, hide_activity, hide_customer, revoke_customer])
def test_restart_and_duplicate_need_usable_entities(
    api: Api, db: Database, world: dict[str, Any], action: str, change: Callable[..., None]
) -> None:
    """A new record needs a visible project, activity and customer the caller may still use
    (GHSA-c6w6-57jj-62vh): 403, and nothing is written."""
    original = stopped(api, world)
    change(api, db, world)
    response = api.patch(f"/api/timesheets/{original['id']}/{action}", as_="user")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert [row["id"] for row in api.get("/api/timesheets?user=all").json()] == [original["id"]]


# --- PATCH /{id}/duplicate ----------------------------------------------------------------------------


def test_duplicate_is_an_exact_copy_but_not_exported(api: Api, db: Database, world: dict[str, Any]) -> None:
    """Kimai's testDuplicateAction: the rates are copied with the record."""
    add_tags(db, "bar")
    original = make(
        api,
        world,
        by="super",
        begin="2024-05-01T08:00:00",
        end="2024-05-01T16:00:00",
        description="foo",
        tags="bar",
        fixedRate=2016,
        hourlyRate=127,
        billable=False,
        exported=True,
    )
    assert (
        api.patch(
            f"/api/timesheets/{original['id']}/meta", json={"name": "ticket", "value": "T-1"}
        ).status_code
        == 200
    )
    original = fetch(api, original["id"])
    assert (original["duration"], original["rate"]) == (28800, 2016.0)
    response = api.patch(f"/api/timesheets/{original['id']}/duplicate")
    assert response.status_code == 200, response.text
    copy = response.json()
    assert copy["id"] != original["id"]
    assert copy == {
        **original,
        "id": copy["id"],
        "exported": False,
        "modifiedAt": copy["modifiedAt"],
    }
    assert fetch(api, original["id"])["exported"] is True


def test_duplicate_own_record(api: Api, world: dict[str, Any]) -> None:
    original = stopped(api, world, description="foo")
    copy = api.patch(f"/api/timesheets/{original['id']}/duplicate", as_="user").json()
    assert copy == {**original, "id": copy["id"], "modifiedAt": copy["modifiedAt"]}
    assert set(copy) == VIEW_KEYS


def test_duplicate_of_a_running_record_stops_the_original(api: Api, world: dict[str, Any]) -> None:
    """The copy is a new running record, so the hard limit stops the original."""
    original = running(api, world)
    copy = api.patch(f"/api/timesheets/{original['id']}/duplicate", as_="user").json()
    assert copy["end"] is None
    assert copy["begin"] == original["begin"]
    assert active_ids(api) == [copy["id"]]


def test_duplicate_fails_validation(api: Api, world: dict[str, Any], app_settings: Settings) -> None:
    app_settings.timesheet_allow_overlapping = False
    original = stopped(api, world)
    response = api.patch(f"/api/timesheets/{original['id']}/duplicate", as_="user")
    assert response.status_code == 400
    assert response.json() == action_error({"begin_date": ["You already have an entry for this time."]})
    assert [row["id"] for row in api.get("/api/timesheets", as_="user").json()] == [original["id"]]


@pytest.mark.parametrize(
    ("owner", "teams", "caller", "status"),
    [
        ("admin", no_teams, "user", 403),
        ("user", user_led_by_teamlead, "teamlead", 200),
        ("user", teamlead_plain_member, "teamlead", 403),
    ],
)
def test_duplicate_access(
    api: Api, db: Database, world: dict[str, Any], owner: str, teams: Teams, caller: str, status: int
) -> None:
    original = stopped(api, world, owner, by="super")
    teams(db)
    response = api.patch(f"/api/timesheets/{original['id']}/duplicate", as_=caller)
    assert response.status_code == status
    if status == 200:
        assert response.json()["user"] == PEOPLE[owner].id  # the copy keeps the owner
    else:
        assert response.json() == FORBIDDEN


# --- PATCH /{id}/export -------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["admin", "super"])
def test_export_toggles(api: Api, world: dict[str, Any], caller: str) -> None:
    created = stopped(api, world)
    first = api.patch(f"/api/timesheets/{created['id']}/export", as_=caller)
    assert first.status_code == 200
    assert first.json()["exported"] is True
    assert set(first.json()) == VIEW_KEYS | RATE_KEYS | ENTITY_RATE_KEYS
    assert fetch(api, created["id"])["exported"] is True
    second = api.patch(f"/api/timesheets/{created['id']}/export", as_=caller)
    assert second.status_code == 200
    assert second.json()["exported"] is False
    assert fetch(api, created["id"])["exported"] is False


def test_export_not_allowed_for_user(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.patch(f"/api/timesheets/{created['id']}/export", as_="user")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert fetch(api, created["id"])["exported"] is False


def test_teamlead_exports_but_cannot_unexport(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world, "teamlead")
    response = api.patch(f"/api/timesheets/{created['id']}/export", as_="teamlead")
    assert response.status_code == 200
    assert response.json()["exported"] is True
    again = api.patch(f"/api/timesheets/{created['id']}/export", as_="teamlead")
    assert again.status_code == 403
    assert again.json() == FORBIDDEN
    assert fetch(api, created["id"])["exported"] is True


@pytest.mark.parametrize(
    ("teams", "status"), [(user_led_by_teamlead, 200), (teamlead_plain_member, 403), (no_teams, 200)]
)
def test_teamlead_exports_records_of_led_users(
    api: Api, db: Database, world: dict[str, Any], teams: Teams, status: int
) -> None:
    created = stopped(api, world)
    teams(db)
    response = api.patch(f"/api/timesheets/{created['id']}/export", as_="teamlead")
    assert response.status_code == status
    assert fetch(api, created["id"])["exported"] is (status == 200)


# --- PATCH /{id}/meta ---------------------------------------------------------------------------------


def test_meta_sets_a_declared_field(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.patch(
        f"/api/timesheets/{created['id']}/meta", json={"name": "ticket", "value": "T-1"}, as_="user"
    )
    assert response.status_code == 200, response.text
    assert response.json()["metaFields"] == [{"name": "ticket", "value": "T-1"}]
    assert set(response.json()) == VIEW_KEYS
    # Names match case-insensitively and keep the declared spelling; a number becomes text.
    again = api.patch(
        f"/api/timesheets/{created['id']}/meta", json={"name": "TICKET", "value": 42}, as_="user"
    )
    assert again.status_code == 200
    assert fetch(api, created["id"])["metaFields"] == [{"name": "ticket", "value": "42"}]
    listed = api.get("/api/timesheets", as_="user").json()
    assert listed[0]["metaFields"] == [{"name": "ticket", "value": "42"}]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, BAD_REQUEST),
        ({"value": "X"}, BAD_REQUEST),  # testMetaActionThrowsExceptionOnMissingName
        (
            {"name": "X"},
            NOT_FOUND,
        ),  # testMetaActionThrowsExceptionOnMissingValue: the name is looked up first
        ({"name": "X", "value": "Y"}, NOT_FOUND),  # testMetaActionThrowsExceptionOnMissingMetafield
        ({"name": "", "value": "Y"}, NOT_FOUND),
        ({"name": "ticket"}, BAD_REQUEST),
        ({"name": "ticket", "value": False}, BAD_REQUEST),  # false is decoded to null
        ({"name": None, "value": "Y"}, NOT_FOUND),  # null is decoded to ""
    ],
)
def test_meta_errors(api: Api, world: dict[str, Any], body: dict[str, Any], expected: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.patch(f"/api/timesheets/{created['id']}/meta", json=body, as_="user")
    assert response.status_code == expected["code"]
    assert response.json() == expected
    assert fetch(api, created["id"])["metaFields"] == []


def test_meta_needs_edit(api: Api, world: dict[str, Any]) -> None:
    foreign = stopped(api, world, "admin", by="super")
    exported = stopped(api, world, by="super", exported=True)
    for record in (foreign, exported):
        response = api.patch(f"/api/timesheets/{record['id']}/meta", json={"name": "X"}, as_="user")
        assert response.json() == FORBIDDEN


# --- running timers -----------------------------------------------------------------------------------


def test_hard_limit_one_stops_the_previous_timer(api: Api, world: dict[str, Any]) -> None:
    first = running(api, world, hours_ago=2)
    lower, upper = now_minute_bounds()
    second = running(api, world, hours_ago=1)
    assert active_ids(api) == [second["id"]]
    end = fetch(api, first["id"])["end"]
    assert end is not None
    assert lower <= instant(end) <= upper()


def test_hard_limit_two_stops_the_oldest(api: Api, world: dict[str, Any], app_settings: Settings) -> None:
    app_settings.timesheet_active_entries_hard_limit = 2
    first = running(api, world, hours_ago=3)
    second = running(api, world, hours_ago=2)
    assert active_ids(api) == [second["id"], first["id"]]
    third = running(api, world, hours_ago=1)
    assert active_ids(api) == [third["id"], second["id"]]  # newest begin first
    assert fetch(api, first["id"])["end"] is not None
    # A new timer that began before the others still stops the oldest other one.
    fourth = running(api, world, hours_ago=4)
    assert active_ids(api) == [third["id"], fourth["id"]]


def test_stopped_records_never_stop_timers(api: Api, world: dict[str, Any]) -> None:
    timer = running(api, world)
    stopped(api, world)
    assert active_ids(api) == [timer["id"]]


def test_timers_are_stopped_per_owner(api: Api, world: dict[str, Any]) -> None:
    mine = running(api, world, "super")
    theirs = running(api, world, "user")
    new = running(api, world, "user", by="super")  # started for john by susan
    assert active_ids(api, "super") == [mine["id"]]
    assert active_ids(api, "user") == [new["id"]]
    assert fetch(api, theirs["id"])["end"] is not None


def test_post_fails_when_the_running_timer_cannot_be_stopped(
    api: Api, world: dict[str, Any], app_settings: Settings
) -> None:
    """POST reports the failed stop as an error of the whole form."""
    app_settings.timesheet_long_running_duration = 750
    timer = running(api, world, hours_ago=13)
    response = post(api, world, as_="user", begin=local_time(hours_ago=1, tz=PEOPLE["user"].timezone))
    assert response.status_code == 400
    assert response.json() == validation_failed(FORM_FIELDS_USER, {}, [STOP_FAILED])
    assert active_ids(api) == [timer["id"]]


# --- GET /active and /recent --------------------------------------------------------------------------


def expected_expanded(
    world: dict[str, Any], activity: dict[str, Any], project: dict[str, Any]
) -> dict[str, Any]:
    """The activity and project objects of an expanded timesheet, from the entities' own views."""
    customer = world["customer"] if project["customer"] == world["customer"]["id"] else None
    assert customer is not None
    nested_project = {
        **{k: project[k] for k in PROJECT_KEYS},
        "customer": {k: customer[k] for k in CUSTOMER_KEYS},
    }
    activity_project = nested_project if activity["project"] is not None else None
    return {
        "activity": {**{k: activity[k] for k in ACTIVITY_KEYS}, "project": activity_project},
        "project": nested_project,
    }


def test_active_expanded_view(api: Api, world: dict[str, Any]) -> None:
    """Contract §4.5: activity with its project and customer objects, project with its customer
    object, the user object; ROLE_USER sees no rates."""
    created = running(api, world)
    running(api, world, "super")
    response = api.get("/api/timesheets/active", as_="user")
    assert response.status_code == 200
    [row] = response.json()
    assert row == {
        **{k: created[k] for k in VIEW_KEYS - {"activity", "project", "user"}},
        **expected_expanded(world, world["activity"], world["project"]),
        "user": {**JOHN, "modifiedAt": row["user"]["modifiedAt"]},
    }


def test_active_shows_rates_with_permission(api: Api, world: dict[str, Any]) -> None:
    running(api, world, "super")
    [row] = api.get("/api/timesheets/active").json()
    assert set(row) == VIEW_KEYS | RATE_KEYS  # no fixedRate/hourlyRate in collections
    assert row["user"]["username"] == "susan_super"
    assert row["user"]["apiToken"] is True


def test_active_with_a_global_activity(api: Api, world: dict[str, Any]) -> None:
    running(api, world, activity=world["global"]["id"])
    [row] = api.get("/api/timesheets/active", as_="user").json()
    assert row["activity"] == {**{k: world["global"][k] for k in ACTIVITY_KEYS}, "project": None}


def test_recent_latest_record_per_pair(api: Api, world: dict[str, Any]) -> None:
    other_project = make_project(api, "Shop", world["customer"]["id"])
    other_activity = make_activity(api, "Build", other_project["id"])

    def record(day: int, activity: dict[str, Any], project: dict[str, Any], hour: int = 9) -> Any:
        return make(
            api,
            world,
            begin=f"2024-05-{day:02d}T{hour:02d}:00:00",
            end=f"2024-05-{day:02d}T{hour + 1:02d}:00:00",
            project=project["id"],
            activity=activity["id"],
        )

    record(1, world["activity"], world["project"])
    design = record(2, world["activity"], world["project"])
    # Created later but ended earlier: the latest of its pair by id, listed by end.
    meeting = record(1, world["global"], world["project"], hour=12)
    build = record(4, other_activity, other_project)
    stopped(api, world, "super", by="super")  # somebody else's
    response = api.get("/api/timesheets/recent", as_="user")
    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == [build["id"], design["id"], meeting["id"]]
    assert rows[0] == {
        **{k: build[k] for k in VIEW_KEYS - {"activity", "project", "user"}},
        **expected_expanded(world, other_activity, other_project),
        "user": {**JOHN, "modifiedAt": rows[0]["user"]["modifiedAt"]},
    }
    # size keeps the pairs used last (by id), still ordered by end
    two = api.get("/api/timesheets/recent?size=2", as_="user").json()
    assert [row["id"] for row in two] == [build["id"], meeting["id"]]
    # begin (the caller's timezone) drops older records before the pairs are picked
    since = api.get("/api/timesheets/recent?begin=2024-05-02T00:00:00", as_="user").json()
    assert [row["id"] for row in since] == [build["id"], design["id"]]
    assert api.get("/api/timesheets/recent?begin=2024-05-05T00:00:00", as_="user").json() == []
    # An empty size passes Kimai's requirement and keeps the default of 10.
    assert api.get("/api/timesheets/recent?size=", as_="user").json() == rows


def test_recent_running_records_come_last(api: Api, world: dict[str, Any]) -> None:
    timer = running(api, world, activity=world["global"]["id"])
    done = stopped(api, world)
    assert [row["id"] for row in api.get("/api/timesheets/recent", as_="user").json()] == [
        done["id"],
        timer["id"],
    ]


@pytest.mark.parametrize(
    "query",
    [
        "begin=2024-05-02",
        "begin=2024-05-02T00:00",
        "begin=2024-05-02T00:00:00Z",
        "size=x",
        "size=-1",
    ],
)
def test_recent_bad_parameters(api: Api, query: str) -> None:
    response = api.get(f"/api/timesheets/recent?{query}", as_="user")
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_recent_shows_rates_with_permission(api: Api, world: dict[str, Any]) -> None:
    stopped(api, world, "super", hourlyRate=60)
    [row] = api.get("/api/timesheets/recent").json()
    assert set(row) == VIEW_KEYS | RATE_KEYS
    assert (row["rate"], row["internalRate"]) == (60.0, 60.0)


def test_team_rules_of_recent_favorites_and_active(api: Api, db: Database, world: dict[str, Any]) -> None:
    """Recent and favorites list own records under Kimai's team rule; active lists every running
    record of the caller."""
    other = make_project(api, "Intranet", make_customer(api, "Globex")["id"])
    support = make_activity(api, "Support", other["id"])
    timer = running(api, world)
    done = stopped(api, world, project=other["id"], activity=support["id"])
    for record in (timer, done):
        assert api.post(f"/api/favorites/timesheets/{record['id']}", as_="user").status_code == 204
    add_team(db, "Acme team", leads=["admin"], customers=[world["customer"]["id"]])
    assert [row["id"] for row in api.get("/api/timesheets/recent", as_="user").json()] == [done["id"]]
    assert favorite_ids(api) == [done["id"]]
    assert active_ids(api) == [timer["id"]]


# --- favorites ----------------------------------------------------------------------------------------


def favorite_ids(api: Api, as_: str = "user") -> list[int]:
    response = api.get("/api/favorites/timesheets", as_=as_)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


def test_favorites(api: Api, world: dict[str, Any]) -> None:
    assert favorite_ids(api) == []
    records = [stopped(api, world, description=str(n))["id"] for n in range(6)]
    for record_id in records:
        response = api.post(f"/api/favorites/timesheets/{record_id}", as_="user")
        assert response.status_code == 204
        assert response.content == b""
    # At most five, the newest first: the first one fell out.
    assert favorite_ids(api) == records[:0:-1]
    # Adding one again changes nothing.
    assert api.post(f"/api/favorites/timesheets/{records[3]}", as_="user").status_code == 204
    assert favorite_ids(api) == records[:0:-1]
    response = api.delete(f"/api/favorites/timesheets/{records[4]}", as_="user")
    assert response.status_code == 204
    assert response.content == b""
    assert favorite_ids(api) == [records[5], records[3], records[2], records[1]]
    # Removing a record that is no favorite is fine.
    assert api.delete(f"/api/favorites/timesheets/{records[0]}", as_="user").status_code == 204
    # A deleted record disappears from the favorites.
    assert api.delete(f"/api/timesheets/{records[3]}", as_="user").status_code == 204
    assert favorite_ids(api) == [records[5], records[2], records[1]]
    assert favorite_ids(api, "super") == []


def test_favorites_view(api: Api, world: dict[str, Any]) -> None:
    mine = stopped(api, world, description="template")
    api.post(f"/api/favorites/timesheets/{mine['id']}", as_="user")
    [row] = api.get("/api/favorites/timesheets", as_="user").json()
    assert row == {
        **{k: mine[k] for k in VIEW_KEYS - {"activity", "project", "user"}},
        **expected_expanded(world, world["activity"], world["project"]),
        "user": {**JOHN, "modifiedAt": row["user"]["modifiedAt"]},
    }
    theirs = stopped(api, world, "super")
    api.post(f"/api/favorites/timesheets/{theirs['id']}")
    [row] = api.get("/api/favorites/timesheets").json()
    assert set(row) == VIEW_KEYS | RATE_KEYS


def test_favorites_only_own_records(api: Api, world: dict[str, Any]) -> None:
    """Kimai's is_owner rule: not even admins may favorite another user's record."""
    theirs = stopped(api, world, "teamlead")
    assert api.post(f"/api/favorites/timesheets/{theirs['id']}", as_="teamlead").status_code == 204
    for caller in ("user", "super"):
        for method in ("POST", "DELETE"):
            response = api.request(method, f"/api/favorites/timesheets/{theirs['id']}", as_=caller)
            assert response.status_code == 403
            assert response.json() == FORBIDDEN
    assert favorite_ids(api, "teamlead") == [theirs["id"]]
    assert favorite_ids(api, "super") == []


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_favorites_unknown_record(api: Api, method: str) -> None:
    response = api.request(method, "/api/favorites/timesheets/9223372036854775807", as_="user")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_favorites_get_one_is_not_allowed(api: Api, world: dict[str, Any]) -> None:
    created = stopped(api, world)
    response = api.get(f"/api/favorites/timesheets/{created['id']}", as_="user")
    assert response.status_code == 405
    assert favorite_ids(api) == []


# --- GET /api/config/timesheet ------------------------------------------------------------------------


def test_config_defaults(api: Api) -> None:
    response = api.get("/api/config/timesheet", as_="user")
    assert response.status_code == 200
    assert response.json() == {
        "trackingMode": "default",
        "defaultBeginTime": "now",
        "activeEntriesHardLimit": 1,
        "isAllowFutureTimes": True,
        "isAllowOverlapping": True,
    }


def test_config_follows_the_settings(api: Api, app_settings: Settings) -> None:
    app_settings.timesheet_active_entries_hard_limit = 3
    app_settings.timesheet_allow_future_times = False
    app_settings.timesheet_allow_overlapping = False
    assert api.get("/api/config/timesheet", as_="user").json() == {
        "trackingMode": "default",
        "defaultBeginTime": "now",
        "activeEntriesHardLimit": 3,
        "isAllowFutureTimes": False,
        "isAllowOverlapping": False,
    }


def test_config_needs_credentials(api: Api) -> None:
    assert api.get("/api/config/timesheet", as_=None).status_code == 401
