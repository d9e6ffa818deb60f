"""The ``punchclock`` command line, run as real subprocesses against real databases.

Each test gets an empty database: a SQLite file passed with ``--database-url`` and, for the tests where
the backend matters, a PostgreSQL schema of its own passed through ``PUNCHCLOCK_DATABASE_URL`` (so both
ways of naming the database are exercised). What the commands wrote is then checked through the API of
an app on the same database, or by reading the rows.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import typer
from alembic.script import ScriptDirectory
from click import Command
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from punchclock import __version__, models
from punchclock.app import create_app
from punchclock.auth.passwords import verify_password
from punchclock.auth.service import create_token
from punchclock.cli import app as cli_app
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.entities.meta import add_definition, list_definitions
from punchclock.kimai.version import KIMAI_VERSION
from punchclock.migrate import alembic_config, current_revision, upgrade
from punchclock.users.service import create_user
from tests.conftest import POSTGRES_URL, Api, backends
from tests.threaded_server import free_port

PUNCHCLOCK = [sys.executable, "-m", "punchclock"]
# CLI tests own this PostgreSQL schema; the shared fixtures use "public" for the whole session.
PG_SCHEMA = "cli_tests"
TOKEN = re.compile(r"^\S{20,}$")
SECRET = "a-long-password"


def command_paths() -> list[str]:
    """Every command and subcommand of the typer app: "", "db", "db upgrade", …"""

    def walk(command: Command, prefix: str) -> Iterator[str]:
        yield prefix
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, f"{prefix} {name}".strip())

    return list(walk(typer.main.get_command(cli_app), ""))


def leaf_commands() -> list[str]:
    """The commands that do something (not groups)."""
    paths = command_paths()
    return [p for p in paths if p and not any(other.startswith(p + " ") for other in paths)]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    # A narrow, fixed terminal: messages must stay on one line anyway.
    env.update(COLUMNS="80", PYTHONUNBUFFERED="1")
    return env


def punchclock(*args: str, input: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PUNCHCLOCK, *args],
        input=input,
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Cli:
    """Runs commands against one database: SQLite by option, PostgreSQL by environment variable."""

    backend: str
    url: str
    cwd: Path

    def run(self, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
        env = clean_env()
        argv = [*PUNCHCLOCK, *args]
        if self.backend == "sqlite":
            argv += ["--database-url", self.url]
        else:
            env["PUNCHCLOCK_DATABASE_URL"] = self.url
        return subprocess.run(
            argv, input=input, capture_output=True, text=True, env=env, cwd=self.cwd, timeout=60, check=False
        )

    def ok(self, *args: str, input: str = "") -> str:
        result = self.run(*args, input=input)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def seed_user(
        self, username: str, *, roles: tuple[str, ...] = (), timezone: str = "Europe/Berlin"
    ) -> str:
        """A user and an API token for it, made in-process (faster than two more commands)."""
        upgrade(self.url)
        db = Database(self.url)
        try:
            with db.session(write=True) as session:
                create_user(
                    session,
                    username=username,
                    email=f"{username}@example.com",
                    password=SECRET,
                    roles=list(roles),
                    timezone=timezone,
                )
                return create_token(session, username=username, name="seeded")[1]
        finally:
            db.dispose()

    @contextmanager
    def api(self, **settings: Any) -> Iterator[Api]:
        """The app on this database, every response checked against its OpenAPI document."""
        app = create_app(Settings(database_url=self.url, legacy_auth_delay_ms=(0, 0), **settings))
        with TestClient(app) as client:
            yield Api(client)

    @contextmanager
    def session(self) -> Iterator[Session]:
        db = Database(self.url)
        try:
            with db.session() as session:
                yield session
        finally:
            db.dispose()


def pg_schema_url(url: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
        .render_as_string(hide_password=False)
    )


def reset_pg_schema(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    db.dispose()


@pytest.fixture(params=backends())
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return Cli("sqlite", f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    url = Settings(database_url=POSTGRES_URL).database_url
    reset_pg_schema(url)
    return Cli("postgresql", pg_schema_url(url), tmp_path)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    """An empty SQLite database, for checks the backend cannot change (argument validation)."""
    return Cli("sqlite", f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)


def assert_failed(result: subprocess.CompletedProcess[str], message: str, code: int = 1) -> None:
    """Exit code 1 and one line on stderr, no traceback, nothing on stdout."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- version, help ---------------------------------------------------------------------------------


