"""Customer endpoints (/api/customers…), checked against Kimai 2.66 behaviour over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from punchclock.activities.models import Activity
from punchclock.auth.permissions import Caller, permissions_for
from punchclock.config import Settings
from punchclock.customers import render
from punchclock.customers.models import Customer, CustomerComment, CustomerMeta, CustomerRate
from punchclock.customers.service import EDIT
from punchclock.db import Database
from punchclock.entities.crud import update
from punchclock.entities.meta import add_definition
from punchclock.kimai.errors import ValidationFailed
from punchclock.projects.models import Project
from punchclock.teams.models import Team, TeamCustomer
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import User
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

BLANK = "This value should not be blank."

# Kimai's serializer groups for a customer (plus the modifiedAt extension).
DEFAULT_KEYS = {
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
    "modifiedAt",
}
DETAIL_KEYS = {"vatId", "addressLine1", "addressLine2", "addressLine3", "postCode", "city"}
BUDGET_KEYS = {"budget", "timeBudget", "budgetType"}
COLLECTION_KEYS = DEFAULT_KEYS | {"teams"}
ENTITY_KEYS = (
    COLLECTION_KEYS | DETAIL_KEYS | {"contact", "email", "address", "invoiceEmail", "buyerReference"}
)

# The customer form of an admin on POST (PATCH: without teams).
FORM_FIELDS = {
    "name",
    "number",
    "comment",
    "company",
    "vatId",
    "contact",
    "addressLine1",
    "addressLine2",
    "addressLine3",
    "postCode",
    "city",
    "country",
    "language",
    "currency",
    "phone",
    "fax",
    "mobile",
    "email",
    "homepage",
    "timezone",
    "invoiceText",
    "invoiceTemplate",
    "invoiceEmail",
    "buyerReference",
    "teams",
    "color",
    "budget",
    "timeBudget",
    "budgetType",
    "visible",
    "billable",
}
PATCH_FIELDS = FORM_FIELDS - {"teams"}


# --- helpers -------------------------------------------------------------------------------------------


def create(api: Api, as_: str = "super", **data: Any) -> dict[str, Any]:
    response = api.post("/api/customers", json={"name": "Acme", **data}, as_=as_)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def form_errors(response: Any) -> dict[str, Any]:
    """The ``errors`` of Kimai's 400 form envelope."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 400
    assert body["message"] == "Validation Failed"
    errors: dict[str, Any] = body["errors"]
    return errors


def field_errors(response: Any) -> dict[str, list[str]]:
    """Only the form fields that carry errors (every field has a ``children`` key)."""
    children = form_errors(response)["children"]
    return {name: child["errors"] for name, child in children.items() if child}


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()]


def count(db: Database, model: Any, **where: Any) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return session.scalar(query) or 0


