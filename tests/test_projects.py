"""Projects (``/api/projects``) over HTTP: list filters, views, forms, duplicate and sub-resources.

The helpers at the top are shared with ``test_activities.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from punchclock.app import create_app
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.teams.models import TeamProject
from tests.conftest import (
    BAD_REQUEST,
    EXTRA_FIELDS,
    FORBIDDEN,
    GONE,
    INVALID_CHOICE,
    NOT_FOUND,
    PEOPLE,
    Api,
    add_team,
)

INVALID_DATE = "Please enter a valid date."

BUDGET_KEYS = {"budget", "timeBudget", "budgetType"}
PROJECT_KEYS = {
    "id",
    "name",
    "customer",
    "parentTitle",
    "number",
    "orderNumber",
    "orderDate",
    "start",
    "end",
    "comment",
    "visible",
    "billable",
    "globalActivities",
    "lockedUntil",
    "metaFields",
    "teams",
    "color",
    "color-safe",
    "modifiedAt",  # extension
}
PROJECT_FORM = (
    "name",
    "customer",
    "number",
    "comment",
    "invoiceText",
    "orderNumber",
    "orderDate",
    "start",
    "end",
    "globalActivities",
    "teams",
    "color",
    "budget",
    "timeBudget",
    "budgetType",
    "visible",
    "billable",
)
PROJECT_PATCH_FORM = tuple(f for f in PROJECT_FORM if f != "teams")


# --- helpers (also used by test_activities.py) ------------------------------------------------------


def validation_failed(
    fields: Iterable[str], errors: dict[str, list[str]], global_errors: list[str] | None = None
) -> dict[str, Any]:
    """Kimai's form envelope: one child per form field, ``{}`` for fields without errors."""
    envelope: dict[str, Any] = {}
    if global_errors:
        envelope["errors"] = global_errors
    envelope["children"] = {name: ({"errors": errors[name]} if name in errors else {}) for name in fields}
    return {"code": 400, "message": "Validation Failed", "errors": envelope}