def test_version() -> None:
    result = punchclock("version")
    assert result.returncode == 0
    assert result.stdout == f"punchclock {__version__} (Kimai API {KIMAI_VERSION})\n"
    assert result.stderr == ""


def test_the_walk_finds_every_command() -> None:
    assert set(leaf_commands()) == {
        "serve",
        "db upgrade",
        "user create",
        "user set-api-password",
        "token create",
        "meta-field add",
        "meta-field list",
        "meta-field remove",
        "demo",
        "version",
        "import-csv",
        "user list",
        "user update",
        "user disable",
        "token list",
        "token revoke",
        "team create",
        "team add-member",
        "invoice create",
        "invoice status",
        "sync",
    }


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: p or "punchclock")
def test_help_of_every_command(path: str) -> None:
    result = punchclock(*path.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"Usage: python -m punchclock {path}".rstrip() in result.stdout
    command: Command = typer.main.get_command(cli_app)
    for name in path.split():
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"'{path}' has no help text"
    assert " ".join(command.help.split()[:3]) in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["user", "create", "bob"], "Missing argument 'EMAIL'"),
        (["user", "create", "bob", "bob@example.com", "--bogus"], "No such option: --bogus"),
        (["token", "create", "bob"], "Missing option '--name'"),
        (["meta-field", "add", "customer"], "Missing argument 'NAME'"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["serve", "--workers", "0"], "Invalid value for '--workers'"),
    ],
)
def test_wrong_usage_exits_64(sqlite_cli: Cli, args: list[str], complaint: str) -> None:
    result = punchclock(*args, "--database-url", sqlite_cli.url, cwd=sqlite_cli.cwd)
    assert result.returncode == 64, result.stderr
    assert complaint.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (sqlite_cli.cwd / "cli.db").exists(), "a usage error must not touch the database"


# --- db upgrade ------------------------------------------------------------------------------------