def offset_at(instant: dt.datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%z")


# --- list ----------------------------------------------------------------------------------------------


# Tables whose cases share one setup (or change nothing) run in one test each: a test's
# fixture setup costs more than a request.

LIST_QUERIES = [
    ("", ["Alpha", "Bravo"]),
    ("?visible=1", ["Alpha", "Bravo"]),
    ("?visible=2", ["Charlie"]),
    ("?visible=3", ["Alpha", "Bravo", "Charlie"]),
    ("?visible=3&order=DESC", ["Charlie", "Bravo", "Alpha"]),
    ("?visible=3&orderBy=name&order=ASC", ["Alpha", "Bravo", "Charlie"]),
    ("?visible=3&orderBy=id", ["Bravo", "Alpha", "Charlie"]),
    ("?visible=3&orderBy=id&order=DESC", ["Charlie", "Alpha", "Bravo"]),
    ("?page=2&size=1", ["Alpha", "Bravo"]),  # no pagination on customers: ignored
    # Empty values pass Kimai's parameter checks and are then ignored (defaults apply).
    ("?visible=", ["Alpha", "Bravo"]),
    ("?visible=3&order=&orderBy=", ["Alpha", "Bravo", "Charlie"]),
    ("?term=&full=", ["Alpha", "Bravo"]),
]


def test_list_visibility_and_order(api: Api) -> None:
    create(api, name="Bravo")
    create(api, name="Alpha")
    create(api, name="Charlie", visible=False)
    for query, expected in LIST_QUERIES:
        assert names(api.get("/api/customers" + query)) == expected, query


def test_names_sort_case_insensitively(api: Api) -> None:
    """Kimai's MySQL collation ignores case; so do we, on both databases."""
    for name in ("banana", "Apple", "cherry", "apricot"):
        create(api, name=name)
    assert names(api.get("/api/customers")) == ["Apple", "apricot", "banana", "cherry"]
    assert names(api.get("/api/customers?order=DESC")) == ["cherry", "banana", "apricot", "Apple"]


BAD_LIST_QUERIES = [
    "visible=0",
    "visible=4",
    "visible=true",
    "order=asc",
    "order=UP",
    "orderBy=number",
    "orderBy=ID",
    "full=true",
    "full=2",
]


def test_list_invalid_parameters_are_bad_requests(api: Api) -> None:
    for query in BAD_LIST_QUERIES:
        response = api.get(f"/api/customers?{query}", as_="user")
        assert (response.status_code, response.json()) == (400, BAD_REQUEST), query


def test_list_needs_credentials(api: Api) -> None:
    response = api.get("/api/customers", as_=None)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


TERMS = [
    ("corp", ["Alpha Corp", "Beta Corp", "Gamma Ltd"]),  # name, name, contact
    ("CORP", ["Alpha Corp", "Beta Corp", "Gamma Ltd"]),  # case-insensitive
    ("corp beta", ["Beta Corp"]),  # every word must match
    ("corp reseller", ["Beta Corp"]),  # words may match different columns
    ("corp nothing", []),
    ("holding", ["Alpha Corp"]),  # company
    ("atu999", ["Gamma Ltd"]),  # vatId
    ("beta.example", ["Beta Corp"]),  # email
    ("555", ["Delta"]),  # phone
    ("0003", ["Beta Corp"]),  # number (auto numbers 0002..0005)
    ("50%", []),  # % is a literal character
    ("corp !beta", ["Alpha Corp", "Gamma Ltd"]),
    ("!corp", ["Delta"]),
    ("crm_id:CRM-1", ["Alpha Corp"]),
    ("crm_id:crm", ["Alpha Corp", "Beta Corp"]),
    ("crm_id:*", ["Alpha Corp", "Beta Corp"]),
    ("crm_id:~", ["Delta", "Gamma Ltd"]),
    ("crm_id:* !alpha", ["Beta Corp"]),
    ("CRM-100", []),  # plain words never search custom fields
    ("other_field:*", []),
]


def test_list_term(api: Api) -> None:
    ids = {
        "alpha": create(api, name="Alpha Corp", company="Acme Holding")["id"],
        "beta": create(api, name="Beta Corp", comment="reseller", email="office@beta.example")["id"],
        "gamma": create(api, name="Gamma Ltd", vatId="ATU999", contact="Corp contact")["id"],
        "delta": create(api, name="Delta", phone="+43 555")["id"],
    }
    for key, value in (("alpha", "CRM-100"), ("beta", "CRM-200")):
        response = api.patch(f"/api/customers/{ids[key]}/meta", json={"name": "crm_id", "value": value})
        assert response.status_code == 200, response.text
    for term, expected in TERMS:
        assert names(api.get("/api/customers", params={"term": term})) == expected, term
    assert names(api.get("/api/customers", params={"term": "corp", "visible": "2"})) == []


def test_list_collection_view_and_full(api: Api) -> None:
    created = create(
        api, name="Full", vatId="V1", city="Graz", postCode="8010", contact="C", email="a@b.example"
    )
    collection = api.get("/api/customers").json()[0]
    assert set(collection) == COLLECTION_KEYS | BUDGET_KEYS
    assert collection == {key: created[key] for key in COLLECTION_KEYS | BUDGET_KEYS}
    assert set(api.get("/api/customers?full=0").json()[0]) == COLLECTION_KEYS | BUDGET_KEYS
    detailed = api.get("/api/customers?full=1", as_="admin").json()[0]
    assert set(detailed) == COLLECTION_KEYS | DETAIL_KEYS | BUDGET_KEYS
    assert (detailed["vatId"], detailed["city"], detailed["postCode"]) == ("V1", "Graz", "8010")


def test_list_full_details_need_details_customer(api: Api, db: Database) -> None:
    led = create(api, name="Led")["id"]
    add_team(db, "Led", leads=("teamlead",), members=("user",), customers=(led,))
    # A teamlead's details_teamlead_customer does not count here: only the plain permission.
    for as_, details in (("super", True), ("admin", True), ("teamlead", False), ("user", False)):
        row = api.get("/api/customers?full=1", as_=as_).json()[0]
        assert set(row) >= DETAIL_KEYS if details else not DETAIL_KEYS & set(row), as_


def test_list_team_filter(api: Api, db: Database) -> None:
    create(api, name="A open")
    mine = create(api, name="B mine")["id"]
    other = create(api, name="C other")["id"]
    both = create(api, name="D both")["id"]
    add_team(db, "Mine", members=("user",), leads=("teamlead",), customers=(mine, both))
    add_team(db, "Other", leads=("admin",), customers=(other, both))
    everyone = ["A open", "B mine", "C other", "D both"]
    assert names(api.get("/api/customers", as_="super")) == everyone
    assert names(api.get("/api/customers", as_="admin")) == everyone
    assert names(api.get("/api/customers", as_="user")) == ["A open", "B mine", "D both"]
    assert names(api.get("/api/customers", as_="teamlead")) == ["A open", "B mine", "D both"]
    rows = {c["name"]: c for c in api.get("/api/customers", as_="user").json()}
    assert [t["name"] for t in rows["D both"]["teams"]] == ["Mine", "Other"]
    assert set(rows["B mine"]["teams"][0]) == {"id", "name", "color", "color-safe", "modifiedAt"}


def test_list_team_filter_without_teams_shows_only_open_customers(api: Api, db: Database) -> None:
    create(api, name="Open")
    locked = create(api, name="Locked")["id"]
    add_team(db, "Closed", leads=("admin",), customers=(locked,))
    assert names(api.get("/api/customers", as_="user")) == ["Open"]
    assert names(api.get("/api/customers?visible=3", as_="teamlead")) == ["Open"]


def test_list_budgets_per_permission(api: Api, db: Database) -> None:
    create(api, name="A open", budget=100, timeBudget="2")
    led = create(api, name="B led")["id"]
    add_team(db, "Led", leads=("teamlead",), members=("user",), customers=(led,))
    admin_rows = api.get("/api/customers", as_="admin").json()
    assert all(set(row) >= BUDGET_KEYS for row in admin_rows)
    assert {key: admin_rows[0][key] for key in BUDGET_KEYS} == {
        "budget": 100.0,
        "timeBudget": 7200,
        "budgetType": None,
    }
    for row in api.get("/api/customers", as_="user").json():
        assert not BUDGET_KEYS & set(row)
    lead_rows = {c["name"]: c for c in api.get("/api/customers", as_="teamlead").json()}
    assert set(lead_rows["B led"]) >= BUDGET_KEYS  # budget/time of customers of teams they lead
    assert not BUDGET_KEYS & set(lead_rows["A open"])


# --- get one -------------------------------------------------------------------------------------------


def test_get_unknown_is_404_before_403(api: Api) -> None:
    for as_ in ("super", "admin", "teamlead", "user"):
        response = api.get("/api/customers/999", as_=as_)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), as_


def test_get_odd_ids_are_404(api: Api) -> None:
    # Kimai's routes require digits: anything else matches no route.
    for path in ("abc", "1.5", "-1", "1e3", "99999999999"):
        response = api.get(f"/api/customers/{path}", as_="user")
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


def test_get_needs_credentials(api: Api) -> None:
    customer = create(api)
    assert api.get(f"/api/customers/{customer['id']}", as_=None).status_code == 401


def test_get_permissions(api: Api, db: Database) -> None:
    open_ = create(api, name="Open")
    led = create(api, name="Led")
    member_only = create(api, name="Member")
    add_team(db, "Led team", leads=("teamlead",), members=("user",), customers=(led["id"],))
    add_team(
        db, "Member team", members=("teamlead", "user"), leads=("admin",), customers=(member_only["id"],)
    )
    expectations = {
        ("user", "Open"): 403,
        ("user", "Led"): 403,
        ("teamlead", "Open"): 403,
        ("teamlead", "Led"): 200,
        ("teamlead", "Member"): 403,  # a member, not the lead
        ("admin", "Member"): 200,
        ("super", "Open"): 200,
    }
    by_name = {"Open": open_, "Led": led, "Member": member_only}
    for (as_, name), status in expectations.items():
        response = api.get(f"/api/customers/{by_name[name]['id']}", as_=as_)
        assert response.status_code == status, (as_, name)
        if status == 403:
            assert response.json() == FORBIDDEN
    led_view = api.get(f"/api/customers/{led['id']}", as_="teamlead").json()
    assert set(led_view) == ENTITY_KEYS | BUDGET_KEYS
    assert api.get(f"/api/customers/{open_['id']}", as_="admin").json() == open_


# --- create --------------------------------------------------------------------------------------------

