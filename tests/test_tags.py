"""Tag endpoints (/api/tags…), checked against Kimai 2.66 behaviour over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from punchclock import changes
from punchclock.auth.permissions import Caller, permissions_for, system_caller
from punchclock.db import Database, utcnow
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import SPECIAL_CHARACTERS_FOUND
from punchclock.tags import service
from punchclock.tags.models import Tag
from punchclock.timesheets.models import Timesheet, TimesheetTag
from tests.conftest import EXTRA_FIELDS, FORBIDDEN, INVALID_CHOICE, NOT_FOUND, PEOPLE, Api
from tests.test_projects import make_activity, make_customer, make_project

TAG_KEYS = {"id", "name", "visible", "color", "color-safe", "modifiedAt"}
FORM_FIELDS = ("name", "visible", "color")
BLANK = "This value should not be blank."
TAKEN = "This value is already used."
SHORT = "This value is too short. It should have 2 characters or more."


def create(api: Api, as_: str = "super", **data: Any) -> dict[str, Any]:
    response = api.post("/api/tags", json={"visible": True, **data}, as_=as_)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def envelope(field_errors: dict[str, list[str]], global_errors: list[str] | None = None) -> dict[str, Any]:
    """Kimai's whole 400 body for the tag form."""
    errors: dict[str, Any] = {"errors": global_errors} if global_errors else {}
    errors["children"] = {
        name: ({"errors": field_errors[name]} if name in field_errors else {}) for name in FORM_FIELDS
    }
    return {"code": 400, "message": "Validation Failed", "errors": errors}


def tag_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Tag)) or 0


# --- GET /api/tags ----------------------------------------------------------------------------------


def test_names_of_visible_tags_sorted_case_insensitively(api: Api) -> None:
    for name in ("banana", "Apple", "cherry", "apricot"):
        create(api, name=name)
    create(api, name="Hidden", visible=False)
    for who in PEOPLE:  # every role may read tags
        response = api.get("/api/tags", as_=who)
        assert (response.status_code, response.json()) == (200, ["Apple", "apricot", "banana", "cherry"])


NAME_FILTERS = [
    ("in", ["Administration", "Bug Fixing", "Marketing"]),  # Kimai's own test case
    ("IN", ["Administration", "Bug Fixing", "Marketing"]),  # case-insensitive
    ("2018", ["#2018-001", "#2018-002"]),
    ("nothing", []),
    ("50%", ["50% off"]),  # % and _ are literal characters
    ("%", ["50% off"]),
    ("_", ["snake_case"]),
    ("Hidden", []),  # invisible tags never appear
    ("", ["#2018-001", "#2018-002", "50% off", "Administration", "Bug Fixing", "Marketing", "snake_case"]),
]


def test_name_filter(api: Api) -> None:
    for name in (
        "Administration",
        "Bug Fixing",
        "Marketing",
        "#2018-001",
        "#2018-002",
        "50% off",
        "snake_case",
    ):
        create(api, name=name)
    create(api, name="Hidden in plain sight", visible=False)
    for name, expected in NAME_FILTERS:
        response = api.get("/api/tags", params={"name": name}, as_="user")
        assert (response.status_code, response.json()) == (200, expected), name


def test_lists_need_credentials_and_refuse_nul(api: Api) -> None:
    for url in ("/api/tags", "/api/tags/find?name=x"):
        assert api.get(url, as_=None).status_code == 401
        response = api.get(url.split("?")[0], params={"name": "a\x00b"})
        assert (response.status_code, response.json()) == (400, {"code": 400, "message": "Bad Request"})


# --- GET /api/tags/find -----------------------------------------------------------------------------


def test_find_returns_entities_and_nothing_without_a_name(api: Api) -> None:
    first = create(api, name="#2018-001", color="#ff0000")
    second = create(api, name="#2018-002")
    create(api, name="#2018-hidden", visible=False)
    create(api, name="Other")
    response = api.get("/api/tags/find", params={"name": "2018"}, as_="user")
    assert response.status_code == 200
    assert response.json() == [first, second]
    assert set(first) == TAG_KEYS
    # Without ``name`` Kimai answers an empty list, unlike GET /api/tags (quirk 25); ``name=`` is absent too.
    for query in ("", "?name="):
        response = api.get("/api/tags/find" + query, as_="user")
        assert (response.status_code, response.json()) == (200, []), query


