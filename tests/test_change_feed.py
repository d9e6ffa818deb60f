"""The change feed (``GET /api/ext/changes``): every change in commit order, deletions included, as the
caller may see it; cursors that never skip a late commit, survive restarts and expire with the
retention of tombstones."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from punchclock import models
from punchclock.app import create_app
from punchclock.auth.permissions import system_caller
from punchclock.auth.service import create_token
from punchclock.customers.service import EDIT as CUSTOMER_FORM
from punchclock.db import Database, utcnow
from punchclock.demo_bulk import BulkSpec, load_bulk
from punchclock.entities.crud import create
from punchclock.ext.changes import log
from punchclock.ext.changes.feed import RESYNC
from punchclock.tags.service import create_tag
from tests.conftest import PEOPLE, UNAUTHORIZED, Api, add_team
from tests.conftest import test_settings as settings_for
from tests.test_projects import make_activity, make_customer, make_project

URL = "/api/ext/changes"
Item = dict[str, Any]
State = dict[tuple[str, int], Any]


def page(api: Api, as_: str = "super", **params: Any) -> dict[str, Any]:
    response = api.get(URL, params=params, as_=as_)
    assert response.status_code == 200, response.text
    return dict(response.json())


def read_all(
    api: Api, cursor: str | None = None, *, as_: str = "super", limit: int = 1000, **params: Any
) -> tuple[list[Item], str]:
    """Every item after ``cursor`` (from the beginning without one), and the cursor to poll with."""
    items: list[Item] = []
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        body = page(api, as_, **query)
        items += body["items"]
        cursor = body["nextCursor"]
        if not body["hasMore"]:
            return items, cursor


def now_cursor(api: Api, as_: str = "super") -> str:
    return read_all(api, as_=as_)[1]


def instant(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def ops(items: list[Item]) -> list[tuple[str, int, str]]:
    return [(item["entity"], item["id"], item["op"]) for item in items]


def get(api: Api, url: str, as_: str = "super") -> Any:
    response = api.get(url, as_=as_)
    assert response.status_code == 200, response.text
    return response.json()


def timesheet(api: Api, project: int, activity: int, *, as_: str = "super", **fields: Any) -> dict[str, Any]:
    body = {
        "project": project,
        "activity": activity,
        "begin": "2024-05-01T09:00:00",
        "end": "2024-05-01T10:00:00",
    }
    response = api.post("/api/timesheets", json={**body, **fields}, as_=as_)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def place(api: Api) -> tuple[int, int, int]:
    """A customer, its project and an activity of that project, for timesheets."""
    customer = make_customer(api, "Acme")["id"]
    project = make_project(api, "Web", customer)["id"]
    return customer, project, make_activity(api, "Code", project)["id"]


# --- each kind: create, update, delete -------------------------------------------------------------


@dataclass
class Lifecycle:
    """How to create, change and delete one entity of a kind, and how to read it back."""

    create: Any
    update: Any | None
    delete: Any | None
    read: Any


def lifecycles(api: Api, place: tuple[int, int, int]) -> dict[str, Lifecycle]:
    _customer, project, activity = place

    def entity(base: str, body: dict[str, Any]) -> Lifecycle:
        return Lifecycle(
            create=lambda: api.post(base, json=body).json()["id"],
            update=lambda i: api.patch(f"{base}/{i}", json={"comment": "changed"}),
            delete=lambda i: api.delete(f"{base}/{i}"),
            read=lambda i: get(api, f"{base}/{i}"),
        )

    def tag_view(i: int) -> Any:
        return next(t for t in get(api, "/api/tags/find?name=feed-tag") if t["id"] == i)

    return {
        "customer": entity("/api/customers", {"name": "Globex"}),
        "project": entity("/api/projects", {"name": "App", "customer": place[0]}),
        "activity": entity("/api/activities", {"name": "Test", "project": project}),
        "timesheet": Lifecycle(
            create=lambda: timesheet(api, project, activity)["id"],
            update=lambda i: api.patch(f"/api/timesheets/{i}", json={"description": "changed"}),
            delete=lambda i: api.delete(f"/api/timesheets/{i}"),
            read=lambda i: get(api, f"/api/timesheets/{i}"),
        ),
        "user": Lifecycle(
            create=lambda: api.post(
                "/api/users",
                json={"username": "fred", "email": "fred@example.com", "plainPassword": "password123"},
            ).json()["id"],
            update=lambda i: api.patch(f"/api/users/{i}", json={"title": "changed"}),
            delete=None,  # users are never deleted
            read=lambda i: get(api, f"/api/users/{i}"),
        ),
        "team": Lifecycle(
            create=lambda: api.post(
                "/api/teams", json={"name": "Feeders", "members": [{"user": 4, "teamlead": True}]}
            ).json()["id"],
            update=lambda i: api.patch(f"/api/teams/{i}", json={"name": "Renamed"}),
            delete=lambda i: api.delete(f"/api/teams/{i}"),
            read=lambda i: get(api, f"/api/teams/{i}"),
        ),
        "tag": Lifecycle(
            create=lambda: api.post("/api/tags", json={"name": "feed-tag", "visible": True}).json()["id"],
            update=None,  # tags have no update
            delete=lambda i: api.delete(f"/api/tags/{i}"),
            read=tag_view,
        ),
    }


@pytest.mark.parametrize("kind", ["customer", "project", "activity", "timesheet", "user", "team", "tag"])
def test_each_kind_is_fed_created_changed_and_deleted(
    api: Api, place: tuple[int, int, int], kind: str
) -> None:
    steps = lifecycles(api, place)[kind]
    start = now_cursor(api)
    entity_id = steps.create()
    created, after_create = read_all(api, start, entities=kind)
    assert ops(created) == [(kind, entity_id, "upsert")]
    assert created[0]["data"] == steps.read(entity_id)
    if steps.update:
        assert steps.update(entity_id).status_code == 200
        changed, _ = read_all(api, after_create, entities=kind)
        assert ops(changed) == [(kind, entity_id, "upsert")]
        assert changed[0]["data"] == steps.read(entity_id) != created[0]["data"]
        # From the older cursor the entity comes once, as it is now.
        assert read_all(api, start, entities=kind)[0] == changed
    if steps.delete:
        assert steps.delete(entity_id).status_code == 204
        gone, _ = read_all(api, start, entities=kind)
        assert ops(gone) == [(kind, entity_id, "delete")]
        assert gone[0]["data"] is None
        assert instant(gone[0]["modifiedAt"]) <= utcnow()


def test_items_follow_commit_order_each_entity_at_its_last_change(
    api: Api, place: tuple[int, int, int]
) -> None:
    customer, project, activity = place
    start = now_cursor(api)
    first = make_customer(api, "First")["id"]
    second = make_customer(api, "Second")["id"]
    record = timesheet(api, project, activity)["id"]
    api.patch(f"/api/customers/{first}", json={"comment": "again"})
    items, _ = read_all(api, start)
    assert ops(items) == [
        ("customer", second, "upsert"),
        ("timesheet", record, "upsert"),
        ("customer", first, "upsert"),
    ]
    assert all(instant(item["modifiedAt"]).tzinfo == dt.UTC for item in items)
    # The whole feed from the beginning holds every entity once.
    everything, _ = read_all(api, limit=2)
    keys = [(item["entity"], item["id"]) for item in everything]
    assert len(keys) == len(set(keys))
    assert {("customer", customer), ("project", project), ("activity", activity)} <= set(keys)


def test_pages_and_has_more(api: Api) -> None:
    start = now_cursor(api)
    made = [make_customer(api, f"Customer {n}")["id"] for n in range(5)]
    sizes, cursor, seen = [], start, []
    while True:
        body = page(api, cursor=cursor, limit=2)
        sizes.append((len(body["items"]), body["hasMore"]))
        seen += [item["id"] for item in body["items"]]
        cursor = body["nextCursor"]
        if not body["hasMore"]:
            break
    assert sizes == [(2, True), (2, True), (1, False)]
    assert seen == made
    # An empty page still gives a cursor to poll with; what comes next arrives there.
    empty = page(api, cursor=cursor)
    assert (empty["items"], empty["hasMore"]) == ([], False)
    later = make_customer(api, "Later")["id"]
    assert ops(page(api, cursor=empty["nextCursor"])["items"]) == [("customer", later, "upsert")]


def test_entities_selects_kinds(api: Api, place: tuple[int, int, int]) -> None:
    customer, project, activity = place
    items, _ = read_all(api, entities="project, customer")
    assert ops(items) == [("customer", customer, "upsert"), ("project", project, "upsert")]
    assert ops(read_all(api, entities="activity")[0]) == [("activity", activity, "upsert")]


def test_a_new_feed_starts_at_the_beginning_and_polls(api: Api) -> None:
    body = page(api)
    assert (body["items"], body["hasMore"]) == ([], False)
    made = make_customer(api)["id"]
    assert ops(page(api, cursor=body["nextCursor"])["items"]) == [("customer", made, "upsert")]


# --- cascades ----------------------------------------------------------------------------------------


def test_deleting_a_customer_tombstones_what_hangs_on_it(api: Api, place: tuple[int, int, int]) -> None:
    customer, project, activity = place
    other = make_project(api, "Other", customer)["id"]
    shared = make_activity(api, "Meeting", None)["id"]  # global: survives
    records = [timesheet(api, project, activity)["id"], timesheet(api, other, shared)["id"]]
    start = now_cursor(api)
    assert api.delete(f"/api/customers/{customer}").status_code == 204
    items, _ = read_all(api, start)
    assert sorted(ops(items)) == sorted(
        [
            ("customer", customer, "delete"),
            ("project", project, "delete"),
            ("project", other, "delete"),
            ("activity", activity, "delete"),
            *[("timesheet", record, "delete") for record in records],
        ]
    )
    assert ops(read_all(api, entities="activity")[0]) == [
        ("activity", shared, "upsert"),
        ("activity", activity, "delete"),
    ]


def test_deleting_a_tag_changes_its_timesheets(api: Api, place: tuple[int, int, int]) -> None:
    _customer, project, activity = place
    tag = api.post("/api/tags", json={"name": "urgent", "visible": True}).json()["id"]
    record = timesheet(api, project, activity, tags="urgent")["id"]
    start = now_cursor(api)
    assert api.delete(f"/api/tags/{tag}").status_code == 204
    items, _ = read_all(api, start)
    assert ops(items) == [("tag", tag, "delete"), ("timesheet", record, "upsert")]
    assert items[1]["data"]["tags"] == []


# --- who sees what -----------------------------------------------------------------------------------


@pytest.fixture
def world(api: Api, db: Database, place: tuple[int, int, int]) -> dict[str, int]:
    """Team A: tony leads, john is a member. Every seeded user changed once (so in the feed), a
    timesheet of each role, a customer only team B may see."""
    _customer, project, activity = place
    ids = {key: PEOPLE[key].id for key in PEOPLE}
    for key in PEOPLE:
        assert api.patch(f"/api/users/{ids[key]}", json={"title": key}).status_code == 200
    ids["team_a"] = add_team(db, "A", leads=["teamlead"], members=["user"])
    for key in PEOPLE:
        ids[f"ts_{key}"] = timesheet(api, project, activity, as_=key)["id"]
    ids["restricted"] = make_customer(api, "Secret")["id"]
    ids["team_b"] = add_team(db, "B", leads=["admin"], customers=[ids["restricted"]])
    return ids


def visible(api: Api, as_: str, kind: str, cursor: str | None = None) -> dict[int, str]:
    items, _ = read_all(api, cursor, as_=as_, entities=kind)
    return {item["id"]: item["op"] for item in items}


def test_timesheets_as_the_list_shows_them(api: Api, world: dict[str, int]) -> None:
    own = {key: world[f"ts_{key}"] for key in PEOPLE}
    assert visible(api, "user", "timesheet") == {own["user"]: "upsert"}
    assert visible(api, "teamlead", "timesheet") == {own["teamlead"]: "upsert", own["user"]: "upsert"}
    assert visible(api, "admin", "timesheet") == {i: "upsert" for i in own.values()}
    # Data as the caller's GET shows it: a plain user sees no rates.
    data = read_all(api, as_="user", entities="timesheet")[0][0]["data"]
    assert data == get(api, f"/api/timesheets/{own['user']}", as_="user")
    assert "rate" not in data
    # Tombstones by owner, with the same rule.
    cursors = {key: now_cursor(api, key) for key in ("user", "teamlead", "admin")}
    for key in ("admin", "user"):
        assert api.delete(f"/api/timesheets/{own[key]}").status_code == 204
    assert visible(api, "user", "timesheet", cursors["user"]) == {own["user"]: "delete"}
    assert visible(api, "teamlead", "timesheet", cursors["teamlead"]) == {own["user"]: "delete"}
    assert visible(api, "admin", "timesheet", cursors["admin"]) == {
        own["admin"]: "delete",
        own["user"]: "delete",
    }


def test_a_record_moved_to_someone_else_is_gone_for_its_former_owner(api: Api, world: dict[str, int]) -> None:
    record = world["ts_user"]
    start = {key: now_cursor(api, key) for key in ("user", "teamlead")}
    moved = api.patch(f"/api/timesheets/{record}", json={"user": PEOPLE["admin"].id})
    assert moved.status_code == 200, moved.text
    assert visible(api, "user", "timesheet", start["user"]) == {record: "delete"}
    assert visible(api, "teamlead", "timesheet", start["teamlead"]) == {record: "delete"}
    assert visible(api, "admin", "timesheet") == {world[f"ts_{key}"]: "upsert" for key in PEOPLE}


def test_users_and_teams_need_their_list_permissions(api: Api, world: dict[str, int]) -> None:
    assert visible(api, "user", "user") == {PEOPLE["user"].id: "upsert"}
    assert visible(api, "teamlead", "user") == {PEOPLE["teamlead"].id: "upsert"}  # no view_user
    assert visible(api, "super", "user") == {person.id: "upsert" for person in PEOPLE.values()}
    me = read_all(api, as_="user", entities="user")[0][0]["data"]
    assert me == get(api, "/api/users/me", as_="user")
    team = api.post("/api/teams", json={"name": "Fed", "members": [{"user": 4, "teamlead": True}]}).json()[
        "id"
    ]
    for key in ("user", "teamlead"):  # no view_team
        assert visible(api, key, "team") == {}
    assert visible(api, "admin", "team") == {team: "upsert"}
    start = now_cursor(api, "admin")
    assert api.delete(f"/api/teams/{team}").status_code == 204
    assert visible(api, "admin", "team", start) == {team: "delete"}
    assert visible(api, "user", "team") == {}


def test_customers_as_the_list_shows_them(api: Api, world: dict[str, int]) -> None:
    customer = next(c for c in get(api, "/api/customers?visible=3", as_="user") if c["name"] == "Acme")
    items, _ = read_all(api, as_="user", entities="customer")
    by_id = {item["id"]: item for item in items}
    # Without view_customer: the list's view, not the entity's details.
    assert by_id[customer["id"]]["data"] == customer
    # A customer of team B only: it exists, nothing more.
    assert by_id[world["restricted"]] == {
        "entity": "customer",
        "id": world["restricted"],
        "op": "delete",
        "modifiedAt": by_id[world["restricted"]]["modifiedAt"],
        "data": None,
    }
    as_admin = {item["id"]: item for item in read_all(api, as_="admin", entities="customer")[0]}
    assert as_admin[world["restricted"]]["data"] == get(api, f"/api/customers/{world['restricted']}", "admin")


def test_include_rates_carries_what_the_rates_routes_show(
    api: Api, place: tuple[int, int, int], world: dict[str, int]
) -> None:
    customer, project, activity = place
    paths = {"customer": "customers", "project": "projects", "activity": "activities"}
    assert api.post(f"/api/customers/{customer}/rates", json={"rate": 80}).status_code == 200
    for user in ("user", "admin"):  # ordered by the user's alias, as the route orders them
        rate = {"rate": 90, "internalRate": 70, "user": PEOPLE[user].id}
        assert api.post(f"/api/projects/{project}/rates", json=rate).status_code == 200
    start = now_cursor(api)
    assert api.post(f"/api/activities/{activity}/rates", json={"rate": 5, "isFixed": True}).status_code == 200
    for kind in ("customer", "project", "activity"):
        items, _ = read_all(api, entities=kind, include="rates")
        assert items, kind
        for item in items:
            data = item["data"]
            assert data["rates"] == get(api, f"/api/{paths[kind]}/{item['id']}/rates")
            del data["rates"]
            assert data == get(api, f"/api/{paths[kind]}/{item['id']}")
    assert [len(item["data"]["rates"]) for item in read_all(api, entities="project", include="rates")[0]] == [
        2
    ]
    # A rate's change is its entity's change.
    assert ops(read_all(api, start, entities="activity")[0]) == [("activity", activity, "upsert")]
    # Without the rates routes' permission (editing the entity), the key is left out.
    led = [
        item["data"]
        for item in read_all(api, as_="teamlead", entities="customer,project,activity", include="rates")[0]
    ]
    assert {data["name"] for data in led if data} >= {"Acme", "Web", "Code"}
    assert all("rates" not in data for data in led if data)
    # Without include, the views are the entity views.
    assert all("rates" not in item["data"] for item in read_all(api, entities="customer")[0])


# --- parameters --------------------------------------------------------------------------------------

LIMIT = {"code": 400, "message": "limit must be a whole number from 1 to 1000"}
KINDS = "customer, project, activity, user, team, tag, timesheet"
ENTITIES = {"code": 400, "message": f"entities must be a comma-separated list of: {KINDS}"}
BAD_CURSOR = {"code": 400, "message": "Invalid cursor"}
INCLUDE = {"code": 400, "message": "include must be a comma-separated list of: rates"}


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("limit=0", LIMIT),
        ("limit=1001", LIMIT),
        ("limit=abc", LIMIT),
        ("limit=-1", LIMIT),
        ("limit=%D9%A3", LIMIT),  # an Arabic-Indic digit
        pytest.param("limit=" + "0" * 5000 + "1", LIMIT, id="limit of 5001 digits"),
        ("entities=invoice", ENTITIES),
        ("entities=,", ENTITIES),
        ("entities=timesheet,", ENTITIES),
        ("include=meta", INCLUDE),
        ("include=rates,teams", INCLUDE),
        ("cursor=garbage", BAD_CURSOR),
        ("cursor=c1.bm90IGpzb24", BAD_CURSOR),
        ("cursor=c1.WzEsMl0", BAD_CURSOR),  # [1,2]
        ("cursor=c1.eyJzIjotMSwidCI6MH0", BAD_CURSOR),  # a negative seq
        ("cursor=c1.eyJzIjoxMDAwMDAwMDAwMDAwMDAwMDAwMDAsInQiOjB9", BAD_CURSOR),  # a seq beyond any
        ("cursor=c1.eyJzIjoxLCJ0IjoxLCJ4IjoxfQ", BAD_CURSOR),  # an unknown key
        ("cursor=c1.eyJzIjoxLCJ0IjoxZTMwfQ", BAD_CURSOR),  # a time that is no integer
        ("cursor=c1.eyJzIjoxLCJ0IjoxMDAwMDAwMDAwMDAwMDAwMDAwMDB9", BAD_CURSOR),  # a time out of range
    ],
)
def test_bad_parameters_are_400(api: Api, query: str, body: dict[str, Any]) -> None:
    response = api.get(f"{URL}?{query}")
    assert (response.status_code, response.json()) == (400, body)


def test_credentials_are_needed(api: Api) -> None:
    response = api.get(URL, as_=None)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


# --- cursors across restarts, concurrent and late commits ---------------------------------------------


def test_a_cursor_survives_a_restart(api: Api, database_url: str, openapi_document: dict[str, Any]) -> None:
    make_customer(api, "Before")
    cursor = now_cursor(api)
    after = make_customer(api, "After")["id"]
    restarted = Database(database_url)
    try:
        app = create_app(settings_for(database_url), restarted)
        app.openapi_schema = openapi_document
        with TestClient(app) as client:
            items, _ = read_all(Api(client, openapi_document), cursor)
    finally:
        restarted.dispose()
    assert ops(items) == [("customer", after, "upsert")]


def test_a_late_commit_is_not_skipped(api: Api, db: Database) -> None:
    """PostgreSQL commits out of order: the transaction that recorded first but commits last takes
    its place in the log when it commits, after what a reader has seen already."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: commits cannot overtake each other")
    caller = system_caller("UTC")
    start = now_cursor(api)
    with db.session(write=True) as early:
        first = create(early, spec=CUSTOMER_FORM, caller=caller, data={"name": "Early"}).id
        with db.session(write=True) as late:
            second = create_tag(late, caller=caller, data={"name": "late", "visible": True}).id
        seen, cursor = read_all(api, start)
        assert ops(seen) == [("tag", second, "upsert")]
    assert ops(read_all(api, cursor)[0]) == [("customer", first, "upsert")]