def make_customer(api: Api, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    response = api.post("/api/customers", json={"name": name, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def make_project(api: Api, name: str, customer: int, *, as_: str = "super", **fields: Any) -> dict[str, Any]:
    response = api.post("/api/projects", json={"name": name, "customer": customer, **fields}, as_=as_)
    assert response.status_code == 200, response.text
    return dict(response.json())


def make_activity(
    api: Api, name: str, project: int | None = None, *, as_: str = "super", **fields: Any
) -> dict[str, Any]:
    response = api.post("/api/activities", json={"name": name, "project": project, **fields}, as_=as_)
    assert response.status_code == 200, response.text
    return dict(response.json())


def hide(api: Api, kind: str, entity_id: int) -> None:
    response = api.patch(f"/api/{kind}/{entity_id}", json={"visible": False})
    assert response.status_code == 200, response.text


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def list_projects(api: Api, query: str = "ignoreDates=1", *, as_: str = "super") -> list[str]:
    return names(api.get(f"/api/projects?{query}", as_=as_))


# --- list: filters ------------------------------------------------------------------------------------


def test_list_requires_credentials(api: Api) -> None:
    response = api.get("/api/projects", as_=None)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_list_is_empty_without_projects(api: Api) -> None:
    response = api.get("/api/projects")
    assert response.status_code == 200
    assert response.json() == []


def test_visible_filter(api: Api) -> None:
    """2 = hidden projects of visible customers; projects of a hidden customer only with 3."""
    shown = make_customer(api, "Shown")["id"]
    gone = make_customer(api, "Gone")["id"]
    make_project(api, "p1 visible", shown)
    make_project(api, "p2 hidden", shown, visible=False)
    make_project(api, "p3 visible, hidden customer", gone)
    make_project(api, "p4 hidden, hidden customer", gone, visible=False)
    hide(api, "customers", gone)

    assert list_projects(api) == ["p1 visible"]
    assert list_projects(api, "ignoreDates=1&visible=1") == ["p1 visible"]
    assert list_projects(api, "ignoreDates=1&visible=2") == ["p2 hidden"]
    assert list_projects(api, "ignoreDates=1&visible=3") == [
        "p1 visible",
        "p2 hidden",
        "p3 visible, hidden customer",
        "p4 hidden, hidden customer",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "visible=4",
        "customer=abc",
        "customers[]=1&customers[]=x",
        "ignoreDates=true",
        "globalActivities=true",
        "order=asc",
        "orderBy=number",
        "start=2024-05-01%2010:00:00",
        "start=2024-05-01T10:00",
        "start=2024-02-30",
        "end=2024-05-01T10:00:00%2B02:00",
    ],
)
def test_list_rejects_bad_parameters(api: Api, query: str) -> None:
    response = api.get(f"/api/projects?{query}")
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_date_parameters_are_not_read_with_ignore_dates(api: Api) -> None:
    """Kimai only reads ``start``/``end`` when dates are not ignored, so they are not validated then."""
    make_project(api, "Later", make_customer(api)["id"], start="2999-01-01")
    assert list_projects(api, "ignoreDates=1&start=garbage&end=2024-99-99") == ["Later"]


def test_customer_filters(api: Api) -> None:
    acme = make_customer(api, "Acme")["id"]
    beta = make_customer(api, "Beta")["id"]
    gamma = make_customer(api, "Gamma")["id"]
    make_project(api, "acme", acme)
    make_project(api, "beta", beta)
    make_project(api, "gamma", gamma)

    assert list_projects(api, f"ignoreDates=1&customer={acme}") == ["acme"]
    assert list_projects(api, f"ignoreDates=1&customers[]={beta}&customers[]={gamma}") == ["beta", "gamma"]
    assert list_projects(api, f"ignoreDates=1&customer={acme}&customers[]={gamma}") == ["acme", "gamma"]
    # Unknown ids are ignored: alone they filter nothing, next to known ones they add nothing.
    assert list_projects(api, "ignoreDates=1&customer=9999") == ["acme", "beta", "gamma"]
    assert list_projects(api, "ignoreDates=1&customers[]=9999&customers[]=99999999999") == [
        "acme",
        "beta",
        "gamma",
    ]
    assert list_projects(api, f"ignoreDates=1&customers[]=9999&customers[]={beta}") == ["beta"]


def test_customer_filter_needs_team_access(api: Api, db: Database) -> None:
    """A customer whose teams the caller is not in is 403 (also for a hidden customer); admins pass."""
    open_ = make_customer(api, "Open")["id"]
    mine = make_customer(api, "Mine")["id"]
    theirs = make_customer(api, "Theirs")["id"]
    make_project(api, "open", open_)
    make_project(api, "mine", mine)
    make_project(api, "theirs", theirs)
    add_team(db, "Ours", members=["user"], customers=[mine])
    add_team(db, "Others", leads=["teamlead"], customers=[theirs])

    assert list_projects(api, f"ignoreDates=1&customer={mine}", as_="user") == ["mine"]
    assert list_projects(api, f"ignoreDates=1&customer={open_}", as_="user") == ["open"]
    for query in (f"customer={theirs}", f"customers[]={open_}&customers[]={theirs}"):
        response = api.get(f"/api/projects?ignoreDates=1&{query}", as_="user")
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    hide(api, "customers", theirs)
    assert api.get(f"/api/projects?customer={theirs}", as_="user").status_code == 403
    assert list_projects(api, f"ignoreDates=1&visible=3&customer={theirs}", as_="teamlead") == ["theirs"]
    assert list_projects(api, f"ignoreDates=1&visible=3&customer={theirs}", as_="admin") == ["theirs"]


def test_list_team_filter(api: Api, db: Database) -> None:
    """Without ``view_all_data``: the project's teams and its customer's teams must each be empty
    or contain one of the caller's teams (membership is enough, lead or not)."""
    open_ = make_customer(api, "Open")["id"]
    ours = make_customer(api, "Ours")["id"]
    theirs = make_customer(api, "Theirs")["id"]
    make_project(api, "open/open", open_)
    p_ours = make_project(api, "open/ours", open_)["id"]
    p_theirs = make_project(api, "open/theirs", open_)["id"]
    make_project(api, "ours/open", ours)
    make_project(api, "theirs/open", theirs)
    p_mixed = make_project(api, "ours/theirs", ours)["id"]
    p_both = make_project(api, "open/ours+theirs", open_)["id"]
    our_team = add_team(db, "Our team", leads=["teamlead"], members=["user"], customers=[ours])
    add_team(db, "Their team", leads=["admin"], customers=[theirs], projects=[p_theirs, p_mixed, p_both])
    with db.session(write=True) as session:
        session.add_all(TeamProject(team_id=our_team, project_id=p) for p in (p_ours, p_both))

    member_view = ["open/open", "open/ours", "open/ours+theirs", "ours/open"]
    assert list_projects(api, as_="user") == member_view
    assert list_projects(api, as_="teamlead") == member_view
    everything = sorted(["open/open", "open/ours", "open/theirs", "ours/open", "theirs/open", "ours/theirs"])
    assert list_projects(api, as_="admin") == sorted([*everything, "open/ours+theirs"])
    assert list_projects(api, as_="super") == sorted([*everything, "open/ours+theirs"])


def test_caller_without_teams_sees_only_projects_without_teams(api: Api, db: Database) -> None:
    acme = make_customer(api, "Acme")["id"]
    teamless = make_customer(api, "Teamless")["id"]
    make_project(api, "free", teamless)
    make_project(api, "customer has a team", acme)
    linked = make_project(api, "project has a team", teamless)["id"]
    add_team(db, "Team", leads=["admin"], customers=[acme], projects=[linked])
    assert list_projects(api, as_="user") == ["free"]
    assert list_projects(api, as_="teamlead") == ["free"]


def test_default_lists_only_projects_running_today(api: Api) -> None:
    """Without ``start``/``end``/``ignoreDates=1`` only projects running today are listed.

    Kimai compares the calendar dates of the stored UTC values. The creators are chosen so that
    the entered date is also the UTC date (New York for a start, Berlin for an end).
    """
    today = utc_today()
    day = dt.timedelta(days=1)
    customer = make_customer(api)["id"]
    make_project(api, "no dates", customer)
    make_project(api, "running", customer, start=str(today - day), end=str(today + day))
    make_project(api, "starts today", customer, as_="admin", start=str(today))
    make_project(api, "ends today", customer, end=str(today))
    make_project(api, "ended yesterday", customer, end=str(today - day))
    make_project(api, "starts tomorrow", customer, as_="admin", start=str(today + day))

    running = ["ends today", "no dates", "running", "starts today"]
    assert list_projects(api, "") == running
    assert list_projects(api, "visible=1") == running
    assert list_projects(api, "ignoreDates=1") == sorted([*running, "ended yesterday", "starts tomorrow"])


def test_start_and_end_parameters(api: Api) -> None:
    """A given moment keeps projects with (start <= it or none) and (end >= it or none); with both
    parameters a project must be running at both moments."""
    customer = make_customer(api)["id"]
    make_project(api, "january", customer, start="2024-01-01", end="2024-01-31")
    make_project(api, "from march", customer, start="2024-03-01")
    make_project(api, "until february", customer, end="2024-02-29")
    make_project(api, "open", customer)

    # Noon, so that the caller's date is also the UTC date (see the next test).
    cases = {
        "start=2024-01-15T12:00:00": ["january", "open", "until february"],
        "start=2024-01-31T12:00:00": ["january", "open", "until february"],
        "start=2024-02-15": ["open", "until february"],
        "start=2024-03-01T12:00:00": ["from march", "open"],
        "end=2024-03-10T08:30:00": ["from march", "open"],
        "end=2024-01-01T12:00:00": ["january", "open", "until february"],
        "start=2024-01-15T12:00:00&end=2024-02-15T12:00:00": ["open", "until february"],
        "start=2024-01-15T12:00:00&end=2024-03-10T12:00:00": ["open"],
    }
    for query, expected in cases.items():
        assert list_projects(api, query) == expected, query
    # ignoreDates wins over given dates.
    assert list_projects(api, "start=2024-02-15&ignoreDates=1") == [
        "from march",
        "january",
        "open",
        "until february",
    ]


def test_date_parameters_compare_utc_calendar_dates(api: Api) -> None:
    """Kimai compares ``DATE()`` of UTC values: a project starting 2024-05-01 in Berlin (22:00 UTC the
    day before) is already listed for a Berlin moment on 2024-04-30 from 02:00 (00:00 UTC) on."""
    make_project(api, "May", make_customer(api)["id"], start="2024-05-01")
    assert list_projects(api, "start=2024-04-30T01:59:59") == []
    assert list_projects(api, "start=2024-04-30T02:00:00") == ["May"]
    assert list_projects(api, "start=2024-04-30") == []
    assert list_projects(api, "start=2024-05-01") == ["May"]
    # The same moment from Tonga (UTC+13): 2024-04-30T13:00:00 there is 00:00 UTC.
    assert list_projects(api, "start=2024-04-30T12:59:59", as_="user") == []
    assert list_projects(api, "start=2024-04-30T13:00:00", as_="user") == ["May"]


def test_global_activities_filter(api: Api) -> None:
    customer = make_customer(api)["id"]
    make_project(api, "with globals", customer)
    make_project(api, "without globals", customer, globalActivities=False)
    assert list_projects(api, "ignoreDates=1&globalActivities=1") == ["with globals"]
    assert list_projects(api, "ignoreDates=1&globalActivities=0") == ["without globals"]
    assert list_projects(api) == ["with globals", "without globals"]


def test_order(api: Api) -> None:
    zulu = make_customer(api, "Zulu")["id"]
    mike = make_customer(api, "mike")["id"]  # names compare case-insensitively
    alpha = make_customer(api, "Alpha")["id"]
    make_project(api, "bravo", zulu)
    make_project(api, "Charlie", alpha)
    make_project(api, "alpha", mike)
    cases = {
        "": ["alpha", "bravo", "Charlie"],
        "order=ASC": ["alpha", "bravo", "Charlie"],
        "order=DESC": ["Charlie", "bravo", "alpha"],
        "orderBy=name": ["alpha", "bravo", "Charlie"],
        "orderBy=name&order=DESC": ["Charlie", "bravo", "alpha"],
        "orderBy=id": ["bravo", "Charlie", "alpha"],
        "orderBy=id&order=DESC": ["alpha", "Charlie", "bravo"],
        "orderBy=customer": ["Charlie", "alpha", "bravo"],
        "orderBy=customer&order=DESC": ["bravo", "alpha", "Charlie"],
    }
    for query, expected in cases.items():
        assert list_projects(api, f"ignoreDates=1&{query}") == expected, query


def test_term_search(api: Api) -> None:
    customer = make_customer(api, "Findme Corp")["id"]
    first = make_project(api, "Website", customer, comment="relaunch 2024", orderNumber="PO-77")
    make_project(api, "Intranet", customer, number="X-900", comment="internal")
    make_project(api, "Website maintenance", customer)
    response = api.patch(f"/api/projects/{first['id']}/meta", json={"name": "crm_id", "value": "CRM-5"})
    assert response.status_code == 200

    cases = {
        "Website": ["Website", "Website maintenance"],
        "website": ["Website", "Website maintenance"],
        "relaunch": ["Website"],
        "PO-77": ["Website"],
        "X-9": ["Intranet"],
        "Website !maint": ["Website"],
        "!Website": ["Intranet"],
        "Website internal": [],
        # Customer names and meta values are not searched by plain words.
        "Findme": [],
        "CRM-5": [],
        "crm_id:CRM": ["Website"],
        "crm_id:~": ["Intranet", "Website maintenance"],
    }
    for term, expected in cases.items():
        assert list_projects(api, f"ignoreDates=1&term={term}") == expected, term


# --- views ---------------------------------------------------------------------------------------------


def test_list_view_fields_per_role(api: Api, db: Database) -> None:
    customer = make_customer(api)["id"]
    first = make_project(api, "first", customer, budget=100, timeBudget="2", budgetType="month")
    make_project(api, "second", customer)
    add_team(db, "Team", leads=["teamlead"], members=["user"], projects=[first["id"]])
    budgets = {"budget": 100.0, "timeBudget": 7200, "budgetType": "month"}

    # role -> budget keys on the first project (with the team) and on the second (without teams)
    cases = {
        "super": (BUDGET_KEYS, BUDGET_KEYS),
        "admin": (BUDGET_KEYS, BUDGET_KEYS),
        # Leads the first project's team: budget and time; nothing on the project without teams.
        "teamlead": (BUDGET_KEYS, set()),
        # A plain member has ``time_team_project`` only: the time budget and its type.
        "user": ({"timeBudget", "budgetType"}, set()),
    }
    for role, (first_budgets, second_budgets) in cases.items():
        rows = api.get("/api/projects?ignoreDates=1", as_=role).json()
        assert [set(row) for row in rows] == [PROJECT_KEYS | first_budgets, PROJECT_KEYS | second_budgets], (
            role
        )
        assert {k: rows[0][k] for k in first_budgets} == {k: budgets[k] for k in first_budgets}


def test_project_entity_view(api: Api, db: Database) -> None:
    customer = make_customer(api, "Test")["id"]
    team = add_team(db, "Test team")
    created = api.post(
        "/api/projects",
        json={
            "name": "Test",
            "customer": customer,
            "comment": "Awesome project",
            "orderNumber": "1234567890/WXYZ",
            "orderDate": "2018-04-17",
            "start": "2019-02-01",
            "end": "2020-02-08",
            "teams": [team],
            "budget": "999",
            "timeBudget": "10,25",
            "budgetType": "month",
            "color": "#c0c0c0",
        },
    )
    assert created.status_code == 200, created.text
    project = created.json()
    assert project == {
        "id": project["id"],
        "name": "Test",
        "customer": customer,
        "parentTitle": "Test",
        "number": "0002",
        "orderNumber": "1234567890/WXYZ",
        "orderDate": "2018-04-17",
        "start": "2019-02-01",
        "end": "2020-02-08",
        "comment": "Awesome project",
        "visible": True,
        "billable": True,
        "globalActivities": True,
        "lockedUntil": None,
        "metaFields": [],
        "teams": [
            {
                "id": team,
                "name": "Test team",
                "color": None,
                "color-safe": "#03A9F4",
                "modifiedAt": project["teams"][0]["modifiedAt"],
            }
        ],
        "budget": 999.0,
        "timeBudget": 36900,
        "budgetType": "month",
        "color": "#c0c0c0",
        "color-safe": "#c0c0c0",
        "modifiedAt": project["modifiedAt"],
    }
    assert api.get(f"/api/projects/{project['id']}").json() == project
    assert api.get("/api/projects?ignoreDates=1").json() == [project]


def test_defaults_on_create(api: Api) -> None:
    customer = make_customer(api, "Client")["id"]
    project = make_project(api, "Test", customer)
    assert project == {
        "id": project["id"],
        "name": "Test",
        "customer": customer,
        "parentTitle": "Client",
        "number": "0002",
        "orderNumber": None,
        "orderDate": None,
        "start": None,
        "end": None,
        "comment": None,
        "visible": True,
        "billable": True,
        "globalActivities": True,
        "lockedUntil": None,
        "metaFields": [],
        "teams": [],
        "budget": 0.0,
        "timeBudget": 0,
        "budgetType": None,
        "color": None,
        "color-safe": "#5319e7",
        "modifiedAt": project["modifiedAt"],
    }
    assert make_project(api, "Second", customer)["number"] == "0003"
    assert make_project(api, "Own number", customer, number="P-1")["number"] == "P-1"
    assert make_project(api, "Fourth", customer)["number"] == "0005"


def test_dates_render_the_entered_day_for_everyone(api: Api) -> None:
    """Dates show in the timezone they were entered in, whoever looks."""
    customer = make_customer(api)["id"]
    project = make_project(
        api, "Spring", customer, as_="admin", orderDate="2024-04-15", start="2024-05-01", end="2024-05-31"
    )
    dates = {"orderDate": "2024-04-15", "start": "2024-05-01", "end": "2024-05-31"}
    assert {k: project[k] for k in dates} == dates
    for role in ("super", "admin"):
        view = api.get(f"/api/projects/{project['id']}", as_=role).json()
        assert {k: view[k] for k in dates} == dates
    for role in ("super", "admin", "teamlead", "user"):
        (row,) = api.get("/api/projects?ignoreDates=1", as_=role).json()
        assert {k: row[k] for k in dates} == dates


def test_get_one_permissions(api: Api, db: Database) -> None:
    """404 before 403; ROLE_USER never; a teamlead via a led team of the project or of its customer."""
    led_customer = make_customer(api, "Led customer")["id"]
    other = make_customer(api, "Other")["id"]
    via_customer = make_project(api, "via customer", led_customer)["id"]
    via_project = make_project(api, "via project", other)["id"]
    member_only = make_project(api, "member only", other)["id"]
    unrelated = make_project(api, "unrelated", other)["id"]
    add_team(db, "Leads", leads=["teamlead"], customers=[led_customer], projects=[via_project])
    add_team(db, "Members", leads=["admin"], members=["teamlead", "user"], projects=[member_only])

    for role in ("user", "teamlead"):
        response = api.get("/api/projects/9999", as_=role)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    for project in (via_customer, via_project, member_only, unrelated):
        response = api.get(f"/api/projects/{project}", as_="user")
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
        assert api.get(f"/api/projects/{project}", as_="admin").status_code == 200
    for project in (via_customer, via_project):
        response = api.get(f"/api/projects/{project}", as_="teamlead")
        assert response.status_code == 200
        assert set(response.json()) == PROJECT_KEYS | BUDGET_KEYS
    for project in (member_only, unrelated):
        assert api.get(f"/api/projects/{project}", as_="teamlead").status_code == 403


@pytest.mark.parametrize("path", ["/api/projects/abc", "/api/projects/1.5", "/api/projects/99999999999"])
def test_get_one_unknown_or_malformed_id_is_404(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- create ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["user", "teamlead"])
def test_create_needs_create_project(api: Api, role: str) -> None:
    customer = make_customer(api)["id"]
    for body in ({"name": "New", "customer": customer}, {"bogus": 1}):
        response = api.post("/api/projects", json=body, as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert api.get("/api/projects?ignoreDates=1").json() == []


def test_create_by_admin(api: Api) -> None:
    customer = make_customer(api)["id"]
    project = make_project(api, "Admin's", customer, as_="admin")
    assert api.get(f"/api/projects/{project['id']}", as_="admin").json() == project


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "No customer"}, {"customer": ["This value should not be null."]}),
        ({"name": "Empty customer", "customer": ""}, {"customer": ["This value should not be null."]}),
        ({"name": "Unknown", "customer": 9999}, {"customer": [INVALID_CHOICE]}),
        ({"name": "Huge", "customer": 99999999999}, {"customer": [INVALID_CHOICE]}),
        ({"name": "Text", "customer": "acme"}, {"customer": [INVALID_CHOICE]}),
        ({"name": "", "customer": "{customer}"}, {"name": ["This value should not be blank."]}),
        (
            {"name": "x", "customer": "{customer}"},
            {"name": ["This value is too short. It should have 2 characters or more."]},
        ),
        (
            {"name": "x" * 151, "customer": "{customer}"},
            {"name": ["This value is too long. It should have 150 characters or less."]},
        ),
        (
            {"name": "Long", "customer": "{customer}", "number": "12345678901"},
            {"number": ["This value is too long. It should have 10 characters or less."]},
        ),
        (
            {"name": "Long", "customer": "{customer}", "orderNumber": "x" * 51},
            {"orderNumber": ["This value is too long. It should have 50 characters or less."]},
        ),
        ({"name": "Teams", "customer": "{customer}", "teams": [9999]}, {"teams": [INVALID_CHOICE]}),
        ({"name": "Color", "customer": "{customer}", "color": "#C0C0C0"}, {"color": [INVALID_CHOICE]}),
        ({"name": "Type", "customer": "{customer}", "budgetType": "week"}, {"budgetType": [INVALID_CHOICE]}),
        (
            {"name": "Money", "customer": "{customer}", "budget": "lots"},
            {"budget": ["Please enter a valid money amount."]},
        ),
        (
            {"name": "Time", "customer": "{customer}", "timeBudget": "soon"},
            {"timeBudget": ["This value is not valid."]},
        ),
    ],
)
def test_create_validation(api: Api, body: dict[str, Any], errors: dict[str, list[str]]) -> None:
    customer = make_customer(api)["id"]
    body = {k: (customer if v == "{customer}" else v) for k, v in body.items()}
    response = api.post("/api/projects", json=body)
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, errors)
    assert api.get("/api/projects?ignoreDates=1&visible=3").json() == []