# --- POST /api/tags ---------------------------------------------------------------------------------


def test_create_as_every_role(api: Api, db: Database) -> None:
    for index, who in enumerate(PEOPLE):
        response = api.post("/api/tags", json={"name": f"tag {who}", "visible": True}, as_=who)
        assert response.status_code == 200, (who, response.text)
        body = response.json()
        assert body == {
            "id": index + 1,
            "name": f"tag {who}",
            "visible": True,
            "color": None,
            "color-safe": body["color-safe"],
            "modifiedAt": body["modifiedAt"],
        }
    assert tag_count(db) == len(PEOPLE)


def test_create_fields(api: Api) -> None:
    body = create(api, name="  Support  ", color="#00ff00")
    assert body == {
        "id": 1,
        "name": "Support",
        "visible": True,
        "color": "#00ff00",
        "color-safe": "#00ff00",
        "modifiedAt": body["modifiedAt"],
    }
    # Kimai's colour fallback: "Test" -> #5319e7.
    assert create(api, name="Test")["color-safe"] == "#5319e7"
    assert create(api, name="Empty colour", color="")["color"] is None


@pytest.mark.parametrize(
    ("data", "visible"),
    [
        ({}, False),  # clear-missing: an absent checkbox is false (quirk 15)
        ({"visible": False}, False),
        ({"visible": True}, True),
        ({"visible": 0}, True),  # any submitted value but JSON false is true
        ({"visible": "0"}, True),
        ({"visible": None}, True),
    ],
)
def test_create_visible_checkbox(api: Api, data: dict[str, Any], visible: bool) -> None:
    response = api.post("/api/tags", json={"name": "Flag", **data})
    assert response.status_code == 200, response.text
    assert response.json()["visible"] is visible
    assert api.get("/api/tags").json() == (["Flag"] if visible else [])


def test_create_accepts_snake_case_and_form_bodies(api: Api) -> None:
    response = api.post("/api/tags", data={"name": "From a form", "visible": "1", "color": "#ff0000"})
    assert response.status_code == 200, response.text
    assert (response.json()["visible"], response.json()["color"]) == (True, "#ff0000")


INVALID_TAGS = [
    ({}, {"name": [BLANK]}),
    ({"name": ""}, {"name": [BLANK]}),
    ({"name": "   "}, {"name": [BLANK]}),
    ({"name": "1"}, {"name": [SHORT]}),
    ({"name": "x" * 101}, {"name": ["This value is too long. It should have 100 characters or less."]}),
    ({"name": "a,b"}, {"name": ["Tag name cannot contain comma"]}),
    ({"name": "<b>"}, {"name": [SPECIAL_CHARACTERS_FOUND]}),
    ({"name": 'say "hi", x=1'}, {"name": [SPECIAL_CHARACTERS_FOUND, "Tag name cannot contain comma"]}),
    ({"name": "Existing"}, {"name": [TAKEN]}),
    ({"name": "EXISTING"}, {"name": [TAKEN]}),  # Kimai's MySQL collation ignores case
    ({"name": ["a", "b"]}, {"name": ["This value is not valid."]}),
    ({"name": "ok", "color": "11231231231"}, {"color": [INVALID_CHOICE]}),
    ({"name": "ok", "color": "#00FF00"}, {"color": [INVALID_CHOICE]}),  # palette values match exactly
    ({"name": "1", "color": "red"}, {"name": [SHORT], "color": [INVALID_CHOICE]}),
]


def test_create_validation(api: Api, db: Database) -> None:
    create(api, name="Existing")
    for data, errors in INVALID_TAGS:
        response = api.post("/api/tags", json=data)
        assert (response.status_code, response.json()) == (400, envelope(errors)), data
    assert tag_count(db) == 1