def test_a_writer_waits_for_the_one_that_took_the_seqs_before_it(api: Api, db: Database) -> None:
    """Once a transaction has its seqs, the next writer's commit waits for it: a later seq is never
    visible before an earlier one."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    caller = system_caller("UTC")
    start = now_cursor(api)
    committed = threading.Event()
    made: list[int] = []

    def other_writer() -> None:
        with db.session(write=True) as session:
            made.append(create_tag(session, caller=caller, data={"name": "second", "visible": True}).id)
        committed.set()

    with db.session(write=True) as session:
        first = create(session, spec=CUSTOMER_FORM, caller=caller, data={"name": "First"}).id
        log.persist(session)  # what the commit does first: it now holds its seqs (and the lock)
        writer = threading.Thread(target=other_writer)
        writer.start()
        assert not committed.wait(0.5)  # the other commit waits
        assert read_all(api, start)[0] == []  # and readers see neither
    writer.join(10)
    assert committed.is_set()
    assert ops(read_all(api, start)[0]) == [("customer", first, "upsert"), ("tag", made[0], "upsert")]


# --- retention ---------------------------------------------------------------------------------------


@pytest.fixture
def open_app(database_url: str, db: Database, openapi_document: dict[str, Any]) -> Iterator[Any]:
    """Apps of their own (each purges on its first feed read), with the retention given."""
    clients: list[TestClient] = []

    def open_(**overrides: Any) -> Api:
        app = create_app(settings_for(database_url, **overrides), db)
        app.openapi_schema = openapi_document
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Api(client, openapi_document)

    yield open_
    for client in clients:
        client.__exit__(None, None, None)


def test_a_cursor_before_purged_tombstones_must_resync(api: Api, open_app: Any) -> None:
    before = now_cursor(api)
    gone = make_customer(api, "Gone")["id"]
    kept = make_customer(api, "Kept")["id"]
    assert api.delete(f"/api/customers/{gone}").status_code == 204
    after = now_cursor(api)
    purging = open_app(changes_retention_days=0)
    response = purging.get(URL, params={"cursor": before})
    assert (response.status_code, response.json()) == (410, {"code": 410, "message": RESYNC})
    assert "resync in full" in RESYNC
    # A cursor past the tombstones is still good; a full read works and needs no tombstones.
    assert page(purging, cursor=after)["items"] == []
    assert ops(read_all(purging)[0]) == [("customer", kept, "upsert")]
    # A pass that began after the purged deletions is not affected, though it starts below them.
    first = page(purging, limit=1)
    assert ops(first["items"]) == [("customer", kept, "upsert")]
    assert page(purging, cursor=first["nextCursor"])["items"] == []
    # Purges are throttled: the next tombstone stays until the next minute.
    assert api.delete(f"/api/customers/{kept}").status_code == 204
    assert ops(read_all(purging)[0]) == [("customer", kept, "delete")]


def test_tombstones_stay_for_the_retention(api: Api, db: Database, open_app: Any) -> None:
    gone = make_customer(api, "Gone")["id"]
    assert api.delete(f"/api/customers/{gone}").status_code == 204
    assert ops(read_all(open_app())[0]) == [("customer", gone, "delete")]
    with db.session(write=True) as session:
        table = models.ChangeLogEntry
        old = utcnow() - dt.timedelta(days=30, minutes=1)
        session.execute(update(table).where(table.entity_id == gone).values(modified_at=old))
    assert read_all(open_app())[0] == []
    with db.session() as session:
        state = session.scalars(select(models.ChangeLogState)).one()
        assert state.purged_until == old


# --- bulk demo data ------------------------------------------------------------------------------------


def test_bulk_demo_timesheets_are_fed(api: Api, db: Database) -> None:
    with db.session(write=True) as session:
        load_bulk(session, BulkSpec(timesheets=120, users=3, customers=2, projects=3, activities=8))
    items, _ = read_all(api, entities="timesheet", limit=50)
    assert [item["id"] for item in items] == list(range(1, 121))
    listed = get(api, "/api/timesheets?user=all&orderBy=id&order=ASC&size=500")
    assert [item["data"]["id"] for item in items] == [row["id"] for row in listed]
    assert items[7]["data"] == get(api, "/api/timesheets/8")
    owner = items[0]["data"]["user"]
    own = [item["id"] for item in items if item["data"]["user"] == owner]
    with db.session() as session:
        entry = models.ChangeLogEntry
        owners = session.scalars(select(entry.owner_id).where(entry.entity == "timesheet"))
        assert Counter(owners)[owner] == len(own)
    # A demo user sees just their own.
    assert visible_as_token(api, db, owner) == own


def visible_as_token(api: Api, db: Database, user_id: int) -> list[int]:
    with db.session(write=True) as session:
        user = session.get(models.User, user_id)
        assert user is not None
        _, secret = create_token(session, username=user.username, name="feed")
    headers = {"Authorization": f"Bearer {secret}"}
    response = api.get(URL, params={"entities": "timesheet", "limit": 1000}, as_=None, headers=headers)
    return [item["id"] for item in response.json()["items"]]


# --- completeness under concurrent writers ---------------------------------------------------------------

Key = tuple[str, int, str, str, bytes]
WRITES = (
    *("customer+", "customer~", "customer-", "project+", "project~", "project-"),
    *("activity+", "activity~", "activity-", "timesheet+", "timesheet+", "timesheet~", "timesheet-"),
    *("tag+", "tag-", "user+", "user~", "team+", "team-"),
)
BASES = {
    "customer": "/api/customers",
    "project": "/api/projects",
    "activity": "/api/activities",
    "timesheet": "/api/timesheets",
    "user": "/api/users",
    "team": "/api/teams",
    "tag": "/api/tags",
}
CHANGED_FIELD = {
    "customer": "comment",
    "project": "comment",
    "activity": "comment",
    "timesheet": "description",
}
CHANGED_FIELD["user"] = "title"


class Writer:
    """Writes through the API on entities of its own: creates, changes (each write with a value no
    other write has) and deletes; a target that a cascade removed meanwhile answers 404."""

    def __init__(self, api: Api, name: str, run: Run) -> None:
        self.api, self.name, self.run = api, name, run
        self.alive: dict[str, list[int]] = {kind: [] for kind in BASES}
        self.bookable: list[tuple[int, int]] = []  # (project, activity of it)
        self.leads: set[int] = set()
        self.numbers = itertools.count()

    def token(self) -> str:
        return f"{self.name}-{next(self.numbers)}"

    def work(self, steps: list[tuple[str, int]]) -> None:
        for op, pick in steps:
            kind, action = op[:-1], op[-1]
            if action == "+":
                self.create(kind, pick)
                continue
            # A team's view shows its members as they are when it is read: leads keep their names.
            targets = [i for i in self.alive[kind] if not (kind == "user" and i in self.leads)]
            if not targets:
                continue
            target = targets[pick % len(targets)]
            if action == "~":
                response = self.api.patch(f"{BASES[kind]}/{target}", json={CHANGED_FIELD[kind]: self.token()})
                assert response.status_code in (200, 404), response.text
            else:
                response = self.api.delete(f"{BASES[kind]}/{target}")
                assert response.status_code in (204, 404), response.text
                self.alive[kind].remove(target)
            self.run.touched.add((kind, target))

    def create(self, kind: str, pick: int) -> None:
        name = self.token()
        body: dict[str, Any] = {"name": name}
        if kind == "project":
            if not self.alive["customer"]:
                return
            body["customer"] = self.alive["customer"][pick % len(self.alive["customer"])]
        elif kind == "activity":
            projects = self.alive["project"]
            body["project"] = projects[pick % len(projects)] if projects and pick % 3 else None
        elif kind == "timesheet":
            if not self.bookable:
                return
            project, activity = self.bookable[pick % len(self.bookable)]
            body = {"project": project, "activity": activity, "description": name}
            body |= {"begin": "2024-05-01T09:00:00", "end": "2024-05-01T10:00:00"}
        elif kind == "tag":
            body["visible"] = True
        elif kind == "user":
            body = {"username": name, "email": f"{name}@example.com", "plainPassword": "password123"}
            body["enabled"] = True
        elif kind == "team":
            if not self.alive["user"]:
                return
            lead = self.alive["user"][pick % len(self.alive["user"])]
            body["members"] = [{"user": lead, "teamlead": True}]
            self.leads.add(lead)
            self.run.touched.add(("user", lead))
        response = self.api.post(BASES[kind], json=body)
        if response.status_code == 400 and kind in ("project", "activity", "timesheet"):
            return  # its parent went with a cascade meanwhile
        assert response.status_code == 200, response.text
        made = response.json()["id"]
        self.alive[kind].append(made)
        if kind == "activity" and body["project"] is not None:
            self.bookable.append((body["project"], made))
        with self.run.lock:
            self.run.created[(kind, made)] += 1
            self.run.touched.add((kind, made))


@dataclass
class Checkpoint:
    """A cursor and what a client that read up to it holds (plus what its pass returned so far)."""

    cursor: str | None
    state: State = field(default_factory=dict)
    seen: set[Key] = field(default_factory=set)


@dataclass
class Run:
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: Counter[tuple[str, int]] = field(default_factory=Counter)
    touched: set[tuple[str, int]] = field(default_factory=set)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def apply(self, point: Checkpoint, body: dict[str, Any]) -> Checkpoint:
        """The client's copy after one page; an item returned twice in one pass is an error (deletes
        of an id SQLite handed out twice aside)."""
        state, seen = dict(point.state), set(point.seen)
        for item in body["items"]:
            key = (item["entity"], item["id"])
            data = orjson.dumps(item["data"], option=orjson.OPT_SORT_KEYS)
            seen_key = (*key, item["op"], item["modifiedAt"], data)
            # A user's view can come back to an earlier one (a team made and gone within a second).
            if seen_key in seen and item["entity"] != "user":
                assert item["op"] == "delete", f"returned twice: {item}"
                assert self.created[key] > 1, f"returned twice: {item}"
            seen.add(seen_key)
            if item["op"] == "upsert":
                state[key] = item["data"]
            else:
                state.pop(key, None)
        return Checkpoint(body["nextCursor"], state, seen)


def read_page(api: Api, point: Checkpoint, limit: int) -> dict[str, Any]:
    return page(api, limit=limit, **({"cursor": point.cursor} if point.cursor else {}))


def reader(api: Api, run: Run, decisions: list[tuple[int, str, int]], stop: threading.Event) -> None:
    """Pages through the feed while the writers write, now and then starting again from an earlier
    cursor (with the copy it had there) or from the beginning."""
    point = Checkpoint(None)
    for limit, jump, pick in itertools.cycle(decisions):
        if stop.is_set():
            return
        if jump == "back" and run.checkpoints:
            point = run.checkpoints[pick % len(run.checkpoints)]
        elif jump == "fresh":
            point = Checkpoint(None)
        point = run.apply(point, read_page(api, point, limit))
        run.checkpoints.append(point)


def guarded(run: Run, fn: Any, *args: Any) -> threading.Thread:
    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # reported by the test
            run.errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread


LISTS = {
    "customer": "/api/customers?visible=3",
    "project": "/api/projects?visible=3&ignoreDates=1",
    "activity": "/api/activities?visible=3",
    "user": "/api/users?visible=3",
    "team": "/api/teams",
}


def listed(api: Api) -> dict[tuple[str, int], dict[str, Any]]:
    """What the list endpoints show now (each kind's collection view)."""
    rows = {(kind, row["id"]): row for kind, url in LISTS.items() for row in get(api, url)}
    for number in itertools.count(1):
        response = api.get(f"/api/timesheets?user=all&size=500&page={number}")
        if response.status_code == 404:
            break
        rows |= {("timesheet", row["id"]): row for row in response.json()}
    for name in get(api, "/api/tags"):
        rows |= {("tag", t["id"]): t for t in get(api, f"/api/tags/find?name={name}") if t["name"] == name}
    return rows


def assert_reconstructs(api: Api, run: Run, point: Checkpoint) -> None:
    """Reading on from the checkpoint and applying it gives the lists (every listed field, for every
    entity) and, for what the writers touched, exactly the entity views."""
    while True:
        body = read_page(api, point, 1000)
        point = run.apply(point, body)
        if not body["hasMore"]:
            break
    truth = listed(api)
    assert point.state.keys() == truth.keys()
    for key, row in truth.items():
        assert {name: point.state[key].get(name) for name in row} == row, key
    for kind, entity_id in run.touched:
        if (kind, entity_id) in truth and kind != "tag":
            assert point.state[(kind, entity_id)] == get(api, f"{BASES[kind]}/{entity_id}")


@pytest.fixture
def concurrent_api(database_url: str, db: Database, openapi_document: dict[str, Any]) -> Iterator[Api]:
    """An app with four database threads, so writes interleave (and commit out of order on
    PostgreSQL); the seeded users are changed once so that they are in the feed too."""
    database = Database(database_url, threads=4)
    app = create_app(settings_for(database_url), database)
    app.openapi_schema = openapi_document
    with TestClient(app) as client:
        api = Api(client, openapi_document)
        for person in PEOPLE.values():
            assert api.patch(f"/api/users/{person.id}", json={"title": "seeded"}).status_code == 200
        yield api
    database.dispose()


WRITER_NUMBERS = itertools.count(1)  # names unique across examples (tags and teams must be)
STEPS = st.lists(st.tuples(st.sampled_from(WRITES), st.integers(0, 99)), min_size=4, max_size=12)
DECISIONS = st.lists(
    st.tuples(
        st.integers(1, 7), st.sampled_from(["next", "next", "next", "back", "fresh"]), st.integers(0, 999)
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writers=st.lists(STEPS, min_size=2, max_size=3), decisions=DECISIONS, seed=st.integers(0, 2**32))
def test_replaying_from_any_cursor_rebuilds_the_lists(
    concurrent_api: Api, writers: list[list[tuple[str, int]]], decisions: list[Any], seed: int
) -> None:
    api, run, stop = concurrent_api, Run(), threading.Event()
    sample = random.Random(seed)  # drawn up front: how many checkpoints there are depends on timing
    names = (f"w{next(WRITER_NUMBERS)}" for _ in itertools.count())
    reading = guarded(run, reader, api, run, decisions, stop)
    writing = [guarded(run, Writer(api, next(names), run).work, steps) for steps in writers]
    for thread in writing:
        thread.join()
    stop.set()
    reading.join()
    assert not run.errors, repr(run.errors[0])
    assert run.checkpoints
    chosen = {
        0,
        len(run.checkpoints) - 1,
        *sample.sample(range(len(run.checkpoints)), min(4, len(run.checkpoints))),
    }
    for index in sorted(chosen):
        assert_reconstructs(api, run, run.checkpoints[index])
    assert_reconstructs(api, run, Checkpoint(None))  # a full read, too