def test_db_upgrade_creates_every_table_and_is_idempotent(cli: Cli) -> None:
    for _ in range(2):
        result = cli.run("db", "upgrade")
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"database \S+ is up to date\n", result.stdout)
        assert result.stderr == ""
    db = Database(cli.url)
    try:
        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    assert tables == {*models.metadata.tables, "alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(cli.url)).get_current_head()
    assert head is not None
    assert current_revision(cli.url) == head


def test_db_upgrade_reports_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    result = punchclock("db", "upgrade", "--database-url", f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot open or migrate the database sqlite:///")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_one_line_and_exit_1(sqlite_cli: Cli) -> None:
    result = subprocess.run(
        [*PUNCHCLOCK, "db", "upgrade", "--database-url", sqlite_cli.url],
        capture_output=True,
        text=True,
        env={**clean_env(), "PUNCHCLOCK_DEFAULT_TIMEZONE": "Mars/Olympus"},
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid settings: ")
    assert "PUNCHCLOCK_DEFAULT_TIMEZONE: unknown timezone 'Mars/Olympus'" in result.stderr
    assert result.stderr.count("\n") == 1


# --- user create, set-api-password ------------------------------------------------------------------


def test_user_create(cli: Cli) -> None:
    out = cli.ok(
        "user", "create", "bob", "bob@example.com", "--password", SECRET, "--role", "ROLE_ADMIN",
        "--role", "ROLE_TEAMLEAD", "--timezone", "Asia/Tokyo", "--alias", "Bob B.",
        "--api-password", "legacy-secret",
    )  # fmt: skip
    assert out == "created user bob (id 1)\n"
    with cli.session() as session:
        user = session.scalars(select(models.User)).one()
        assert (user.username, user.email, user.roles, user.timezone, user.alias, user.enabled) == (
            "bob",
            "bob@example.com",
            ["ROLE_ADMIN", "ROLE_TEAMLEAD"],
            "Asia/Tokyo",
            "Bob B.",
            True,
        )
        assert SECRET not in user.password
        assert verify_password(SECRET, user.password)[0]
        assert user.api_password is not None
        assert verify_password("legacy-secret", user.api_password)[0]


def test_user_create_with_password_from_stdin_and_defaults(sqlite_cli: Cli) -> None:
    out = sqlite_cli.ok(
        "user", "create", "plain", "plain@example.com", "--password-stdin", input="from stdin 1\n"
    )
    assert out == "created user plain (id 1)\n"
    with sqlite_cli.session() as session:
        user = session.scalars(select(models.User)).one()
        assert verify_password("from stdin 1", user.password)[0]
        assert (user.roles, user.timezone, user.alias, user.api_password) == ([], "Europe/Berlin", None, None)


def test_duplicate_user_fails(cli: Cli) -> None:
    cli.seed_user("bob")
    for username, email in [("bob", "other@example.com"), ("robert", "bob@example.com")]:
        result = cli.run("user", "create", username, email, "--password", SECRET)
        assert_failed(result, "a user with this username or e-mail exists already: bob")
    with cli.session() as session:
        assert session.scalar(select(func.count()).select_from(models.User)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["bob", "bob@example.com", "--role", "ROLE_BOSS"],
            "unknown role: ROLE_BOSS (choose from ROLE_USER, ROLE_TEAMLEAD, ROLE_ADMIN, ROLE_SUPER_ADMIN)",
        ),
        (["bob", "bob@example.com", "--timezone", "Mars/Olympus"], "unknown timezone: Mars/Olympus"),
        (["bob", "bob@example.com", "--password", "short"], "the password must have at least 8 characters"),
        (["b", "bob@example.com"], "the username must have 2 to 64 characters and no '/'"),
        (["bob", "no-at-sign"], "not an e-mail address: no-at-sign"),
    ],
)
def test_user_create_rejects_bad_input(sqlite_cli: Cli, args: list[str], message: str) -> None:
    password = [] if "--password" in args else ["--password", SECRET]
    assert_failed(sqlite_cli.run("user", "create", *args, *password), message)
    with sqlite_cli.session() as session:
        assert session.scalar(select(func.count()).select_from(models.User)) == 0


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_user_create_without_password_fails(sqlite_cli: Cli, stdin: str) -> None:
    message = "give --password or --password-stdin"
    assert_failed(sqlite_cli.run("user", "create", "bob", "bob@example.com"), message)
    assert_failed(
        sqlite_cli.run("user", "create", "bob", "bob@example.com", "--password-stdin", input=stdin), message
    )


def test_set_api_password_enables_the_legacy_headers(sqlite_cli: Cli) -> None:
    sqlite_cli.seed_user("bob")
    assert (
        sqlite_cli.ok("user", "set-api-password", "bob", input="legacy-secret\n")
        == "API password of bob set\n"
    )
    with sqlite_cli.api() as api:

        def ping(login: str, secret: str) -> Any:
            return api.get("/api/ping", as_=None, headers={"X-AUTH-USER": login, "X-AUTH-TOKEN": secret})

        for login in ("bob", "bob@example.com"):
            response = ping(login, "legacy-secret")
            assert (response.status_code, response.json()) == (200, {"message": "pong"})
        wrong = ping("bob", SECRET)
        assert (wrong.status_code, wrong.json()) == (403, {"message": "Invalid credentials"})
        # A new API password replaces the old one.
        sqlite_cli.ok("user", "set-api-password", "bob", input="another-secret\n")
        assert ping("bob", "legacy-secret").status_code == 403
        assert ping("bob", "another-secret").status_code == 200


@pytest.mark.parametrize(
    ("username", "secret", "message"),
    [
        ("nobody", "legacy-secret", "unknown user: nobody"),
        ("bob", "short", "the API password must have at least 8 characters"),
        ("bob", "", "the API password must have at least 8 characters"),
    ],
)
def test_set_api_password_failures(sqlite_cli: Cli, username: str, secret: str, message: str) -> None:
    sqlite_cli.seed_user("bob")
    assert_failed(sqlite_cli.run("user", "set-api-password", username, input=secret + "\n"), message)
    with sqlite_cli.session() as session:
        assert session.scalars(select(models.User.api_password)).one() is None


# --- token create ----------------------------------------------------------------------------------


def test_token_create_prints_a_working_token(cli: Cli) -> None:
    cli.seed_user("bob", roles=("ROLE_ADMIN",))
    result = cli.run("token", "create", "bob", "--name", "laptop")
    assert result.returncode == 0, result.stderr
    token = result.stdout.splitlines()[-1]
    assert result.stdout == token + "\n"
    assert TOKEN.match(token)
    assert "'laptop'" in result.stderr
    assert token not in result.stderr
    with cli.api() as api:
        response = api.get("/api/ping", as_=None, headers=bearer(token))
        assert (response.status_code, response.json()) == (200, {"message": "pong"})
        assert api.get("/api/customers", as_=None, headers=bearer(token)).json() == []
        # The extension: a token also works as the legacy X-AUTH-TOKEN.
        legacy = api.get("/api/ping", as_=None, headers={"X-AUTH-USER": "bob", "X-AUTH-TOKEN": token})
        assert legacy.status_code == 200
    with cli.session() as session:
        row = session.scalars(select(models.ApiToken).where(models.ApiToken.name == "laptop")).one()
        assert row.expires_at is None
        assert token not in row.token_hash


def test_token_expiry_is_the_start_of_that_day_for_the_user(cli: Cli) -> None:
    cli.seed_user("bob", timezone="America/New_York")
    token = cli.ok("token", "create", "bob", "--name", "until 2030", "--expires", "2030-01-01").splitlines()[
        -1
    ]
    with cli.session() as session:
        query = select(models.ApiToken.expires_at).where(models.ApiToken.name == "until 2030")
        expires_at = session.scalars(query).one()
    assert expires_at == dt.datetime(2030, 1, 1, tzinfo=ZoneInfo("America/New_York"))
    assert expires_at is not None
    assert expires_at.utcoffset() == dt.timedelta(0)
    with cli.api() as api:
        assert api.get("/api/ping", as_=None, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bob", "--expires", "2030-13-01"], "not a date (YYYY-MM-DD): 2030-13-01"),
        (["bob", "--expires", "01.01.2030"], "not a date (YYYY-MM-DD): 01.01.2030"),
        (["bob", "--expires", "2020-01-01"], "the expiry date must be in the future"),
        (["nobody"], "unknown user: nobody"),
        (["nobody", "--expires", "2030-01-01"], "unknown user: nobody"),
        (["bob", "--name", "x"], "the token name must have 2 to 50 characters"),
    ],
)
def test_token_create_failures(sqlite_cli: Cli, args: list[str], message: str) -> None:
    sqlite_cli.seed_user("bob")
    name = [] if "--name" in args else ["--name", "laptop"]
    assert_failed(sqlite_cli.run("token", "create", *args, *name), message)
    with sqlite_cli.session() as session:
        assert session.scalars(select(models.ApiToken.name)).all() == ["seeded"]


