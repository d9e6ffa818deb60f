"""User endpoints (/api/users…), checked against Kimai 2.66 behaviour over HTTP.

Facts from Kimai's UserController, UserApiCreateForm/UserApiEditForm, UserVoter, the User entity
and its constraints, UserPreferenceSubscriber and WorkContractPreferenceSubscriber.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from punchclock import changes
from punchclock.auth.passwords import verify_password
from punchclock.auth.permissions import Caller, permissions_for, system_caller
from punchclock.auth.service import create_token
from punchclock.db import Database
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import SPECIAL_CHARACTERS_FOUND
from punchclock.users import forms as user_forms
from punchclock.users import service, tokens
from punchclock.users.models import ApiToken, User, UserPreference
from punchclock.users.preferences import WORK_CONTRACT
from tests.conftest import (
    API_PASSWORD,
    BAD_REQUEST,
    EXTRA_FIELDS,
    FORBIDDEN,
    INVALID_CHOICE,
    NOT_FOUND,
    PEOPLE,
    UNAUTHORIZED,
    Api,
    add_team,
)

COLLECTION_KEYS = {
    "id",
    "username",
    "email",
    "enabled",
    "apiToken",
    "systemAccount",
    "alias",
    "title",
    "avatar",
    "accountNumber",
    "color",
    "color-safe",
    "initials",
    "language",
    "locale",
    "timezone",
    "modifiedAt",  # extension
}
ENTITY_KEYS = COLLECTION_KEYS | {"supervisor", "teams", "roles", "memberships", "preferences"}
CREATE_FIELDS = (
    "username",
    "alias",
    "title",
    "accountNumber",
    "color",
    "email",
    "language",
    "locale",
    "timezone",
    "supervisor",
    "roles",
    "plainPassword",
    "plainApiToken",
    "enabled",
    "systemAccount",
    "requiresPasswordReset",
)
# The edit form of a super admin on somebody else's profile.
EDIT_FIELDS = tuple(f for f in CREATE_FIELDS if f not in ("username", "plainPassword", "plainApiToken"))
OWN_FIELDS_SUPER = tuple(f for f in EDIT_FIELDS if f != "enabled")
OWN_FIELDS_USER = tuple(f for f in EDIT_FIELDS if f not in ("enabled", "supervisor", "roles"))

BLANK = "This value should not be blank."
TAKEN = "This value is already used."
NOT_VALID = "This value is not valid."
BAD_TIMEZONE = "Please select a valid timezone."
BAD_EMAIL = "This value is not a valid email address."
# Preferences Kimai adds to a prepared user, as listed (hidden ones left out).
RATES = [{"name": "hourly_rate", "value": "0"}, {"name": "internal_rate", "value": None}]
LOCALE_PREFS = [{"name": "first_weekday", "value": "monday"}, {"name": "favorite_routes", "value": ""}]
CONTRACT = [{"name": name, "value": value} for name, value in WORK_CONTRACT]
NEW_USER = {"username": "foo", "email": "foo@example.com", "plainPassword": "a-password"}


def envelope(
    fields: tuple[str, ...], field_errors: dict[str, list[str]], global_errors: list[str] | None = None
) -> dict[str, Any]:
    """Kimai's whole 400 body for a user form with ``fields``."""
    errors: dict[str, Any] = {"errors": global_errors} if global_errors else {}
    errors["children"] = {
        name: ({"errors": field_errors[name]} if name in field_errors else {}) for name in fields
    }
    return {"code": 400, "message": "Validation Failed", "errors": errors}


def create(api: Api, **data: Any) -> dict[str, Any]:
    response = api.post("/api/users", json={**NEW_USER, "enabled": True, **data})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def usernames(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()]


def set_user(db: Database, key_or_id: str | int, **values: Any) -> None:
    user_id = PEOPLE[key_or_id].id if isinstance(key_or_id, str) else key_or_id
    with db.session(write=True) as session:
        session.execute(update(User).where(User.id == user_id).values(**values))


def stored_preferences(db: Database, user_id: int) -> dict[str, str | None]:
    with db.session() as session:
        rows = session.execute(
            select(UserPreference.name, UserPreference.value).where(UserPreference.user_id == user_id)
        )
        return {name: value for name, value in rows}


def user_row(db: Database, user_id: int) -> User:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


# --- GET /api/users ---------------------------------------------------------------------------------


def test_list_is_for_super_admins_only(api: Api) -> None:
    response = api.get("/api/users")
    assert usernames(response) == ["anna_admin", "john_user", "susan_super", "tony_teamlead"]
    assert all(set(u) == COLLECTION_KEYS for u in response.json())
    for who in ("admin", "teamlead", "user"):
        assert api.get("/api/users", as_=who).json() == FORBIDDEN, who
    assert (api.get("/api/users", as_=None).json()) == UNAUTHORIZED


