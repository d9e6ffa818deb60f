"""``POST /api/ext/bulk/{kind}``: many items in one transaction, each answered as the single route answers
it, and upserts by ``externalId``."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from punchclock import models
from punchclock.app import create_app
from punchclock.db import Database
from tests.conftest import BAD_REQUEST, FORBIDDEN, PEOPLE, Api, add_team
from tests.conftest import test_settings as settings_for
from tests.test_projects import make_activity, make_customer, make_project
from tests.threaded_server import serving

KINDS = ("customers", "projects", "activities", "timesheets")
MODELS = {
    "customers": models.Customer,
    "projects": models.Project,
    "activities": models.Activity,
    "timesheets": models.Timesheet,
}
ENTITY = {"customers": "customer", "projects": "project", "activities": "activity", "timesheets": "timesheet"}
LISTS = {
    "customers": "/api/customers?visible=3",
    "projects": "/api/projects?visible=3&ignoreDates=1",
    "activities": "/api/activities?visible=3",
    "timesheets": "/api/timesheets?user=all&size=500",
}
NOT_AN_ARRAY = {"code": 400, "message": "The body must be a JSON array of 1 to 1000 objects"}
DAY = dt.datetime(2024, 5, 1, 8, 0)  # noqa: DTZ001 - a local time of the caller, as sent


@dataclass(frozen=True)
class Refs:
    """A customer, its project and the project's activity, plus an activity of another project."""

    customer: int
    project: int
    activity: int
    foreign_activity: int


@pytest.fixture
def refs(api: Api) -> Refs:
    customer = make_customer(api, "Acme")["id"]
    project = make_project(api, "Web", customer)["id"]
    other = make_project(api, "App", customer)["id"]
    return Refs(
        customer,
        project,
        make_activity(api, "Design", project)["id"],
        make_activity(api, "Build", other)["id"],
    )


def valid(kind: str, refs: Refs, n: int) -> dict[str, Any]:
    """The n-th valid POST body of ``kind`` (timesheets a minute apart, none overlapping)."""
    if kind == "customers":
        return {"name": f"Customer {n}"}
    if kind == "projects":
        return {"name": f"Project {n}", "customer": refs.customer}
    if kind == "activities":
        return {"name": f"Activity {n}", "project": refs.project}
    begin = DAY + dt.timedelta(minutes=n)
    return {
        "project": refs.project,
        "activity": refs.activity,
        "begin": begin.isoformat(),
        "end": (begin + dt.timedelta(minutes=1)).isoformat(),
    }


def invalid(kind: str, refs: Refs) -> list[Any]:
    """Bodies the single POST refuses, whatever was created before (objects and not)."""
    others: list[Any] = ["a string", 42, None, [{"name": "In a list"}]]
    if kind == "customers":
        return [{"name": "X"}, {"name": "Country", "country": "XX"}, {"name": "Extra", "bogus": 1}, *others]
    if kind == "projects":
        return [
            {"name": "No customer"},
            {"name": "Unknown customer", "customer": 999_999},
            {"name": "W", "customer": refs.customer},
            *others,
        ]
    if kind == "activities":
        return [
            {"name": "D", "project": refs.project},
            {"name": "Unknown project", "project": 999_999},
            {"name": "Colour", "color": "pink"},
            *others,
        ]
    sheet = valid(kind, refs, 900)
    return [
        {**sheet, "begin": "yesterday"},
        {**sheet, "activity": refs.foreign_activity},
        {**sheet, "end": "2024-04-01T00:00:00"},
        {**sheet, "bogus": "1"},
        *others,
    ]


def post(api: Api, url: str, body: Any, *, as_: str) -> Any:
    """``body`` as JSON, ``None`` too (httpx would send no body for ``json=None``)."""
    return api.post(url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}, as_=as_)


def bulk(api: Api, kind: str, items: Any, *, as_: str = "super") -> Any:
    return post(api, f"/api/ext/bulk/{kind}", items, as_=as_)


def ids(api: Api, kind: str, *, as_: str = "super") -> set[int]:
    return {row["id"] for row in api.get(LISTS[kind], as_=as_).json()}


