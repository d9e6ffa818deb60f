"""Activities (``/api/activities``) over HTTP: list filters, views, forms and sub-resources."""

from __future__ import annotations

from typing import Any

import pytest

from punchclock.db import Database
from tests.conftest import (
    BAD_REQUEST,
    EXTRA_FIELDS,
    FORBIDDEN,
    GONE,
    INVALID_CHOICE,
    NOT_FOUND,
    Api,
    add_team,
)
from tests.test_projects import (
    BUDGET_KEYS,
    hide,
    make_activity,
    make_customer,
    make_project,
    names,
    validation_failed,
)

ACTIVITY_KEYS = {
    "id",
    "name",
    "project",
    "parentTitle",
    "number",
    "comment",
    "visible",
    "billable",
    "metaFields",
    "teams",
    "color",
    "color-safe",
    "modifiedAt",  # extension
}
ACTIVITY_FORM = (
    "name",
    "number",
    "comment",
    "invoiceText",
    "project",
    "teams",
    "color",
    "budget",
    "timeBudget",
    "budgetType",
    "visible",
    "billable",
)
PATCH_FORM = tuple(f for f in ACTIVITY_FORM if f != "teams")
GLOBAL_PATCH_FORM = tuple(f for f in PATCH_FORM if f != "project")


def list_activities(api: Api, query: str = "", *, as_: str = "super") -> list[str]:
    return names(api.get(f"/api/activities?{query}", as_=as_))


@pytest.fixture
def customer(api: Api) -> int:
    return make_customer(api, "Acme")["id"]


# --- list: filters ------------------------------------------------------------------------------------


def test_list_requires_credentials(api: Api) -> None:
    response = api.get("/api/activities", as_=None)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_list_without_filters(api: Api, customer: int) -> None:
    """No date filter as for projects: every visible activity, project ones and global ones."""
    project = make_project(api, "Old project", customer, start="2001-01-01", end="2001-12-31")["id"]
    make_activity(api, "on project", project)
    make_activity(api, "global")
    assert list_activities(api) == ["global", "on project"]


def test_project_filters(api: Api, customer: int) -> None:
    """A project filter gives that project's activities plus global ones, except for exactly one
    project that forbids global activities."""
    open_ = make_project(api, "Open", customer)["id"]
    closed = make_project(api, "Closed", customer, globalActivities=False)["id"]
    other = make_project(api, "Other", customer)["id"]
    make_activity(api, "open work", open_)
    make_activity(api, "closed work", closed)
    make_activity(api, "other work", other)
    make_activity(api, "global work")

    cases = {
        f"project={open_}": ["global work", "open work"],
        f"projects[]={open_}": ["global work", "open work"],
        f"project={closed}": ["closed work"],
        f"projects[]={closed}&projects[]={closed}": ["closed work"],
        f"projects[]={closed}&project={open_}": ["closed work", "global work", "open work"],
        f"projects[]={closed}&projects[]={other}": ["closed work", "global work", "other work"],
        # Unknown ids are ignored: alone they filter nothing, next to a known one they do not count.
        "project=9999": ["closed work", "global work", "open work", "other work"],
        "projects[]=99999999999": ["closed work", "global work", "open work", "other work"],
        f"projects[]={closed}&projects[]=9999": ["closed work"],
    }
    for query, expected in cases.items():
        assert list_activities(api, query) == expected, query


def test_project_filter_needs_team_access(api: Api, db: Database, customer: int) -> None:
    theirs = make_customer(api, "Theirs")["id"]
    mine = make_project(api, "Mine", customer)["id"]
    locked = make_project(api, "Locked", customer)["id"]
    of_customer = make_project(api, "Of their customer", theirs)["id"]
    make_activity(api, "mine work", mine)
    make_activity(api, "locked work", locked)
    add_team(db, "Ours", members=["user"], projects=[mine])
    add_team(db, "Others", leads=["teamlead"], projects=[locked], customers=[theirs])

    assert list_activities(api, f"project={mine}", as_="user") == ["mine work"]
    for query in (f"project={locked}", f"projects[]={mine}&projects[]={of_customer}"):
        response = api.get(f"/api/activities?{query}", as_="user")
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list_activities(api, f"project={locked}", as_="teamlead") == ["locked work"]
    assert list_activities(api, f"project={locked}", as_="admin") == ["locked work"]


