"""Team endpoints (/api/teams…), checked against Kimai 2.66 behaviour over HTTP.

Facts from Kimai's TeamController, TeamEditForm/TeamApiEditForm, TeamMemberType, the Team entity
(unique name, at least one member, a team lead) and TeamVoter.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from punchclock import changes
from punchclock.auth.permissions import Caller, permissions_for, system_caller
from punchclock.db import Database
from punchclock.entities.kinds import CUSTOMER, PROJECT
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import SPECIAL_CHARACTERS_FOUND
from punchclock.teams import service
from punchclock.teams.models import TeamCustomer, TeamMember
from punchclock.users.models import User
from tests.conftest import (
    BAD_REQUEST,
    EXTRA_FIELDS,
    FORBIDDEN,
    INVALID_CHOICE,
    NOT_FOUND,
    PEOPLE,
    Api,
    add_team,
)
from tests.test_customers import DEFAULT_KEYS as CUSTOMER_KEYS
from tests.test_projects import make_activity, make_customer, make_project
from tests.test_users import COLLECTION_KEYS as USER_KEYS
from tests.test_users import set_user

TEAM_KEYS = {"id", "name", "color", "color-safe", "modifiedAt"}
ENTITY_KEYS = TEAM_KEYS | {"members", "customers", "projects", "activities"}
FIELDS = ("name", "color", "members")
NO_TEAMLEAD = "At least one team leader must be assigned to the team."
NO_MEMBER = "This collection should contain 1 element or more."
BLANK = "This value should not be blank."
SUSAN, ANNA, TONY, JOHN = (PEOPLE[key].id for key in ("super", "admin", "teamlead", "user"))


def envelope(
    field_errors: dict[str, Any],
    global_errors: list[str] | None = None,
    members: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Kimai's 400 body for the team form; ``members``: the children of the collection."""
    errors: dict[str, Any] = {"errors": global_errors} if global_errors else {}
    children = {name: ({"errors": field_errors[name]} if name in field_errors else {}) for name in FIELDS}
    if members is not None:
        children["members"] = {"children": members}
    errors["children"] = children
    return {"code": 400, "message": "Validation Failed", "errors": errors}


def entry(user: list[str] | None = None, teamlead: list[str] | None = None) -> dict[str, Any]:
    """One member's children in the envelope."""
    return {
        "children": {
            "user": {"errors": user} if user else {},
            "teamlead": {"errors": teamlead} if teamlead else {},
        }
    }


def create(
    api: Api, name: str = "foo", members: list[dict[str, Any]] | None = None, **data: Any
) -> dict[str, Any]:
    members = members if members is not None else [{"user": SUSAN, "teamlead": True}]
    response = api.post("/api/teams", json={"name": name, "members": members, **data}, as_="admin")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def member_ids(team: dict[str, Any]) -> dict[int, bool]:
    return {member["user"]["id"]: member["teamlead"] for member in team["members"]}


# --- GET /api/teams, /api/teams/{id} --------------------------------------------------------------------


def test_list(api: Api) -> None:
    for name in ("beta", "Alpha", "gamma"):
        create(api, name)
    for who in ("super", "admin"):
        response = api.get("/api/teams", as_=who)
        assert [t["name"] for t in response.json()] == ["Alpha", "beta", "gamma"]
        assert all(set(t) == TEAM_KEYS for t in response.json())
    for who in ("teamlead", "user"):
        assert api.get("/api/teams", as_=who).json() == FORBIDDEN
    assert api.get("/api/teams", as_=None).status_code == 401


def test_list_with_view_team_shows_led_teams_only(db: Database) -> None:
    led = add_team(db, "Led", leads=["teamlead"])
    member_of = add_team(db, "Member of", leads=["admin"], members=["teamlead"])
    caller = Caller(
        TONY,
        "tony_teamlead",
        "UTC",
        "en",
        ("ROLE_TEAMLEAD",),
        permissions_for(["ROLE_TEAMLEAD"]) | {"view_team"},
        team_ids=frozenset({led, member_of}),
        lead_team_ids=frozenset({led}),
    )
    with db.session() as session:
        assert [t.name for t in service.list_teams(session, caller=caller)] == ["Led"]


