"""GET /api/timesheets: every filter, paging and ordering, team rules and per-record rate keys, as
Kimai 2.66 lists timesheets (TimesheetController::cgetAction and TimesheetRepository).

Records whose list behaviour is under test are inserted directly (the form is tested elsewhere);
``world`` (customer, project, activity, global activity) comes from the API.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from punchclock import models
from punchclock.db import Database
from punchclock.tags.models import Tag
from punchclock.timesheets.models import Timesheet, TimesheetMeta, TimesheetTag
from tests import test_timesheets
from tests.conftest import BAD_REQUEST, FORBIDDEN, NOT_FOUND, PEOPLE, Api, add_team
from tests.test_projects import make_activity, make_customer, make_project
from tests.test_timesheets import post

world = test_timesheets.world  # the fixture: customer, project, activity, global activity
URL = "/api/timesheets"
BASE = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
SUPER, ADMIN, LEAD, USER = (PEOPLE[key].id for key in ("super", "admin", "teamlead", "user"))
COLLECTION_KEYS = {
    "id", "begin", "end", "duration", "break", "description", "tags", "exported", "billable",
    "metaFields", "activity", "project", "user", "modifiedAt",
}  # fmt: skip
RATE_KEYS = {"rate", "internalRate"}
CUSTOMER_KEYS = {
    "id", "name", "number", "comment", "visible", "billable", "company", "country", "language",
    "currency", "phone", "fax", "mobile", "homepage", "timezone", "metaFields", "color", "color-safe",
    "modifiedAt",
}  # fmt: skip
PROJECT_KEYS = {
    "id", "name", "customer", "number", "orderNumber", "orderDate", "start", "end", "comment",
    "visible", "billable", "globalActivities", "lockedUntil", "metaFields", "color", "color-safe",
    "modifiedAt",
}  # fmt: skip
ACTIVITY_KEYS = {
    "id", "name", "project", "number", "comment", "visible", "billable", "metaFields", "color",
    "color-safe", "modifiedAt",
}  # fmt: skip
USER_KEYS = {
    "id", "username", "email", "enabled", "apiToken", "systemAccount", "alias", "title", "avatar",
    "accountNumber", "color", "color-safe", "initials", "language", "locale", "timezone", "modifiedAt",
}  # fmt: skip


def add_rows(db: Database, world: dict[str, Any], *rows: dict[str, Any]) -> list[int]:
    """Records written directly: ``user`` (default super), ``project``/``activity`` (default the
    world's), ``begin`` (default BASE), ``hours`` (default 1, None = running), ``tags`` (names) and
    ``meta`` ({name: value}); any other key is a Timesheet column."""
    ids = []
    with db.session(write=True) as session:
        tag_ids = {tag.name: tag.id for tag in session.query(Tag)}
        for row in rows:
            row = dict(row)
            user = row.pop("user", SUPER)
            begin = row.pop("begin", BASE)
            hours = row.pop("hours", 1)
            tags, meta = row.pop("tags", ()), row.pop("meta", {})
            end = None if hours is None else begin + hours * HOUR
            timesheet = Timesheet(
                user_id=user,
                project_id=row.pop("project", world["project"]["id"]),
                activity_id=row.pop("activity", world["activity"]["id"]),
                begin=begin,
                end=end,
                duration=0 if end is None else int((end - begin).total_seconds()),
                timezone=next(p.timezone for p in PEOPLE.values() if p.id == user) if user <= 4 else "UTC",
                **row,
            )
            session.add(timesheet)
            session.flush()
            session.add_all(TimesheetTag(timesheet_id=timesheet.id, tag_id=tag_ids[name]) for name in tags)
            session.add_all(TimesheetMeta(entity_id=timesheet.id, name=k, value=v) for k, v in meta.items())
            ids.append(timesheet.id)
    return ids


def add_tags(db: Database, *names: str, hidden: tuple[str, ...] = ()) -> None:
    with db.session(write=True) as session:
        session.add_all(Tag(name=name, visible=name not in hidden) for name in (*names, *hidden))


def listed(api: Api, query: str = "", *, as_: str = "super") -> list[dict[str, Any]]:
    response = api.get(f"{URL}?{query}", as_=as_)
    assert response.status_code == 200, response.text
    return list(response.json())


def ids(api: Api, query: str = "", *, as_: str = "super") -> list[int]:
    return [row["id"] for row in listed(api, query, as_=as_)]


def headers(response: Any) -> tuple[int, int, int, int]:
    """(X-Page, X-Per-Page, X-Total-Pages, X-Total-Count), as Kimai's assertPagination reads them."""
    h = response.headers
    return int(h["X-Page"]), int(h["X-Per-Page"]), int(h["X-Total-Pages"]), int(h["X-Total-Count"])


def check(api: Api, query: str, expected: Any, *, as_: str = "super", key: str = "id") -> None:
    """``expected``: the ``key`` values of the listed rows in order, or an error status (Kimai's body)."""
    response = api.get(f"{URL}?{query}", as_=as_)
    if isinstance(expected, int):
        error = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND}[expected]
        assert (response.status_code, response.json()) == (expected, error), (as_, query)
    else:
        assert response.status_code == 200, (as_, query, response.text)
        assert [row[key] for row in response.json()] == expected, (as_, query)


def set_user(db: Database, user_id: int, **values: Any) -> None:
    with db.session(write=True) as session:
        session.execute(update(models.User).where(models.User.id == user_id).values(**values))


def add_user(db: Database, user_id: int, **values: Any) -> None:
    with db.session(write=True) as session:
        session.add(
            models.User(
                id=user_id,
                username=f"user{user_id}",
                email=f"user{user_id}@example.com",
                password="x",
                timezone="UTC",
                roles=[],
                **values,
            )
        )