# --- demo ------------------------------------------------------------------------------------------


def test_demo_data_is_visible_through_the_api(cli: Cli) -> None:
    token = cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    assert cli.ok("demo") == (
        "demo data loaded: 3 customers, 5 projects, 16 activities, 3 users (password 'demo-password') "
        "in one team\n"
    )
    with cli.api() as api:
        customers = api.get("/api/customers", as_=None, headers=bearer(token)).json()
        projects = api.get("/api/projects", as_=None, headers=bearer(token)).json()
        activities = api.get("/api/activities", as_=None, headers=bearer(token)).json()
    assert sorted(c["name"] for c in customers) == ["Contoso Ltd", "Fabrikam Inc.", "Northwind Traders"]
    assert sorted(p["name"] for p in projects) == [
        "Brand workshop",
        "Data migration",
        "Hosting & support",
        "Mobile app",
        "Webshop relaunch",
    ]
    assert len(activities) == 16
    assert {a["name"] for a in activities if a["project"] is None} == {
        "Meeting",
        "Project management",
        "Travel",
    }
    with cli.session() as session:
        assert set(session.scalars(select(models.User.username))) == {"boss", "teamlead", "john", "jane"}
        assert session.scalar(select(func.count()).select_from(models.TeamMember)) == 3

    assert_failed(cli.run("demo"), "the demo data is loaded already")
    with cli.session() as session:
        assert session.scalar(select(func.count()).select_from(models.Customer)) == 3


