"""Extensions on the customer, project, activity, user, team and tag lists: ``modified_after`` (UTC,
inclusive, as on timesheets), ``orderBy=modified``, and ``modifiedAt`` on every view.

Change times are set directly in the database where a test needs known instants; everything else
goes through the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from punchclock import models
from punchclock.db import Database
from tests.conftest import BAD_REQUEST, PEOPLE, Api, add_team
from tests.test_projects import make_activity, make_customer, make_project
from tests.test_users import create as make_user

AT = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def stamp(db: Database, model: Any, when: dt.datetime, *ids: int) -> None:
    """Set ``modified_at`` of the rows ``ids`` (all rows without ids)."""
    with db.session(write=True) as session:
        query = update(model).values(modified_at=when)
        session.execute(query.where(model.id.in_(ids)) if ids else query)


@dataclass(frozen=True)
class Kind:
    list_url: str
    model: Any
    make: Callable[[Api, Database, str], int]  # a new entity of that name; its id
    label: str | None = "name"  # the key that names a listed row (None: rows are names)
    entity_url: str | None = None  # GET/PATCH one
    change: dict[str, Any] | None = None  # a PATCH body that changes it


def _project(api: Api, db: Database, name: str) -> int:
    return int(make_project(api, name, make_customer(api, f"Owner of {name}")["id"])["id"])


def _tag(api: Api, db: Database, name: str) -> int:
    response = api.post("/api/tags", json={"name": name, "visible": True})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


KINDS = {
    "customers": Kind(
        "/api/customers",
        models.Customer,
        lambda api, db, name: int(make_customer(api, name)["id"]),
        entity_url="/api/customers",
        change={"comment": "changed"},
    ),
    "projects": Kind(
        "/api/projects", models.Project, _project, entity_url="/api/projects", change={"comment": "changed"}
    ),
    "activities": Kind(
        "/api/activities",
        models.Activity,
        lambda api, db, name: int(make_activity(api, name)["id"]),
        entity_url="/api/activities",
        change={"comment": "changed"},
    ),
    "users": Kind(
        "/api/users",
        models.User,
        lambda api, db, name: int(make_user(api, username=name, email=f"{name}@example.com")["id"]),
        label="username",
        entity_url="/api/users",
        change={"title": "changed"},
    ),
    "teams": Kind(
        "/api/teams",
        models.Team,
        lambda api, db, name: add_team(db, name, leads=("super",)),
        entity_url="/api/teams",
        change={"name": "changed"},
    ),
    "tags": Kind("/api/tags", models.Tag, _tag, label=None),
    "tags/find": Kind("/api/tags/find?name=a", models.Tag, _tag),
}
ORDERED = ("customers", "projects", "activities", "users")


def listed(api: Api, kind: Kind, query: str) -> list[str]:
    """The names of the listed rows, in the list's order."""
    separator = "&" if "?" in kind.list_url else "?"
    response = api.get(f"{kind.list_url}{separator}{query}")
    assert response.status_code == 200, response.text
    return [row if kind.label is None else row[kind.label] for row in response.json()]


def three(api: Api, db: Database, kind: Kind) -> list[int]:
    """alpha, bravo and charlie (all others changed long ago)."""
    made = [kind.make(api, db, name) for name in ("alpha", "bravo", "charlie")]
    stamp(db, kind.model, LONG_AGO)
    return made


@pytest.mark.parametrize("name", KINDS)
def test_modified_after_is_utc_and_inclusive(api: Api, db: Database, name: str) -> None:
    kind = KINDS[name]
    alpha, bravo, charlie = three(api, db, kind)
    stamp(db, kind.model, AT, alpha)
    stamp(db, kind.model, AT + SECOND / 2, bravo)  # stored with its fraction of a second
    stamp(db, kind.model, AT + SECOND, charlie)
    cases = {
        "2024-05-01T09:59:59": ["alpha", "bravo", "charlie"],
        "2024-05-01T10:00:00": ["alpha", "bravo", "charlie"],  # inclusive
        "2024-05-01T10:00:01": ["charlie"],
        "2024-05-01T10:00:02": [],
        "2024-05-01T12:00:00": [],  # 10:00 in the caller's Berlin: the parameter is UTC
    }
    for value, expected in cases.items():
        assert listed(api, kind, f"modified_after={value}") == expected, value
    everything = listed(api, kind, "")
    assert {"alpha", "bravo", "charlie"} <= set(everything)
    assert listed(api, kind, "modified_after=") == everything  # empty: absent


BAD_VALUES = [
    "2024-05-01",
    "2024-05-01T10:00",
    "2024-05-01 10:00:00",
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00+02:00",
    "2024-05-01T10:00:00.5",
    "2024-02-30T10:00:00",
    "2024-05-01T24:00:00",
    "yesterday",
]


@pytest.mark.parametrize("name", KINDS)
def test_bad_modified_after_is_400(api: Api, name: str) -> None:
    kind = KINDS[name]
    separator = "&" if "?" in kind.list_url else "?"
    for value in BAD_VALUES:
        response = api.get(f"{kind.list_url}{separator}modified_after={value}")
        assert (response.status_code, response.json()) == (400, BAD_REQUEST), value