def modified_at(db: Database, kind: str, entity_id: int) -> dt.datetime:
    model = MODELS[kind]
    with db.session() as session:
        value = session.scalar(select(model.modified_at).where(model.id == entity_id))
    assert value is not None
    return value


def mappings(db: Database) -> list[tuple[int, str, str, int]]:
    ExternalId = models.ExternalId
    with db.session() as session:
        rows = session.execute(
            select(
                ExternalId.owner_id, ExternalId.entity, ExternalId.external_id, ExternalId.entity_id
            ).order_by(ExternalId.owner_id, ExternalId.entity, ExternalId.external_id)
        )
        return [tuple(row) for row in rows]


def changes_after(api: Api, kind: str, cursor: str | None) -> tuple[list[int], str]:
    """The ids the change feed lists for ``kind`` after ``cursor``, and the next cursor."""
    query = f"entities={ENTITY[kind]}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
    page = api.get(f"/api/ext/changes?{query}").json()
    return [item["id"] for item in page["items"]], page["nextCursor"]


def single_post(api: Api, kind: str, body: Any, *, as_: str = "super") -> Any:
    """What ``POST /api/{kind}`` answers for ``body`` (refused bodies only: it writes nothing then)."""
    response = post(api, f"/api/{kind}", body, as_=as_)
    assert response.status_code >= 400, response.text
    return response


# --- creates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_of_valid_items_is_created_in_order(api: Api, refs: Refs, kind: str) -> None:
    before = ids(api, kind)
    bodies = [valid(kind, refs, n) for n in range(3)]
    response = bulk(api, kind, bodies)
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["status"] for r in results] == ["created"] * 3
    created = [r["id"] for r in results]
    assert created == sorted(created)
    assert results == [{"status": "created", "id": entity_id} for entity_id in created]
    assert ids(api, kind) == before | set(created)
    for body, entity_id in zip(bodies, created, strict=True):
        shown = api.get(f"/api/{kind}/{entity_id}").json()
        if kind == "timesheets":
            assert (shown["begin"], shown["activity"]) == (body["begin"] + "+0200", body["activity"])
        else:
            assert shown["name"] == body["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_refused_item_answers_what_the_single_post_answers(api: Api, refs: Refs, kind: str) -> None:
    before = ids(api, kind)
    refused = invalid(kind, refs)
    items = [valid(kind, refs, 0), *refused, valid(kind, refs, 1)]
    response = bulk(api, kind, items)
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["status"] for r in results] == ["created", *["error"] * len(refused), "created"]
    for body, result in zip(refused, results[1:-1], strict=True):
        single = single_post(api, kind, body)
        assert result == {"status": "error", "id": None, "error": single.json()}, body
        assert result["error"]["code"] in (single.status_code, str(single.status_code))
    # Only the valid items were written.
    assert ids(api, kind) == before | {results[0]["id"], results[-1]["id"]}


def test_a_scalar_item_is_a_bad_request_and_a_list_item_an_invalid_form(api: Api) -> None:
    results = bulk(api, "customers", ["Acme", [{"name": "Acme"}]]).json()
    assert results[0] == {"status": "error", "id": None, "error": BAD_REQUEST}
    assert results[1]["error"]["errors"]["errors"] == ["This value is not valid."]
    assert ids(api, "customers") == set()


# --- atomicity ----------------------------------------------------------------------------------------