def test_get(api: Api, db: Database) -> None:
    team = create(
        api,
        "Test team",
        [{"user": TONY, "teamlead": True}, {"user": JOHN, "teamlead": False}],
        color="#ff0000",
    )
    response = api.get(f"/api/teams/{team['id']}", as_="admin")
    assert response.json() == team
    assert set(team) == ENTITY_KEYS
    assert (team["name"], team["color"], team["color-safe"]) == ("Test team", "#ff0000", "#ff0000")
    assert (team["customers"], team["projects"], team["activities"]) == ([], [], [])
    # Members by username, each user as embedded everywhere.
    assert [(m["user"]["username"], m["teamlead"]) for m in team["members"]] == [
        ("john_user", False),
        ("tony_teamlead", True),
    ]
    assert all(set(m["user"]) == USER_KEYS for m in team["members"])
    # Unknown ids are 404 before the permission check (Kimai's testNotFound as ROLE_USER).
    assert api.get("/api/teams/999", as_="user").json() == NOT_FOUND
    assert api.get(f"/api/teams/{team['id']}", as_="user").json() == FORBIDDEN
    assert api.get(f"/api/teams/{team['id']}", as_="teamlead").json() == FORBIDDEN


def test_color_safe_of_a_team(api: Api) -> None:
    assert create(api, "Test team")["color-safe"] == "#03A9F4"  # Kimai's own test value


# --- POST /api/teams -------------------------------------------------------------------------------------