def test_create_rejects_a_hidden_customer(api: Api) -> None:
    customer = make_customer(api, "Hidden", visible=False)["id"]
    response = api.post("/api/projects", json={"name": "Nope", "customer": customer})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, {"customer": [INVALID_CHOICE]})


def test_create_rejects_extra_fields(api: Api) -> None:
    customer = make_customer(api)["id"]
    response = api.post("/api/projects", json={"name": "X1", "customer": customer, "lockedUntil": None})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, {}, [EXTRA_FIELDS])


def test_create_rejects_a_taken_number(api: Api) -> None:
    customer = make_customer(api)["id"]
    make_project(api, "First", customer, number="P-1")
    response = api.post("/api/projects", json={"name": "Second", "customer": customer, "number": "P-1"})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, {"number": ["The number P-1 is already used."]})


@pytest.mark.parametrize("field", ["orderDate", "start", "end"])
def test_create_dates_must_be_y_m_d(api: Api, field: str) -> None:
    customer = make_customer(api)["id"]
    for value in ("2024-05-01T00:00:00", "01.05.2024", "2024-5-1x", "2024-02-30", "today"):
        response = api.post("/api/projects", json={"name": "Dated", "customer": customer, field: value})
        assert response.status_code == 400, value
        assert response.json() == validation_failed(PROJECT_FORM, {field: [INVALID_DATE]})