@pytest.mark.parametrize(
    "query",
    [
        "project=abc",
        "projects[]=1&projects[]=two",
        "visible=0",
        "globals=yes",
        "orderBy=customer",
        "order=desc",
    ],
)
def test_list_rejects_bad_parameters(api: Api, query: str) -> None:
    response = api.get(f"/api/activities?{query}")
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_visible_and_globals(api: Api, customer: int) -> None:
    """Visible and hidden activities on a visible project, a hidden project, a hidden customer's
    project, and globally."""
    hidden_customer = make_customer(api, "Hidden customer")["id"]
    shown = make_project(api, "Shown", customer)["id"]
    hidden = make_project(api, "Hidden", customer)["id"]
    orphaned = make_project(api, "Orphaned", hidden_customer)["id"]
    make_activity(api, "a1 visible/shown", shown)
    make_activity(api, "a2 hidden/shown", shown, visible=False)
    make_activity(api, "a3 visible/hidden project", hidden)
    make_activity(api, "a4 hidden/hidden project", hidden, visible=False)
    make_activity(api, "a5 visible/hidden customer", orphaned)
    make_activity(api, "g1 visible global")
    make_activity(api, "g2 hidden global", visible=False)
    hide(api, "projects", hidden)
    hide(api, "customers", hidden_customer)

    all_seven = [
        "a1 visible/shown",
        "a2 hidden/shown",
        "a3 visible/hidden project",
        "a4 hidden/hidden project",
        "a5 visible/hidden customer",
        "g1 visible global",
        "g2 hidden global",
    ]
    cases = {
        "": ["a1 visible/shown", "g1 visible global"],
        "visible=1": ["a1 visible/shown", "g1 visible global"],
        # Hidden activities of visible projects of visible customers, and hidden global ones.
        "visible=2": ["a2 hidden/shown", "g2 hidden global"],
        "visible=3": all_seven,
        "globals=1": ["g1 visible global"],
        "globals=true": ["g1 visible global"],
        "globals=1&visible=2": ["g2 hidden global"],
        "globals=true&visible=3": ["g1 visible global", "g2 hidden global"],
        "globals=0": ["a1 visible/shown", "g1 visible global"],
        "globals=false&visible=3": all_seven,
    }
    for query, expected in cases.items():
        assert list_activities(api, query) == expected, query


def test_globals_only_ignores_the_project_filter(api: Api, customer: int) -> None:
    project = make_project(api, "P1", customer)["id"]
    make_activity(api, "project work", project)
    make_activity(api, "global work")
    assert list_activities(api, f"globals=1&project={project}") == ["global work"]


def test_order(api: Api, customer: int) -> None:
    zulu = make_project(api, "Zulu", customer)["id"]
    mike = make_project(api, "Mike", customer)["id"]
    make_activity(api, "charlie", zulu)
    make_activity(api, "alpha", mike)
    make_activity(api, "bravo")
    cases = {
        "": ["alpha", "bravo", "charlie"],
        "order=DESC": ["charlie", "bravo", "alpha"],
        "orderBy=name&order=ASC": ["alpha", "bravo", "charlie"],
        "orderBy=id": ["charlie", "alpha", "bravo"],
        "orderBy=id&order=DESC": ["bravo", "alpha", "charlie"],
        # By project name; a global activity (no project) sorts first, as NULL does in Kimai's MySQL.
        "orderBy=project": ["bravo", "alpha", "charlie"],
        "orderBy=project&order=DESC": ["charlie", "alpha", "bravo"],
    }
    for query, expected in cases.items():
        assert list_activities(api, query) == expected, query