LIST_QUERIES = [
    ("", ["anna_admin", "john_user", "susan_super", "tony_teamlead"]),
    ("?visible=2", ["zed_disabled"]),
    ("?visible=3", ["anna_admin", "john_user", "susan_super", "tony_teamlead", "zed_disabled"]),
    ("?order=DESC", ["tony_teamlead", "susan_super", "john_user", "anna_admin"]),
    ("?orderBy=id", ["susan_super", "anna_admin", "tony_teamlead", "john_user"]),
    ("?orderBy=id&order=DESC", ["john_user", "tony_teamlead", "anna_admin", "susan_super"]),
    # No alias sorts first (MySQL's NULL order); aliases compare ignoring case.
    ("?orderBy=alias", ["susan_super", "anna_admin", "john_user", "tony_teamlead"]),
    ("?orderBy=email&order=DESC", ["tony_teamlead", "susan_super", "john_user", "anna_admin"]),
    ("?visible=3&orderBy=email&order=DESC&term=zed", ["zed_disabled"]),
    ("?term=JOHN", ["john_user"]),  # username, case-insensitive
    ("?term=boss", ["tony_teamlead"]),  # alias
    ("?term=cfo", ["john_user"]),  # title
    ("?term=ACC-7", ["anna_admin"]),  # account number
    ("?term=example.com !john !tony", ["anna_admin", "susan_super"]),
    ("?term=first_weekday:sunday", ["susan_super"]),  # field:value searches preferences
    ("?term=first_weekday:~", ["anna_admin", "john_user", "tony_teamlead"]),
    ("?term=%25", []),  # % is a literal character
    ("?page=2&size=1", ["anna_admin", "john_user", "susan_super", "tony_teamlead"]),  # no paging
]


def test_list_filters_order_and_search(api: Api, db: Database) -> None:
    create(api, username="zed_disabled", email="zed@example.com", enabled=False)
    set_user(db, "teamlead", alias="the Boss")
    set_user(db, "user", alias="Alice", title="CFO")
    set_user(db, "admin", account_number="ACC-7")
    response = api.patch(
        f"/api/users/{PEOPLE['super'].id}/preferences", json=[{"name": "first_weekday", "value": "sunday"}]
    )
    assert response.status_code == 200, response.text
    for query, expected in LIST_QUERIES:
        assert usernames(api.get("/api/users" + query)) == expected, query


@pytest.mark.parametrize(
    "query",
    ["visible=0", "visible=4", "orderBy=title", "orderBy=ID", "order=asc", "full=yes", "full=2", "term=a%00"],
)
def test_list_rejects_bad_parameters(api: Api, query: str) -> None:
    response = api.get(f"/api/users?{query}")
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)


def test_list_full_gives_entities(api: Api, db: Database) -> None:
    team = add_team(db, "Team A", leads=["teamlead"], members=["user"])
    for full in ("1", "true"):
        rows = {u["username"]: u for u in api.get(f"/api/users?full={full}").json()}
        assert all(set(u) == ENTITY_KEYS for u in rows.values())
        # Kimai prepares only the caller's preferences: the others list what is stored.
        assert rows["susan_super"]["preferences"] == RATES + LOCALE_PREFS
        assert rows["anna_admin"]["preferences"] == []
        assert rows["john_user"]["memberships"] == [
            {
                "team": {
                    "id": team,
                    "name": "Team A",
                    "color": None,
                    "color-safe": rows["john_user"]["teams"][0]["color-safe"],
                    "modifiedAt": rows["john_user"]["teams"][0]["modifiedAt"],
                },
                "teamlead": False,
            }
        ]
    for full in ("0", "false"):
        assert all(set(u) == COLLECTION_KEYS for u in api.get(f"/api/users?full={full}").json())


def test_list_for_a_team_lead_with_view_user(db: Database) -> None:
    """With ``view_user`` (a custom permission) a non-admin sees themselves and the members of the
    teams they lead, not members of teams they only belong to."""
    led = add_team(db, "Led", leads=["teamlead"], members=["user"])
    add_team(db, "Other", leads=["admin"], members=["teamlead"])
    caller = Caller(
        id=PEOPLE["teamlead"].id,
        username="tony_teamlead",
        timezone="UTC",
        language="en",
        roles=("ROLE_TEAMLEAD",),
        permissions=permissions_for(["ROLE_TEAMLEAD"]) | {"view_user"},
        team_ids=frozenset({led}),
        lead_team_ids=frozenset({led}),
    )
    with db.session() as session:
        found = [u.username for u in service.list_users(session, caller=caller)]
    assert found == ["john_user", "tony_teamlead"]


# --- GET /api/users/me and /api/users/{id} -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "preferences"),
    [
        ("super", RATES + LOCALE_PREFS),
        ("admin", RATES + LOCALE_PREFS),
        ("teamlead", RATES + LOCALE_PREFS),
        ("user", LOCALE_PREFS),  # a plain user may not see their hourly rate
    ],
)
def test_me(api: Api, who: str, preferences: list[dict[str, Any]]) -> None:
    person = PEOPLE[who]
    response = api.get("/api/users/me", as_=who)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENTITY_KEYS
    assert body["id"] == person.id
    assert body["username"] == person.username
    assert body["roles"] == list(person.roles)  # stored roles only: never ROLE_USER
    assert body["timezone"] == person.timezone
    assert (body["supervisor"], body["teams"], body["memberships"]) == (None, [], [])
    assert body["apiToken"] is True  # a legacy API password is set; never a secret
    assert body["preferences"] == preferences
    assert api.get(f"/api/users/{person.id}", as_=who).json() == body


def test_me_needs_credentials(api: Api) -> None:
    assert api.get("/api/users/me", as_=None).json() == UNAUTHORIZED