def test_a_failing_item_takes_back_what_it_wrote_before_failing(
    db: Database, database_url: str, openapi_document: dict[str, Any], refs: Refs
) -> None:
    """Starting a timer stops the running one; stopping it fails (too long), after the new record was
    written: the item is refused as the single POST refuses it, the items around it stay."""
    settings = settings_for(database_url, timesheet_long_running_duration=60)
    app = create_app(settings, db)
    app.openapi_schema = openapi_document
    with TestClient(app) as client:
        api = Api(client, openapi_document)
        now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=2)))
        running = {"project": refs.project, "activity": refs.activity}
        old = api.post(
            "/api/timesheets",
            json={**running, "begin": (now - dt.timedelta(hours=3)).isoformat(timespec="seconds")},
        ).json()["id"]
        start = {**running, "begin": (now - dt.timedelta(minutes=5)).isoformat(timespec="seconds")}
        items = [valid("timesheets", refs, 0), start, valid("timesheets", refs, 1)]
        _, cursor = changes_after(api, "timesheets", None)
        results = bulk(api, "timesheets", items).json()
        assert sorted(changes_after(api, "timesheets", cursor)[0]) == [results[0]["id"], results[2]["id"]]
        single = single_post(api, "timesheets", start)
        assert results[1] == {"status": "error", "id": None, "error": single.json()}
        assert single.json()["errors"]["errors"] == [
            "You have an active time record which cannot be stopped automatically."
        ]
        assert [r["status"] for r in (results[0], results[2])] == ["created", "created"]
        assert ids(api, "timesheets") == {old, results[0]["id"], results[2]["id"]}
        assert api.get(f"/api/timesheets/{old}").json()["end"] is None  # still running


REFUSED = "Refused at commit"


@pytest.fixture
def commit_refuses(db: Database) -> Iterator[None]:
    """The database refuses to commit a transaction that inserted the customer ``REFUSED``:
    a constraint checked only at commit (a deferred foreign key on SQLite, a deferred constraint
    trigger on PostgreSQL)."""
    if db.is_sqlite:
        setup = [
            "CREATE TABLE bulk_test_parent (id INTEGER PRIMARY KEY)",
            "CREATE TABLE bulk_test_child (parent_id INTEGER REFERENCES bulk_test_parent (id) "
            "DEFERRABLE INITIALLY DEFERRED)",
            f"CREATE TRIGGER bulk_test_refuse AFTER INSERT ON customers WHEN NEW.name = '{REFUSED}' BEGIN "
            "INSERT INTO bulk_test_child (parent_id) VALUES (1); END",
        ]
        teardown = [
            "DROP TRIGGER IF EXISTS bulk_test_refuse",
            "DROP TABLE IF EXISTS bulk_test_child",
            "DROP TABLE IF EXISTS bulk_test_parent",
        ]
    else:
        setup = [
            "CREATE FUNCTION bulk_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
            "CREATE CONSTRAINT TRIGGER bulk_test_refuse AFTER INSERT ON customers DEFERRABLE INITIALLY "
            f"DEFERRED FOR EACH ROW WHEN (NEW.name = '{REFUSED}') EXECUTE FUNCTION bulk_test_refuse()",
        ]
        teardown = [
            "DROP TRIGGER IF EXISTS bulk_test_refuse ON customers",
            "DROP FUNCTION IF EXISTS bulk_test_refuse()",
        ]
    with db.engine.begin() as connection:
        for statement in setup:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            for statement in teardown:
                connection.execute(text(statement))


def test_a_failing_commit_writes_nothing(api: Api, db: Database, commit_refuses: None) -> None:
    items = [
        {"name": "First", "externalId": "first"},
        {"name": REFUSED, "externalId": "refused"},
        {"name": "Last"},
    ]
    response = bulk(api, "customers", items)
    assert (response.status_code, response.json()) == (500, {"code": 500, "message": "Internal Server Error"})
    assert ids(api, "customers") == set()
    assert mappings(db) == []
    # The same call without the refused item goes through.
    assert [r["status"] for r in bulk(api, "customers", [items[0], items[2]]).json()] == [
        "created",
        "created",
    ]


# --- externalId ------------------------------------------------------------------------------------------

CHANGE = {
    "customers": {"comment": "changed"},
    "projects": {"comment": "changed"},
    "activities": {"comment": "changed"},
    "timesheets": {"description": "changed"},
}


def changed_field(kind: str) -> tuple[str, str]:
    return next(iter(CHANGE[kind].items()))