def test_term_search(api: Api, customer: int) -> None:
    project = make_project(api, "Findme project", customer, comment="needle")["id"]
    design = make_activity(api, "Design", project, comment="pixel work")
    make_activity(api, "Development", number="DEV-1")
    make_activity(api, "Design review")
    meta = {"name": "crm_id", "value": "K-42"}
    assert api.patch(f"/api/activities/{design['id']}/meta", json=meta).status_code == 200

    cases = {
        "Design": ["Design", "Design review"],
        "design": ["Design", "Design review"],
        "pixel": ["Design"],
        "DEV-1": ["Development"],
        "De !review": ["Design", "Development"],
        "Design review": ["Design review"],
        # Project fields and meta values are not searched by plain words.
        "Findme": [],
        "needle": [],
        "K-42": [],
        "crm_id:K-4": ["Design"],
        "crm_id:*": ["Design"],
    }
    for term, expected in cases.items():
        assert list_activities(api, f"term={term}") == expected, term


def test_list_team_filter(api: Api, db: Database, customer: int) -> None:
    """Without ``view_all_data``: the activity's, its project's and its customer's teams must each be
    empty or shared. With ``globals=1`` only the (global) activity's teams are checked."""
    their_customer = make_customer(api, "Theirs")["id"]
    open_ = make_project(api, "Open", customer)["id"]
    locked = make_project(api, "Locked", customer)["id"]
    foreign = make_project(api, "Foreign", their_customer)["id"]
    make_activity(api, "free", open_)
    ours = make_activity(api, "ours", open_)["id"]
    theirs = make_activity(api, "theirs", open_)["id"]
    make_activity(api, "on locked project", locked)
    make_activity(api, "on their customer", foreign)
    make_activity(api, "global free")
    global_ours = make_activity(api, "global ours")["id"]
    global_theirs = make_activity(api, "global theirs")["id"]
    add_team(db, "Our team", leads=["teamlead"], members=["user"], activities=[ours, global_ours])
    add_team(
        db,
        "Their team",
        leads=["admin"],
        activities=[theirs, global_theirs],
        projects=[locked],
        customers=[their_customer],
    )

    member_view = ["free", "global free", "global ours", "ours"]
    assert list_activities(api, as_="user") == member_view
    assert list_activities(api, as_="teamlead") == member_view
    assert list_activities(api, "globals=1", as_="user") == ["global free", "global ours"]
    everything = [
        "free",
        "global free",
        "global ours",
        "global theirs",
        "on locked project",
        "on their customer",
        "ours",
        "theirs",
    ]
    assert list_activities(api, as_="admin") == everything


# --- views ---------------------------------------------------------------------------------------------


def test_list_view_fields_per_role(api: Api, db: Database, customer: int) -> None:
    """Budgets per record: a teamlead sees them where a led team is on the activity, its project or
    its customer; ROLE_USER has no activity budget permission at all."""
    led_customer = make_customer(api, "Led customer")["id"]
    p1 = make_project(api, "P1", customer)["id"]
    p2 = make_project(api, "P2", customer)["id"]
    p3 = make_project(api, "P3", led_customer)["id"]
    a1 = make_activity(api, "a1 team on activity", p1, budget=10, timeBudget="1:30", budgetType="month")
    make_activity(api, "a2 team on project", p2)
    make_activity(api, "a3 team on customer", p3)
    make_activity(api, "a4 no team")
    links = {"activities": [a1["id"]], "projects": [p2], "customers": [led_customer]}
    add_team(db, "Team", leads=["teamlead"], members=["user"], **links)

    # role -> budget keys on the three activities with the team, and on the one without teams
    cases = {
        "super": (BUDGET_KEYS, BUDGET_KEYS),
        "admin": (BUDGET_KEYS, BUDGET_KEYS),
        "teamlead": (BUDGET_KEYS, set()),
        "user": (set(), set()),
    }
    for role, (led, unlinked) in cases.items():
        rows = api.get("/api/activities", as_=role).json()
        assert [row["name"] for row in rows] == [
            "a1 team on activity",
            "a2 team on project",
            "a3 team on customer",
            "a4 no team",
        ]
        assert [set(row) for row in rows] == [*[ACTIVITY_KEYS | led] * 3, ACTIVITY_KEYS | unlinked], role
        if led:
            assert (rows[0]["budget"], rows[0]["timeBudget"], rows[0]["budgetType"]) == (10.0, 5400, "month")