def test_get_other_profiles(api: Api) -> None:
    john = PEOPLE["user"].id
    # A super admin sees everybody, with the defaults Kimai prepares (the rates enabled for them).
    body = api.get(f"/api/users/{john}").json()
    assert (body["username"], body["preferences"]) == ("john_user", RATES + LOCALE_PREFS)
    for who in ("admin", "teamlead", "user"):
        other = PEOPLE["super"].id
        assert api.get(f"/api/users/{other}", as_=who).json() == FORBIDDEN, who
        # An unknown id is 404 before the permission check; a non-numeric one matches no route.
        assert api.get("/api/users/999", as_=who).json() == NOT_FOUND
        assert api.get("/api/users/abc", as_=who).json() == NOT_FOUND
    assert api.get(f"/api/users/{john}", as_=None).json() == UNAUTHORIZED


def test_entity_fields(api: Api, db: Database) -> None:
    team_b = add_team(db, "b team", leads=["user"])
    team_a = add_team(db, "A team", members=["user"])
    set_user(
        db, "user", alias="John Doe", title="CFO", account_number="A-1", color="#ff0000", supervisor_id=2
    )
    body = api.get(f"/api/users/{PEOPLE['user'].id}").json()
    assert {k: body[k] for k in ("alias", "title", "accountNumber", "color", "color-safe", "initials")} == {
        "alias": "John Doe",
        "title": "CFO",
        "accountNumber": "A-1",
        "color": "#ff0000",
        "color-safe": "#ff0000",
        "initials": "JD",
    }
    assert [t["id"] for t in body["teams"]] == [team_a, team_b]  # by name, ignoring case
    assert [(m["team"]["name"], m["teamlead"]) for m in body["memberships"]] == [
        ("A team", False),
        ("b team", True),
    ]
    assert set(body["memberships"][0]) == {"team", "teamlead"}  # the membership's user is left out
    supervisor = body["supervisor"]
    assert set(supervisor) == ENTITY_KEYS
    assert (supervisor["id"], supervisor["username"], supervisor["preferences"]) == (2, "anna_admin", [])


def test_supervisor_loop_leaves_the_key_out(api: Api, db: Database) -> None:
    """Kimai's serializer skips a user it is already rendering."""
    set_user(db, "user", supervisor_id=PEOPLE["admin"].id)
    set_user(db, "admin", supervisor_id=PEOPLE["user"].id)
    body = api.get(f"/api/users/{PEOPLE['user'].id}").json()
    assert body["supervisor"]["id"] == PEOPLE["admin"].id
    assert "supervisor" not in body["supervisor"]
    assert set(body["supervisor"]) == ENTITY_KEYS - {"supervisor"}


# --- POST /api/users -------------------------------------------------------------------------------------