def test_records_created_through_the_api(api: Api, world: dict[str, Any]) -> None:
    """A list row is the record's entity view without the entity-only rate keys."""
    created = [
        post(
            api, world, as_=caller, begin="2024-05-01T09:00:00", end="2024-05-01T10:30:00", description=caller
        )
        for caller in ("user", "teamlead")
    ]
    assert all(response.status_code == 200 for response in created)
    for caller in ("user", "teamlead", "super"):
        rows = listed(api, "user=all", as_=caller)
        assert rows
        for row in rows:
            entity = api.get(f"{URL}/{row['id']}", as_=caller).json()
            for key in ("fixedRate", "hourlyRate"):
                entity.pop(key, None)
            assert row == entity
    assert [row["description"] for row in listed(api, "user=all&orderBy=id", as_="super")] == [
        "teamlead",
        "user",
    ]


# --- user, users[] ---------------------------------------------------------------------------


@pytest.fixture
def one_row_each(db: Database, world: dict[str, Any]) -> dict[int, int]:
    """One record per seeded user: {user id: record id}."""
    users = (SUPER, ADMIN, LEAD, USER)
    return dict(zip(users, add_rows(db, world, *({"user": u} for u in users)), strict=True))


USER_FILTER_CASES = [
    ("super", "", [SUPER]),
    ("super", "user=all", [SUPER, ADMIN, LEAD, USER]),
    ("super", f"user={USER}", [USER]),
    ("super", f"users[]={ADMIN}&users[]={USER}", [ADMIN, USER]),
    ("super", f"user={ADMIN}&users[]={USER}", [ADMIN, USER]),  # merged
    ("super", f"user=all&users[]={USER}", [SUPER, ADMIN, LEAD, USER]),  # users[] ignored
    ("super", "users[]=999", [SUPER]),  # unknown ids ignored: one's own rows
    ("super", "user=0", [SUPER]),
    ("super", f"users[]={USER}&users[]=999", [USER]),
    ("super", "users[]=%D9%A3&user=%D9%A3", [SUPER]),  # Unicode digits: no user has such an id
    ("admin", "user=all", [SUPER, ADMIN, LEAD, USER]),
    ("admin", f"user={SUPER}", [SUPER]),
    ("admin", "", [ADMIN]),
    # Without view_other_timesheet every user filter is silently ignored.
    ("user", "user=all", [USER]),
    ("user", f"user={SUPER}", [USER]),
    ("user", f"users[]={SUPER}&users[]={ADMIN}", [USER]),
    # A team lead of no team: all = oneself; a plain user without a team is accessible.
    ("teamlead", "user=all", [LEAD]),
    ("teamlead", f"user={USER}", [USER]),
    ("teamlead", f"users[]={USER}&users[]={LEAD}", [LEAD, USER]),
    # admins and super admins are no plain users: a team lead may not access them
    ("teamlead", f"user={SUPER}", 403),
    ("teamlead", f"user={ADMIN}", 403),
    ("teamlead", f"users[]={ADMIN}", 403),
    ("teamlead", f"users[]={USER}&users[]={ADMIN}", 403),
]


def test_user_filter_per_role(api: Api, one_row_each: dict[int, int]) -> None:
    for caller, query, owners in USER_FILTER_CASES:
        check(api, f"{query}&orderBy=id&order=ASC", owners, as_=caller, key="user")


@pytest.mark.parametrize(
    ("setup", "cases"),
    [
        # Kimai's testGetCollectionForOtherUserAllowedWhenTeamleadOfOwnerTeam; no admin rows with
        # user=all: they are in no team the team lead leads
        ("leads", [(f"user={USER}", [USER]), (f"users[]={USER}", [USER]), ("user=all", [LEAD, USER])]),
        # ...DeniedWhenTeamleadIsOnlyPlainMemberOfOwnerTeam
        ("member", [(f"user={USER}", 403), (f"users[]={USER}", 403), ("user=all", [LEAD])]),
        # the user is in a team someone else leads
        ("other", [(f"user={USER}", 403), ("user=all", [LEAD])]),
        # disabled users and system accounts are not accessible, in a led team or in none
        ("disabled", [(f"user={USER}", 403), ("user=all", [LEAD])]),
        ("system", [(f"user={USER}", 403)]),
        ("leads_disabled", [(f"user={USER}", 403), (f"users[]={USER}&users[]={LEAD}", 403)]),
    ],
)
def test_user_filter_team_rules(
    api: Api, db: Database, one_row_each: dict[int, int], setup: str, cases: list[tuple[str, Any]]
) -> None:
    if setup.startswith("leads"):
        add_team(db, "Mine", leads=["teamlead"], members=["user"])
    elif setup == "member":
        add_team(db, "Shared", members=["teamlead", "user"])
    elif setup == "other":
        add_team(db, "Mine", leads=["teamlead"])
        add_team(db, "Theirs", leads=["admin"], members=["user"])
    if setup in ("disabled", "leads_disabled"):
        set_user(db, USER, enabled=False)
    if setup == "system":
        set_user(db, USER, system_account=True)
    for query, expected in cases:
        check(api, f"{query}&orderBy=id&order=ASC", expected, as_="teamlead", key="user")


# --- customer(s), project(s), activity(ies) ----------------------------------------------------