def test_create_end_before_start(api: Api) -> None:
    customer = make_customer(api)["id"]
    body = {"name": "Backwards", "customer": customer, "start": "2024-05-02", "end": "2024-05-01"}
    response = api.post("/api/projects", json=body)
    assert response.status_code == 400
    assert response.json() == validation_failed(
        PROJECT_FORM, {"end": ["The end date must not be earlier than the start date."]}
    )
    # One day (start at 00:00:00, end at 23:59:59) is fine.
    same_day = make_project(api, "One day", customer, start="2024-05-01", end="2024-05-01")
    assert (same_day["start"], same_day["end"]) == ("2024-05-01", "2024-05-01")


def test_create_flags_and_teams(api: Api, db: Database) -> None:
    customer = make_customer(api)["id"]
    one = add_team(db, "One")
    two = add_team(db, "Two")
    project = make_project(
        api, "Flags", customer, visible=False, billable=False, globalActivities=False, teams=[two, one]
    )
    assert (project["visible"], project["billable"], project["globalActivities"]) == (False, False, False)
    assert [t["name"] for t in project["teams"]] == ["One", "Two"]
    # Top-level checkboxes are only false for JSON false: 0 and null mean true.
    project = make_project(api, "Zeros", customer, visible=0, billable=None, globalActivities="0")
    assert (project["visible"], project["billable"], project["globalActivities"]) == (True, True, True)