@pytest.mark.parametrize("kind", KINDS)
def test_an_external_id_makes_items_upserts(api: Api, db: Database, refs: Refs, kind: str) -> None:
    body = {**valid(kind, refs, 0), "externalId": "  row-1 "}
    first = bulk(api, kind, [body]).json()
    entity_id = first[0]["id"]
    assert first == [{"status": "created", "id": entity_id, "externalId": "row-1"}]
    before, stamp = ids(api, kind), modified_at(db, kind, entity_id)
    _, cursor = changes_after(api, kind, None)

    # The same item again: nothing to change, nothing written, no change in the feed.
    assert bulk(api, kind, [body]).json() == [{"status": "unchanged", "id": entity_id, "externalId": "row-1"}]
    assert ids(api, kind) == before
    assert modified_at(db, kind, entity_id) == stamp
    assert changes_after(api, kind, cursor)[0] == []

    # A changed item updates the entity, as PATCH would.
    again = bulk(api, kind, [{**body, "externalId": "row-1", **CHANGE[kind]}]).json()
    assert again == [{"status": "updated", "id": entity_id, "externalId": "row-1"}]
    field, value = changed_field(kind)
    assert api.get(f"/api/{kind}/{entity_id}").json()[field] == value
    assert modified_at(db, kind, entity_id) > stamp
    assert ids(api, kind) == before
    assert changes_after(api, kind, cursor)[0] == [entity_id]
    owner = PEOPLE["super"].id
    assert mappings(db) == [(owner, ENTITY[kind], "row-1", entity_id)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_update_answers_what_the_single_patch_answers(api: Api, refs: Refs, kind: str) -> None:
    body = {**valid(kind, refs, 0), "externalId": "row-1"}
    entity_id = bulk(api, kind, [body]).json()[0]["id"]
    bad = {"color": "pink"} if kind != "timesheets" else {"begin": "yesterday"}
    result = bulk(api, kind, [{**body, **bad}]).json()
    single = api.patch(
        f"/api/{kind}/{entity_id}", json={k: v for k, v in {**body, **bad}.items() if k != "externalId"}
    )
    assert single.status_code == 400
    assert result == [{"status": "error", "id": entity_id, "externalId": "row-1", "error": single.json()}]


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_repeated_in_one_call_creates_then_updates(api: Api, refs: Refs, kind: str) -> None:
    body = {**valid(kind, refs, 0), "externalId": "twice"}
    other = {**valid(kind, refs, 1), "externalId": "other"}
    changed = {**body, **CHANGE[kind]}
    results = bulk(api, kind, [body, other, body, changed]).json()
    entity_id = results[0]["id"]
    assert [(r["status"], r["id"]) for r in results] == [
        ("created", entity_id),
        ("created", results[1]["id"]),
        ("unchanged", entity_id),
        ("updated", entity_id),
    ]
    field, value = changed_field(kind)
    assert api.get(f"/api/{kind}/{entity_id}").json()[field] == value


@pytest.mark.parametrize("kind", KINDS)
def test_external_ids_belong_to_their_owner(api: Api, db: Database, refs: Refs, kind: str) -> None:
    body = {**valid(kind, refs, 0), "externalId": "shared"}
    mine = bulk(api, kind, [body]).json()[0]
    if kind == "timesheets":
        body = {**valid(kind, refs, 1), "externalId": "shared"}
    theirs = bulk(api, kind, [body], as_="admin").json()[0]
    assert (mine["status"], theirs["status"]) == ("created", "created")
    assert mine["id"] != theirs["id"]
    assert {row[0] for row in mappings(db)} == {PEOPLE["super"].id, PEOPLE["admin"].id}
    # Each owner's key still names their own entity.
    assert bulk(api, kind, [body], as_="admin").json()[0] == {**theirs, "status": "unchanged"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_entity_is_created_again_and_remapped(
    api: Api, db: Database, refs: Refs, kind: str
) -> None:
    body = {**valid(kind, refs, 0), "externalId": "gone"}
    first = bulk(api, kind, [body]).json()[0]["id"]
    assert api.delete(f"/api/{kind}/{first}").status_code == 204
    second = bulk(api, kind, [body]).json()
    assert second[0]["status"] == "created"
    assert api.get(f"/api/{kind}/{second[0]['id']}").status_code == 200
    assert bulk(api, kind, [body]).json() == [{**second[0], "status": "unchanged"}]
    assert [row[3] for row in mappings(db)] == [second[0]["id"]]


def test_a_younger_entity_with_a_deleted_ones_id_is_not_mapped(api: Api, db: Database) -> None:
    """SQLite gives a new row the id of a deleted last row: a key of the deleted one does not name it."""
    first = bulk(api, "customers", [{"name": "Mapped", "externalId": "old"}]).json()[0]["id"]
    assert api.delete(f"/api/customers/{first}").status_code == 204
    later = make_customer(api, "Later")["id"]
    result = bulk(api, "customers", [{"name": "Mapped", "externalId": "old"}]).json()[0]
    assert result["status"] == "created"
    assert result["id"] != later
    assert api.get(f"/api/customers/{later}").json()["name"] == "Later"


@pytest.fixture(scope="module")
def server(database: Database, database_url: str) -> Iterator[str]:
    """The app served by uvicorn, for calls at the same time."""
    with serving(create_app(settings_for(database_url), database)) as url:
        yield url


def test_the_same_keys_sent_twice_at_once_create_once(api: Api, server: str, refs: Refs) -> None:
    """A retry that arrives while the first call still runs waits for it, then finds its keys."""
    items = [{**valid("timesheets", refs, n), "externalId": f"row-{n}"} for n in range(300)]
    start = threading.Barrier(2)

    def send(_: int) -> list[dict[str, Any]]:
        with httpx.Client(base_url=server, headers=api.headers("super"), timeout=60) as client:
            start.wait()
            response = client.post("/api/ext/bulk/timesheets", json=items)
            assert response.status_code == 200, response.text
            return list(response.json())

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, range(2)))
    assert sorted(sorted({r["status"] for r in answer}) for answer in answers) == [["created"], ["unchanged"]]
    assert [r["id"] for r in answers[0]] == [r["id"] for r in answers[1]]
    assert api.get("/api/timesheets?size=1").headers["X-Total-Count"] == "300"