def test_create_as_kimai_tests_it(api: Api) -> None:
    response = api.post(
        "/api/teams", json={"name": "foo", "members": [{"user": 1, "teamlead": 1}]}, as_="admin"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ENTITY_KEYS
    assert (body["id"], body["name"], member_ids(body)) == (1, "foo", {1: True})
    # A team lead may not create teams: 403 before the body is read.
    assert api.post("/api/teams", json={"name": "foo", "teamlead": 1}, as_="teamlead").json() == FORBIDDEN
    assert api.post("/api/teams", json={"name": "bar"}, as_="user").json() == FORBIDDEN


def test_create_validation_as_kimai_tests_it(api: Api) -> None:
    response = api.post(
        "/api/teams", json={"name": "", "members": [{"user": 9999, "teamlead": 1}]}, as_="admin"
    )
    # Errors of the collection itself bubble up to the form (Symfony's error_bubbling).
    assert response.json() == envelope(
        {"name": [BLANK]}, [NO_TEAMLEAD, NO_MEMBER], members={"0": entry(user=[INVALID_CHOICE])}
    )


INVALID_TEAMS = [
    ({"name": "ok"}, envelope({}, [NO_TEAMLEAD, NO_MEMBER])),  # absent members: none (clear-missing)
    ({"name": "ok", "members": []}, envelope({}, [NO_TEAMLEAD, NO_MEMBER])),
    (
        {"members": [{"user": SUSAN, "teamlead": True}]},
        envelope({"name": [BLANK]}, members={"0": entry()}),
    ),
    (
        {"name": "ok", "members": [{"user": JOHN, "teamlead": False}]},
        envelope({}, [NO_TEAMLEAD], members={"0": entry()}),
    ),
    (
        {"name": "ok", "members": [{"user": JOHN}]},  # without teamlead: a member
        envelope({}, [NO_TEAMLEAD], members={"0": entry()}),
    ),
    (
        {"name": "ok", "members": [{"teamlead": True}]},  # an entry without a user is dropped
        envelope({}, [NO_TEAMLEAD, NO_MEMBER], members={"0": entry()}),
    ),
    ({"name": "ok", "members": "x"}, envelope({}, ["This value is not valid."])),
    (
        {"name": "ok", "members": [5, {"user": SUSAN, "teamlead": True}]},
        envelope({}, ["This value is not valid."], members={"0": entry(), "1": entry()}),
    ),
    (
        {"name": "ok", "members": [{"user": SUSAN, "teamlead": True, "role": "x"}]},
        envelope({}, [EXTRA_FIELDS], members={"0": entry()}),
    ),
    (
        {"name": "ok", "members": [{"user": SUSAN, "teamlead": ["x"]}]},
        envelope({}, [NO_TEAMLEAD], members={"0": entry(teamlead=["This value is not valid."])}),
    ),
    (
        {"name": "ok", "members": [{"user": "abc", "teamlead": True}, {"user": 5, "teamlead": True}]},
        envelope(
            {},
            [NO_TEAMLEAD, NO_MEMBER],
            members={"0": entry(user=[INVALID_CHOICE]), "1": entry(user=[INVALID_CHOICE])},
        ),
    ),
    (
        {"name": "Existing", "members": [{"user": SUSAN, "teamlead": True}]},
        envelope({"name": ["This value is already used."]}, members={"0": entry()}),
    ),
    (
        {"name": "EXISTING", "members": [{"user": SUSAN, "teamlead": True}]},
        envelope({"name": ["This value is already used."]}, members={"0": entry()}),
    ),
    (
        {"name": "a<b>", "members": [{"user": SUSAN, "teamlead": True}]},
        envelope({"name": [SPECIAL_CHARACTERS_FOUND]}, members={"0": entry()}),
    ),
    (
        {"name": "x", "members": [{"user": SUSAN, "teamlead": True}]},
        envelope(
            {"name": ["This value is too short. It should have 2 characters or more."]},
            members={"0": entry()},
        ),
    ),
    (
        {"name": "x" * 101, "members": [{"user": SUSAN, "teamlead": True}]},
        envelope(
            {"name": ["This value is too long. It should have 100 characters or less."]},
            members={"0": entry()},
        ),
    ),
    (
        {"name": "ok", "color": "red", "members": [{"user": SUSAN, "teamlead": True}]},
        envelope({"color": [INVALID_CHOICE]}, members={"0": entry()}),
    ),
    ({"name": "ok", "users": [1], "members": []}, envelope({}, [NO_TEAMLEAD, NO_MEMBER, EXTRA_FIELDS])),
]


def test_create_validation(api: Api, db: Database) -> None:
    create(api, "Existing")
    with db.session(write=True) as session:  # user 5: disabled, so no choice for a team
        session.add(
            User(id=5, username="off", email="off@example.com", password="-", timezone="UTC", enabled=False)
        )
    for data, expected in INVALID_TEAMS:
        response = api.post("/api/teams", json=data, as_="admin")
        assert (response.status_code, response.json()) == (400, expected), data
    assert len(api.get("/api/teams", as_="admin").json()) == 1


TEAMLEAD_VALUES = [
    (True, True),
    (1, True),
    ("1", True),
    ("yes", True),
    (False, False),
    (0, False),
    ("0", False),
    ("false", False),
    ("", False),
    (None, False),
]


def test_member_teamlead_keeps_yes_no_semantics(api: Api) -> None:
    """Nested inside ``members``, ``teamlead`` is Kimai's YesNoType: 0, "0", "false", "" and null are no."""
    members = [{"user": SUSAN, "teamlead": True}]
    ids = [ANNA, TONY, JOHN]
    for index, (value, expected) in enumerate(TEAMLEAD_VALUES):
        user = ids[index % 3]
        team = create(api, f"team {index}", [*members, {"user": user, "teamlead": value}])
        assert member_ids(team)[user] is expected, value


def test_create_fields(api: Api) -> None:
    team = create(
        api,
        "  Trimmed  ",
        [{"user": TONY, "teamlead": True}, {"user": TONY, "teamlead": False}, {"user": JOHN}],
        color="#00ff00",
    )
    # Repeated users count once, the first entry wins.
    assert (team["name"], team["color"], member_ids(team)) == (
        "Trimmed",
        "#00ff00",
        {TONY: True, JOHN: False},
    )
    assert api.get(f"/api/users/{TONY}").json()["memberships"] == [
        {"team": {k: team[k] for k in TEAM_KEYS}, "teamlead": True}
    ]


# --- PATCH /api/teams/{id} -------------------------------------------------------------------------------


def test_update_as_kimai_tests_it(api: Api) -> None:
    team = create(api, members=[{"user": 1, "teamlead": True}, {"user": 4, "teamlead": True}])
    data = {
        "name": "foo",
        "members": [
            {"user": 2, "teamlead": True},
            {"user": 1, "teamlead": False},
            {"user": 4, "teamlead": True},
        ],
    }
    response = api.patch(f"/api/teams/{team['id']}", json=data, as_="admin")
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == {2: True, 1: False, 4: True}
    assert api.get(f"/api/teams/{team['id']}", as_="admin").json() == response.json()


def test_update_validation_as_kimai_tests_it(api: Api) -> None:
    team = create(api)
    response = api.patch(
        f"/api/teams/{team['id']}",
        json={"name": "1", "members": [{"user": 9999, "teamlead": 1}]},
        as_="admin",
    )
    assert response.json() == envelope(
        {"name": ["This value is too short. It should have 2 characters or more."]},
        [NO_TEAMLEAD, NO_MEMBER],
        members={"0": entry(user=[INVALID_CHOICE])},
    )
    assert api.get(f"/api/teams/{team['id']}", as_="admin").json() == team


def test_update_replaces_members(api: Api) -> None:
    team = create(api, members=[{"user": 1, "teamlead": True}, {"user": 4, "teamlead": False}])
    # Kimai's tests: two members replaced by one; a repeated user does not take another's place.
    body = api.patch(
        f"/api/teams/{team['id']}", json={"members": [{"user": 4, "teamlead": True}]}, as_="admin"
    ).json()
    assert (body["name"], member_ids(body)) == ("foo", {4: True})
    data = {"members": [{"user": 1, "teamlead": True}, {"user": 1, "teamlead": False}]}
    body = api.patch(f"/api/teams/{team['id']}", json=data, as_="admin").json()
    assert member_ids(body) == {1: True}
    # Without ``members`` the members stay; the name may be kept or changed (even its case).
    body = api.patch(f"/api/teams/{team['id']}", json={"name": "FOO", "color": "#ff0000"}, as_="admin").json()
    assert (body["name"], body["color"], member_ids(body)) == ("FOO", "#ff0000", {1: True})
    unchanged = api.patch(f"/api/teams/{team['id']}", json={}, as_="admin").json()
    assert unchanged == {**body, "modifiedAt": unchanged["modifiedAt"]}


def test_update_keeps_disabled_members_choosable(api: Api, db: Database) -> None:
    team = create(api, members=[{"user": SUSAN, "teamlead": True}, {"user": JOHN, "teamlead": False}])
    set_user(db, "user", enabled=False)
    data = {"members": [{"user": SUSAN, "teamlead": True}, {"user": JOHN, "teamlead": True}]}
    assert member_ids(api.patch(f"/api/teams/{team['id']}", json=data, as_="admin").json()) == {
        SUSAN: True,
        JOHN: True,
    }
    other = create(api, "other")
    response = api.patch(f"/api/teams/{other['id']}", json=data, as_="admin")
    assert response.json() == envelope({}, members={"0": entry(), "1": entry(user=[INVALID_CHOICE])})


def test_update_rejects_a_team_without_lead(api: Api) -> None:
    team = create(api)
    response = api.patch(f"/api/teams/{team['id']}", json={"members": [{"user": JOHN}]}, as_="admin")
    assert response.json() == envelope({}, [NO_TEAMLEAD], members={"0": entry()})


def test_update_and_delete_permissions(api: Api, db: Database) -> None:
    team = create(api, members=[{"user": TONY, "teamlead": True}])
    for who in ("teamlead", "user"):  # a team lead lacks edit_team and delete_team by default
        assert api.patch(f"/api/teams/{team['id']}", json={"name": "x1"}, as_=who).json() == FORBIDDEN
        assert api.delete(f"/api/teams/{team['id']}", as_=who).json() == FORBIDDEN
        assert api.patch("/api/teams/999", json={"name": "x1"}, as_=who).json() == NOT_FOUND
        assert api.delete("/api/teams/999", as_=who).json() == NOT_FOUND
    # With edit_team (a custom permission), a team lead edits the teams they lead, and no others.
    other = create(api, "other", [{"user": SUSAN, "teamlead": True}, {"user": TONY}])
    caller = Caller(
        TONY,
        "tony_teamlead",
        "UTC",
        "en",
        ("ROLE_TEAMLEAD",),
        permissions_for(["ROLE_TEAMLEAD"]) | {"edit_team"},
        team_ids=frozenset({team["id"], other["id"]}),
        lead_team_ids=frozenset({team["id"]}),
    )
    with db.session(write=True) as session:
        service.update_team(session, caller=caller, team_id=team["id"], data={"name": "renamed"})
        with pytest.raises(Forbidden):
            service.update_team(session, caller=caller, team_id=other["id"], data={"name": "renamed 2"})
        with pytest.raises(Forbidden):  # delete_team is missing
            service.delete_team(session, caller=caller, team_id=team["id"])


# --- DELETE /api/teams/{id} ------------------------------------------------------------------------------


def test_delete(api: Api, db: Database) -> None:
    customer = make_customer(api)
    team = create(api)
    assert api.post(f"/api/teams/{team['id']}/customers/{customer['id']}", as_="admin").status_code == 200
    response = api.delete(f"/api/teams/{team['id']}", as_="admin")
    assert (response.status_code, response.content) == (204, b"")
    assert api.get(f"/api/teams/{team['id']}", as_="admin").json() == NOT_FOUND
    assert api.get(f"/api/customers/{customer['id']}").json()["teams"] == []
    assert api.get(f"/api/users/{SUSAN}").json()["memberships"] == []
    with db.session() as session:
        assert session.scalars(select(TeamMember)).all() == []
        assert session.scalars(select(TeamCustomer)).all() == []


# --- members ---------------------------------------------------------------------------------------------


def test_add_and_remove_members(api: Api) -> None:
    team = create(api, members=[{"user": SUSAN, "teamlead": True}, {"user": ANNA, "teamlead": False}])
    url = f"/api/teams/{team['id']}/members"
    body = api.post(f"{url}/{JOHN}", as_="admin").json()
    assert member_ids(body) == {SUSAN: True, ANNA: False, JOHN: False}  # added as a member, not a lead
    assert api.get(f"/api/users/{JOHN}").json()["teams"] == [{k: body[k] for k in TEAM_KEYS}]
    assert api.post(f"{url}/{JOHN}", as_="admin").json() == BAD_REQUEST  # already a member
    body = api.delete(f"{url}/{ANNA}", as_="admin").json()
    assert member_ids(body) == {SUSAN: True, JOHN: False}
    assert api.delete(f"{url}/{ANNA}", as_="admin").json() == BAD_REQUEST  # not a member
    assert api.delete(f"{url}/{SUSAN}", as_="admin").json() == BAD_REQUEST  # Cannot remove teamlead
    assert member_ids(api.get(f"/api/teams/{team['id']}", as_="admin").json()) == {SUSAN: True, JOHN: False}


def test_member_routes_check_in_kimais_order(api: Api) -> None:
    team = create(api)
    url = f"/api/teams/{team['id']}/members"
    for method in (api.post, api.delete):
        assert method("/api/teams/999/members/999", as_="user").json() == NOT_FOUND  # team first
        assert method(f"{url}/999", as_="user").json() == NOT_FOUND  # then the user
        assert method(f"{url}/{JOHN}", as_="user").json() == FORBIDDEN
        assert method(f"{url}/{JOHN}", as_="teamlead").json() == FORBIDDEN
        assert method(f"{url}/abc", as_="admin").json() == NOT_FOUND
        assert method(f"{url}/{JOHN}", as_=None).status_code == 401
    assert api.post(f"{url}/{SUSAN}", as_="admin").json() == BAD_REQUEST


def test_adding_a_member_needs_access_to_the_user(db: Database) -> None:
    """``access_user``: a team lead (with edit_team) may add members of the teams they lead, not
    strangers who are in a team."""
    led = add_team(db, "Led", leads=["teamlead"])
    elsewhere = add_team(db, "Elsewhere", leads=["admin"], members=["user"])
    caller = Caller(
        TONY,
        "tony_teamlead",
        "UTC",
        "en",
        ("ROLE_TEAMLEAD",),
        permissions_for(["ROLE_TEAMLEAD"]) | {"edit_team"},
        team_ids=frozenset({led}),
        lead_team_ids=frozenset({led}),
    )
    with db.session(write=True) as session, pytest.raises(Forbidden):
        service.add_member(session, caller=caller, team_id=led, user_id=JOHN)
    with db.session(write=True) as session:
        session.execute(TeamMember.__table__.delete().where(TeamMember.team_id == elsewhere))
    with db.session(write=True) as session:  # without a team, a plain user is open to team leads
        service.add_member(session, caller=caller, team_id=led, user_id=JOHN)
        assert [(u.id, lead) for u, lead in service.members_of(session, led)] == [(JOHN, False), (TONY, True)]


# --- access grants -----------------------------------------------------------------------------------------


def test_grants(api: Api) -> None:
    customer = make_customer(api, "Acme")
    project = make_project(api, "Web", customer["id"])
    activity = make_activity(api, "Code", project["id"])
    team = create(api)
    url = f"/api/teams/{team['id']}"
    for kind, entity, view in (
        ("customers", customer, "/api/customers"),
        ("projects", project, "/api/projects"),
        ("activities", activity, "/api/activities"),
    ):
        body = api.post(f"{url}/{kind}/{entity['id']}", as_="admin").json()
        assert [row["id"] for row in body[kind]] == [entity["id"]]
        assert api.get(f"{view}/{entity['id']}").json()["teams"] == [{k: body[k] for k in TEAM_KEYS}]
        assert api.post(f"{url}/{kind}/{entity['id']}", as_="admin").json() == BAD_REQUEST
    full = api.get(url, as_="admin").json()
    # Embedded views: a project's customer and an activity's project as ids.
    granted = full["customers"][0]  # the grant changed the customer
    assert granted == {**{key: customer[key] for key in CUSTOMER_KEYS}, "modifiedAt": granted["modifiedAt"]}
    assert (full["projects"][0]["customer"], full["activities"][0]["project"]) == (
        customer["id"],
        project["id"],
    )
    assert "teams" not in full["projects"][0]
    assert "parentTitle" not in full["activities"][0]
    for kind, entity in (("customers", customer), ("projects", project), ("activities", activity)):
        body = api.delete(f"{url}/{kind}/{entity['id']}", as_="admin").json()
        assert body[kind] == []
        assert api.delete(f"{url}/{kind}/{entity['id']}", as_="admin").json() == BAD_REQUEST
    assert api.get(f"/api/customers/{customer['id']}").json()["teams"] == []


def test_grant_routes_check_in_kimais_order(api: Api) -> None:
    customer = make_customer(api)
    team = create(api)
    for method in (api.post, api.delete):
        for kind in ("customers", "projects", "activities"):
            assert method(f"/api/teams/999/{kind}/999", as_="user").json() == NOT_FOUND
            assert method(f"/api/teams/{team['id']}/{kind}/999", as_="user").json() == NOT_FOUND
        assert method(f"/api/teams/{team['id']}/customers/{customer['id']}", as_="user").json() == FORBIDDEN
        assert (
            method(f"/api/teams/{team['id']}/customers/{customer['id']}", as_="teamlead").json() == FORBIDDEN
        )


def test_grants_need_the_permissions_attribute(api: Api, db: Database) -> None:
    """Kimai's GHSA-gmm9 fix: editing a team is not enough to hand out access to a customer or a
    project (``permissions`` on it, which team leads lack)."""
    customer = make_customer(api)
    project = make_project(api, "Web", customer["id"])
    led = add_team(db, "Led", leads=["teamlead"])
    visible = add_team(
        db, "Visible", leads=["teamlead"], customers=[customer["id"]], projects=[project["id"]]
    )
    caller = Caller(
        TONY,
        "tony_teamlead",
        "UTC",
        "en",
        ("ROLE_TEAMLEAD",),
        permissions_for(["ROLE_TEAMLEAD"]) | {"edit_team"},
        team_ids=frozenset({led, visible}),
        lead_team_ids=frozenset({led, visible}),
    )
    with db.session(write=True) as session:
        for kind, entity_id in ((CUSTOMER, customer["id"]), (PROJECT, project["id"])):
            with pytest.raises(Forbidden):
                service.grant(session, caller=caller, team_id=led, kind=kind, entity_id=entity_id)


# --- recorded changes -------------------------------------------------------------------------------------


def test_writes_are_recorded(api: Api, db: Database) -> None:
    customer = make_customer(api)
    caller = system_caller("UTC")
    with db.session(write=True) as session:
        team = service.create_team(
            session, caller=caller, data={"name": "Rec", "members": [{"user": str(SUSAN), "teamlead": "1"}]}
        )
        service.add_member(session, caller=caller, team_id=team.id, user_id=JOHN)
        service.grant(session, caller=caller, team_id=team.id, kind=CUSTOMER, entity_id=customer["id"])
        service.delete_team(session, caller=caller, team_id=team.id)
        assert changes.recorded(session) == [
            ("user", SUSAN, "upsert"),
            ("team", team.id, "upsert"),
            ("user", JOHN, "upsert"),
            ("team", team.id, "upsert"),
            ("customer", customer["id"], "upsert"),
            ("team", team.id, "upsert"),
            ("team", team.id, "delete"),
            ("user", SUSAN, "upsert"),
            ("user", JOHN, "upsert"),
            ("customer", customer["id"], "upsert"),
        ]