# --- update ----------------------------------------------------------------------------------------------


def test_patch_is_partial(api: Api) -> None:
    customer = make_customer(api)["id"]
    other = make_customer(api, "Other")["id"]
    project = make_project(api, "Before", customer, comment="keep me", orderNumber="PO-1")
    response = api.patch(
        f"/api/projects/{project['id']}", json={"name": "After", "customer": other, "billable": False}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        **project,
        "name": "After",
        "customer": other,
        "parentTitle": "Other",
        "billable": False,
        "color-safe": response.json()["color-safe"],
        "modifiedAt": response.json()["modifiedAt"],
    }
    assert api.get(f"/api/projects/{project['id']}").json() == response.json()
    response = api.patch(f"/api/projects/{project['id']}", json={})
    assert response.status_code == 200
    assert response.json()["comment"] == "keep me"


def test_patch_dates_take_y_m_d_t_h_i_s(api: Api) -> None:
    customer = make_customer(api)["id"]
    project = make_project(api, "Dated", customer, start="2024-01-01")
    url = f"/api/projects/{project['id']}"
    response = api.patch(url, json={"start": "2024-05-01T10:00:00", "end": "2024-05-31T00:00:00"})
    assert response.status_code == 200, response.text
    assert (response.json()["start"], response.json()["end"]) == ("2024-05-01", "2024-05-31")
    for value in ("2024-05-01", "2024-05-01T10:00", "2024-05-01 10:00:00", "2024-05-01T10:00:00+02:00"):
        response = api.patch(url, json={"orderDate": value})
        assert response.status_code == 400
        assert response.json() == validation_failed(PROJECT_PATCH_FORM, {"orderDate": [INVALID_DATE]})
    response = api.patch(url, json={"end": "2024-04-30T12:00:00"})
    assert response.status_code == 400
    assert response.json() == validation_failed(
        PROJECT_PATCH_FORM, {"end": ["The end date must not be earlier than the start date."]}
    )
    response = api.patch(url, json={"start": None, "end": ""})
    assert response.status_code == 200
    assert (response.json()["start"], response.json()["end"]) == (None, None)


