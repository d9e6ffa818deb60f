"""Fixtures: the real app over HTTP on a real SQLite file and, when configured, a real PostgreSQL.

Every DB-facing test runs once per backend (``backend`` parameter). The schema is built by the real
Alembic migrations once per backend; before each test the tables are emptied and four users, one
per role, are inserted with known API tokens.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, make_url, text

from punchclock import models
from punchclock.app import create_app
from punchclock.auth.passwords import hash_password
from punchclock.auth.tokens import token_hash
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.migrate import upgrade
from tests.spec import check_response


def database_beside(url: str, suffix: str) -> str:
    """The URL of a PostgreSQL database on ``url``'s server, named as ``url``'s plus ``_suffix``;
    created on first use."""
    base = make_url(Settings(database_url=url).database_url)
    name = f"{base.database}_{suffix}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _per_worker(url: str) -> str:
    """Under pytest-xdist every worker gets a PostgreSQL database of its own (created on first use),
    so workers never reset each other's schemas."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    return database_beside(url, worker)


POSTGRES_URL = _per_worker(os.environ.get("PUNCHCLOCK_TEST_POSTGRES_URL", ""))
REQUIRE_POSTGRES = os.environ.get("PUNCHCLOCK_REQUIRE_POSTGRES") == "1"
PASSWORD = "password123"
API_PASSWORD = "legacy-secret"

# Kimai's error bodies and form messages, as the tests expect them.
BAD_REQUEST = {"code": 400, "message": "Bad Request"}
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
FORBIDDEN = {"code": 403, "message": "Forbidden"}
NOT_FOUND = {"code": 404, "message": "Not Found"}
NOT_ALLOWED = {"code": 405, "message": "Method Not Allowed"}
GONE = {"code": 410, "message": 'This endpoint was removed, use "POST /api/teams/" instead.'}
EXTRA_FIELDS = "This form should not contain extra fields."
INVALID_CHOICE = "The selected choice is invalid."


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    roles: tuple[str, ...]
    timezone: str

    @property
    def token(self) -> str:
        return f"token-of-{self.username}"

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


# One user per role. Two timezones so datetime rendering is checked in both.
PEOPLE = {
    "super": Person(1, "susan_super", ("ROLE_SUPER_ADMIN",), "Europe/Berlin"),
    "admin": Person(2, "anna_admin", ("ROLE_ADMIN",), "America/New_York"),
    "teamlead": Person(3, "tony_teamlead", ("ROLE_TEAMLEAD",), "Europe/Berlin"),
    "user": Person(4, "john_user", (), "Pacific/Tongatapu"),
}


@lru_cache
def _hashes() -> tuple[str, str]:
    return hash_password(PASSWORD), hash_password(API_PASSWORD)


def seed_people(db: Database) -> None:
    password, api_password = _hashes()
    with db.session(write=True) as session:
        for person in PEOPLE.values():
            session.execute(
                insert(models.User).values(
                    id=person.id,
                    username=person.username,
                    email=person.email,
                    password=password,
                    api_password=api_password,
                    roles=list(person.roles),
                    timezone=person.timezone,
                    language="en",
                    locale="en",
                    enabled=True,
                    alias=None,
                )
            )
            session.execute(
                insert(models.ApiToken).values(
                    user_id=person.id, token_hash=token_hash(person.token), name="tests"
                )
            )
        if session.bind and session.bind.dialect.name == "postgresql":
            session.execute(text("SELECT setval('users_id_seq', (SELECT max(id) FROM users))"))