def test_global_activity_view(api: Api) -> None:
    created = make_activity(api, "Test")
    assert created == {
        "id": created["id"],
        "name": "Test",
        "project": None,
        "parentTitle": None,
        "number": "0002",
        "comment": None,
        "visible": True,
        "billable": True,
        "metaFields": [],
        "teams": [],
        "budget": 0.0,
        "timeBudget": 0,
        "budgetType": None,
        "color": None,
        "color-safe": "#5319e7",
        "modifiedAt": created["modifiedAt"],
    }
    assert api.get(f"/api/activities/{created['id']}").json() == created
    assert api.get("/api/activities").json() == [created]
    assert make_activity(api, "Second")["number"] == "0003"


def test_project_activity_view(api: Api, db: Database, customer: int) -> None:
    project = make_project(api, "Website", customer)["id"]
    team = add_team(db, "Test team")
    response = api.post(
        "/api/activities",
        json={
            "name": "Design",
            "project": project,
            "number": "A-1",
            "comment": "pixels",
            "invoiceText": "not shown",
            "teams": [team],
            "color": "#E6E6FA",
            "budget": "1000,5",
            "timeBudget": "2h",
            "budgetType": "month",
            "visible": True,
            "billable": False,
        },
    )
    assert response.status_code == 200, response.text
    activity = response.json()
    assert activity == {
        "id": activity["id"],
        "name": "Design",
        "project": project,
        "parentTitle": "Website",
        "number": "A-1",
        "comment": "pixels",
        "visible": True,
        "billable": False,
        "metaFields": [],
        "teams": [
            {
                "id": team,
                "name": "Test team",
                "color": None,
                "color-safe": "#03A9F4",
                "modifiedAt": activity["teams"][0]["modifiedAt"],
            }
        ],
        "budget": 1000.5,
        "timeBudget": 7200,
        "budgetType": "month",
        "color": "#E6E6FA",
        "color-safe": "#E6E6FA",
        "modifiedAt": activity["modifiedAt"],
    }
    assert api.get(f"/api/activities/{activity['id']}").json() == activity
    assert api.get(f"/api/activities?project={project}").json() == [activity]


def test_get_one_permissions(api: Api, db: Database, customer: int) -> None:
    """404 before 403. A teamlead may view activities where a led team is on the activity, its project
    or its customer; membership without lead is not enough; ROLE_USER never."""
    led_customer = make_customer(api, "Led")["id"]
    plain = make_project(api, "Plain", customer)["id"]
    led_project = make_project(api, "Led project", customer)["id"]
    of_led_customer = make_project(api, "Of led customer", led_customer)["id"]
    on_activity = make_activity(api, "led activity", plain)["id"]
    on_project = make_activity(api, "led project", led_project)["id"]
    on_customer = make_activity(api, "led customer", of_led_customer)["id"]
    member_only = make_activity(api, "member only", plain)["id"]
    unrelated = make_activity(api, "unrelated")["id"]
    add_team(
        db,
        "Leads",
        leads=["teamlead"],
        activities=[on_activity],
        projects=[led_project],
        customers=[led_customer],
    )
    add_team(db, "Members", leads=["admin"], members=["teamlead", "user"], activities=[member_only])

    for role in ("user", "teamlead"):
        response = api.get("/api/activities/9999", as_=role)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    for activity in (on_activity, on_project, on_customer, member_only, unrelated):
        response = api.get(f"/api/activities/{activity}", as_="user")
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
        assert api.get(f"/api/activities/{activity}", as_="admin").status_code == 200
    for activity in (on_activity, on_project, on_customer):
        response = api.get(f"/api/activities/{activity}", as_="teamlead")
        assert response.status_code == 200
        assert set(response.json()) == ACTIVITY_KEYS | BUDGET_KEYS
    for activity in (member_only, unrelated):
        assert api.get(f"/api/activities/{activity}", as_="teamlead").status_code == 403
    for path in ("/api/activities/abc", "/api/activities/99999999999"):
        assert api.get(path).json() == NOT_FOUND


# --- create ----------------------------------------------------------------------------------------------