@pytest.mark.parametrize("name", ORDERED)
def test_order_by_modified(api: Api, db: Database, name: str) -> None:
    """The change time, then the id the same way (alpha and charlie changed at the same instant)."""
    kind = KINDS[name]
    alpha, bravo, charlie = three(api, db, kind)
    stamp(db, kind.model, AT + SECOND, alpha, charlie)
    stamp(db, kind.model, AT, bravo)
    since = "modified_after=2024-01-01T00:00:00"
    assert listed(api, kind, f"{since}&orderBy=modified") == ["bravo", "alpha", "charlie"]  # ASC by default
    assert listed(api, kind, f"{since}&orderBy=modified&order=ASC") == ["bravo", "alpha", "charlie"]
    assert listed(api, kind, f"{since}&orderBy=modified&order=DESC") == ["charlie", "alpha", "bravo"]
    # Everything else, changed long ago, comes before them ascending.
    assert listed(api, kind, "orderBy=modified&visible=3&ignoreDates=1")[-3:] == ["bravo", "alpha", "charlie"]
    for bad in ("orderBy=modifiedAt", "orderBy=MODIFIED", "orderBy=modified_at"):
        response = api.get(f"{kind.list_url}?{bad}")
        assert (response.status_code, response.json()) == (400, BAD_REQUEST), bad


def utc_now_floor() -> dt.datetime:
    """Now, to the second: modifiedAt shows whole seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def instant(text: str) -> dt.datetime:
    assert text.endswith("+0000"), text
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


@pytest.mark.parametrize("name", [name for name, kind in KINDS.items() if kind.label is not None])
def test_modified_at_on_list_and_entity_views(api: Api, db: Database, name: str) -> None:
    kind = KINDS[name]
    start = utc_now_floor()
    made = kind.make(api, db, "alpha")

    def views() -> list[str]:
        """modifiedAt in the list and, where there is one, in the entity view."""
        [row] = [r for r in api.get(kind.list_url).json() if r["id"] == made]
        shown = [row["modifiedAt"]]
        if kind.entity_url:
            shown.append(api.get(f"{kind.entity_url}/{made}").json()["modifiedAt"])
        return shown

    [created, *same] = views()
    assert start <= instant(created) <= dt.datetime.now(dt.UTC)
    assert same == [created] * len(same)
    stamp(db, kind.model, LONG_AGO)
    stamp(db, kind.model, AT + SECOND * 0.75, made)
    assert views() == ["2024-05-01T10:00:00+0000"] * len(views())  # UTC, whole seconds
    if kind.change is None:
        return  # tags cannot be changed through the API
    start = utc_now_floor()
    response = api.patch(f"{kind.entity_url}/{made}", json=kind.change)
    assert response.status_code == 200, response.text
    changed = response.json()["modifiedAt"]
    assert start <= instant(changed) <= dt.datetime.now(dt.UTC)
    assert views() == [changed, changed]
    # What a client saw as modifiedAt finds the record again with modified_after.
    since = changed.removesuffix("+0000")
    assert [r["id"] for r in api.get(f"{kind.list_url}?modified_after={since}").json()] == [made]


def test_modified_at_of_new_tags(api: Api) -> None:
    start = utc_now_floor()
    created = api.post("/api/tags", json={"name": "fresh", "visible": True}).json()
    assert start <= instant(created["modifiedAt"]) <= dt.datetime.now(dt.UTC)
    assert api.get("/api/tags/find?name=fresh").json() == [created]
    assert api.get(f"/api/tags?modified_after={created['modifiedAt'].removesuffix('+0000')}").json() == [
        "fresh"
    ]


def test_nested_views_carry_their_own_modified_at(api: Api, db: Database) -> None:
    """Each nested object shows when it changed itself, not its parent."""
    customer = make_customer(api, "Acme")["id"]
    project = make_project(api, "Web", customer)["id"]
    activity = make_activity(api, "Code", project)["id"]
    team = add_team(
        db, "Team", leads=("user",), customers=[customer], projects=[project], activities=[activity]
    )
    response = api.post("/api/timesheets?full=1", json={"project": project, "activity": activity}, as_="user")
    assert response.status_code == 200, response.text
    timesheet = response.json()["id"]
    user = PEOPLE["user"].id
    stamps = {
        "customer": (models.Customer, customer, "2021-01-01T01:00:00+0000"),
        "project": (models.Project, project, "2021-01-01T02:00:00+0000"),
        "activity": (models.Activity, activity, "2021-01-01T03:00:00+0000"),
        "team": (models.Team, team, "2021-01-01T04:00:00+0000"),
        "user": (models.User, user, "2021-01-01T05:00:00+0000"),
    }
    for model, row_id, text in stamps.values():
        stamp(db, model, instant(text), row_id)
    shown = {key: text for key, (_, _, text) in stamps.items()}

    def at(view: dict[str, Any]) -> str:
        return str(view["modifiedAt"])

    [row] = api.get("/api/timesheets?full=1", as_="user").json()
    assert row["id"] == timesheet
    assert (at(row["project"]), at(row["project"]["customer"])) == (shown["project"], shown["customer"])
    assert (at(row["activity"]), at(row["activity"]["project"])) == (shown["activity"], shown["project"])
    assert at(row["activity"]["project"]["customer"]) == shown["customer"]
    assert at(row["user"]) == shown["user"]
    for url in (f"/api/customers/{customer}", f"/api/projects/{project}", f"/api/activities/{activity}"):
        assert [at(t) for t in api.get(url).json()["teams"]] == [shown["team"]], url
    assert [at(t) for t in api.get("/api/projects?ignoreDates=1").json()[0]["teams"]] == [shown["team"]]
    team_view = api.get(f"/api/teams/{team}").json()
    assert at(team_view) == shown["team"]
    assert [at(m["user"]) for m in team_view["members"]] == [shown["user"]]
    assert [at(c) for c in team_view["customers"]] == [shown["customer"]]
    assert [at(p) for p in team_view["projects"]] == [shown["project"]]
    assert [at(a) for a in team_view["activities"]] == [shown["activity"]]
    user_view = api.get(f"/api/users/{user}").json()
    assert at(user_view) == shown["user"]
    assert [at(t) for t in user_view["teams"]] == [shown["team"]]
    assert [at(m["team"]) for m in user_view["memberships"]] == [shown["team"]]