# --- meta-field ------------------------------------------------------------------------------------


def test_meta_fields_declared_on_the_command_line(sqlite_cli: Cli) -> None:
    token = sqlite_cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    assert (
        sqlite_cli.ok("meta-field", "add", "customer", "vat_code")
        == "custom field customer.vat_code declared\n"
    )
    assert sqlite_cli.ok("meta-field", "add", "project", "internal", "--hidden") == (
        "custom field project.internal declared\n"
    )
    assert sqlite_cli.ok("meta-field", "list") == "customer\tvat_code\tvisible\nproject\tinternal\thidden\n"

    with sqlite_cli.api(meta_fields={}) as api:

        def call(method: str, url: str, json: dict[str, Any]) -> Any:
            return api.request(method, url, as_=None, headers=bearer(token), json=json)

        def set_meta(entity: str, name: str, value: str) -> Any:
            return call("PATCH", f"/api/{entity}/meta", {"name": name, "value": value})

        acme = call("POST", "/api/customers", {"name": "Acme"}).json()
        other = call("POST", "/api/customers", {"name": "Other"}).json()
        response = set_meta(f"customers/{acme['id']}", "VAT_CODE", "DE1")
        assert response.status_code == 200
        assert response.json()["metaFields"] == [{"name": "vat_code", "value": "DE1"}]
        undeclared = set_meta(f"customers/{acme['id']}", "crm_id", "1")
        assert (undeclared.status_code, undeclared.json()) == (404, {"code": 404, "message": "Not Found"})

        project = call("POST", "/api/projects", {"name": "Portal", "customer": acme["id"]})
        assert project.status_code == 200, project.text
        hidden = set_meta(f"projects/{project.json()['id']}", "internal", "x")
        assert (hidden.status_code, hidden.json()["metaFields"]) == (200, [])

        removed = sqlite_cli.ok("meta-field", "remove", "customer", "vat_code")
        assert removed == "custom field customer.vat_code removed\n"
        assert sqlite_cli.ok("meta-field", "list") == "project\tinternal\thidden\n"
        gone = set_meta(f"customers/{other['id']}", "vat_code", "DE2")
        assert (gone.status_code, gone.json()) == (404, {"code": 404, "message": "Not Found"})
        # As in Kimai, a value stored before stays listed and settable.
        kept = set_meta(f"customers/{acme['id']}", "vat_code", "DE3")
        assert (kept.status_code, kept.json()["metaFields"]) == (200, [{"name": "vat_code", "value": "DE3"}])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add", "planet", "x"],
            "unknown entity type 'planet' (choose from customer, project, activity, timesheet)",
        ),
        (["add", "customer", "has space"], "a field name has 1-50 letters, digits, '_' or '-'"),
        (["add", "customer", "vat_code"], "customer.vat_code is declared already"),
        (["remove", "customer", "nothing"], "no custom field customer.nothing"),
        (["remove", "project", "vat_code"], "no custom field project.vat_code"),
    ],
)
def test_meta_field_failures(sqlite_cli: Cli, args: list[str], message: str) -> None:
    upgrade(sqlite_cli.url)
    db = Database(sqlite_cli.url)
    with db.session(write=True) as session:
        add_definition(session, entity_type="customer", name="vat_code")
    db.dispose()
    assert_failed(sqlite_cli.run("meta-field", *args), message)
    with sqlite_cli.session() as session:
        assert [(d.entity_type, d.name) for d in list_definitions(session)] == [("customer", "vat_code")]