def test_an_invalid_external_id_fails_its_item(api: Api) -> None:
    items = [
        {"name": "Number", "externalId": 7},
        {"name": "Blank", "externalId": "   "},
        {"name": "Long", "externalId": "x" * 256},
        {"name": "Object", "externalId": {"id": 1}},
        {"name": "Null", "externalId": None},
        {"name": "Longest", "external_id": " " + "y" * 255 + " "},
    ]
    results = bulk(api, "customers", items).json()

    def refused(message: str) -> dict[str, Any]:
        errors = {"children": {"externalId": {"errors": [message]}}}
        return {
            "status": "error",
            "id": None,
            "error": {"code": 400, "message": "Validation Failed", "errors": errors},
        }

    assert results[:4] == [
        refused("This value should be of type string."),
        refused("This value should not be blank."),
        refused("This value is too long. It should have 255 characters or less."),
        refused("This value should be of type string."),
    ]
    assert results[4] == {"status": "created", "id": results[4]["id"]}
    assert results[5] == {"status": "created", "id": results[5]["id"], "externalId": "y" * 255}
    names = {row["name"] for row in api.get(LISTS["customers"]).json()}
    assert names == {"Null", "Longest"}


def test_an_update_means_what_the_post_body_means(api: Api, db: Database, refs: Refs) -> None:
    """POST-only fields (teams), POST's date format and POST's timezone hold when an item updates."""
    team = add_team(db, "Core", leads=["super"])
    items = {
        "customers": {"name": "Teamed", "teams": [team]},
        "projects": {
            "name": "Dated",
            "customer": refs.customer,
            "start": "2024-01-01",
            "end": "2024-12-31",
            "teams": [team],
        },
        "activities": {"name": "Global", "project": None, "teams": [team]},
        # Read in the caller's timezone (Berlin), though the record's is the owner's (Tongatapu).
        "timesheets": {**valid("timesheets", refs, 0), "user": PEOPLE["user"].id},
    }
    for kind, body in items.items():
        first = bulk(api, kind, [{**body, "externalId": "same"}]).json()[0]
        assert first["status"] == "created", (kind, first)
        again = bulk(api, kind, [{**body, "externalId": "same"}]).json()[0]
        assert again == {**first, "status": "unchanged"}, kind
    sheet = api.get(f"/api/timesheets/{first['id']}").json()
    assert (sheet["begin"], sheet["user"]) == ("2024-05-01T19:00:00+1300", PEOPLE["user"].id)