@pytest.fixture
def two_worlds(api: Api, db: Database, world: dict[str, Any]) -> dict[str, int]:
    """Ids by name: customers c1/c2, projects p1/p2, activities a1 (p1), a2 (p2), g (global), and
    the records r1 (p1, a1), r2 (p1, g), r3 (p2, a2) of the super admin."""
    c2 = make_customer(api, "Globex")
    p2 = make_project(api, "Shop", c2["id"])
    a2 = make_activity(api, "Build", p2["id"])
    names = {
        "c1": world["customer"]["id"],
        "c2": c2["id"],
        "p1": world["project"]["id"],
        "p2": p2["id"],
        "a1": world["activity"]["id"],
        "a2": a2["id"],
        "g": world["global"]["id"],
    }
    r1, r2, r3 = add_rows(
        db,
        world,
        {"begin": BASE},
        {"activity": names["g"], "begin": BASE + HOUR},
        {"project": names["p2"], "activity": names["a2"], "begin": BASE + 2 * HOUR},
    )
    return {**names, "r1": r1, "r2": r2, "r3": r3}


def resolve(query: list[tuple[str, str]], names: dict[str, int]) -> str:
    return urlencode([(key, str(names.get(value, value))) for key, value in query])


ENTITY_FILTER_CASES = [
    ([("customer", "c1")], ["r1", "r2"]),
    ([("customer", "c2")], ["r3"]),
    ([("customers[]", "c1"), ("customers[]", "c2")], ["r1", "r2", "r3"]),
    ([("customer", "c1"), ("customers[]", "c2")], ["r1", "r2", "r3"]),  # merged
    ([("customers[]", "c2"), ("customers[]", "c2")], ["r3"]),
    ([("customer", "999")], ["r1", "r2", "r3"]),  # unknown ids are ignored
    ([("customers[]", "999"), ("customers[]", "c2")], ["r3"]),
    ([("customer", "0")], ["r1", "r2", "r3"]),
    ([("customer", "99999999999999999999999")], ["r1", "r2", "r3"]),
    ([("customers[]", "\u0663"), ("projects[]", "\uff12"), ("activity", "\u0663")], ["r1", "r2", "r3"]),
    ([("project", "p1")], ["r1", "r2"]),
    ([("projects[]", "p2")], ["r3"]),
    ([("project", "p2"), ("projects[]", "p1")], ["r1", "r2", "r3"]),
    ([("project", "999")], ["r1", "r2", "r3"]),
    ([("activity", "g")], ["r2"]),
    ([("activities[]", "a1"), ("activities[]", "a2")], ["r1", "r3"]),
    ([("activity", "a1"), ("activities[]", "g")], ["r1", "r2"]),
    ([("activities[]", "999")], ["r1", "r2", "r3"]),
    # filters of different kinds all apply
    ([("project", "p1"), ("activity", "a2")], []),
    ([("customer", "c1"), ("activity", "g")], ["r2"]),
    ([("customer", "c2"), ("project", "p1")], []),
]


def test_entity_filters(api: Api, two_worlds: dict[str, int]) -> None:
    for query, expected in ENTITY_FILTER_CASES:
        check(api, resolve(query, two_worlds) + "&orderBy=id&order=ASC", [two_worlds[n] for n in expected])


RESTRICTED_FILTERS = [
    [("customer", "c2")],
    [("customers[]", "c1"), ("customers[]", "c2")],
    [("project", "p2")],
    [("projects[]", "p1"), ("projects[]", "p2")],
    [("activity", "a2")],
    [("activities[]", "a2")],
]


@pytest.mark.parametrize("restricted", ["c2", "p2", "a2"])
def test_entity_filter_forbidden_for_team_restricted(
    api: Api, db: Database, two_worlds: dict[str, int], restricted: str
) -> None:
    """Kimai's ``access`` check: a project counts its customer's teams, an activity its project's
    and customer's; a filter on an entity of another team is 403 for non-admins."""
    kind = {"c": "customers", "p": "projects", "a": "activities"}[restricted[0]]
    add_team(db, "Restricted", leads=["admin"], **{kind: [two_worlds[restricted]]})
    # a project inherits its customer's teams, an activity its project's (not the other way round)
    reached_by = {"customers": "cpa", "projects": "pa", "activities": "a"}[kind]
    urls = {
        f"{URL}?{resolve(query, two_worlds)}": query[-1][0][0] in reached_by for query in RESTRICTED_FILTERS
    }
    for url, forbidden in urls.items():
        for caller in ("user", "teamlead"):
            response = api.get(url, as_=caller)
            if forbidden:
                assert (response.status_code, response.json()) == (403, FORBIDDEN), (caller, url)
            else:
                assert response.status_code == 200, (caller, url)
        assert api.get(url, as_="admin").status_code == 200
    add_team(db, "Joined", members=["user"], **{kind: [two_worlds[restricted]]})
    assert all(api.get(url, as_="user").status_code == 200 for url in urls)


BAD_FILTER_VALUES = [
    "customer=abc",
    "customer=-1",
    "customer=1.0",
    "customers[]=x",
    "project=p",
    "projects[]=-2",
    "activity=1e3",
    "user=me",
    "user=ALL",
    "user=-4",
    "users[]=all",
    "users[]=1&users[]=x",
    "customers[]=%C2%B2",
    "project=%C2%B2",
    # a scalar where Kimai declares an array
    "users=1",
    "customers=1",
    "projects=1",
    "activities=1",
    "tags=Test",
]


def test_bad_filter_values_are_400(api: Api) -> None:
    for query in BAD_FILTER_VALUES:
        for caller in ("super", "user"):
            check(api, query, 400, as_=caller)


EMPTY = ["user", "users[]", "customer", "customers[]", "project", "projects[]", "activity", "activities[]"]
EMPTY += ["page", "size", "orderBy", "order", "begin", "end", "modified_after", "exported", "active"]
EMPTY += ["billable", "full", "term"]