FULL_BODY: dict[str, Any] = {
    "name": "Acme Corp",
    "number": "C-100",
    "comment": "Key account",
    "company": "Acme Inc.",
    "vatId": "ATU12345678",
    "contact": "Jane Roe",
    "addressLine1": "Main Street 1",
    "addressLine2": "Floor 2",
    "addressLine3": "Box 3",
    "postCode": "1010",
    "city": "Vienna",
    "country": "AT",
    "language": "de",
    "currency": "USD",
    "phone": "+43 1",
    "fax": "+43 2",
    "mobile": "+43 3",
    "email": "jane@example.com",
    "homepage": "https://acme.example",
    "timezone": "Asia/Tokyo",
    "invoiceText": "Thank you",
    "invoiceEmail": "billing@example.com",
    "buyerReference": "BR-1",
    "color": "#ff0000",
    "budget": 1000.5,
    "timeBudget": "10",
    "budgetType": "month",
    "visible": False,
    "billable": False,
}


def test_create_full_entity(api: Api) -> None:
    created = create(api, **FULL_BODY)
    assert set(created) == ENTITY_KEYS | BUDGET_KEYS
    assert isinstance(created["id"], int)
    expected = {key: value for key, value in FULL_BODY.items() if key != "invoiceText"}  # never serialized
    expected.update(
        id=created["id"],
        address=None,
        metaFields=[],
        teams=[],
        timeBudget=36000,
        modifiedAt=created["modifiedAt"],
        **{"color-safe": "#ff0000"},
    )
    assert created == expected
    assert api.get(f"/api/customers/{created['id']}").json() == created


def test_create_defaults(api: Api) -> None:
    created = create(api, as_="super", name="Test")
    assert created == {
        "id": created["id"],
        "name": "Test",
        "number": "0002",
        "comment": None,
        "visible": True,
        "billable": True,
        "company": None,
        "vatId": None,
        "contact": None,
        "address": None,
        "addressLine1": None,
        "addressLine2": None,
        "addressLine3": None,
        "postCode": None,
        "city": None,
        "country": "DE",
        "language": "en",
        "currency": "EUR",
        "phone": None,
        "fax": None,
        "mobile": None,
        "email": None,
        "homepage": None,
        "timezone": "Europe/Berlin",
        "invoiceEmail": None,
        "buyerReference": None,
        "metaFields": [],
        "teams": [],
        "color": None,
        "color-safe": "#5319e7",  # Kimai's palette pick for "Test"
        "budget": 0.0,
        "timeBudget": 0,
        "budgetType": None,
        "modifiedAt": created["modifiedAt"],
    }


def test_create_timezone_defaults_to_callers(api: Api) -> None:
    assert create(api, as_="super")["timezone"] == "Europe/Berlin"
    assert create(api, as_="admin")["timezone"] == "America/New_York"


def test_embedded_view_has_default_fields_only(api: Api, db: Database) -> None:
    created = create(api, **FULL_BODY)
    with db.session() as session:
        customer = session.get(Customer, created["id"])
        assert customer is not None
        embedded = render.embedded(customer)
    assert set(embedded) == DEFAULT_KEYS
    assert embedded == {key: created[key] for key in DEFAULT_KEYS}


def test_create_auto_numbers(api: Api) -> None:
    assert create(api, name="First")["number"] == "0002"  # Kimai renders count + 2
    assert create(api, name="Hidden", visible=False, number="H-1")["number"] == "H-1"
    assert create(api, name="Third")["number"] == "0004"  # hidden customers are counted too
    assert create(api, name="Manual", number="0006")["number"] == "0006"
    assert create(api, name="Fifth")["number"] == "0007"  # count 4 -> 0006 is taken -> 0007
    assert create(api, name="Emptied", number="")["number"] is None  # a submitted "" replaces it
    assert create(api, name="Seventh")["number"] == "0008"


def test_create_number_format_setting(api: Api, app_settings: Settings) -> None:
    app_settings.customer_number_format = "{cc,6}"
    assert create(api)["number"] == "000002"
    app_settings.customer_number_format = "CUST"  # no counter: used once, then no number
    assert create(api, name="Constant")["number"] == "CUST"
    assert create(api, name="Again")["number"] is None


def test_create_duplicate_number(api: Api) -> None:
    create(api, name="First", number="X-1")
    response = api.post("/api/customers", json={"name": "Second", "number": "X-1"})
    errors = form_errors(response)
    assert "errors" not in errors
    assert set(errors["children"]) == FORM_FIELDS
    assert field_errors(response) == {"number": ["The number X-1 is already used."]}


def test_create_duplicate_number_allowed_by_setting(api: Api, app_settings: Settings) -> None:
    create(api, name="First", number="X-1")
    app_settings.allow_duplicate_numbers = True
    assert create(api, name="Second", number="X-1")["number"] == "X-1"


@pytest.mark.parametrize("as_", ["user", "teamlead"])
def test_create_forbidden(api: Api, as_: str) -> None:
    for body in ({"name": "Acme"}, {"name": ""}, {"bogus": 1}):
        response = api.post("/api/customers", json=body, as_=as_)
        assert response.status_code == 403, body  # before the form reads the body
        assert response.json() == FORBIDDEN
    assert api.get("/api/customers?visible=3").json() == []


def test_create_needs_credentials(api: Api) -> None:
    response = api.post("/api/customers", json={"name": "Acme"}, as_=None)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


@pytest.mark.parametrize("as_", [None, "user", "super"])
def test_create_invalid_json_is_bad_request(api: Api, as_: str | None) -> None:
    # The body is decoded before credentials and permissions are checked.
    for content in (b'{"name": "Acme"', b'"just a string"', b"42", b"{name: 1}", b"null"):
        response = api.post(
            "/api/customers", content=content, headers={"Content-Type": "application/json"}, as_=as_
        )
        assert (response.status_code, response.json()) == (400, BAD_REQUEST), content


