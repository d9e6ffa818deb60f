"""The user, token and team commands, run as real subprocesses against real databases; what they
wrote is checked through the API of an app on the same database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from punchclock import models
from punchclock.config import Settings
from punchclock.db import Database
from tests.conftest import POSTGRES_URL, backends
from tests.test_cli import Cli, assert_failed, bearer

# These tests own this PostgreSQL schema (test_cli uses its own, the API tests "public").
SCHEMA = "cli_people_tests"
LAST_ADMIN_DISABLED = "rejected: enabled: The last enabled super administrator cannot be disabled."
SHORT = "This value is too short. It should have 2 characters or more."
LAST_ADMIN_ROLE = "rejected: roles: The last enabled super administrator cannot lose this role."


def _schema_url(url: str) -> str:
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    db.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(False)


@pytest.fixture(params=backends())
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    if request.param == "sqlite":
        return Cli("sqlite", f"sqlite:///{tmp_path / 'people.db'}", tmp_path)
    return Cli("postgresql", _schema_url(Settings(database_url=POSTGRES_URL).database_url), tmp_path)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli("sqlite", f"sqlite:///{tmp_path / 'people.db'}", tmp_path)


# --- user list / update / disable --------------------------------------------------------------------


def test_users_listed_updated_disabled_and_enabled(cli: Cli) -> None:
    boss = cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    bob = cli.seed_user("bob", timezone="America/New_York")
    assert cli.ok("user", "list") == (
        "2\tbob\tbob@example.com\t-\tenabled\tAmerica/New_York\n"
        "1\tboss\tboss@example.com\tROLE_SUPER_ADMIN\tenabled\tEurope/Berlin\n"
    )
    result = cli.run(
        "user", "update", "bob",
        "--email", "robert@example.com", "--alias", "Robert", "--title", "Dev", "--account-number", "A-1",
        "--color", "#ff0000", "--timezone", "Europe/Vienna", "--language", "de", "--locale", "de_AT",
        "--role", "ROLE_TEAMLEAD", "--role", "ROLE_ADMIN",
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "user bob updated\n", "")
    with cli.api() as api:
        body = api.get("/api/users/2", as_=None, headers=bearer(boss)).json()
    expected = {
        "email": "robert@example.com",
        "alias": "Robert",
        "title": "Dev",
        "accountNumber": "A-1",
        "color": "#ff0000",
        "timezone": "Europe/Vienna",
        "language": "de",
        "locale": "de_AT",
        "roles": ["ROLE_TEAMLEAD", "ROLE_ADMIN"],
        "enabled": True,
    }
    assert {key: body[key] for key in expected} == expected
    # Disabled: the token stops working at once; enabled again: it works again.
    assert cli.ok("user", "disable", "bob") == "user bob disabled; their API tokens no longer work\n"
    with cli.api() as api:
        assert api.get("/api/ping", as_=None, headers=bearer(bob)).status_code == 401
    assert "disabled\tEurope/Vienna" in cli.ok("user", "list")
    assert cli.ok("user", "update", "bob", "--enable", "--no-roles", "--alias", "") == "user bob updated\n"
    with cli.api() as api:
        body = api.get("/api/users/me", as_=None, headers=bearer(bob)).json()
    assert (body["enabled"], body["roles"], body["alias"]) == (True, [], None)


def test_the_last_super_admin_cannot_be_disabled_or_demoted(cli: Cli) -> None:
    cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    assert_failed(cli.run("user", "disable", "boss"), LAST_ADMIN_DISABLED)
    assert_failed(cli.run("user", "update", "boss", "--role", "ROLE_ADMIN"), LAST_ADMIN_ROLE)
    cli.seed_user("deputy", roles=("ROLE_SUPER_ADMIN",))
    assert cli.ok("user", "disable", "boss").startswith("user boss disabled")
    assert_failed(cli.run("user", "update", "deputy", "--no-roles"), LAST_ADMIN_ROLE)


USER_UPDATE_FAILURES = [
        (["nobody", "--alias", "x"], "unknown user: nobody"),
        (["bob", "--email", "not-an-address"], "rejected: email: This value is not a valid email address."),
        (["bob", "--role", "ROLE_USER"], "rejected: roles: The selected choice is invalid."),
        (["bob", "--timezone", "Mars/Olympus"], "rejected: timezone: Please select a valid timezone."),
        (["bob", "--color", "red", "--language", "xx"],
         "rejected: color: The selected choice is invalid.; language: The selected choice is invalid."),
        (["bob", "--email", "boss@example.com"],
         "rejected: email: This e-mail address is already in use.; email: This value is already used."),
]  # fmt: skip


def test_user_update_failures(sqlite_cli: Cli) -> None:
    sqlite_cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    sqlite_cli.seed_user("bob")
    for args, message in USER_UPDATE_FAILURES:
        assert_failed(sqlite_cli.run("user", "update", *args), message)
    with sqlite_cli.session() as session:
        bob = session.scalars(select(models.User).where(models.User.username == "bob")).one()
        assert (bob.email, bob.roles, bob.timezone, bob.color) == (
            "bob@example.com",
            [],
            "Europe/Berlin",
            None,
        )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["user", "update", "bob"], "nothing to change"),
        (["user", "update", "bob", "--role", "ROLE_ADMIN", "--no-roles"], "exclude each other"),
        (["user", "disable"], "Missing argument"),
        (["token", "revoke", "x"], "Invalid value for 'ID'"),
        (["team", "create", "Dev"], "Missing option '--lead'"),
        (["team", "add-member", "Dev"], "Missing argument"),
    ],
)
def test_wrong_usage_exits_64(sqlite_cli: Cli, args: list[str], complaint: str) -> None:
    result = sqlite_cli.run(*args)
    assert result.returncode == 64, result.stderr
    assert complaint.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_user_disable_unknown(sqlite_cli: Cli) -> None:
    assert_failed(sqlite_cli.run("user", "disable", "nobody"), "unknown user: nobody")


# --- token list / revoke ----------------------------------------------------------------------------------


def test_tokens_listed_and_revoked(cli: Cli) -> None:
    cli.seed_user("bob")  # with the token "seeded" (id 1)
    laptop = cli.ok("token", "create", "bob", "--name", "laptop", "--expires", "2099-01-01").splitlines()[-1]
    with cli.api() as api:
        assert api.get("/api/ping", as_=None, headers=bearer(laptop)).status_code == 200
    lines = [line.split("\t") for line in cli.ok("token", "list", "bob").splitlines()]
    assert [(line[0], line[1], line[4]) for line in lines] == [
        ("1", "seeded", "no expiry"),
        ("2", "laptop", "2098-12-31T23:00:00Z"),  # the start of that day in Europe/Berlin
    ]
    assert lines[0][3] == "never used"
    assert lines[1][3].endswith("Z")  # used just now
    assert laptop not in cli.ok("token", "list", "bob")
    assert cli.ok("token", "revoke", "2") == "token 2 ('laptop') of bob revoked\n"
    with cli.api() as api:
        assert api.get("/api/ping", as_=None, headers=bearer(laptop)).status_code == 401
    assert [line.split("\t")[1] for line in cli.ok("token", "list", "bob").splitlines()] == ["seeded"]
    assert_failed(cli.run("token", "revoke", "2"), "unknown token: 2")
    assert_failed(cli.run("token", "list", "nobody"), "unknown user: nobody")


# --- team create / add-member -----------------------------------------------------------------------------


def test_teams_created_and_members_added(cli: Cli) -> None:
    boss = cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    for name in ("tina", "john", "jane"):
        cli.seed_user(name)
    result = cli.run("team", "create", "Dev", "--lead", "tina", "--member", "john", "--color", "#ff0000")
    assert (result.returncode, result.stdout, result.stderr) == (0, "created team Dev (id 1)\n", "")
    assert cli.ok("team", "add-member", "Dev", "jane") == "jane is now a member of team Dev\n"
    assert cli.ok("team", "add-member", "dev", "john", "--lead") == "john is now a team lead of team Dev\n"
    assert cli.ok("team", "add-member", "Dev", "boss", "--lead") == "boss is now a team lead of team Dev\n"
    with cli.api() as api:
        team = api.get("/api/teams/1", as_=None, headers=bearer(boss)).json()
    assert (team["name"], team["color"]) == ("Dev", "#ff0000")
    members = {member["user"]["username"]: member["teamlead"] for member in team["members"]}
    assert members == {"boss": True, "jane": False, "john": True, "tina": True}
    cannot = "cannot add {0} to team Dev: {1}"
    assert_failed(
        cli.run("team", "add-member", "Dev", "jane"),
        cannot.format("jane", "User is already member of the team"),
    )
    assert_failed(
        cli.run("team", "add-member", "Dev", "john", "--lead"),
        cannot.format("john", "User is already teamlead of the team"),
    )
    assert_failed(cli.run("team", "add-member", "Ops", "jane"), "unknown team: Ops")
    assert_failed(cli.run("team", "add-member", "Dev", "nobody"), "unknown user: nobody")


TEAM_CREATE_FAILURES = [
        (["Dev", "--lead", "nobody"], "unknown user: nobody"),
        (["Dev", "--lead", "tina"], "rejected: name: This value is already used."),
        (["x", "--lead", "tina"], f"rejected: name: {SHORT}"),
        (["Ops", "--lead", "off"], "rejected: At least one team leader must be assigned to the team.; "
                                   "This collection should contain 1 element or more.; "
                                   "members.0.user: The selected choice is invalid."),
        (["Ops", "--lead", "tina", "--color", "red"], "rejected: color: The selected choice is invalid."),
]  # fmt: skip


def test_team_create_failures(sqlite_cli: Cli) -> None:
    sqlite_cli.seed_user("tina")
    sqlite_cli.seed_user("off")
    with sqlite_cli.session() as session:
        session.execute(update(models.User).where(models.User.username == "off").values(enabled=False))
    sqlite_cli.ok("team", "create", "Dev", "--lead", "tina")
    for args, message in TEAM_CREATE_FAILURES:
        assert_failed(sqlite_cli.run("team", "create", *args), message)
    with sqlite_cli.session() as session:
        assert session.scalars(select(models.Team.name)).all() == ["Dev"]