def test_patch_keeps_a_hidden_customer_but_cannot_pick_one(api: Api) -> None:
    customer = make_customer(api, "Fading")["id"]
    hidden = make_customer(api, "Hidden", visible=False)["id"]
    project = make_project(api, "P1", customer)
    hide(api, "customers", customer)
    url = f"/api/projects/{project['id']}"
    response = api.patch(url, json={"customer": customer, "name": "P2"})
    assert response.status_code == 200, response.text
    response = api.patch(url, json={"customer": hidden})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_PATCH_FORM, {"customer": [INVALID_CHOICE]})
    response = api.patch(url, json={"customer": None})
    assert response.status_code == 400
    assert response.json() == validation_failed(
        PROJECT_PATCH_FORM, {"customer": ["This value should not be null."]}
    )


def test_patch_rejects_teams(api: Api, db: Database) -> None:
    project = make_project(api, "P1", make_customer(api)["id"])
    team = add_team(db, "Team")
    response = api.patch(f"/api/projects/{project['id']}", json={"teams": [team]})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_PATCH_FORM, {}, [EXTRA_FIELDS])


def test_patch_permissions(api: Api, db: Database) -> None:
    """404 before 403; teamleads cannot edit projects even of teams they lead."""
    project = make_project(api, "P1", make_customer(api)["id"])
    add_team(db, "Team", leads=["teamlead"], projects=[project["id"]])
    for role in ("user", "teamlead"):
        response = api.patch("/api/projects/9999", json={"name": "X"}, as_=role)
        assert response.status_code == 404
        response = api.patch(f"/api/projects/{project['id']}", json={"bogus": "X"}, as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    response = api.patch(f"/api/projects/{project['id']}", json={"name": "By admin"}, as_="admin")
    assert response.json()["name"] == "By admin"


# --- delete ----------------------------------------------------------------------------------------------


def test_delete_cascades_to_activities(api: Api, db: Database) -> None:
    customer = make_customer(api)["id"]
    project = make_project(api, "Doomed", customer)["id"]
    survivor = make_project(api, "Survivor", customer)["id"]
    activity = make_activity(api, "Doomed work", project)["id"]
    kept = make_activity(api, "Other work", survivor)["id"]
    global_ = make_activity(api, "Global work")["id"]
    add_team(db, "Team", leads=["teamlead"], projects=[project])

    for role in ("user", "teamlead"):
        response = api.delete(f"/api/projects/{project}", as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert api.delete("/api/projects/9999", as_="user").status_code == 404

    response = api.delete(f"/api/projects/{project}", as_="admin")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/projects/{project}").status_code == 404
    assert api.get(f"/api/activities/{activity}").status_code == 404
    assert api.get(f"/api/activities/{kept}").status_code == 200
    assert api.get(f"/api/activities/{global_}").status_code == 200
    assert list_projects(api) == ["Survivor"]
    assert api.delete(f"/api/projects/{project}").status_code == 404


# --- duplicate -------------------------------------------------------------------------------------------


def test_duplicate_copies_project_teams_meta_rates_and_visible_activities(api: Api, db: Database) -> None:
    customer = make_customer(api)["id"]
    original = make_project(
        api,
        "Website",
        customer,
        comment="big one",
        orderNumber="PO-9",
        orderDate="2024-01-10",
        start="2024-02-01",
        end="2024-06-30",
        globalActivities=False,
        billable=False,
        color="#ff0000",
        budget=500,
        timeBudget="10",
        budgetType="month",
    )
    pid = original["id"]
    team = add_team(db, "Team", projects=[pid])
    assert api.patch(f"/api/projects/{pid}/meta", json={"name": "crm_id", "value": "C-1"}).status_code == 200
    assert api.post(f"/api/projects/{pid}/rates", json={"rate": 80, "internalRate": 50}).status_code == 200
    rate_for_user = {"user": PEOPLE["user"].id, "rate": 90, "isFixed": True}
    assert api.post(f"/api/projects/{pid}/rates", json=rate_for_user).status_code == 200
    assert api.post(f"/api/projects/{pid}/comments", json={"message": "note"}).status_code == 200
    design = make_activity(api, "Design", pid, number="A-1", comment="pixels", budget=5)
    make_activity(api, "Retired", pid, visible=False)
    make_activity(api, "Global")
    add_team(db, "Activity team", activities=[design["id"]])
    meta = {"name": "crm_id", "value": "A-9"}
    assert api.patch(f"/api/activities/{design['id']}/meta", json=meta).status_code == 200
    assert api.post(f"/api/activities/{design['id']}/rates", json={"rate": 12}).status_code == 200
    original = api.get(f"/api/projects/{pid}").json()

    response = api.post(f"/api/projects/{pid}/duplicate")
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy == {
        **original,
        "id": copy["id"],
        "name": "Website [COPY]",
        "number": "0003",
        # The copy continues where the original ended.
        "start": "2024-06-30",
        "end": None,
        "color-safe": "#ff0000",
        "modifiedAt": copy["modifiedAt"],
    }
    assert copy["teams"] == [
        {
            "id": team,
            "name": "Team",
            "color": None,
            "color-safe": copy["teams"][0]["color-safe"],
            "modifiedAt": copy["teams"][0]["modifiedAt"],
        }
    ]
    assert copy["metaFields"] == [{"name": "crm_id", "value": "C-1"}]
    assert api.get(f"/api/projects/{copy['id']}").json() == copy

    def strip(rates: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (r["user"]["id"] if r["user"] else 0, r["rate"], r["internalRate"], r["isFixed"]) for r in rates
        )

    old_rates = api.get(f"/api/projects/{pid}/rates").json()
    new_rates = api.get(f"/api/projects/{copy['id']}/rates").json()
    assert strip(new_rates) == strip(old_rates) == [(0, 80.0, 50.0, False), (4, 90.0, None, True)]
    assert {r["id"] for r in new_rates}.isdisjoint(r["id"] for r in old_rates)
    assert api.get(f"/api/projects/{copy['id']}/comments").json() == []
    assert len(api.get(f"/api/projects/{pid}/comments").json()) == 1

    activities = api.get(f"/api/activities?project={copy['id']}&visible=3").json()
    assert len(activities) == 1
    (twin,) = activities
    assert twin["id"] != design["id"]
    assert twin == {
        **api.get(f"/api/activities/{design['id']}").json(),
        "id": twin["id"],
        "project": copy["id"],
        "parentTitle": "Website [COPY]",
        "number": None,
        # The copy is written now, possibly a second after the original.
        "modifiedAt": twin["modifiedAt"],
    }
    assert [t["name"] for t in twin["teams"]] == ["Activity team"]
    assert twin["metaFields"] == [{"name": "crm_id", "value": "A-9"}]
    assert strip(api.get(f"/api/activities/{twin['id']}/rates").json()) == [(0, 12.0, None, False)]
    # The original is untouched.
    assert api.get(f"/api/projects/{pid}").json() == original


def test_duplicate_without_end_keeps_the_dates(api: Api) -> None:
    customer = make_customer(api)["id"]
    original = make_project(api, "Open ended", customer, start="2024-02-01")
    copy = api.post(f"/api/projects/{original['id']}/duplicate", as_="admin")
    assert copy.status_code == 201
    assert (copy.json()["start"], copy.json()["end"]) == ("2024-02-01", None)
    undated = make_project(api, "Undated", customer)
    copy = api.post(f"/api/projects/{undated['id']}/duplicate")
    assert (copy.json()["start"], copy.json()["end"], copy.json()["name"]) == (None, None, "Undated [COPY]")


def test_duplicate_of_a_hidden_project_copies_no_activities(api: Api) -> None:
    project = make_project(api, "Hidden", make_customer(api)["id"])
    make_activity(api, "Work", project["id"])
    hide(api, "projects", project["id"])
    copy = api.post(f"/api/projects/{project['id']}/duplicate")
    assert copy.status_code == 201
    assert copy.json()["visible"] is False
    assert api.get(f"/api/activities?project={copy.json()['id']}&visible=3").json() == []


def test_duplicate_permissions(api: Api, db: Database) -> None:
    project = make_project(api, "P1", make_customer(api)["id"])
    add_team(db, "Team", leads=["teamlead"], projects=[project["id"]])
    for role in ("user", "teamlead"):
        response = api.post("/api/projects/9999/duplicate", as_=role)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        response = api.post(f"/api/projects/{project['id']}/duplicate", as_=role)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list_projects(api) == ["P1"]


# --- sub-resources ------------------------------------------------------------------------------------


def test_meta(api: Api, db: Database) -> None:
    project = make_project(api, "P1", make_customer(api)["id"])
    url = f"/api/projects/{project['id']}/meta"
    response = api.patch(url, json={"name": "CRM_ID", "value": "X-1"})
    assert response.status_code == 200
    changed = {
        "metaFields": [{"name": "crm_id", "value": "X-1"}],
        "modifiedAt": response.json()["modifiedAt"],
    }
    assert response.json() == {**project, **changed}
    assert api.get(f"/api/projects/{project['id']}").json()["metaFields"] == [
        {"name": "crm_id", "value": "X-1"}
    ]
    assert api.patch(url, json={"name": "unknown", "value": "x"}).json() == NOT_FOUND
    assert api.patch(url, json={"name": "crm_id"}).json() == BAD_REQUEST
    assert api.patch("/api/projects/9999/meta", json={"name": "crm_id", "value": "1"}).status_code == 404
    add_team(db, "Team", leads=["teamlead"], projects=[project["id"]])
    response = api.patch(url, json={"name": "crm_id", "value": "TL"}, as_="teamlead")
    assert response.status_code == 403


def test_rates(api: Api, db: Database) -> None:
    project = make_project(api, "P1", make_customer(api)["id"])
    url = f"/api/projects/{project['id']}/rates"
    response = api.post(url, json={"rate": 75.5, "internalRate": 40})
    assert response.status_code == 200
    rate = response.json()
    assert rate == {"id": rate["id"], "user": None, "rate": 75.5, "internalRate": 40.0, "isFixed": False}
    assert api.get(url).json() == [rate]
    response = api.post(url, json={"rate": 1})
    assert response.status_code == 400
    assert response.json()["errors"]["children"]["user"] == {"errors": ["This value is already used."]}
    add_team(db, "Team", leads=["teamlead"], projects=[project["id"]])
    for role in ("teamlead", "user"):
        assert api.get(url, as_=role).status_code == 403
        assert api.post(url, json={"rate": 1}, as_=role).status_code == 403
        assert api.delete(f"{url}/{rate['id']}", as_=role).status_code == 403
    assert api.delete(f"{url}/{rate['id']}").status_code == 204
    assert api.get(url).json() == []
    assert api.delete(f"{url}/{rate['id']}").status_code == 404


def test_comments(api: Api, db: Database) -> None:
    """Comments need ``view`` and ``comments``: a teamlead of the project's team may read and add,
    but pinning and deleting also need ``edit``."""
    project = make_project(api, "P1", make_customer(api)["id"])
    url = f"/api/projects/{project['id']}/comments"
    response = api.post(url, json={"message": "First"})
    assert response.status_code == 200
    first = response.json()
    assert set(first) == {"id", "message", "createdBy", "createdAt", "pinned"}
    assert (first["message"], first["pinned"], first["createdBy"]["id"]) == ("First", False, 1)
    assert api.post(url, json={}).json() == validation_failed(
        ("message", "pinned"), {"message": ["This value should not be null."]}
    )
    add_team(db, "Team", leads=["teamlead"], projects=[project["id"]])
    response = api.post(url, json={"message": "Second"}, as_="teamlead")
    assert response.status_code == 200
    second = response.json()
    assert [c["message"] for c in api.get(url, as_="teamlead").json()] == ["Second", "First"]
    assert api.patch(f"{url}/{first['id']}/pin", as_="teamlead").status_code == 403
    assert api.get(url, as_="user").status_code == 403
    pinned = api.patch(f"{url}/{first['id']}/pin")
    assert pinned.status_code == 200
    assert pinned.json()["pinned"] is True
    assert [c["message"] for c in api.get(url).json()] == ["First", "Second"]
    assert api.delete(f"{url}/{second['id']}", as_="teamlead").status_code == 403
    assert api.delete(f"{url}/{second['id']}").status_code == 204
    assert [c["message"] for c in api.get(url).json()] == ["First"]
    assert api.get("/api/projects/9999/comments").status_code == 404


def test_removed_team_route(api: Api) -> None:
    project = make_project(api, "P1", make_customer(api)["id"])
    for path in (f"/api/projects/{project['id']}/team", "/api/projects/9999/team"):
        response = api.post(path, json={"team": 1}, as_="user")
        assert response.status_code == 410
        assert response.json() == GONE
    assert api.post(f"/api/projects/{project['id']}/team", as_=None).status_code == 401


def test_duplicate_refuses_a_copy_whose_name_would_be_too_long(api: Api) -> None:
    """Kimai validates the copy and answers with its action error shape (``code`` a string)."""
    customer = make_customer(api, "Acme")["id"]
    project = make_project(api, "x" * 150, customer)
    response = api.post(f"/api/projects/{project['id']}/duplicate")
    assert response.status_code == 400
    assert response.json() == {
        "code": "400",
        "message": "There was a problem saving.",
        "errors": {
            "children": {
                "name": {"errors": ["This value is too long. It should have 150 characters or less."]}
            }
        },
    }


@pytest.mark.parametrize(
    ("number_format", "expected"),
    [
        ("P-{pc,3}", ["P-002", "P-003"]),
        ("{pc}", ["2", "3"]),
        ("", [None, None]),
        ("{cc,4}", ["{cc,4}", None]),
    ],
)
def test_number_formats_render_as_in_kimai(
    db: Database, app_settings: Settings, number_format: str, expected: list[str | None]
) -> None:
    """Each kind renders only its own counter; another kind's stays literal text (then is in use)."""
    settings = app_settings.model_copy(update={"project_number_format": number_format})
    with TestClient(create_app(settings, db)) as client:
        api = Api(client)
        customer = make_customer(api, "Acme")["id"]
        numbers = [make_project(api, f"P{i}", customer)["number"] for i in range(2)]
    assert numbers == expected


def test_clearing_a_date_does_not_shift_the_others(api: Api) -> None:
    """Dates show in the zone they were entered in; a PATCH from another zone that sets no new date
    keeps that zone (Kimai switches only for a changed value)."""
    customer = make_customer(api, "Acme")["id"]
    project = make_project(api, "Web", customer, start="2024-05-01", orderDate="2024-05-01", end="2024-06-30")
    patched = api.patch(f"/api/projects/{project['id']}", json={"end": None}, as_="admin")  # New York
    assert patched.status_code == 200
    assert (patched.json()["start"], patched.json()["orderDate"], patched.json()["end"]) == (
        "2024-05-01",
        "2024-05-01",
        None,
    )
    moved = api.patch(f"/api/projects/{project['id']}", json={"end": "2024-07-31T00:00:00"}, as_="admin")
    assert moved.json()["end"] == "2024-07-31"