CREATE_ERRORS = [
    ({}, {"name": [BLANK]}),
    ({"name": ""}, {"name": [BLANK]}),
    ({"name": None}, {"name": [BLANK]}),
    ({"name": "   "}, {"name": [BLANK]}),
    ({"name": "A"}, {"name": ["This value is too short. It should have 2 characters or more."]}),
    ({"name": "A" * 151}, {"name": ["This value is too long. It should have 150 characters or less."]}),
    ({"number": "N" * 51}, {"number": ["This value is too long. It should have 50 characters or less."]}),
    (
        {"company": "C" * 101},
        {"company": ["This value is too long. It should have 100 characters or less."]},
    ),
    (
        {"postCode": "1" * 21},
        {"postCode": ["This value is too long. It should have 20 characters or less."]},
    ),
    ({"city": "C" * 51}, {"city": ["This value is too long. It should have 50 characters or less."]}),
    ({"phone": "1" * 31}, {"phone": ["This value is too long. It should have 30 characters or less."]}),
    ({"country": "XX"}, {"country": ["Please select a valid country."]}),
    ({"country": "de"}, {"country": ["Please select a valid country."]}),
    ({"country": ""}, {"country": [BLANK]}),
    ({"currency": "EURO"}, {"currency": ["Please select a valid currency."]}),
    ({"currency": None}, {"currency": [BLANK]}),
    ({"timezone": "Mars/Olympus"}, {"timezone": ["Please select a valid timezone."]}),
    ({"timezone": ""}, {"timezone": [BLANK]}),
    ({"language": "xx"}, {"language": ["Please select a valid language."]}),
    ({"language": ""}, {"language": [BLANK]}),
    ({"email": "not-an-email"}, {"email": ["This value is not a valid email address."]}),
    ({"invoiceEmail": "a@"}, {"invoiceEmail": ["This value is not a valid email address."]}),
    ({"homepage": "not a url"}, {"homepage": ["This value is not a valid URL."]}),
    ({"homepage": "ftp://files.example"}, {"homepage": ["This value is not a valid URL."]}),
    ({"color": "#123456"}, {"color": [INVALID_CHOICE]}),
    ({"color": "#C0C0C0"}, {"color": [INVALID_CHOICE]}),  # palette values match case-sensitively
    ({"color": "red"}, {"color": [INVALID_CHOICE]}),
    ({"budget": -1}, {"budget": ["This value should be between 0 and 900000000000."]}),
    ({"budget": 900000000001}, {"budget": ["This value should be between 0 and 900000000000."]}),
    ({"budget": "lots"}, {"budget": ["Please enter a valid money amount."]}),
    ({"timeBudget": "abc"}, {"timeBudget": ["This value is not valid."]}),
    ({"timeBudget": "-1"}, {"timeBudget": ["This value should be between 0 and 2145600000."]}),
    ({"timeBudget": "596001"}, {"timeBudget": ["This value should be between 0 and 2145600000."]}),
    ({"budgetType": "year"}, {"budgetType": [INVALID_CHOICE]}),
    ({"invoiceTemplate": 1}, {"invoiceTemplate": [INVALID_CHOICE]}),
    ({"teams": [999]}, {"teams": [INVALID_CHOICE]}),
    ({"teams": 1}, {"teams": [INVALID_CHOICE]}),  # a multiple choice needs an array
    ({"comment": ["a", "b"]}, {"comment": ["This value is not valid."]}),
    (
        {"name": "A", "country": "XX", "email": "x"},
        {
            "name": ["This value is too short. It should have 2 characters or more."],
            "country": ["Please select a valid country."],
            "email": ["This value is not a valid email address."],
        },
    ),
]


def test_create_validation(api: Api) -> None:
    for body, expected in CREATE_ERRORS:
        payload = body if not body or "name" in body else {"name": "Valid name", **body}
        response = api.post("/api/customers", json=payload, as_="admin")
        errors = form_errors(response)
        assert "errors" not in errors, body
        assert set(errors["children"]) == FORM_FIELDS, body
        assert field_errors(response) == expected, body
    assert api.get("/api/customers?visible=3").json() == []


def test_create_extra_field(api: Api) -> None:
    response = api.post("/api/customers", json={"name": "Acme", "unknown": "x", "metaFields": []})
    errors = form_errors(response)
    assert errors == {
        "errors": [EXTRA_FIELDS],
        "children": {name: {} for name in FORM_FIELDS},
    }


HOMEPAGES = [
    ("acme.example", "https://acme.example"),
    ("www.acme.example/about", "https://www.acme.example/about"),
    ("http://acme.example", "http://acme.example"),
    ("https://acme.example/x?y=1", "https://acme.example/x?y=1"),
    ("", None),
    (None, None),
]


def test_create_homepage_gets_https(api: Api) -> None:
    for homepage, stored in HOMEPAGES:
        assert create(api, homepage=homepage)["homepage"] == stored, homepage


TIME_BUDGETS = [
    ("1.5", 5400),
    ("10,25", 36900),
    (2, 7200),
    ("2h30m", 9000),
    ("90m", 5400),
    ("1h30s", 3630),
    ("1:30", 5400),
    ("1:30:15", 5415),
    ("", 0),
    (None, 0),
]


def test_create_time_budget_parsing(api: Api) -> None:
    for value, seconds in TIME_BUDGETS:
        assert create(api, timeBudget=value)["timeBudget"] == seconds, value


BUDGETS = [(12.5, 12.5), ("99,5", 99.5), ("0", 0.0), ("", 0.0), (None, 0.0), (900000000000, 9e11)]


def test_create_budget_parsing(api: Api) -> None:
    for value, budget in BUDGETS:
        assert create(api, budget=value)["budget"] == budget, value


CHECKBOXES = [
    (False, False),
    (True, True),
    (0, True),
    ("0", True),
    (None, True),
    ("false", True),
    ("", True),
    (1, True),
]


def test_create_booleans(api: Api) -> None:
    # Kimai's API checkboxes: only JSON false (decoded to null) unchecks; absent keeps the default.
    for value, expected in CHECKBOXES:
        created = create(api, visible=value, billable=value)
        assert (created["visible"], created["billable"]) == (expected, expected), value
    created = create(api)
    assert (created["visible"], created["billable"]) == (True, True)


def test_create_color_and_budget_type(api: Api) -> None:
    created = create(api, color="#E6E6FA", budgetType="month")
    assert (created["color"], created["color-safe"], created["budgetType"]) == ("#E6E6FA", "#E6E6FA", "month")
    cleared = create(api, name="No colour", color="", budgetType="")
    assert (cleared["color"], cleared["budgetType"]) == (None, None)


def test_create_snake_case_keys(api: Api) -> None:
    created = create(
        api,
        vat_id="VAT-1",
        address_line1="Line 1",
        post_code="999",
        invoice_email="i@x.example",
        time_budget="1",
    )
    assert (created["vatId"], created["addressLine1"], created["postCode"]) == ("VAT-1", "Line 1", "999")
    assert (created["invoiceEmail"], created["timeBudget"]) == ("i@x.example", 3600)