def test_create_rejects_unknown_fields(api: Api) -> None:
    response = api.post("/api/tags", json={"name": "ok", "id": 5})
    assert (response.status_code, response.json()) == (400, envelope({}, [EXTRA_FIELDS]))
    response = api.post("/api/tags", json={"name": "", "project": 5})
    assert (response.status_code, response.json()) == (400, envelope({"name": [BLANK]}, [EXTRA_FIELDS]))


def test_create_needs_the_permission(api: Api, db: Database) -> None:
    """Every built-in role has create_tag; without it (a custom configuration) POST is 403 before
    the body is looked at."""
    caller = Caller(
        id=4,
        username="john_user",
        timezone="UTC",
        language="en",
        roles=(),
        permissions=permissions_for(()) - {"create_tag"},
    )
    with db.session(write=True) as session, pytest.raises(Forbidden):
        service.create_tag(session, caller=caller, data={"name": ""})


# --- DELETE /api/tags/{id} -------------------------------------------------------------------------


def add_tagged_timesheet(api: Api, db: Database, tag_id: int) -> int:
    project = make_project(api, "Web", make_customer(api)["id"])
    activity = make_activity(api, "Code", project["id"])
    with db.session(write=True) as session:
        timesheet = Timesheet(
            user_id=PEOPLE["user"].id,
            project_id=project["id"],
            activity_id=activity["id"],
            begin=utcnow(),
            timezone="UTC",
        )
        session.add(timesheet)
        session.flush()
        session.add(TimesheetTag(timesheet_id=timesheet.id, tag_id=tag_id))
        return timesheet.id


def test_delete(api: Api, db: Database) -> None:
    keep = create(api, name="Keep")
    gone = create(api, name="Gone")
    timesheet_id = add_tagged_timesheet(api, db, gone["id"])
    for who in ("teamlead", "admin"):
        assert api.delete(f"/api/tags/{keep['id'] + 100}", as_=who).status_code == 404
    response = api.delete(f"/api/tags/{gone['id']}", as_="teamlead")
    assert (response.status_code, response.content) == (204, b"")
    assert api.get("/api/tags").json() == ["Keep"]
    with db.session() as session:
        assert session.scalars(select(TimesheetTag.tag_id)).all() == []
        assert session.get(Timesheet, timesheet_id) is not None
    assert api.delete(f"/api/tags/{gone['id']}").json() == NOT_FOUND


def test_delete_permission_and_order_of_checks(api: Api) -> None:
    tag = create(api, name="Mine")
    # A user has no delete_tag: 403, but an unknown id is 404 first; a non-numeric id matches nothing.
    assert api.delete(f"/api/tags/{tag['id']}", as_="user").json() == FORBIDDEN
    assert api.delete("/api/tags/999", as_="user").json() == NOT_FOUND
    assert api.delete("/api/tags/abc", as_="user").json() == NOT_FOUND
    assert api.delete(f"/api/tags/{tag['id']}", as_=None).status_code == 401
    assert api.get("/api/tags").json() == ["Mine"]


def test_get_and_patch_do_not_exist(api: Api) -> None:
    tag = create(api, name="Only")
    assert api.get(f"/api/tags/{tag['id']}").status_code == 405
    assert api.patch(f"/api/tags/{tag['id']}", json={"name": "x"}).status_code == 405


def test_writes_are_recorded(api: Api, db: Database) -> None:
    tag = create(api, name="Tracked")
    timesheet_id = add_tagged_timesheet(api, db, tag["id"])
    caller = system_caller("UTC")
    with db.session(write=True) as session:
        created = service.create_tag(session, caller=caller, data={"name": "New", "visible": "1"})
        service.delete_tag(session, caller=caller, tag_id=tag["id"])
        assert changes.recorded(session) == [
            ("tag", created.id, "upsert"),
            ("tag", tag["id"], "delete"),
            ("timesheet", timesheet_id, "upsert"),  # it lost the tag
        ]