def test_create_is_forbidden_for_users(api: Api, customer: int) -> None:
    for body in ({"name": "Mine"}, {"bogus": True}):
        response = api.post("/api/activities", json=body, as_="user")
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list_activities(api, "visible=3") == []


def test_teamlead_creates_activities(api: Api, db: Database, customer: int) -> None:
    """``create_activity`` is a teamlead permission. Teams: only those they lead. Budgets: none on
    a new activity (there is no led team yet)."""
    project = make_project(api, "Shared", customer)["id"]
    led = add_team(db, "Led", leads=["teamlead"])
    joined = add_team(db, "Joined", leads=["admin"], members=["teamlead"])
    created = make_activity(api, "Global by TL", as_="teamlead")
    assert (created["project"], created["number"]) == (None, "0002")
    assert set(created) == ACTIVITY_KEYS
    created = make_activity(api, "Project work by TL", project, as_="teamlead", teams=[led])
    assert (created["project"], created["parentTitle"]) == (project, "Shared")
    # Now a led team is on it: the budgets show.
    assert set(created) == ACTIVITY_KEYS | BUDGET_KEYS

    tl_form = tuple(f for f in ACTIVITY_FORM if f not in BUDGET_KEYS)
    response = api.post("/api/activities", json={"name": "Joined", "teams": [joined]}, as_="teamlead")
    assert response.status_code == 400
    assert response.json() == validation_failed(tl_form, {"teams": [INVALID_CHOICE]})
    response = api.post("/api/activities", json={"name": "Budget", "budget": 10}, as_="teamlead")
    assert response.status_code == 400
    assert response.json() == validation_failed(tl_form, {}, [EXTRA_FIELDS])


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"project": 9999}, {"project": [INVALID_CHOICE]}),
        ({"project": 99999999999}, {"project": [INVALID_CHOICE]}),
        ({"project": "web"}, {"project": [INVALID_CHOICE]}),
        ({"project": "{hidden}"}, {"project": [INVALID_CHOICE]}),
        ({"project": "{hidden customer}"}, {"project": [INVALID_CHOICE]}),
        ({"name": ""}, {"name": ["This value should not be blank."]}),
        ({"name": "x"}, {"name": ["This value is too short. It should have 2 characters or more."]}),
        (
            {"number": "12345678901"},
            {"number": ["This value is too long. It should have 10 characters or less."]},
        ),
        ({"teams": [9999]}, {"teams": [INVALID_CHOICE]}),
        ({"color": "#123456"}, {"color": [INVALID_CHOICE]}),
        ({"budget": "-1"}, {"budget": ["This value should be between 0 and 900000000000."]}),
        ({"budgetType": "year"}, {"budgetType": [INVALID_CHOICE]}),
    ],
)
def test_create_validation(
    api: Api, customer: int, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    hidden_customer = make_customer(api, "Hidden customer")["id"]
    refs = {
        "{hidden}": make_project(api, "Hidden", customer, visible=False)["id"],
        "{hidden customer}": make_project(api, "Orphan", hidden_customer)["id"],
    }
    hide(api, "customers", hidden_customer)
    body = {
        "name": "New activity",
        **{k: refs.get(v, v) if isinstance(v, str) else v for k, v in body.items()},
    }
    response = api.post("/api/activities", json=body)
    assert response.status_code == 400
    assert response.json() == validation_failed(ACTIVITY_FORM, errors)
    assert list_activities(api, "visible=3") == []


def test_create_project_choice_is_team_filtered(api: Api, db: Database, customer: int) -> None:
    locked = make_project(api, "Locked", customer)["id"]
    add_team(db, "Others", leads=["admin"], projects=[locked])
    tl_form = tuple(f for f in ACTIVITY_FORM if f not in BUDGET_KEYS)
    response = api.post("/api/activities", json={"name": "Sneaky", "project": locked}, as_="teamlead")
    assert response.status_code == 400
    assert response.json() == validation_failed(tl_form, {"project": [INVALID_CHOICE]})
    assert make_activity(api, "Admin may", locked, as_="admin")["project"] == locked


def test_create_rejects_a_taken_number_and_extra_fields(api: Api) -> None:
    make_activity(api, "First", number="A-1")
    response = api.post("/api/activities", json={"name": "Second", "number": "A-1"})
    assert response.json() == validation_failed(
        ACTIVITY_FORM, {"number": ["The number A-1 is already used."]}
    )
    response = api.post("/api/activities", json={"name": "Second", "customer": 1})
    assert response.status_code == 400
    assert response.json() == validation_failed(ACTIVITY_FORM, {}, [EXTRA_FIELDS])


# --- update ----------------------------------------------------------------------------------------------


def test_patch_project_only_on_project_activities(api: Api, customer: int) -> None:
    """A global activity stays global (``project`` is an extra field); a project activity may move
    to another project, or become global."""
    first = make_project(api, "First", customer)["id"]
    second = make_project(api, "Second", customer)["id"]
    global_ = make_activity(api, "Global")
    response = api.patch(f"/api/activities/{global_['id']}", json={"project": first})
    assert response.status_code == 400
    assert response.json() == validation_failed(GLOBAL_PATCH_FORM, {}, [EXTRA_FIELDS])
    assert api.get(f"/api/activities/{global_['id']}").json() == global_

    moving = make_activity(api, "Moving", first, comment="keep")
    url = f"/api/activities/{moving['id']}"
    response = api.patch(url, json={"project": second, "name": "Moved"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        **moving,
        "project": second,
        "parentTitle": "Second",
        "name": "Moved",
        "color-safe": response.json()["color-safe"],
        "modifiedAt": response.json()["modifiedAt"],
    }
    response = api.patch(url, json={"project": 9999})
    assert response.json() == validation_failed(PATCH_FORM, {"project": [INVALID_CHOICE]})
    response = api.patch(url, json={"project": None})
    assert response.status_code == 200
    assert (response.json()["project"], response.json()["parentTitle"]) == (None, None)
    assert response.json()["comment"] == "keep"


def test_patch_keeps_a_hidden_project(api: Api, customer: int) -> None:
    project = make_project(api, "Fading", customer)["id"]
    other_hidden = make_project(api, "Hidden", customer, visible=False)["id"]
    activity = make_activity(api, "Work", project)["id"]
    hide(api, "projects", project)
    response = api.patch(f"/api/activities/{activity}", json={"project": project, "name": "Still here"})
    assert response.status_code == 200, response.text
    response = api.patch(f"/api/activities/{activity}", json={"project": other_hidden})
    assert response.json() == validation_failed(PATCH_FORM, {"project": [INVALID_CHOICE]})


def test_patch_rejects_teams(api: Api, db: Database) -> None:
    activity = make_activity(api, "Work")["id"]
    team = add_team(db, "Team")
    response = api.patch(f"/api/activities/{activity}", json={"teams": [team]})
    assert response.status_code == 400
    assert response.json() == validation_failed(GLOBAL_PATCH_FORM, {}, [EXTRA_FIELDS])


@pytest.mark.parametrize("link", ["activity", "project", "customer"])
def test_teamlead_edits_activities_of_led_teams(api: Api, db: Database, customer: int, link: str) -> None:
    """``edit``, ``budget`` and ``time`` come through a led team on the activity, its project or its
    customer, so the budget fields are part of the teamlead's form there."""
    project = make_project(api, "P1", customer)["id"]
    activity = make_activity(api, "Work", project)["id"]
    links = {"activity": {"activities": [activity]}, "project": {"projects": [project]}}
    add_team(db, "Led", leads=["teamlead"], **links.get(link, {"customers": [customer]}))
    body = {"name": "Edited", "budget": 50, "timeBudget": "1", "budgetType": "month"}
    response = api.patch(f"/api/activities/{activity}", json=body, as_="teamlead")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["name"], view["budget"], view["timeBudget"], view["budgetType"]) == (
        "Edited",
        50.0,
        3600,
        "month",
    )


def test_patch_permissions(api: Api, db: Database, customer: int) -> None:
    project = make_project(api, "P1", customer)["id"]
    activity = make_activity(api, "Work", project)["id"]
    add_team(db, "Members", leads=["admin"], members=["teamlead", "user"], activities=[activity])
    for role in ("user", "teamlead"):
        response = api.patch("/api/activities/9999", json={"bogus": 1}, as_=role)
        assert response.status_code == 404
        response = api.patch(f"/api/activities/{activity}", json={"bogus": 1}, as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    response = api.patch(f"/api/activities/{activity}", json={"visible": False}, as_="admin")
    assert response.status_code == 200
    assert response.json()["visible"] is False


# --- delete ----------------------------------------------------------------------------------------------


def test_delete(api: Api, db: Database, customer: int) -> None:
    project = make_project(api, "P1", customer)["id"]
    activity = make_activity(api, "Doomed", project)["id"]
    make_activity(api, "Kept", project)
    add_team(db, "Led", leads=["teamlead"], activities=[activity])
    for role in ("user", "teamlead"):
        assert api.delete("/api/activities/9999", as_=role).json() == NOT_FOUND
        response = api.delete(f"/api/activities/{activity}", as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    response = api.delete(f"/api/activities/{activity}", as_="admin")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/activities/{activity}").status_code == 404
    assert list_activities(api) == ["Kept"]
    assert api.get(f"/api/projects/{project}").status_code == 200


# --- sub-resources ------------------------------------------------------------------------------------


def test_meta(api: Api, db: Database) -> None:
    activity = make_activity(api, "Work")
    url = f"/api/activities/{activity['id']}/meta"
    response = api.patch(url, json={"name": "crm_id", "value": "A-1"})
    assert response.status_code == 200
    changed = {
        "metaFields": [{"name": "crm_id", "value": "A-1"}],
        "modifiedAt": response.json()["modifiedAt"],
    }
    assert response.json() == {**activity, **changed}
    assert api.patch(url, json={"name": "nope", "value": "1"}).json() == NOT_FOUND
    assert api.patch(url, json={"value": "1"}).json() == BAD_REQUEST
    assert api.patch(url, json={"name": "crm_id", "value": "U"}, as_="user").json() == FORBIDDEN
    add_team(db, "Led", leads=["teamlead"], activities=[activity["id"]])
    response = api.patch(url, json={"name": "crm_id", "value": "TL"}, as_="teamlead")
    assert response.status_code == 200
    assert response.json()["metaFields"] == [{"name": "crm_id", "value": "TL"}]


def test_rates(api: Api, db: Database) -> None:
    """Rates need ``edit``: a teamlead of a team on the activity may manage them."""
    activity = make_activity(api, "Work")["id"]
    url = f"/api/activities/{activity}/rates"
    for role in ("user", "teamlead"):
        assert api.get(url, as_=role).json() == FORBIDDEN
    add_team(db, "Led", leads=["teamlead"], members=["user"], activities=[activity])
    assert api.get(url, as_="user").json() == FORBIDDEN
    response = api.post(url, json={"rate": 20, "isFixed": True}, as_="teamlead")
    assert response.status_code == 200
    rate = response.json()
    assert rate == {"id": rate["id"], "user": None, "rate": 20.0, "internalRate": None, "isFixed": True}
    assert api.get(url, as_="teamlead").json() == [rate]
    assert api.delete(f"{url}/{rate['id']}", as_="user").json() == FORBIDDEN
    assert api.delete(f"{url}/{rate['id']}", as_="teamlead").status_code == 204
    assert api.get(url).json() == []
    assert api.get("/api/activities/9999/rates").json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", "comments"), ("POST", "comments"), ("PATCH", "comments/1/pin"), ("DELETE", "comments/1")],
)
def test_activities_have_no_comments(api: Api, method: str, suffix: str) -> None:
    activity = make_activity(api, "Work")["id"]
    response = api.request(method, f"/api/activities/{activity}/{suffix}", json={"message": "hi"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_removed_team_route(api: Api) -> None:
    activity = make_activity(api, "Work")["id"]
    for path in (f"/api/activities/{activity}/team", "/api/activities/9999/team"):
        response = api.post(path, as_="user")
        assert response.status_code == 410
        assert response.json() == GONE