def test_empty_values_count_as_absent(api: Api, seeded: list[dict[str, Any]]) -> None:
    """Symfony's validators skip empty strings and Kimai's controller ignores them: no filter."""
    everything = ids(api, "size=10")
    for name in EMPTY:
        response = api.get(f"{URL}?{name}=&size=10")
        assert response.status_code == 200, name
        assert [row["id"] for row in response.json()] == everything, name
        assert headers(response) == (1, 10, 3, SEED_COUNT), name


# --- tags[] ------------------------------------------------------------------------------------


TAG_CASES = [
    (["Test"], [0, 2]),
    (["Test", "Administration"], [0, 1, 2]),  # any of them
    (["Test", "not-existing-here"], [0, 2]),
    (["Administration"], [1, 2]),
    (["Hidden", "Test"], [0, 2]),  # invisible tags do not count
    (["Test", "Test"], [0, 2]),
    (["Nothing-2-see", "not-existing-here"], 400),  # Kimai's testGetCollectionWithTags
    (["Hidden"], 400),
    (["test", "ADMINISTRATION"], [0, 1, 2]),  # as on MySQL: case does not matter
    (["hidden"], 400),
]


def test_tags_filter(api: Api, db: Database, world: dict[str, Any]) -> None:
    add_tags(db, "Test", "Administration", hidden=("Hidden",))
    records = add_rows(
        db,
        world,
        {"tags": ["Test"]},
        {"tags": ["Administration"]},
        {"tags": ["Administration", "Test"]},
        {"tags": ["Hidden"]},
        {},
    )
    for tags, expected in TAG_CASES:
        query = urlencode([("tags[]", t) for t in tags]) + "&orderBy=id&order=ASC"
        check(api, query, expected if expected == 400 else [records[i] for i in expected])
    by_id = {row["id"]: row["tags"] for row in listed(api)}
    assert by_id[records[2]] == ["Test", "Administration"]  # in the order the tags were created
    assert by_id[records[3]] == ["Hidden"]
    assert by_id[records[4]] == []


# --- page, size --------------------------------------------------------------------------------


def test_kimai_collection_with_query(api: Api, db: Database, world: dict[str, Any]) -> None:
    """Kimai's testGetCollectionWithQuery: 22 matching records, page 2 of size 4."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    add_rows(db, world, *({"user": USER, "begin": now - (i + 2) * HOUR} for i in range(22)))
    add_rows(db, world, {"user": USER, "begin": now - HOUR, "exported": True})  # filtered out
    add_rows(db, world, {"user": USER, "begin": now - HOUR, "hours": None})  # running
    user_now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=13)))
    query = {
        "customers[]": world["customer"]["id"],
        "projects[]": world["project"]["id"],
        "activities[]": world["activity"]["id"],
        "page": 2,
        "size": 4,
        "order": "DESC",
        "orderBy": "rate",
        "active": 0,
        "modified_after": (now - 20 * HOUR).strftime("%Y-%m-%dT%H:%M:%S"),
        "begin": (user_now - 48 * HOUR).strftime("%Y-%m-%dT%H:%M:%S"),
        "end": user_now.strftime("%Y-%m-%dT%H:%M:%S"),
        "exported": 0,
    }
    response = api.get(f"{URL}?{urlencode(query)}", as_="user")
    assert response.status_code == 200
    assert headers(response) == (2, 4, 6, 22)
    assert len(response.json()) == 4


PAGING_CASES = [
    ("", (1, 50, 2, 57), 50),
    ("page=2", (2, 50, 2, 57), 7),
    ("size=0", (1, 50, 2, 57), 50),  # 0 means the default
    ("page=0", (1, 50, 2, 57), 50),  # 0 means the first page
    ("page=0&size=0", (1, 50, 2, 57), 50),
    ("size=501", (1, 500, 1, 57), 57),  # clamped to 500
    ("size=99999999999999999999", (1, 500, 1, 57), 57),
    ("size=57", (1, 57, 1, 57), 57),
    ("size=56", (1, 56, 2, 57), 56),
    ("page=2&size=56", (2, 56, 2, 57), 1),
    ("page=3&size=19", (3, 19, 3, 57), 19),  # a full last page
    ("page=002&size=010", (2, 10, 6, 57), 10),
    ("size=1", (1, 1, 57, 57), 1),
    ("page=57&size=1", (57, 1, 57, 57), 1),
    ("size=" + "9" * 5000, (1, 500, 1, 57), 57),
    # other Unicode digits pass Kimai's \d+ but are no numbers: the defaults
    ("page=%D9%A3&size=10", (1, 10, 6, 57), 10),
    ("size=%D9%A3", (1, 50, 2, 57), 50),
    ("page=%EF%BC%92", (1, 50, 2, 57), 50),
]


def test_paging(api: Api, db: Database, world: dict[str, Any]) -> None:
    records = add_rows(db, world, *({"begin": BASE + i * HOUR} for i in range(57)))
    for query, expected_headers, count in PAGING_CASES:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200
        assert headers(response) == expected_headers, query
        page, size = expected_headers[:2]
        newest_first = records[::-1]
        assert [row["id"] for row in response.json()] == newest_first[(page - 1) * size :][:count], query


PAGING_ERRORS = [
    ("page=3", 404),
    ("page=2&size=5", 200),
    ("page=3&size=3", 200),
    ("page=4&size=3", 404),
    ("page=8&size=1", 404),
    ("page=99999999999999999999", 404),
    ("page=-1", 400),
    ("size=-1", 400),
    ("page=1.5", 400),
    ("size=ten", 400),
    ("page=+1", 400),
    ("page=" + "9" * 5000, 404),
    ("page=%C2%B2", 400),  # a digit, but no decimal one
]


def test_paging_errors(api: Api, db: Database, world: dict[str, Any]) -> None:
    add_rows(db, world, *({"begin": BASE + i * HOUR} for i in range(7)))
    for query, status in PAGING_ERRORS:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == status, query
        if status != 200:
            check(api, query, status)


def test_empty_result(api: Api, world: dict[str, Any]) -> None:
    """Kimai's testGetCollectionForEmptyResult: page 1 is an empty list, page 2 is out of range."""
    response = api.get(URL, as_="teamlead")
    assert (response.status_code, response.json()) == (200, [])
    assert headers(response) == (1, 50, 1, 0)
    response = api.get(f"{URL}?size=3&user=all&project=999")
    assert headers(response) == (1, 3, 1, 0)
    assert api.get(f"{URL}?page=2", as_="teamlead").json() == NOT_FOUND