def test_create_colliding_keys_after_camel_case(api: Api) -> None:
    response = api.post("/api/customers", json={"name": "Acme", "vatId": "A", "vat_id": "B"})
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_create_form_urlencoded(api: Api) -> None:
    response = api.post(
        "/api/customers",
        content=b"name=Form+Co&country=FR&vat_id=FR1&visible=0",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    created = response.json()
    # A submitted checkbox is checked whatever its value.
    assert (created["name"], created["country"], created["vatId"], created["visible"]) == (
        "Form Co",
        "FR",
        "FR1",
        True,
    )


def test_create_with_teams(api: Api, db: Database) -> None:
    first = add_team(db, "First", leads=("teamlead",))
    second = add_team(db, "Second", leads=("super",))
    created = create(api, as_="admin", teams=[second, first])
    assert [t["name"] for t in created["teams"]] == ["First", "Second"]
    assert created["teams"][0] == {
        "id": first,
        "name": "First",
        "color": None,
        "color-safe": created["teams"][0]["color-safe"],
        "modifiedAt": created["teams"][0]["modifiedAt"],
    }
    assert [t["id"] for t in api.get(f"/api/customers/{created['id']}").json()["teams"]] == [first, second]
    assert create(api, name="None", teams=[])["teams"] == []
    response = api.post("/api/customers", json={"name": "Lead", "teams": [first]}, as_="teamlead")
    assert response.status_code == 403


def test_create_with_team_partly_unknown(api: Api, db: Database) -> None:
    known = add_team(db, "Known", leads=("admin",))
    response = api.post("/api/customers", json={"name": "Acme", "teams": [known, 999]})
    assert field_errors(response) == {"teams": [INVALID_CHOICE]}


# --- update --------------------------------------------------------------------------------------------


def test_patch_partial(api: Api) -> None:
    created = create(api, **FULL_BODY)
    response = api.patch(
        f"/api/customers/{created['id']}", json={"comment": "Changed", "city": None, "visible": True}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    changed = {"comment": "Changed", "city": None, "visible": True, "modifiedAt": updated["modifiedAt"]}
    assert updated == {**created, **changed}
    assert api.get(f"/api/customers/{created['id']}").json() == updated


def test_patch_empty_body_changes_nothing(api: Api) -> None:
    created = create(api, **FULL_BODY)
    response = api.patch(f"/api/customers/{created['id']}", json={})
    assert response.status_code == 200
    assert response.json() == created


PATCH_ERRORS: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
    ({"name": ""}, {"name": [BLANK]}),
    ({"name": None}, {"name": [BLANK]}),
    ({"name": "x"}, {"name": ["This value is too short. It should have 2 characters or more."]}),
    ({"country": "ZZ"}, {"country": ["Please select a valid country."]}),
    ({"currency": ""}, {"currency": [BLANK]}),
    ({"timeBudget": "soon"}, {"timeBudget": ["This value is not valid."]}),
    ({"color": "#d2d6de"}, {"color": [INVALID_CHOICE]}),
]


def test_patch_validation(api: Api) -> None:
    created = create(api)
    for body, expected in PATCH_ERRORS:
        response = api.patch(f"/api/customers/{created['id']}", json=body)
        errors = form_errors(response)
        assert set(errors["children"]) == PATCH_FIELDS, body
        assert field_errors(response) == expected, body
    assert api.get(f"/api/customers/{created['id']}").json() == created


def test_patch_extra_fields(api: Api) -> None:
    created = create(api)
    for body in ({"teams": []}, {"address": "Old street"}, {"metaFields": {}}, {"foo": 1, "name": ""}):
        errors = form_errors(api.patch(f"/api/customers/{created['id']}", json=body))
        assert errors["errors"] == [EXTRA_FIELDS], body
        assert set(errors["children"]) == PATCH_FIELDS, body
    # Field errors are reported next to the extra-field error.
    assert errors["children"]["name"] == {"errors": [BLANK]}
    assert api.get(f"/api/customers/{created['id']}").json() == created


def test_patch_address_only_with_legacy_address(api: Api, db: Database) -> None:
    created = create(api)
    with db.session(write=True) as session:
        customer = session.get(Customer, created["id"])
        assert customer is not None
        customer.address = "Old street 1\n1010 Vienna"
    assert api.get(f"/api/customers/{created['id']}").json()["address"] == "Old street 1\n1010 Vienna"
    response = api.patch(f"/api/customers/{created['id']}", json={"address": "New street 2"})
    assert response.status_code == 200, response.text
    assert response.json()["address"] == "New street 2"
    invalid = api.patch(f"/api/customers/{created['id']}", json={"name": ""})
    assert set(form_errors(invalid)["children"]) == PATCH_FIELDS | {"address"}


def test_patch_duplicate_number(api: Api) -> None:
    create(api, name="First", number="N-1")
    second = create(api, name="Second", number="N-2")
    response = api.patch(f"/api/customers/{second['id']}", json={"number": "N-1"})
    assert field_errors(response) == {"number": ["The number N-1 is already used."]}
    same = api.patch(f"/api/customers/{second['id']}", json={"number": "N-2"})  # its own number is fine
    assert same.status_code == 200


def test_patch_permissions(api: Api, db: Database) -> None:
    created = create(api)
    add_team(db, "Led", leads=("teamlead",), members=("user",), customers=(created["id"],))
    for as_ in ("user", "teamlead"):
        response = api.patch(f"/api/customers/{created['id']}", json={"name": ""}, as_=as_)
        assert response.status_code == 403  # before the form
        assert response.json() == FORBIDDEN
    assert (
        api.patch(f"/api/customers/{created['id']}", json={"name": "Renamed"}, as_="admin").status_code == 200
    )
    missing = api.patch("/api/customers/999", json={"name": "x"}, as_="user")
    assert missing.status_code == 404
    assert missing.json() == NOT_FOUND


def _caller_without(*dropped: str) -> Caller:
    person = PEOPLE["admin"]
    granted = permissions_for(person.roles) - set(dropped)
    return Caller(
        id=person.id,
        username=person.username,
        timezone=person.timezone,
        language="en",
        roles=person.roles,
        permissions=granted,
    )


@pytest.mark.parametrize(
    ("dropped", "missing_fields"),
    [
        (("budget_customer",), {"budget"}),
        (("time_customer",), {"timeBudget"}),
        (("budget_customer", "time_customer"), {"budget", "timeBudget", "budgetType"}),
    ],
)
def test_patch_budget_fields_need_permission(
    api: Api, db: Database, dropped: tuple[str, ...], missing_fields: set[str]
) -> None:
    # No default role may edit a customer without seeing its budgets, so the service gets a
    # caller with a reduced permission set (as a customised role configuration would give).
    created = create(api)
    caller = _caller_without(*dropped)
    submitted = {"budget": "1", "timeBudget": "1", "budgetType": "month"}
    stored = {"budget": 1.0, "timeBudget": 3600, "budgetType": "month"}
    for field, value in submitted.items():
        with db.session(write=True) as session:
            if field in missing_fields:
                with pytest.raises(ValidationFailed) as failure:
                    update(session, spec=EDIT, caller=caller, entity_id=created["id"], data={field: value})
                assert failure.value.errors == {
                    "errors": [EXTRA_FIELDS],
                    "children": {name: {} for name in PATCH_FIELDS - missing_fields},
                }, field
            else:
                update(session, spec=EDIT, caller=caller, entity_id=created["id"], data={field: value})
        view = api.get(f"/api/customers/{created['id']}").json()
        assert view[field] == (created[field] if field in missing_fields else stored[field]), field


# --- delete --------------------------------------------------------------------------------------------


def test_delete(api: Api) -> None:
    created = create(api)
    response = api.delete(f"/api/customers/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/customers/{created['id']}").status_code == 404
    again = api.delete(f"/api/customers/{created['id']}")
    assert again.status_code == 404
    assert again.json() == NOT_FOUND


def test_delete_permissions(api: Api, db: Database) -> None:
    created = create(api)
    add_team(db, "Led", leads=("teamlead",), customers=(created["id"],))
    for as_ in ("user", "teamlead"):
        response = api.delete(f"/api/customers/{created['id']}", as_=as_)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert api.delete("/api/customers/999", as_="user").status_code == 404
    assert api.delete(f"/api/customers/{created['id']}", as_=None).status_code == 401
    assert api.delete(f"/api/customers/{created['id']}", as_="admin").status_code == 204


def test_delete_cascades(api: Api, db: Database) -> None:
    doomed = create(api, name="Doomed")["id"]
    kept = create(api, name="Kept")["id"]
    team = add_team(db, "Team", leads=("admin",), customers=(doomed, kept))
    assert (
        api.patch(f"/api/customers/{doomed}/meta", json={"name": "crm_id", "value": "1"}).status_code == 200
    )
    assert api.post(f"/api/customers/{doomed}/rates", json={"rate": 10}).status_code == 200
    assert api.post(f"/api/customers/{doomed}/comments", json={"message": "bye"}).status_code == 200
    with db.session(write=True) as session:
        global_activity = Activity(project_id=None, name="Global")
        session.add(global_activity)
        for customer_id in (doomed, kept):
            project = Project(customer_id=customer_id, name=f"Project of {customer_id}")
            session.add(project)
            session.flush()
            activity = Activity(project_id=project.id, name=f"Activity of {customer_id}")
            session.add(activity)
            session.flush()
            for activity_id in (activity.id, global_activity.id):
                session.add(
                    Timesheet(
                        user_id=PEOPLE["user"].id,
                        project_id=project.id,
                        activity_id=activity_id,
                        begin=dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC),
                        timezone="UTC",
                    )
                )
    assert api.delete(f"/api/customers/{doomed}").status_code == 204
    assert count(db, Project, customer_id=doomed) == 0
    assert count(db, Project, customer_id=kept) == 1
    assert count(db, Activity) == 2  # the kept customer's and the global one
    assert count(db, Timesheet) == 2  # the kept customer's, on both activities
    assert count(db, CustomerMeta, entity_id=doomed) == 0
    assert count(db, CustomerRate, entity_id=doomed) == 0
    assert count(db, CustomerComment, entity_id=doomed) == 0
    assert count(db, TeamCustomer, team_id=team) == 1
    assert count(db, Team) == 1
    assert names(api.get("/api/customers")) == ["Kept"]