def test_create_as_kimai_tests_it(api: Api, db: Database) -> None:
    data = {
        "username": "foo",
        "email": "foo@example.com",
        "title": "asdfghjkl",
        "plainPassword": "foo@example.com",
        "enabled": True,
        "supervisor": 2,
        "language": "ru",
        "timezone": "Europe/Paris",
        "roles": ["ROLE_TEAMLEAD", "ROLE_ADMIN"],
    }
    response = api.post("/api/users", json=data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ENTITY_KEYS
    assert body["id"] == 5
    assert (body["username"], body["title"], body["enabled"]) == ("foo", "asdfghjkl", True)
    assert (body["language"], body["locale"], body["timezone"]) == ("ru", "en", "Europe/Paris")
    assert body["roles"] == ["ROLE_TEAMLEAD", "ROLE_ADMIN"]
    assert body["supervisor"]["username"] == "anna_admin"
    assert (body["apiToken"], body["systemAccount"]) == (False, False)
    # Kimai stores the work-contract preferences of a new user (shown, as nothing re-flags them).
    assert body["preferences"] == CONTRACT
    assert api.get("/api/users/5").json()["preferences"] == CONTRACT + RATES + LOCALE_PREFS
    user = user_row(db, 5)
    assert user.password.startswith("$argon2")
    assert verify_password("foo@example.com", user.password)[0]
    assert user.requires_password_reset is False


def test_create_clears_missing_checkboxes_and_defaults(api: Api) -> None:
    # The caller's timezone, not the configured default, is what an absent timezone means.
    assert api.patch("/api/users/me", json={}).json() == {"code": 405, "message": "Method Not Allowed"}
    assert api.patch(f"/api/users/{PEOPLE['super'].id}", json={"timezone": "Asia/Tokyo"}).status_code == 200
    response = api.post("/api/users", json=NEW_USER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["enabled"] is False  # quirk 15: absent means false
    assert (body["language"], body["locale"], body["timezone"]) == ("en", "en", "Asia/Tokyo")
    assert (body["roles"], body["supervisor"], body["alias"], body["color"]) == ([], None, None, None)
    body = create(api, username="bar", email="bar@example.com", language="", locale="", timezone="", roles=[])
    assert (body["language"], body["locale"], body["timezone"], body["roles"]) == (
        "en",
        "en",
        "Asia/Tokyo",
        [],
    )


def test_create_all_fields(api: Api, db: Database) -> None:
    body = create(
        api,
        alias="  " + "A" * 70,
        title="T" * 55,
        accountNumber="ACC-1",
        color="#00ff00",
        locale="de_AT",
        roles=["ROLE_ADMIN", "ROLE_ADMIN"],
        systemAccount=True,
        requiresPasswordReset=True,
        plainApiToken="legacy-password",
    )
    # Kimai's setters cut alias and title to their column size instead of failing.
    assert (body["alias"], body["title"]) == ("A" * 60, "T" * 50)
    assert (body["accountNumber"], body["color"], body["locale"]) == ("ACC-1", "#00ff00", "de_AT")
    assert (body["roles"], body["systemAccount"], body["apiToken"]) == (["ROLE_ADMIN"], True, True)
    assert user_row(db, body["id"]).requires_password_reset is True
    legacy = {"X-AUTH-USER": "foo", "X-AUTH-TOKEN": "legacy-password"}
    assert api.get("/api/ping", as_=None, headers=legacy).status_code == 200


def test_create_needs_create_user(api: Api, db: Database) -> None:
    for who in ("admin", "teamlead", "user"):
        # 403 before the body is read: an invalid body does not matter.
        assert api.post("/api/users", json={"bogus": 1}, as_=who).json() == FORBIDDEN, who
    assert len(usernames(api.get("/api/users?visible=3"))) == 4


def test_create_as_kimai_validates_it(api: Api) -> None:
    data = {
        "username": "",
        "email": "",
        "plainPassword": "123456",
        "language": "xx",
        "timezone": "XXX/YYY",
        "roles": ["ABC"],
    }
    response = api.post("/api/users", json=data)
    assert response.json() == envelope(
        CREATE_FIELDS,
        {
            "username": [BLANK],
            "email": [BLANK],
            "plainPassword": ["This value is too short. It should have 8 characters or more."],
            "language": [INVALID_CHOICE],
            "timezone": [BAD_TIMEZONE],
            "roles": [INVALID_CHOICE],
        },
    )


INVALID_USERS = [
    ({"username": "a"}, {"username": ["This value is too short. It should have 2 characters or more."]}),
    ({"username": "x" * 65}, {"username": ["This value is too long. It should have 64 characters or less."]}),
    ({"username": "a/b"}, {"username": [NOT_VALID]}),
    ({"username": "<b>"}, {"username": [SPECIAL_CHARACTERS_FOUND]}),
    ({"username": "john_user"}, {"username": ["The username is already used.", TAKEN]}),
    ({"username": "JOHN_USER"}, {"username": ["The username is already used.", TAKEN]}),
    ({"username": "john_user@example.com"}, {"username": ["An equal e-mail address is already in use."]}),
    ({"email": "anna_admin@example.com"}, {"email": ["This e-mail address is already in use.", TAKEN]}),
    ({"email": "susan_super"}, {"email": ["An equal username is already used.", BAD_EMAIL]}),
    ({"email": "not-an-address"}, {"email": [BAD_EMAIL]}),
    ({"email": "a@b"}, {"email": [BAD_EMAIL]}),
    (
        {"email": "x" * 175 + "@b.com"},
        {"email": ["This value is too long. It should have 180 characters or less."]},
    ),
    ({"plainPassword": ""}, {"plainPassword": [BLANK]}),
    (
        {"plainPassword": "x" * 61},
        {"plainPassword": ["This value is too long. It should have 60 characters or less."]},
    ),
    ({"alias": 'a "quote"'}, {"alias": [SPECIAL_CHARACTERS_FOUND]}),
    ({"title": "x=1"}, {"title": [SPECIAL_CHARACTERS_FOUND]}),
    (
        {"accountNumber": "x" * 31},
        {"accountNumber": ["This value is too long. It should have 30 characters or less."]},
    ),
    ({"accountNumber": "<x>"}, {"accountNumber": [SPECIAL_CHARACTERS_FOUND]}),
    ({"color": "#C0C0C0"}, {"color": [INVALID_CHOICE]}),
    ({"language": "en_GB"}, {"language": [INVALID_CHOICE]}),  # a locale, not a translated language
    ({"locale": "xx"}, {"locale": [INVALID_CHOICE]}),
    ({"timezone": "Europe/Kiev"}, {"timezone": [BAD_TIMEZONE]}),  # not canonical
    ({"roles": ["ROLE_USER"]}, {"roles": [INVALID_CHOICE]}),  # quirk 14: implied, never a choice
    ({"roles": "ROLE_ADMIN"}, {"roles": [INVALID_CHOICE]}),
    ({"roles": ["role_admin"]}, {"roles": [INVALID_CHOICE]}),
    ({"supervisor": 999}, {"supervisor": [INVALID_CHOICE]}),
    ({"supervisor": "x"}, {"supervisor": [INVALID_CHOICE]}),
    ({"supervisor": 5}, {"supervisor": [INVALID_CHOICE]}),  # the disabled user
    ({"username": ["a"]}, {"username": [NOT_VALID]}),
    # Passwords are not trimmed: eight characters with spaces are eight characters (created last).
    ({"plainPassword": "   abc  "}, {}),
]


def test_create_validation(api: Api) -> None:
    create(api, username="disabled", email="disabled@example.com", enabled=False)
    for data, errors in INVALID_USERS:
        body = {**NEW_USER, "enabled": True, **data}
        response = api.post("/api/users", json=body)
        if not errors:
            assert response.status_code == 200, response.text
            continue
        assert (response.status_code, response.json()) == (400, envelope(CREATE_FIELDS, errors)), data
    assert len(usernames(api.get("/api/users?visible=3"))) == 6


def test_create_rejects_unknown_fields(api: Api) -> None:
    for extra in ({"id": 9}, {"teams": [1]}, {"apiToken": "x"}):
        response = api.post("/api/users", json={**NEW_USER, **extra})
        assert response.json() == envelope(CREATE_FIELDS, {}, [EXTRA_FIELDS]), extra


# --- PATCH /api/users/{id} -----------------------------------------------------------------------------


def test_update_as_kimai_tests_it(api: Api) -> None:
    created = api.post(
        "/api/users",
        json={
            **NEW_USER,
            "title": "asdfghjkl",
            "language": "ru",
            "timezone": "Europe/Paris",
            "roles": ["ROLE_TEAMLEAD", "ROLE_ADMIN"],
        },
    ).json()
    assert created["enabled"] is False
    data = {
        "title": "qwertzui",
        "enabled": True,
        "language": "it",
        "timezone": "America/New_York",
        "roles": ["ROLE_TEAMLEAD"],
    }
    response = api.patch(f"/api/users/{created['id']}", json=data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["username"], body["title"], body["enabled"]) == ("foo", "qwertzui", True)
    assert (body["language"], body["timezone"], body["roles"]) == (
        "it",
        "America/New_York",
        ["ROLE_TEAMLEAD"],
    )
    assert api.get(f"/api/users/{created['id']}").json()["roles"] == ["ROLE_TEAMLEAD"]


def test_update_as_kimai_validates_it(api: Api) -> None:
    data = {
        "username": "1",
        "email": "",
        "plainPassword": "123456",
        "plainApiToken": "123456",
        "language": "xx",
        "timezone": "XXX/YYY",
        "roles": ["ABC"],
    }
    response = api.patch(f"/api/users/{PEOPLE['admin'].id}", json=data)
    errors = {
        "email": [BLANK],
        "language": [INVALID_CHOICE],
        "timezone": [BAD_TIMEZONE],
        "roles": [INVALID_CHOICE],
    }
    assert response.json() == envelope(EDIT_FIELDS, errors, [EXTRA_FIELDS])


def test_update_fields(api: Api, db: Database) -> None:
    john = PEOPLE["user"].id
    data = {
        "alias": "Johnny",
        "title": "Dev",
        "accountNumber": "7",
        "color": "#ff0000",
        "email": "johnny@example.com",
        "language": "de",
        "locale": "de_AT",
        "timezone": "Europe/Vienna",
        "supervisor": PEOPLE["admin"].id,
        "systemAccount": True,
        "requiresPasswordReset": True,
        "enabled": False,
    }
    body = api.patch(f"/api/users/{john}", json=data).json()
    expected = {
        "alias": "Johnny",
        "title": "Dev",
        "accountNumber": "7",
        "color": "#ff0000",
        "email": "johnny@example.com",
        "language": "de",
        "locale": "de_AT",
        "timezone": "Europe/Vienna",
        "systemAccount": True,
        "enabled": False,
    }
    assert {k: body[k] for k in expected} == expected
    assert body["supervisor"]["id"] == PEOPLE["admin"].id
    assert user_row(db, john).requires_password_reset is True
    # Empty values: texts and the supervisor are removed, language and locale fall back to en, the
    # timezone to the caller's.
    cleared = {
        "alias": "",
        "title": None,
        "color": "",
        "supervisor": "",
        "language": "",
        "locale": "",
        "timezone": "",
    }
    body = api.patch(f"/api/users/{john}", json=cleared).json()
    assert (body["alias"], body["title"], body["color"], body["supervisor"]) == (None, None, None, None)
    assert (body["language"], body["locale"], body["timezone"]) == ("en", "en", PEOPLE["super"].timezone)
    # An empty body changes nothing.
    unchanged = api.patch(f"/api/users/{john}", json={}).json()
    assert unchanged == {**body, "modifiedAt": unchanged["modifiedAt"]}


def test_a_user_edits_their_own_profile(api: Api, db: Database) -> None:
    john = PEOPLE["user"].id
    body = api.patch(
        f"/api/users/{john}", json={"alias": "J", "systemAccount": True, "timezone": "UTC"}, as_="user"
    ).json()
    assert (body["alias"], body["systemAccount"], body["timezone"]) == ("J", True, "UTC")
    # Not offered on one's own profile: enabled, supervisor, roles; never: username, passwords.
    for data in (
        {"enabled": True},
        {"supervisor": 2},
        {"roles": ["ROLE_SUPER_ADMIN"]},
        {"roles": []},
        {"username": "x"},
        {"plainPassword": "a-password"},
    ):
        response = api.patch(f"/api/users/{john}", json=data, as_="user")
        assert response.json() == envelope(OWN_FIELDS_USER, {}, [EXTRA_FIELDS]), data
    assert user_row(db, john).roles == []


def test_nobody_raises_their_own_roles(api: Api, db: Database) -> None:
    """Only super admins have the roles permission on themselves; the others cannot even send it."""
    for who in ("admin", "teamlead"):
        person = PEOPLE[who]
        response = api.patch(f"/api/users/{person.id}", json={"roles": ["ROLE_SUPER_ADMIN"]}, as_=who)
        assert response.json()["errors"]["errors"] == [EXTRA_FIELDS], who
        assert user_row(db, person.id).roles == list(person.roles)
    # A super admin edits their own profile without ``enabled``.
    response = api.patch(f"/api/users/{PEOPLE['super'].id}", json={"enabled": False})
    assert response.json() == envelope(OWN_FIELDS_SUPER, {}, [EXTRA_FIELDS])


def test_update_permissions(api: Api) -> None:
    target = PEOPLE["user"].id
    for who in ("admin", "teamlead"):
        assert api.patch(f"/api/users/{target}", json={"title": "x"}, as_=who).json() == FORBIDDEN
        assert api.patch("/api/users/999", json={"title": "x"}, as_=who).json() == NOT_FOUND
    assert api.patch(f"/api/users/{PEOPLE['admin'].id}", json={"title": "x"}, as_="user").json() == FORBIDDEN
    assert api.patch(f"/api/users/{target}", json={"title": "x"}, as_=None).status_code == 401


def test_the_last_super_admin_stays(api: Api, db: Database) -> None:
    susan = PEOPLE["super"].id
    response = api.patch(f"/api/users/{susan}", json={"roles": ["ROLE_ADMIN"]})
    assert response.json() == envelope(
        OWN_FIELDS_SUPER, {"roles": ["The last enabled super administrator cannot lose this role."]}
    )
    # With a second super admin, one of them may go; a disabled one does not count.
    sam = create(api, username="sam", email="sam@example.com", roles=["ROLE_SUPER_ADMIN"])["id"]
    sam_api_token = _token_for(db, sam)
    response = api.patch(f"/api/users/{susan}", json={"enabled": False}, as_=None, headers=sam_api_token)
    assert response.status_code == 200, response.text
    response = api.patch(f"/api/users/{sam}", json={"roles": []}, as_=None, headers=sam_api_token)
    assert response.json() == envelope(
        OWN_FIELDS_SUPER, {"roles": ["The last enabled super administrator cannot lose this role."]}
    )
    response = api.patch(f"/api/users/{susan}", json={"roles": []}, as_=None, headers=sam_api_token)
    assert response.status_code == 200, response.text
    # Re-enabling is allowed, and then sam may be disabled by her.
    assert (
        api.patch(
            f"/api/users/{susan}",
            json={"enabled": True, "roles": ["ROLE_SUPER_ADMIN"]},
            as_=None,
            headers=sam_api_token,
        ).status_code
        == 200
    )
    assert api.patch(f"/api/users/{sam}", json={"enabled": False}).status_code == 200
    response = api.patch(f"/api/users/{sam}", json={"roles": []})
    assert response.status_code == 200
    with_other_error = api.patch(f"/api/users/{susan}", json={"roles": [], "email": "bad"})
    assert with_other_error.json() == envelope(
        OWN_FIELDS_SUPER,
        {"roles": ["The last enabled super administrator cannot lose this role."], "email": [BAD_EMAIL]},
    )


def _token_for(db: Database, user_id: int) -> dict[str, str]:
    with db.session(write=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        return {"Authorization": f"Bearer {create_token(session, username=user.username, name='tt')[1]}"}


def test_tokens_of_a_disabled_user_stop_working_at_once(api: Api) -> None:
    john = PEOPLE["user"].id
    assert api.get("/api/users/me", as_="user").status_code == 200
    assert api.patch(f"/api/users/{john}", json={"enabled": False}).json()["enabled"] is False
    response = api.get("/api/users/me", as_="user")
    assert (response.status_code, response.content) == (401, b"")
    assert (
        response.headers["www-authenticate"]
        == 'Bearer error="invalid_token",error_description="Account is disabled."'
    )
    legacy = {"X-AUTH-USER": "john_user", "X-AUTH-TOKEN": API_PASSWORD}
    assert api.get("/api/ping", as_=None, headers=legacy).json() == {"message": "Invalid credentials"}
    assert api.patch(f"/api/users/{john}", json={"enabled": True}).status_code == 200
    assert api.get("/api/users/me", as_="user").status_code == 200


# --- PATCH /api/users/{id}/preferences ---------------------------------------------------------------


def prefs(api: Api, user_id: int, items: Any, as_: str = "super") -> Any:
    return api.patch(f"/api/users/{user_id}/preferences", json=items, as_=as_)


def test_preferences_bad_requests_as_kimai_tests_them(api: Api) -> None:
    susan = PEOPLE["super"].id
    for items in (
        {"name": "X", "value": "X"},
        [{"value": "X"}],
        [{"name": "X"}],
        ["x"],
        [{"name": ["a"], "value": "1"}],
    ):
        assert (prefs(api, susan, items).status_code, prefs(api, susan, items).json()) == (
            400,
            BAD_REQUEST,
        ), items
    assert prefs(api, susan, [{"name": "X", "value": "Y"}]).json() == NOT_FOUND
    assert prefs(api, 42, []).json() == NOT_FOUND


def test_preferences_set_a_rate(api: Api, db: Database) -> None:
    susan = PEOPLE["super"].id
    response = prefs(
        api, susan, [{"name": "hourly_rate", "value": 99}, {"name": "internal-rate", "value": "50.5"}]
    )
    assert response.status_code == 200, response.text
    # The full preparation adds the work-contract preferences (a super admin may edit them).
    expected = [
        *CONTRACT,
        {"name": "hourly_rate", "value": "99"},
        {"name": "internal_rate", "value": "50.5"},
        *LOCALE_PREFS,
    ]
    assert response.json()["preferences"] == expected
    # Kimai stores everything it prepared: later reads list the work-contract preferences first.
    assert api.get("/api/users/me").json()["preferences"] == expected
    assert stored_preferences(db, susan)["hourly_rate"] == "99"
    assert api.get("/api/users?term=hourly_rate:99").json()[0]["id"] == susan


def test_preferences_depend_on_permissions(api: Api, db: Database) -> None:
    john, tony = PEOPLE["user"].id, PEOPLE["teamlead"].id
    # A plain user may not set their rate (disabled: 403), a team lead may.
    assert prefs(api, john, [{"name": "hourly_rate", "value": "99"}], as_="user").json() == FORBIDDEN
    assert prefs(api, tony, [{"name": "hourly_rate", "value": "80"}], as_="teamlead").status_code == 200
    # Nobody but a super admin edits someone else's preferences.
    for who in ("admin", "teamlead"):
        assert prefs(api, john, [{"name": "first_weekday", "value": "sunday"}], as_=who).json() == FORBIDDEN
    response = prefs(api, john, [{"name": "first_weekday", "value": "sunday"}], as_="user")
    assert response.status_code == 200, response.text
    # The work-contract preferences are disabled for a plain user, so not listed ...
    assert response.json()["preferences"] == [
        {"name": "first_weekday", "value": "sunday"},
        {"name": "favorite_routes", "value": ""},
    ]
    assert prefs(api, john, [{"name": "work_monday", "value": "8"}], as_="user").json() == FORBIDDEN
    # ... but they were stored, and Kimai lists stored ones it does not re-flag.
    listed = api.get("/api/users/me", as_="user").json()["preferences"]
    assert listed == [
        *CONTRACT,
        {"name": "first_weekday", "value": "sunday"},
        {"name": "favorite_routes", "value": ""},
    ]
    assert stored_preferences(db, john)["hourly_rate"] == "0"


def test_preferences_values(api: Api, db: Database) -> None:
    susan = PEOPLE["super"].id
    items = [
        {"name": "daily_stats", "value": False},  # yes/no preferences store "0" or "1"
        {"name": "export_decimal", "value": "0"},
        {"name": "update_browser_title", "value": None},
        {"name": "favorite_routes", "value": ["a"]},  # a list leaves other preferences unchanged
        {"name": "first_weekday", "value": None},  # JSON null arrives as "" (Kimai's form decoding)
        {"name": "public_holiday_group", "value": False},  # JSON false arrives as null
        {"name": "timezone", "value": "Asia/Tokyo"},  # a column of the user
        {"name": "locale", "value": "de_AT"},
    ]
    body = prefs(api, susan, items).json()
    stored = stored_preferences(db, susan)
    assert (stored["daily_stats"], stored["export_decimal"], stored["update_browser_title"]) == (
        "0",
        "1",
        "0",
    )
    assert (stored["favorite_routes"], stored["first_weekday"], stored["public_holiday_group"]) == (
        "",
        "",
        None,
    )
    assert (body["timezone"], body["locale"]) == ("Asia/Tokyo", "de_AT")
    assert "timezone" not in stored
    assert all(p["name"] not in ("daily_stats", "timezone", "locale", "skin") for p in body["preferences"])
    assert prefs(api, susan, {}).status_code == 200  # nothing to do


@pytest.mark.parametrize(
    "item",
    [
        {"name": "timezone", "value": "Mars/Olympus"},
        {"name": "timezone", "value": None},
        {"name": "language", "value": "xx"},
        {"name": "locale", "value": ""},
        {"name": "hourly_rate", "value": "abc"},
        {"name": "hourly_rate", "value": "-1"},
        {"name": "internal_rate", "value": "inf"},
        {"name": "favorite_routes", "value": "x" * 251},
    ],
)
def test_preferences_refuse_values_that_would_break_the_user(
    api: Api, db: Database, item: dict[str, Any]
) -> None:
    """Kimai stores anything here (and fails later); Punchclock refuses it."""
    response = prefs(api, PEOPLE["super"].id, [item])
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)
    assert stored_preferences(db, PEOPLE["super"].id) == {}
    assert user_row(db, PEOPLE["super"].id).timezone == "Europe/Berlin"


def test_preferences_of_a_rate_may_be_emptied(api: Api, db: Database) -> None:
    assert prefs(api, PEOPLE["super"].id, [{"name": "internal_rate", "value": None}]).status_code == 200
    assert stored_preferences(db, PEOPLE["super"].id)["internal_rate"] == ""


# --- API tokens -----------------------------------------------------------------------------------------


def token_ids(db: Database, key: str) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(ApiToken.id).where(ApiToken.user_id == PEOPLE[key].id)))