def test_recent_size_is_read_like_paging(api: Api, db: Database, world: dict[str, Any]) -> None:
    """/recent reads its size with the same int cast: Unicode digits are 0, huge values saturate."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    add_rows(db, world, {"begin": now - 2 * HOUR}, {"begin": now - HOUR, "activity": world["global"]["id"]})
    for size, count in (("1", 1), ("9" * 5000, 2), ("%D9%A3", 0), ("0", 0)):
        response = api.get(f"{URL}/recent?size={size}")
        assert (response.status_code, len(response.json())) == (200, count), size


# --- paging invariants ---------------------------------------------------------------------------

SEED_COUNT = 23


def _seed_row(i: int) -> dict[str, Any]:
    """Ties on begin and rate, running records, exported/billable mixed: ids are needed to break ties."""
    running = i % 6 == 0
    return {
        "begin": BASE + ((i * 7) % 8) * HOUR,
        "hours": None if running else (i % 4 + 1) / 4,
        "rate": 0.0 if running else float((i * 5) % 7 * 10),
        "exported": i % 2 == 0,
        "billable": i % 3 != 0,
    }


@pytest.fixture
def seeded(db: Database, world: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [_seed_row(i) for i in range(SEED_COUNT)]
    for row, record_id in zip(rows, add_rows(db, world, *rows), strict=True):
        row["id"] = record_id
        row["end"] = None if row["hours"] is None else row["begin"] + row["hours"] * HOUR
    return rows


def expected_order(rows: list[dict[str, Any]], order_by: str, order: str) -> list[int]:
    """Kimai on MySQL: the key, then id the same way; NULL (a running end) is the smallest value."""
    ordered = sorted(rows, key=lambda r: (r[order_by] is not None, r[order_by] or 0, r["id"]))
    return [r["id"] for r in (reversed(ordered) if order == "DESC" else ordered)]


FILTERS = {
    "": lambda r: True,
    "exported=1": lambda r: r["exported"],
    "exported=0": lambda r: not r["exported"],
    "billable=0": lambda r: not r["billable"],
    "active=1": lambda r: r["end"] is None,
    "active=0&billable=1": lambda r: r["end"] is not None and r["billable"],
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    size=st.integers(min_value=1, max_value=SEED_COUNT + 2),
    order_by=st.sampled_from(["id", "begin", "end", "rate"]),
    order=st.sampled_from(["ASC", "DESC"]),
    filter_=st.sampled_from(sorted(FILTERS)),
)
def test_pages_partition_the_filtered_list(
    api: Api, seeded: list[dict[str, Any]], size: int, order_by: str, order: str, filter_: str
) -> None:
    rows = [r for r in seeded if FILTERS[filter_](r)]
    pages = max(1, math.ceil(len(rows) / size))
    collected: list[int] = []
    for page in range(1, pages + 1):
        response = api.get(f"{URL}?page={page}&size={size}&orderBy={order_by}&order={order}&{filter_}")
        assert response.status_code == 200
        assert headers(response) == (page, size, pages, len(rows))
        body = response.json()
        assert len(body) == (size if page < pages else len(rows) - size * (pages - 1))
        collected += [row["id"] for row in body]
    assert collected == expected_order(rows, order_by, order)
    response = api.get(f"{URL}?page={pages + 1}&size={size}&orderBy={order_by}&{filter_}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- order, orderBy -------------------------------------------------------------------------------


def test_default_order_is_begin_descending(api: Api, seeded: list[dict[str, Any]]) -> None:
    assert ids(api) == expected_order(seeded, "begin", "DESC")
    assert ids(api, "order=ASC") == expected_order(seeded, "begin", "ASC")
    assert ids(api, "orderBy=id") == sorted((r["id"] for r in seeded), reverse=True)


def test_running_records_sort_as_lowest_end(api: Api, db: Database, world: dict[str, Any]) -> None:
    first, running, last, running_too = add_rows(
        db,
        world,
        {"begin": BASE, "hours": 1},
        {"begin": BASE - HOUR, "hours": None},
        {"begin": BASE, "hours": 5},
        {"begin": BASE + HOUR, "hours": None},
    )
    assert ids(api, "orderBy=end&order=ASC") == [running, running_too, first, last]
    assert ids(api, "orderBy=end&order=DESC") == [last, first, running_too, running]


def test_bad_order_is_400(api: Api) -> None:
    for query in ("orderBy=name", "orderBy=ID", "orderBy=duration", "order=asc", "order=UP"):
        check(api, query, 400)


# --- begin, end, modified_after ----------------------------------------------------------------------


def test_begin_end_in_callers_timezone(api: Api, db: Database, world: dict[str, Any]) -> None:
    """Kimai reads begin/end in the caller's timezone; end compares with a record's begin."""
    instant = dt.datetime(2024, 4, 30, 20, 0, tzinfo=dt.UTC)  # 09:00 in Tonga (+13), 16:00 in New York
    (record,) = add_rows(db, world, {"user": USER, "begin": instant, "hours": 10})
    admin = f"user={USER}&"
    cases = [
        ("user", "begin=2024-05-01T09:00:00", [record]),
        ("user", "begin=2024-05-01T09:00:01", []),
        ("user", "end=2024-05-01T09:00:00", [record]),
        ("user", "end=2024-05-01T08:59:59", []),
        ("user", "end=2024-05-01T10:00:00", [record]),  # the record ends later; still listed
        ("user", "begin=2024-05-01T09:00:00&end=2024-05-01T09:00:00", [record]),
        ("user", "begin=2024-05-01T10:00:00&end=2024-05-01T08:00:00", []),
        ("admin", admin + "begin=2024-04-30T16:00:00", [record]),
        ("admin", admin + "begin=2024-04-30T16:00:01", []),
        ("admin", admin + "end=2024-04-30T16:00:00", [record]),
        ("admin", admin + "end=2024-04-30T15:59:59", []),
        ("super", "user=all&begin=2024-04-30T22:00:00&end=2024-04-30T22:00:00", [record]),  # Berlin
    ]
    for caller, query, expected in cases:
        assert ids(api, query, as_=caller) == expected, (caller, query)


def test_modified_after_is_utc_and_inclusive(api: Api, db: Database, world: dict[str, Any]) -> None:
    early, late = add_rows(
        db,
        world,
        {"user": USER, "modified_at": dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.UTC)},
        {"user": USER, "modified_at": dt.datetime(2024, 5, 1, 10, 0, 1, tzinfo=dt.UTC)},
    )
    for caller in ("user", "admin"):  # Tonga and New York: the parameter is UTC for both
        prefix = f"user={USER}&" if caller == "admin" else ""
        assert ids(api, prefix + "modified_after=2024-05-01T10:00:00&orderBy=id", as_=caller) == [late, early]
        assert ids(api, prefix + "modified_after=2024-05-01T10:00:01", as_=caller) == [late]
        assert ids(api, prefix + "modified_after=2024-05-01T10:00:02", as_=caller) == []
    rows = listed(api, "orderBy=id&order=ASC", as_="user")
    assert [row["modifiedAt"] for row in rows] == ["2024-05-01T10:00:00+0000", "2024-05-01T10:00:01+0000"]


NOT_STRICT_DATETIMES = [
    "2024-05-01",
    "2024-05-01T09:00",
    "2024-05-01 09:00:00",
    "2024-05-01T09:00:00Z",
    "2024-05-01T09:00:00+02:00",
    "2024-05-01T09:00:00.000",
    "2024-02-30T09:00:00",
    "2024-13-01T09:00:00",
    "2024-05-01t09:00:00",
    "today",
]


def test_strict_datetime_parameters(api: Api) -> None:
    for name in ("begin", "end", "modified_after"):
        for value in NOT_STRICT_DATETIMES:
            check(api, urlencode({name: value}), 400)


# --- exported, active, billable, full ---------------------------------------------------------------


def test_state_flags(api: Api, db: Database, world: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    plain, exported, unbillable, running = add_rows(
        db,
        world,
        {},
        {"exported": True},
        {"billable": False},
        {"begin": now - HOUR, "hours": None},
    )
    cases = {
        "": [plain, exported, unbillable, running],
        "exported=1": [exported],
        "exported=0": [plain, unbillable, running],
        "active=1": [running],
        "active=0": [plain, exported, unbillable],
        "billable=1": [plain, exported, running],
        "billable=0": [unbillable],
        "billable=1&exported=0&active=0": [plain],
        "active=1&exported=1": [],
    }
    for query, expected in cases.items():
        assert ids(api, query + "&orderBy=id&order=ASC") == expected, query


def test_state_flags_accept_only_zero_or_one(api: Api) -> None:
    for name in ("exported", "active", "billable"):
        for value in ("true", "false", "2", "-1", "01", "yes", "1 "):
            check(api, urlencode({name: value}), 400)


@pytest.mark.parametrize(("value", "expanded"), [("1", True), ("true", True), ("0", False), ("false", False)])
def test_full(api: Api, db: Database, world: dict[str, Any], value: str, expanded: bool) -> None:
    with db.session(write=True) as session:
        session.add(models.CustomerMeta(entity_id=world["customer"]["id"], name="crm_id", value="C-1"))
        session.add(
            models.CustomerMeta(entity_id=world["customer"]["id"], name="secret", value="x", visible=False)
        )
    on_project, on_global = add_rows(
        db,
        world,
        {"user": USER, "meta": {"ticket": "T-1"}},
        {"user": USER, "activity": world["global"]["id"]},
    )
    rows = {row["id"]: row for row in listed(api, f"user=all&full={value}")}
    for row in rows.values():
        assert set(row) == COLLECTION_KEYS | RATE_KEYS
    if not expanded:
        assert rows[on_project]["activity"] == world["activity"]["id"]
        assert rows[on_project]["project"] == world["project"]["id"]
        assert rows[on_project]["user"] == USER
        return
    row = rows[on_project]
    assert set(row["activity"]) == ACTIVITY_KEYS
    assert set(row["activity"]["project"]) == PROJECT_KEYS
    assert set(row["project"]) == PROJECT_KEYS
    assert set(row["project"]["customer"]) == CUSTOMER_KEYS
    assert set(row["activity"]["project"]["customer"]) == CUSTOMER_KEYS
    assert set(row["user"]) == USER_KEYS
    assert row["activity"]["id"] == world["activity"]["id"]
    assert row["activity"]["project"]["id"] == row["project"]["id"] == world["project"]["id"]
    assert row["project"]["customer"]["id"] == world["customer"]["id"]
    assert row["project"]["customer"]["metaFields"] == [{"name": "crm_id", "value": "C-1"}]
    assert (row["user"]["id"], row["user"]["username"]) == (USER, PEOPLE["user"].username)
    assert row["metaFields"] == [{"name": "ticket", "value": "T-1"}]
    assert rows[on_global]["activity"]["id"] == world["global"]["id"]
    assert rows[on_global]["activity"]["project"] is None
    # the same record as in the plain list, apart from the nested objects
    plain = {row["id"]: row for row in listed(api, "user=all")}[on_project]
    nested = ("activity", "project", "user")
    assert {k: v for k, v in row.items() if k not in nested} == {
        k: v for k, v in plain.items() if k not in nested
    }


def test_full_bad_values(api: Api) -> None:
    for value in ("2", "TRUE", "True", "yes", "on", "-1", "true "):
        check(api, urlencode({"full": value}), 400)


# --- term ------------------------------------------------------------------------------------------


TERM_CASES = [
    ("", [0, 1, 2, 3]),
    ("invoice", [0, 1]),
    ("INVOICE", [0, 1]),
    ("invoice review", [1]),  # every word must match
    ("!review", [0, 2, 3]),  # excluded, or no description
    ("ticket:ABC", [0, 2]),
    ("ticket:abc-2", [2]),
    ("ticket:*", [0, 2]),
    ("ticket:~", [1, 3]),
    ("ticket:!ABC-1", [2]),
    ("ABC", []),  # plain words never search custom fields
    ("invoice ticket:ABC", [0]),
    ("zzz", []),
]


def test_term(api: Api, db: Database, world: dict[str, Any]) -> None:
    records = add_rows(
        db,
        world,
        {"description": "Invoice draft", "meta": {"ticket": "ABC-1"}},
        {"description": "invoice REVIEW"},
        {"description": None, "meta": {"ticket": "abc-2"}},
        {"description": "Meeting"},
    )
    for term, expected in TERM_CASES:
        check(api, urlencode({"term": term}) + "&orderBy=id&order=ASC", [records[i] for i in expected])


# --- team rules ---------------------------------------------------------------------------------------


@pytest.fixture
def restricted_world(api: Api, db: Database, world: dict[str, Any]) -> dict[str, Any]:
    """A team "Other" (the admin leads it) owns a customer, a project and an activity; the team lead
    leads "Mine" with the user. Every owner has one record on each of them plus an open one."""
    c2 = make_customer(api, "Secret Corp")
    p_c2 = make_project(api, "Under secret customer", c2["id"])
    a_c2 = make_activity(api, "Secret customer work", p_c2["id"])
    p2 = make_project(api, "Secret project", world["customer"]["id"])
    a_p2 = make_activity(api, "Secret project work", p2["id"])
    a2 = make_activity(api, "Secret activity", world["project"]["id"])
    add_team(db, "Other", leads=["admin"], customers=[c2["id"]], projects=[p2["id"]], activities=[a2["id"]])
    add_team(db, "Mine", leads=["teamlead"], members=["user"])
    places = {
        "open": (world["project"]["id"], world["activity"]["id"]),
        "customer": (p_c2["id"], a_c2["id"]),
        "project": (p2["id"], a_p2["id"]),
        "activity": (world["project"]["id"], a2["id"]),
    }
    records: dict[tuple[int, str], int] = {}
    for user in (SUPER, ADMIN, LEAD, USER):
        for place, (project, activity) in places.items():
            (records[user, place],) = add_rows(
                db, world, {"user": user, "project": project, "activity": activity}
            )
    return {"records": records, "c2": c2["id"], "p2": p2["id"], "a2": a2["id"]}


def test_team_restricted_records_are_hidden(api: Api, db: Database, restricted_world: dict[str, Any]) -> None:
    records = restricted_world["records"]
    places = ("open", "customer", "project", "activity")

    def expect(users: tuple[int, ...], visible: tuple[str, ...]) -> list[int]:
        return sorted(records[u, p] for u in users for p in visible)

    # the team lead: own and led members' records, only where no other team's entity is involved
    assert sorted(ids(api, "user=all", as_="teamlead")) == expect((LEAD, USER), ("open",))
    assert sorted(ids(api, f"user={USER}", as_="teamlead")) == expect((USER,), ("open",))
    # a plain user does not see even their own records on entities of other teams
    assert sorted(ids(api, "", as_="user")) == expect((USER,), ("open",))
    # admins see everything, team or not
    assert sorted(ids(api, "user=all", as_="admin")) == expect((SUPER, ADMIN, LEAD, USER), places)
    assert sorted(ids(api, "user=all")) == expect((SUPER, ADMIN, LEAD, USER), places)
    # joining the team opens each kind of restriction
    with db.session(write=True) as session:
        joined = session.query(models.Team).filter_by(name="Other").one()
        session.add_all(models.TeamMember(team_id=joined.id, user_id=u, teamlead=False) for u in (LEAD, USER))
    assert sorted(ids(api, "user=all", as_="teamlead")) == expect((LEAD, USER), places)
    assert sorted(ids(api, "", as_="user")) == expect((USER,), places)


@pytest.mark.parametrize("kind", ["customers", "projects", "activities"])
def test_each_kind_of_team_restriction_alone(
    api: Api, db: Database, world: dict[str, Any], kind: str
) -> None:
    """Only one kind restricted (the filter for a kind runs only when some entity of it has teams)."""
    entity = {"customers": world["customer"], "projects": world["project"], "activities": world["activity"]}[
        kind
    ]
    other = make_customer(api, "Open Corp")
    open_project = make_project(api, "Open", other["id"])
    restricted, open_ = add_rows(
        db,
        world,
        {"user": USER},
        {"user": USER, "project": open_project["id"], "activity": world["global"]["id"]},
    )
    team = add_team(db, "Other", **{kind: [entity["id"]]})
    assert ids(api, as_="user") == [open_]
    assert sorted(ids(api, f"user={USER}", as_="admin")) == sorted([restricted, open_])
    with db.session(write=True) as session:
        session.add(models.TeamMember(team_id=team, user_id=USER, teamlead=False))
    assert sorted(ids(api, as_="user")) == sorted([restricted, open_])


# --- rate keys, modifiedAt ------------------------------------------------------------------------------


@pytest.mark.parametrize("full", ["0", "1"])
def test_rate_keys_per_record(api: Api, db: Database, world: dict[str, Any], full: str) -> None:
    add_user(db, 5)  # a second member of the team lead's team
    add_team(db, "Mine", leads=["teamlead"], members=["user"])
    with db.session(write=True) as session:
        team = session.query(models.Team).filter_by(name="Mine").one()
        session.add(models.TeamMember(team_id=team.id, user_id=5, teamlead=False))
    records = add_rows(
        db,
        world,
        *({"user": u, "rate": 12.5, "internal_rate": 10.0} for u in (SUPER, ADMIN, LEAD, USER, 5)),
    )
    owners = dict(zip((SUPER, ADMIN, LEAD, USER, 5), records, strict=True))

    def keys(caller: str) -> dict[int, set[str]]:
        rows = listed(api, f"user=all&full={full}", as_=caller)
        for row in rows:
            assert row["modifiedAt"].endswith("+0000")
            if set(row) >= RATE_KEYS:
                assert (row["rate"], row["internalRate"]) == (12.5, 10.0)
        return {row["id"]: set(row) - COLLECTION_KEYS for row in rows}

    with_rates, without = RATE_KEYS, set()
    assert keys("user") == {owners[USER]: without}
    assert keys("teamlead") == {owners[LEAD]: with_rates, owners[USER]: with_rates, owners[5]: with_rates}
    assert keys("admin") == {record: with_rates for record in records}
    assert keys("super") == {record: with_rates for record in records}


def test_rates_of_a_user_without_team_for_team_lead(api: Api, db: Database, world: dict[str, Any]) -> None:
    """The timesheet voter lets a team lead see the rates of users in no team."""
    (record,) = add_rows(db, world, {"user": USER, "rate": 7.0})
    (row,) = listed(api, f"user={USER}", as_="teamlead")
    assert (row["id"], row["rate"], row["internalRate"]) == (record, 7.0, None)


# --- statements per request ---------------------------------------------------------------------------


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    executed: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def spread(db: Database, start: int, count: int, team: int) -> None:
    """``count`` groups, each with its own user (in ``team``), customer, project, activity (all with
    a custom field and given to ``team``), a global activity, tag and two records."""
    with db.session(write=True) as session:
        for n in range(start, start + count):
            user_id = 100 + n
            session.add(
                models.User(
                    id=user_id,
                    username=f"u{n}",
                    email=f"u{n}@example.com",
                    password="x",
                    timezone="UTC",
                    roles=[],
                )
            )
            customer = models.Customer(name=f"C{n}", timezone="UTC")
            session.add(customer)
            session.flush()
            project = models.Project(name=f"P{n}", customer_id=customer.id)
            session.add(project)
            session.flush()
            activity = models.Activity(name=f"A{n}", project_id=project.id)
            global_activity = models.Activity(name=f"G{n}")
            tag = Tag(name=f"T{n}")
            session.add_all([activity, global_activity, tag])
            session.flush()
            session.add_all(
                [
                    models.TeamMember(team_id=team, user_id=user_id, teamlead=False),
                    models.TeamCustomer(team_id=team, customer_id=customer.id),
                    models.TeamProject(team_id=team, project_id=project.id),
                    models.TeamActivity(team_id=team, activity_id=activity.id),
                    models.CustomerMeta(entity_id=customer.id, name="crm_id", value=str(n)),
                    models.ProjectMeta(entity_id=project.id, name="crm_id", value=str(n)),
                    models.ActivityMeta(entity_id=activity.id, name="crm_id", value=str(n)),
                ]
            )
            for activity_id in (activity.id, global_activity.id):
                timesheet = Timesheet(
                    user_id=user_id,
                    project_id=project.id,
                    activity_id=activity_id,
                    begin=BASE + n * HOUR,
                    end=BASE + (n + 1) * HOUR,
                    timezone="UTC",
                )
                session.add(timesheet)
                session.flush()
                session.add(TimesheetTag(timesheet_id=timesheet.id, tag_id=tag.id))
                session.add(TimesheetMeta(entity_id=timesheet.id, name="ticket", value=str(n)))


@pytest.mark.parametrize("caller", ["super", "teamlead"])
@pytest.mark.parametrize("full", ["0", "1"])
def test_statements_do_not_grow_with_rows(api: Api, db: Database, caller: str, full: str) -> None:
    team = add_team(db, "Everyone", leads=["teamlead"])
    url = f"{URL}?user=all&full={full}"
    api.get(url, as_=caller)  # the token's first use of the minute is recorded once
    spread(db, 0, 2, team)
    with statements(db) as few:
        assert len(api.get(url, as_=caller).json()) == 4
    spread(db, 2, 20, team)
    with statements(db) as many:
        assert len(api.get(url, as_=caller).json()) == 44
    assert len(many) == len(few), "\n".join(many)
    # measured on SQLite (PostgreSQL: 2 fewer, no BEGIN): 7 for full=0, 16 for full=1 (the nested
    # users, projects, activities and their custom fields); a team lead's team rules add 6
    assert len(few) <= {"0": 7, "1": 16}[full] + (6 if caller == "teamlead" else 0), "\n".join(few)