# --- meta fields ---------------------------------------------------------------------------------------


def test_meta_set(api: Api) -> None:
    created = create(api)
    response = api.patch(f"/api/customers/{created['id']}/meta", json={"name": "crm_id", "value": "CRM-1"})
    assert response.status_code == 200, response.text
    changed = {
        "metaFields": [{"name": "crm_id", "value": "CRM-1"}],
        "modifiedAt": response.json()["modifiedAt"],
    }
    assert response.json() == {**created, **changed}
    again = api.patch(f"/api/customers/{created['id']}/meta", json={"name": "CRM_ID", "value": 42})
    assert again.json()["metaFields"] == [{"name": "crm_id", "value": "42"}]
    emptied = api.patch(f"/api/customers/{created['id']}/meta", json={"name": "Crm_Id", "value": None})
    assert emptied.json()["metaFields"] == [{"name": "crm_id", "value": ""}]
    assert api.get(f"/api/customers/{created['id']}").json()["metaFields"] == [
        {"name": "crm_id", "value": ""}
    ]
    assert api.get("/api/customers").json()[0]["metaFields"] == [{"name": "crm_id", "value": ""}]


META_ERRORS: list[tuple[dict[str, Any], int]] = [
    ({"name": "unknown", "value": "x"}, 404),
    ({"name": "", "value": "x"}, 404),
    ({"value": "x"}, 400),
    ({"name": "crm_id"}, 400),
    ({"name": "unknown"}, 400),  # both parameters are read before the lookup
    ({}, 400),
    ({"name": "crm_id", "value": False}, 400),
    ({"name": False, "value": "x"}, 400),
    ({"name": ["crm_id"], "value": "x"}, 400),
]


def test_meta_errors(api: Api) -> None:
    created = create(api)
    for body, status in META_ERRORS:
        response = api.patch(f"/api/customers/{created['id']}/meta", json=body)
        assert response.status_code == status, body
        assert response.json() == (NOT_FOUND if status == 404 else BAD_REQUEST)
    assert api.get(f"/api/customers/{created['id']}").json()["metaFields"] == []


def test_meta_permissions(api: Api, db: Database) -> None:
    created = create(api)
    add_team(db, "Led", leads=("teamlead",), customers=(created["id"],))
    for as_ in ("user", "teamlead"):
        response = api.patch(f"/api/customers/{created['id']}/meta", json={}, as_=as_)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    missing = api.patch("/api/customers/999/meta", json={}, as_="user")
    assert missing.status_code == 404
    assert api.patch(f"/api/customers/{created['id']}/meta", json={}, as_=None).status_code == 401


def test_meta_field_declared_through_the_cli_service(api: Api, db: Database) -> None:
    created = create(api)
    with db.session(write=True) as session:
        add_definition(session, entity_type="customer", name="erp_ref")
        add_definition(session, entity_type="customer", name="secret", visible=False)
        add_definition(session, entity_type="project", name="project_only")
    response = api.patch(f"/api/customers/{created['id']}/meta", json={"name": "ERP_REF", "value": "E-7"})
    assert response.status_code == 200, response.text
    hidden = api.patch(f"/api/customers/{created['id']}/meta", json={"name": "secret", "value": "s"})
    assert hidden.status_code == 200
    assert hidden.json()["metaFields"] == [{"name": "erp_ref", "value": "E-7"}]  # hidden fields are not shown
    other_type = api.patch(
        f"/api/customers/{created['id']}/meta", json={"name": "project_only", "value": "x"}
    )
    assert other_type.status_code == 404
    assert names(api.get("/api/customers", params={"term": "secret:s"})) == ["Acme"]


# --- rates ---------------------------------------------------------------------------------------------