# --- serve -----------------------------------------------------------------------------------------

FIRST_ADMIN = re.compile(
    r"Created the first user 'admin' \(ROLE_SUPER_ADMIN\) in an empty database\.\n"
    r"  password:  (?P<password>\S+)\n"
    r"  API token: (?P<token>\S+)\n"
    r"Both are shown only now; only their hashes are stored\. Try:\n"
    r'  curl -H "Authorization: Bearer (?P=token)" (?P<base>\S+)/api/ping\n'
    r"API documentation: (?P=base)/api/doc\n"
)


class Server:
    """``punchclock serve`` in a subprocess; its output is read by threads so it never blocks."""

    def __init__(self, database_url: str, cwd: Path, *extra: str) -> None:
        self.base = f"http://127.0.0.1:{(port := free_port())}"
        self.process = subprocess.Popen(
            [*PUNCHCLOCK, "serve", "--port", str(port), "--database-url", database_url, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            cwd=cwd,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr, False), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: Any, into: list[str], announce: bool) -> None:
        for line in stream:
            into.append(line)
            if announce:
                self.lines.put(line)

    def read_until(self, last_line_start: str, timeout: float = 30) -> str:
        """Stdout up to and including the first line starting with ``last_line_start``."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.process.poll() is None, "serve exited: " + "".join(self.stderr)
                continue
            seen.append(line)
            if line.startswith(last_line_start):
                return "".join(seen)
        raise AssertionError(f"no line starting {last_line_start!r} in {seen!r}")

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "serve exited: " + "".join(self.stderr)
            try:
                if httpx.get(f"{self.base}/api/ping", timeout=1).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("serve did not answer: " + "".join(self.stderr))

    def ping(self, token: str) -> httpx.Response:
        return httpx.get(f"{self.base}/api/ping", headers=bearer(token), timeout=5)

    def stop(self) -> str:
        """Terminates the server; returns all it printed on stdout."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self.readers:
            reader.join(timeout=5)
        return "".join(self.stdout)


@contextmanager
def serving(database_url: str, cwd: Path, *extra: str) -> Iterator[Server]:
    server = Server(database_url, cwd, *extra)
    try:
        yield server
    finally:
        server.stop()


def test_serve_creates_the_first_admin_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with serving(url, tmp_path) as server:
        block = server.read_until("API documentation:")
        first = FIRST_ADMIN.search(block)
        assert first is not None, block
        assert first["base"] == server.base
        token = first["token"]
        server.wait_until_up()
        response = server.ping(token)
        assert (response.status_code, response.json()) == (200, {"message": "pong"})
        unknown = server.ping("not-a-token")
        assert unknown.status_code == 401
        assert unknown.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
        docs = httpx.get(f"{server.base}/api/doc.json", timeout=5)
        assert docs.status_code == 200
        assert docs.json()["openapi"].startswith("3.")

    with serving(url, tmp_path) as server:
        server.wait_until_up()
        assert server.ping(token).status_code == 200
        output = server.stop()
    assert "API token" not in output
    assert "Created the first user" not in output
    assert token not in output
    with Cli("sqlite", url, tmp_path).session() as session:
        users = session.execute(select(models.User.username, models.User.roles)).all()
        assert [tuple(u) for u in users] == [("admin", ["ROLE_SUPER_ADMIN"])]
        stored = session.scalars(select(models.User.password)).one()
        assert verify_password(first["password"], stored)[0]


def test_serve_with_two_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with serving(url, tmp_path, "--workers", "2") as server:
        token = FIRST_ADMIN.search(server.read_until("API documentation:"))
        assert token is not None
        server.wait_until_up()
        with httpx.Client(base_url=server.base, headers=bearer(token["token"]), timeout=5) as client:
            created = client.post("/api/customers", json={"name": "Served"})
            assert created.status_code == 200, created.text
            for _ in range(6):
                response = client.get("/api/customers")
                assert response.status_code == 200
                assert [c["name"] for c in response.json()] == ["Served"]
    assert server.process.returncode is not None