def test_an_update_needs_the_single_patch_permission(api: Api, refs: Refs) -> None:
    """john's record, exported since: PATCH is 403 for him, and so is his item."""
    body = {**valid("timesheets", refs, 0), "externalId": "mine"}
    entity_id = bulk(api, "timesheets", [body], as_="user").json()[0]["id"]
    assert api.patch(f"/api/timesheets/{entity_id}/export").json()["exported"] is True
    _, cursor = changes_after(api, "timesheets", None)
    result = bulk(api, "timesheets", [{**body, "description": "late"}], as_="user").json()
    assert changes_after(api, "timesheets", cursor)[0] == []
    assert result == [{"status": "error", "id": entity_id, "externalId": "mine", "error": FORBIDDEN}]
    assert (
        api.patch(f"/api/timesheets/{entity_id}", json={"description": "late"}, as_="user").json()
        == FORBIDDEN
    )
    assert api.get(f"/api/timesheets/{entity_id}").json()["description"] is None


# --- the whole call ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"name": "Acme"}, [], "Acme", 1, None],
    ids=["an object", "empty", "a string", "a number", "null"],
)
def test_a_body_that_is_not_an_array_of_items_is_refused(api: Api, body: Any) -> None:
    response = bulk(api, "customers", body)
    expected = (
        BAD_REQUEST if not isinstance(body, dict | list) else NOT_AN_ARRAY
    )  # JSON scalars: as any route
    assert (response.status_code, response.json()) == (400, expected)
    assert ids(api, "customers") == set()


def test_a_thousand_items_at_most(api: Api, refs: Refs) -> None:
    items = [{**valid("timesheets", refs, n), "externalId": f"row-{n}"} for n in range(1001)]
    response = bulk(api, "timesheets", items)
    assert (response.status_code, response.json()) == (400, NOT_AN_ARRAY)
    response = bulk(api, "timesheets", items[:1000])
    assert response.status_code == 200
    assert [r["status"] for r in response.json()] == ["created"] * 1000
    assert api.get("/api/timesheets?size=1").headers["X-Total-Count"] == "1000"


@pytest.mark.parametrize(
    ("kind", "who"),
    [("customers", "user"), ("customers", "teamlead"), ("projects", "teamlead"), ("activities", "user")],
)
def test_without_the_create_permission_the_call_is_forbidden(
    api: Api, refs: Refs, kind: str, who: str
) -> None:
    for body in ([valid(kind, refs, 0)], {}):  # the permission comes before the body's shape
        response = bulk(api, kind, body, as_=who)
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    # Only a body that no route would read comes first.
    assert bulk(api, kind, "not even an array", as_=who).json() == BAD_REQUEST


def test_an_item_needs_the_single_post_permission(api: Api, db: Database, refs: Refs) -> None:
    """A team lead may create activities, but not in a project of another team."""
    closed = make_project(api, "Closed", refs.customer, teams=[add_team(db, "Other", leads=["admin"])])["id"]
    items = [{"name": "Open one", "project": refs.project}, {"name": "Closed one", "project": closed}]
    results = bulk(api, "activities", items, as_="teamlead").json()
    single = single_post(api, "activities", items[1], as_="teamlead")
    assert results[0]["status"] == "created"
    assert results[1] == {"status": "error", "id": None, "error": single.json()}


def test_the_routes_are_documented_for_clients(openapi_document: dict[str, Any]) -> None:
    for kind in KINDS:
        operation = openapi_document["paths"][f"/api/ext/bulk/{kind}"]["post"]
        assert operation["tags"] == ["extensions"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert (schema["type"], schema["minItems"], schema["maxItems"]) == ("array", 1, 1000)
        assert "externalId" in schema["items"]["properties"]