def test_rates_round_trip(api: Api) -> None:
    customer = create(api)["id"]
    assert api.get(f"/api/customers/{customer}/rates").json() == []
    response = api.post(
        f"/api/customers/{customer}/rates",
        json={"user": PEOPLE["user"].id, "rate": 12.5, "internalRate": "-3", "isFixed": True},
    )
    assert response.status_code == 200, response.text
    rate = response.json()
    assert set(rate) == {"id", "user", "rate", "internalRate", "isFixed"}
    assert (rate["rate"], rate["internalRate"], rate["isFixed"]) == (12.5, -3.0, True)
    assert rate["user"]["id"] == PEOPLE["user"].id
    assert rate["user"]["username"] == "john_user"
    everyone = api.post(f"/api/customers/{customer}/rates", json={}).json()
    assert everyone == {
        "id": everyone["id"],
        "user": None,
        "rate": 0.0,
        "internalRate": None,
        "isFixed": False,
    }
    listed = api.get(f"/api/customers/{customer}/rates").json()
    assert sorted(r["id"] for r in listed) == sorted([rate["id"], everyone["id"]])
    assert next(r for r in listed if r["id"] == rate["id"]) == rate
    deleted = api.delete(f"/api/customers/{customer}/rates/{rate['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"/api/customers/{customer}/rates").json() == [everyone]
    gone = api.delete(f"/api/customers/{customer}/rates/{rate['id']}")
    assert gone.status_code == 404
    assert gone.json() == NOT_FOUND


def test_rate_is_fixed_is_a_checkbox(api: Api) -> None:
    for value, fixed in [(False, False), (True, True), (0, True), ("0", True), (None, True), ("false", True)]:
        customer = create(api, name=f"For {value!r}")["id"]  # one rate for all users per customer
        rate = api.post(f"/api/customers/{customer}/rates", json={"rate": 1, "isFixed": value}).json()
        assert rate["isFixed"] is fixed, value


RATE_ERRORS: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
    ({"rate": -1}, {"rate": ["This value should be greater than or equal to 0."]}),
    ({"rate": "ten"}, {"rate": ["Please enter a valid money amount."]}),
    ({"internalRate": "ten"}, {"internalRate": ["Please enter a valid money amount."]}),
    ({"rate": 1, "user": 999}, {"user": [INVALID_CHOICE]}),
    ({"rate": 1, "user": "abc"}, {"user": [INVALID_CHOICE]}),
    ({"rate": 1, "user": [1]}, {"user": ["This value is not valid."]}),
    ({"rate": None}, {"rate": [BLANK]}),  # Kimai fails with a 500 here; refused cleanly instead
]


def test_rate_validation(api: Api, db: Database) -> None:
    customer = create(api)["id"]
    for body, expected in RATE_ERRORS:
        response = api.post(f"/api/customers/{customer}/rates", json=body)
        errors = form_errors(response)
        assert set(errors["children"]) == {"user", "rate", "internalRate", "isFixed"}, body
        assert field_errors(response) == expected, body
    with db.session(write=True) as session:
        disabled = session.get(User, PEOPLE["user"].id)
        assert disabled is not None
        disabled.enabled = False
    response = api.post(f"/api/customers/{customer}/rates", json={"user": PEOPLE["user"].id})
    assert field_errors(response) == {"user": [INVALID_CHOICE]}  # only enabled users are choices
    assert api.get(f"/api/customers/{customer}/rates").json() == []


def test_rate_extra_field(api: Api) -> None:
    customer = create(api)["id"]
    errors = form_errors(api.post(f"/api/customers/{customer}/rates", json={"rate": 1, "customer": customer}))
    assert errors == {
        "errors": [EXTRA_FIELDS],
        "children": {"user": {}, "rate": {}, "internalRate": {}, "isFixed": {}},
    }


@pytest.mark.parametrize("user", [None, "user"])
def test_rate_unique_per_user(api: Api, user: str | None) -> None:
    customer = create(api)["id"]
    other = create(api, name="Other")["id"]
    body = {"rate": 5, "user": PEOPLE[user].id if user else None}
    assert api.post(f"/api/customers/{customer}/rates", json=body).status_code == 200
    duplicate = api.post(f"/api/customers/{customer}/rates", json={**body, "rate": 7})
    assert field_errors(duplicate) == {"user": ["This value is already used."]}
    assert api.post(f"/api/customers/{other}/rates", json=body).status_code == 200  # per customer
    assert len(api.get(f"/api/customers/{customer}/rates").json()) == 1