def test_delete_api_token(api: Api, db: Database) -> None:
    [johns] = token_ids(db, "user")
    [annas] = token_ids(db, "admin")
    # Somebody else's token: only a super admin; an unknown id is 404 first.
    assert api.delete(f"/api/users/api-token/{annas}", as_="user").json() == FORBIDDEN
    assert api.delete(f"/api/users/api-token/{johns}", as_="admin").json() == FORBIDDEN
    assert api.delete("/api/users/api-token/999", as_="user").json() == NOT_FOUND
    response = api.delete(f"/api/users/api-token/{annas}")
    assert (response.status_code, response.content) == (200, b"")  # 200 with an empty body, as Kimai
    assert api.get("/api/ping", as_="admin").status_code == 401
    response = api.delete(f"/api/users/api-token/{johns}", as_="user")
    assert (response.status_code, response.content) == (200, b"")
    assert api.get("/api/ping", as_="user").status_code == 401


def test_own_api_tokens(api: Api) -> None:
    response = api.post(
        "/api/users/me/api-tokens", json={"name": "laptop", "expiresAt": "2099-01-01"}, as_="user"
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert set(created) == {"id", "name", "createdAt", "lastUsage", "expiresAt", "token"}
    # The expiry is the start of that day in the user's timezone (Tonga: +1300 in January).
    assert (created["name"], created["expiresAt"], created["lastUsage"]) == (
        "laptop",
        "2099-01-01T00:00:00+1300",
        None,
    )
    assert created["createdAt"][-5:] in ("+1300", "+1400")
    secret = created["token"]
    me = api.get("/api/users/me", as_=None, headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "john_user"
    listed = api.get("/api/users/me/api-tokens", as_="user").json()
    assert [t["name"] for t in listed] == ["tests", "laptop"]
    assert all(set(t) == {"id", "name", "createdAt", "lastUsage", "expiresAt"} for t in listed)
    assert listed[1]["lastUsage"] is not None  # used just now
    # Only one's own tokens are listed; deleting one ends it.
    assert [t["name"] for t in api.get("/api/users/me/api-tokens", as_="admin").json()] == ["tests"]
    assert api.delete(f"/api/users/api-token/{created['id']}", as_="user").status_code == 200
    assert api.get("/api/ping", as_=None, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert api.get("/api/users/me/api-tokens", as_=None).status_code == 401


INVALID_TOKENS = [
    ({}, {"name": [BLANK]}),
    ({"name": "x"}, {"name": ["This value is too short. It should have 2 characters or more."]}),
    ({"name": "x" * 51}, {"name": ["This value is too long. It should have 50 characters or less."]}),
    ({"name": "ok", "expiresAt": "2020-01-01"}, {"expiresAt": ["The expiry date must be in the future."]}),
    ({"name": "ok", "expiresAt": "tomorrow"}, {"expiresAt": ["Please enter a valid date."]}),
    ({"name": "ok", "expiresAt": "2099-02-30"}, {"expiresAt": ["Please enter a valid date."]}),
]


def test_own_api_token_validation(api: Api, db: Database) -> None:
    today = dt.datetime.now(ZoneInfo(PEOPLE["admin"].timezone)).date().isoformat()
    for data, errors in [
        *INVALID_TOKENS,
        ({"name": "ok", "expiresAt": today}, {"expiresAt": ["The expiry date must be in the future."]}),
    ]:
        response = api.post("/api/users/me/api-tokens", json=data, as_="admin")
        children = {
            name: ({"errors": errors[name]} if name in errors else {}) for name in ("name", "expiresAt")
        }
        assert response.json() == {
            "code": 400,
            "message": "Validation Failed",
            "errors": {"children": children},
        }, data
    response = api.post("/api/users/me/api-tokens", json={"name": "ok", "user": 1}, as_="admin")
    assert response.json()["errors"]["errors"] == [EXTRA_FIELDS]
    assert len(token_ids(db, "admin")) == 1


# --- DELETE /api/users/roles/{id} ------------------------------------------------------------------------


def test_there_are_no_custom_roles_to_delete(api: Api) -> None:
    for who in ("super", "user"):
        assert api.delete("/api/users/roles/1", as_=who).json() == NOT_FOUND
    assert api.get("/api/users/roles/1").status_code == 405


# --- recorded changes ------------------------------------------------------------------------------------


def test_writes_are_recorded(db: Database) -> None:
    caller = system_caller("UTC")
    with db.session(write=True) as session:
        user = user_forms.create_from_form(session, caller=caller, data={**NEW_USER, "enabled": "1"})
        user_forms.update_from_form(session, caller=caller, user_id=user.id, data={"title": "x"})
        service.update_preferences(
            session, caller=caller, user_id=user.id, data=[{"name": "hourly_rate", "value": "5"}]
        )
        susan = Caller(
            1, "susan_super", "UTC", "en", ("ROLE_SUPER_ADMIN",), permissions_for(["ROLE_SUPER_ADMIN"])
        )
        token, _ = tokens.create_own_token(session, caller=susan, data={"name": "cli"})
        tokens.delete_token(session, caller=susan, token_id=token.id)
        assert changes.recorded(session) == [
            ("user", user.id, "upsert"),
            ("user", user.id, "upsert"),
            ("user", user.id, "upsert"),
            ("api_token", token.id, "upsert"),
            ("api_token", token.id, "delete"),
        ]


def test_own_tokens_need_the_api_token_permission(db: Database) -> None:
    caller = Caller(4, "john_user", "UTC", "en", (), permissions_for([]) - {"api-token_own_profile"})
    with db.session(write=True) as session:
        for call in (
            lambda: tokens.list_own_tokens(session, caller=caller),
            lambda: tokens.create_own_token(session, caller=caller, data={"name": "x1"}),
            lambda: tokens.delete_token(session, caller=caller, token_id=token_ids(db, "user")[0]),
        ):
            with pytest.raises(Forbidden):
                call()


def test_setting_the_legacy_api_password_is_recorded(db: Database) -> None:
    # `apiToken` in the user JSON turns true: the change feed must hear of it.
    with db.session(write=True) as session:
        user = service.set_api_password(session, username="john_user", api_password="new-secret")
        assert changes.recorded(session) == [("user", user.id, "upsert")]