def add_team(
    db: Database,
    name: str,
    *,
    leads: Iterable[str] = (),
    members: Iterable[str] = (),
    customers: Iterable[int] = (),
    projects: Iterable[int] = (),
    activities: Iterable[int] = (),
) -> int:
    """A team, written directly (there is no team API yet): ``leads``/``members`` are keys of ``PEOPLE``."""
    with db.session(write=True) as session:
        team = models.Team(name=name)
        session.add(team)
        session.flush()
        for key in leads:
            session.add(models.TeamMember(team_id=team.id, user_id=PEOPLE[key].id, teamlead=True))
        for key in members:
            session.add(models.TeamMember(team_id=team.id, user_id=PEOPLE[key].id, teamlead=False))
        session.add_all(models.TeamCustomer(team_id=team.id, customer_id=c) for c in customers)
        session.add_all(models.TeamProject(team_id=team.id, project_id=p) for p in projects)
        session.add_all(models.TeamActivity(team_id=team.id, activity_id=a) for a in activities)
        return team.id


def wipe(db: Database) -> None:
    """Empty every table and restart the id sequences (DELETE is cheaper than TRUNCATE on tiny tables)."""
    tables = [t.name for t in reversed(models.metadata.sorted_tables)]
    with db.session(write=True) as session:
        if db.is_sqlite:  # one statement per call; rowids restart by themselves in empty tables
            for table in tables:
                session.execute(text(f'DELETE FROM "{table}"'))
            return
        sequences = session.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
        statements = [f'DELETE FROM "{table}"' for table in tables]
        statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        session.execute(text("; ".join(statements)))


def backends() -> list[Any]:
    marks = (
        []
        if POSTGRES_URL or REQUIRE_POSTGRES
        else [pytest.mark.skip(reason="PUNCHCLOCK_TEST_POSTGRES_URL not set")]
    )
    return ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, *marks])]


def _reset_postgres_schema(url: str) -> None:
    if not url:
        pytest.fail("PUNCHCLOCK_REQUIRE_POSTGRES=1 but PUNCHCLOCK_TEST_POSTGRES_URL is not set")
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    db.dispose()


@pytest.fixture(autouse=True)
def _release_apps() -> Iterator[None]:
    """After each test, FastAPI's memo of the callables it classified (lru caches of 4,096 entries in
    ``fastapi.dependencies.models``) is emptied: the endpoint closures each test's app builds would
    keep that app alive, ~100 apps at a time, GBs per test worker."""
    yield
    from fastapi.dependencies import models as dependency_models

    for value in vars(dependency_models).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()


@pytest.fixture(scope="session", params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "punchclock.db"
        url = f"sqlite:///{path}"
    else:
        url = Settings(database_url=POSTGRES_URL).database_url
        _reset_postgres_schema(url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "legacy_auth_delay_ms": (0, 0),
        "meta_fields": {"customer": ["crm_id"], "project": ["crm_id"], "activity": ["crm_id"]},
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def db(database: Database) -> Database:
    wipe(database)
    seed_people(database)
    return database


class Api:
    """A TestClient that knows the seeded people: ``api.get(url, as_="admin")``.

    Every response is checked against the served OpenAPI document (see ``tests/spec.py``).
    """

    def __init__(self, client: TestClient, spec: dict[str, Any] | None = None) -> None:
        self.client = client
        self.spec: dict[str, Any] = spec if spec is not None else client.get("/api/doc.json").json()

    def headers(self, as_: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {PEOPLE[as_].token}"} if as_ else {}
        headers.update(extra or {})
        return headers

    def request(self, method: str, url: str, *, as_: str | None = "super", **kwargs: Any) -> Any:
        headers = self.headers(as_, kwargs.pop("headers", None))
        response = self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if is_json and response.content else None
        check_response(self.spec, method, response.request.url.path, response.status_code, body)
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def app_settings(database_url: str) -> Settings:
    return test_settings(database_url)


@pytest.fixture(scope="session")
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, the same for every app built from this code; building it once per
    session instead of once per test saves most of a test's setup (test_docs checks it is the app's)."""
    return create_app(Settings(database_url="sqlite://")).openapi()


@pytest.fixture
def api(db: Database, app_settings: Settings, openapi_document: dict[str, Any]) -> Iterator[Api]:
    app = create_app(app_settings, db)
    app.openapi_schema = openapi_document  # only ever serialised, never changed
    with TestClient(app) as client:
        yield Api(client, openapi_document)