def test_rate_of_another_customer_is_404(api: Api) -> None:
    first = create(api)["id"]
    second = create(api, name="Second")["id"]
    rate = api.post(f"/api/customers/{first}/rates", json={"rate": 3}).json()
    response = api.delete(f"/api/customers/{second}/rates/{rate['id']}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert len(api.get(f"/api/customers/{first}/rates").json()) == 1
    assert api.delete(f"/api/customers/999/rates/{rate['id']}").status_code == 404


def test_rate_permissions(api: Api, db: Database) -> None:
    customer = create(api)["id"]
    add_team(db, "Led", leads=("teamlead",), members=("user",), customers=(customer,))
    rate = api.post(f"/api/customers/{customer}/rates", json={"rate": 3}).json()
    for as_ in ("user", "teamlead"):
        for method, url, body in (
            ("GET", f"/api/customers/{customer}/rates", None),
            ("POST", f"/api/customers/{customer}/rates", {"rate": -1}),
            ("DELETE", f"/api/customers/{customer}/rates/{rate['id']}", None),
        ):
            response = api.request(method, url, json=body, as_=as_)
            assert response.status_code == 403, (as_, method)
            assert response.json() == FORBIDDEN
        missing = api.get("/api/customers/999/rates", as_=as_)
        assert missing.status_code == 404
        unknown_rate = api.delete(f"/api/customers/{customer}/rates/999", as_=as_)
        assert unknown_rate.status_code == 404  # the rate is looked up before the permission check
    admin_rate = api.post(f"/api/customers/{customer}/rates", json={"rate": 4, "user": 3}, as_="admin")
    assert admin_rate.status_code == 200
    assert len(api.get(f"/api/customers/{customer}/rates", as_="admin").json()) == 2


# --- comments ------------------------------------------------------------------------------------------


def test_comments(api: Api) -> None:
    customer = create(api)["id"]
    assert api.get(f"/api/customers/{customer}/comments").json() == []
    first = api.post(f"/api/customers/{customer}/comments", json={"message": "First **note**"})
    assert first.status_code == 200, first.text
    comment = first.json()
    assert set(comment) == {"id", "message", "createdBy", "createdAt", "pinned"}
    assert (comment["message"], comment["pinned"]) == ("First **note**", False)
    assert comment["createdBy"]["username"] == "susan_super"
    second = api.post(f"/api/customers/{customer}/comments", json={"message": "Second"}).json()
    pinned = api.post(f"/api/customers/{customer}/comments", json={"message": "Pinned", "pinned": 0}).json()
    assert pinned["pinned"] is True  # any value but false checks the box
    assert (
        api.post(f"/api/customers/{customer}/comments", json={"message": "x", "pinned": False}).json()[
            "pinned"
        ]
        is False
    )
    listed = [c["message"] for c in api.get(f"/api/customers/{customer}/comments").json()]
    assert listed == ["Pinned", "x", "Second", "First **note**"]
    toggled = api.patch(f"/api/customers/{customer}/comments/{first.json()['id']}/pin")
    assert toggled.status_code == 200
    assert toggled.json() == {**comment, "pinned": True}
    listed = [c["message"] for c in api.get(f"/api/customers/{customer}/comments").json()]
    assert listed == ["Pinned", "First **note**", "x", "Second"]
    assert api.patch(f"/api/customers/{customer}/comments/{pinned['id']}/pin").json()["pinned"] is False
    deleted = api.delete(f"/api/customers/{customer}/comments/{second['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    listed = [c["message"] for c in api.get(f"/api/customers/{customer}/comments").json()]
    assert listed == ["First **note**", "x", "Pinned"]


def test_comment_message_required(api: Api) -> None:
    customer = create(api)["id"]
    for body in ({}, {"message": None}, {"message": ""}, {"message": "  "}, {"pinned": True}):
        response = api.post(f"/api/customers/{customer}/comments", json=body)
        errors = form_errors(response)
        assert set(errors["children"]) == {"message", "pinned"}, body
        assert field_errors(response) == {"message": ["This value should not be null."]}, body
    assert api.get(f"/api/customers/{customer}/comments").json() == []


def test_comment_extra_field(api: Api) -> None:
    customer = create(api)["id"]
    errors = form_errors(api.post(f"/api/customers/{customer}/comments", json={"message": "x", "author": 1}))
    assert errors == {"errors": [EXTRA_FIELDS], "children": {"message": {}, "pinned": {}}}


def test_comment_of_another_customer(api: Api) -> None:
    first = create(api)["id"]
    second = create(api, name="Second")["id"]
    comment = api.post(f"/api/customers/{first}/comments", json={"message": "mine"}).json()
    for method, url in (
        ("PATCH", f"/api/customers/{second}/comments/{comment['id']}/pin"),
        ("DELETE", f"/api/customers/{second}/comments/{comment['id']}"),
    ):
        response = api.request(method, url)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert api.patch(f"/api/customers/{first}/comments/999/pin").status_code == 404
    assert api.delete(f"/api/customers/{first}/comments/999").status_code == 404
    assert api.patch(f"/api/customers/999/comments/{comment['id']}/pin").status_code == 404
    assert api.get(f"/api/customers/{first}/comments").json() == [comment]


def test_comment_permissions(api: Api, db: Database) -> None:
    led = create(api, name="Led")["id"]
    open_ = create(api, name="Open")["id"]
    add_team(db, "Led", leads=("teamlead",), members=("user",), customers=(led,))
    comment = api.post(f"/api/customers/{led}/comments", json={"message": "by super"}).json()
    # A teamlead may view and add comments of customers of teams they lead, but not pin or delete.
    assert api.get(f"/api/customers/{led}/comments", as_="teamlead").status_code == 200
    added = api.post(f"/api/customers/{led}/comments", json={"message": "by lead"}, as_="teamlead")
    assert added.status_code == 200
    assert added.json()["createdBy"]["username"] == "tony_teamlead"
    forbidden = [
        ("teamlead", "PATCH", f"/api/customers/{led}/comments/{comment['id']}/pin"),
        ("teamlead", "DELETE", f"/api/customers/{led}/comments/{comment['id']}"),
        ("teamlead", "GET", f"/api/customers/{open_}/comments"),
        ("user", "GET", f"/api/customers/{led}/comments"),
        ("user", "POST", f"/api/customers/{led}/comments"),
        ("user", "PATCH", f"/api/customers/{led}/comments/{comment['id']}/pin"),
    ]
    for as_, method, url in forbidden:
        response = api.request(method, url, as_=as_, json={"message": "x"} if method == "POST" else None)
        assert response.status_code == 403, (as_, method, url)
        assert response.json() == FORBIDDEN
    assert api.get("/api/customers/999/comments", as_="user").status_code == 404


def test_comment_created_at_in_callers_timezone(api: Api, db: Database) -> None:
    customer = create(api)["id"]
    comment = api.post(f"/api/customers/{customer}/comments", json={"message": "when?"}, as_="admin").json()
    with db.session() as session:
        row = session.get(CustomerComment, comment["id"])
        assert row is not None
        instant = row.created_at
    berlin = api.get(f"/api/customers/{customer}/comments", as_="super").json()[0]["createdAt"]
    new_york = api.get(f"/api/customers/{customer}/comments", as_="admin").json()[0]["createdAt"]
    expected_berlin = instant.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%dT%H:%M:%S%z")
    expected_new_york = instant.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert comment["createdAt"] == expected_new_york
    assert (berlin, new_york) == (expected_berlin, expected_new_york)
    assert berlin[-5:] == offset_at(instant, "Europe/Berlin") != new_york[-5:]
    parsed = {dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z") for value in (berlin, new_york)}
    assert len(parsed) == 1  # the same instant


# --- removed route -------------------------------------------------------------------------------------


def test_team_route_is_gone(api: Api) -> None:
    existing = create(api)["id"]
    for customer in (existing, 999):
        for as_ in ("super", "user"):
            response = api.post(f"/api/customers/{customer}/team", json={"team": 1}, as_=as_)
            assert (response.status_code, response.json()) == (410, GONE), (customer, as_)


def test_team_route_needs_credentials(api: Api) -> None:
    assert api.post("/api/customers/1/team", as_=None).status_code == 401


# --- order of checks on sub-resources, races -------------------------------------------------------


def test_unknown_comment_is_404_before_the_permission_check(api: Api) -> None:
    customer = create(api)["id"]
    for method in ("PATCH", "DELETE"):
        suffix = "/pin" if method == "PATCH" else ""
        response = api.request(method, f"/api/customers/{customer}/comments/999{suffix}", as_="user")
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method


def test_another_customers_rate_is_403_for_a_caller_without_edit(api: Api) -> None:
    """Kimai checks ``edit`` before noticing the rate belongs to another customer."""
    first, second = create(api, name="First")["id"], create(api, name="Second")["id"]
    rate = api.post(f"/api/customers/{second}/rates", json={"rate": 10}).json()["id"]
    response = api.delete(f"/api/customers/{first}/rates/{rate}", as_="user")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert api.delete(f"/api/customers/{first}/rates/{rate}").status_code == 404


def test_the_database_keeps_one_rate_per_user_and_customer(api: Api, db: Database) -> None:
    """The unique index behind the form check: it decides when two requests race."""
    customer = create(api)["id"]
    for user_id in (None, PEOPLE["user"].id):
        with db.session(write=True) as session:
            session.add(CustomerRate(entity_id=customer, user_id=user_id, rate=1.0))
        with pytest.raises(IntegrityError), db.session(write=True) as session:  # noqa: PT012
            session.add(CustomerRate(entity_id=customer, user_id=user_id, rate=2.0))
            session.flush()
