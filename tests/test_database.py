"""The database layer: migrations equal the models, SQLite's safety settings, UTC datetimes,
``modified_at``, indexes, and several processes writing one SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from punchclock import models
from punchclock.app import create_app
from punchclock.config import Settings
from punchclock.db import Database, UTCDateTime, utcnow
from punchclock.migrate import upgrade
from tests.conftest import PEOPLE, Api

BERLIN = ZoneInfo("Europe/Berlin")
TONGA = ZoneInfo("Pacific/Tongatapu")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'punchclock.db'}"
    upgrade(url)
    return url


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    db = Database(sqlite_url, busy_timeout_ms=1234)
    yield db
    db.dispose()


def tables() -> list[str]:
    return sorted(models.metadata.tables)


# --- the migration is the models -----------------------------------------------------------------


def test_the_migration_creates_exactly_the_models_schema(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, models.metadata)
        names = set(inspect(connection).get_table_names())
    assert differences == []
    assert names == {*tables(), "alembic_version"}


def test_upgrading_puts_existing_entities_into_the_change_log(tmp_path: Path) -> None:
    """Rows written before the change log existed are in it after the upgrade, so a first read of
    the feed sees everything."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    old = Database(url)
    with old.session(write=True) as session:
        session.execute(
            models.User.__table__.insert().values(
                id=7,
                username="u",
                email="u@example.com",
                password="x",
                roles=[],
                timezone="UTC",
                language="en",
                locale="en",
                enabled=True,
            )
        )
        session.execute(
            models.Customer.__table__.insert().values(
                id=3, name="Acme", country="DE", currency="EUR", timezone="UTC"
            )
        )
    old.dispose()
    upgrade(url)
    connection = sqlite3.connect(tmp_path / "old.db")
    rows = connection.execute(
        "SELECT entity, entity_id, op, owner_id FROM change_log ORDER BY seq"
    ).fetchall()
    connection.close()
    assert rows == [("customer", 3, "upsert", None), ("user", 7, "upsert", None)]


def test_the_comparison_sees_a_difference(database: Database) -> None:
    """Guards the test above: a model change the migration lacks is reported."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    changed = MetaData()
    for table in models.metadata.tables.values():
        table.to_metadata(changed)
    Table("not_migrated", changed, Column("id", Integer, primary_key=True), Column("x", String(5)))
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, changed)
    assert [d[0] for d in differences] == ["add_table"]


# --- indexes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("customers", ["name"]),
        ("projects", ["name"]),
        ("activities", ["name"]),
        # Each list order ends with the id: keyset pages and numbered pages read without a sort.
        ("timesheets", ["user_id", "begin", "id"]),
        ("timesheets", ["user_id", "end", "id"]),
        ("timesheets", ["user_id", "rate", "id"]),
        ("timesheets", ["begin", "id"]),
        ("timesheets", ["end", "id"]),
        ("timesheets", ["rate", "id"]),
        ("projects", ["customer_id"]),
        ("activities", ["project_id"]),
        ("api_tokens", ["user_id"]),
    ],
)
def test_index_exists(database: Database, table: str, columns: list[str]) -> None:
    indexes = [index["column_names"] for index in inspect(database.engine).get_indexes(table)]
    assert columns in indexes, f"no index on {table}({', '.join(columns)}): {indexes}"


@pytest.mark.parametrize("table", ["customers", "projects", "activities"])
def test_case_insensitive_name_order_is_indexed(database: Database, table: str) -> None:
    """Lists sort by lower(name); the expression index must exist on both databases."""
    with database.engine.connect() as connection:
        if database.is_sqlite:
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:  # the current schema only: other test files keep their own
            query = (
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"
            )
        definition = connection.execute(text(query), {"name": f"ix_{table}_name_ci"}).scalar()
    assert definition is not None
    assert "lower(" in definition.lower()
    assert "name" in definition.lower().split("lower(", 1)[1]


# --- modified_at ------------------------------------------------------------------------------------


def test_every_table_has_an_indexed_modified_at(database: Database) -> None:
    inspector = inspect(database.engine)
    for table in tables():
        columns = {column["name"]: column for column in inspector.get_columns(table)}
        assert "modified_at" in columns, f"{table} has no modified_at"
        assert columns["modified_at"]["nullable"] is False, table
        indexed = [index["column_names"] for index in inspector.get_indexes(table)]
        assert ["modified_at"] in indexed, f"{table}.modified_at is not indexed"
        column = models.metadata.tables[table].c.modified_at
        assert column.onupdate is not None, f"{table}.modified_at is not maintained on update"


def create(api: Api, kind: str) -> int:
    """A customer, project or activity created over the API; returns its id."""
    customer = api.post("/api/customers", json={"name": "Acme"}).json()["id"]
    if kind == "customers":
        return int(customer)
    project = api.post("/api/projects", json={"name": "Portal", "customer": customer}).json()["id"]
    if kind == "projects":
        return int(project)
    return int(api.post("/api/activities", json={"name": "Design", "project": project}).json()["id"])


MODELS = {"customers": models.Customer, "projects": models.Project, "activities": models.Activity}


@pytest.mark.parametrize(
    ("kind", "path", "body"),
    [
        ("customers", "", {"name": "Renamed"}),
        ("customers", "/meta", {"name": "crm_id", "value": "42"}),
        ("projects", "", {"comment": "changed"}),
        ("projects", "/meta", {"name": "crm_id", "value": "42"}),
        ("activities", "", {"visible": False}),
        ("activities", "/meta", {"name": "crm_id", "value": "42"}),
    ],
)
def test_modified_at_follows_every_update(
    api: Api, db: Database, kind: str, path: str, body: dict[str, Any]
) -> None:
    entity_id = create(api, kind)
    model = MODELS[kind]
    old = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with db.session(write=True) as session:
        session.execute(update(model).where(model.id == entity_id).values(modified_at=old))
    before = utcnow()
    response = api.patch(f"/api/{kind}/{entity_id}{path}", json=body)
    assert response.status_code == 200, response.text
    with db.session() as session:
        modified_at = session.scalar(select(model.modified_at).where(model.id == entity_id))
    assert modified_at is not None
    assert before <= modified_at <= utcnow()


def test_a_core_update_sets_modified_at(db: Database) -> None:
    """Not only the ORM: any UPDATE through SQLAlchemy refreshes the column."""
    old = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with db.session(write=True) as session:
        session.execute(update(models.User).values(modified_at=old))
        before = utcnow()
        session.execute(update(models.User).where(models.User.id == 1).values(alias="Sue"))
    with db.session() as session:
        rows = {id_: at for id_, at in session.execute(select(models.User.id, models.User.modified_at))}
    assert before <= rows.pop(1) <= utcnow()
    assert set(rows.values()) == {old}


# --- datetimes --------------------------------------------------------------------------------------


def fill_every_table(session: Session) -> None:
    """One row in every table, explicit datetimes given in non-UTC zones."""
    ana = session.get(models.User, PEOPLE["admin"].id)
    assert ana is not None
    customer = models.Customer(name="Acme", timezone="Europe/Berlin")
    project = models.Project(
        name="Portal",
        customer=customer,
        order_date=dt.datetime(2024, 1, 15, tzinfo=BERLIN),
        start=dt.datetime(2024, 2, 1, tzinfo=BERLIN),
        end=dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=BERLIN),
    )
    activity = models.Activity(name="Design", project=project)
    team = models.Team(name="Core")
    tag = models.Tag(name="urgent")
    session.add_all([customer, project, activity, team, tag])
    session.flush()
    timesheet = models.Timesheet(
        user_id=ana.id,
        project_id=project.id,
        activity_id=activity.id,
        begin=dt.datetime(2024, 5, 1, 9, 0, tzinfo=TONGA),
        end=dt.datetime(2024, 5, 1, 17, 30, tzinfo=TONGA),
        timezone="Pacific/Tongatapu",
    )
    session.add(timesheet)
    invoice = models.Invoice(
        invoice_number="2024/001",
        customer=customer,
        user_id=ana.id,
        created_at=dt.datetime(2024, 6, 1, 9, 0, tzinfo=TONGA),
        timezone="Pacific/Tongatapu",
        total=119.0,
        tax=19.0,
        currency="EUR",
        vat=19.0,
        invoice_filename="2024-001-Acme.html",
        document=b"",
        document_type="text/html",
    )
    session.add(invoice)
    session.flush()
    for meta, parent in [
        (models.CustomerMeta, customer),
        (models.ProjectMeta, project),
        (models.ActivityMeta, activity),
        (models.TimesheetMeta, timesheet),
        (models.InvoiceMeta, invoice),
    ]:
        session.add(meta(entity_id=parent.id, name="crm_id", value="1"))
    for rate, parent in [
        (models.CustomerRate, customer),
        (models.ProjectRate, project),
        (models.ActivityRate, activity),
    ]:
        session.add(rate(entity_id=parent.id, rate=100.0))
    for comment, parent in [(models.CustomerComment, customer), (models.ProjectComment, project)]:
        session.add(comment(entity_id=parent.id, message="hi", created_by_id=ana.id))
    session.add_all(
        [
            models.TeamMember(team_id=team.id, user_id=ana.id, teamlead=True),
            models.TeamCustomer(team_id=team.id, customer_id=customer.id),
            models.TeamProject(team_id=team.id, project_id=project.id),
            models.TeamActivity(team_id=team.id, activity_id=activity.id),
            models.TimesheetTag(timesheet_id=timesheet.id, tag_id=tag.id),
            models.TimesheetFavorite(user_id=ana.id, timesheet_id=timesheet.id),
            models.InvoiceTimesheet(invoice_id=invoice.id, timesheet_id=timesheet.id),
            models.UserPreference(user_id=ana.id, name="theme", value="dark"),
            models.MetaFieldDefinition(entity_type="customer", name="crm_id"),
            models.ChangeLogEntry(entity="customer", entity_id=customer.id, op="upsert"),
            models.ChangeLogState(id=1, horizon=0, purged_until=dt.datetime(2024, 5, 1, 8, 0, tzinfo=BERLIN)),
            models.ExternalId(owner_id=ana.id, entity="customer", external_id="crm-1", entity_id=customer.id),
            models.IdempotencyKey(
                user_id=ana.id,
                key="retry-1",
                fingerprint="0" * 64,
                state="done",
                status=200,
                headers=[["content-type", "application/json"]],
                body=b"{}",
                created_at=dt.datetime(2024, 5, 1, 8, 0, tzinfo=BERLIN),
                expires_at=dt.datetime(2024, 5, 2, 8, 0, tzinfo=BERLIN),
            ),
        ]
    )
    session.execute(
        update(models.ApiToken)
        .where(models.ApiToken.user_id == ana.id)
        .values(
            last_usage=dt.datetime(2024, 5, 1, 8, 0, tzinfo=BERLIN),
            expires_at=dt.datetime(2030, 1, 1, tzinfo=ZoneInfo("America/New_York")),
        )
    )


def utc_columns() -> list[tuple[str, str]]:
    return [
        (table.name, column.name)
        for table in models.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, UTCDateTime)
    ]


def is_datetime(type_: Any) -> bool:
    try:
        return bool(type_.python_type is dt.datetime)
    except NotImplementedError:
        return False


def test_every_datetime_column_is_utc_aware(db: Database) -> None:
    for table in models.metadata.sorted_tables:
        for column in table.columns:
            if is_datetime(column.type):
                assert isinstance(column.type, UTCDateTime), (
                    f"{table.name}.{column.name} is not a UTCDateTime"
                )
    with db.session(write=True) as session:
        fill_every_table(session)
    checked = set()
    with db.session() as session:
        for table in models.metadata.sorted_tables:
            rows = session.execute(select(table)).mappings().all()
            assert rows, f"fill_every_table() left {table.name} empty"
            for row in rows:
                for name, value in row.items():
                    if isinstance(table.c[name].type, UTCDateTime) and value is not None:
                        assert value.tzinfo is dt.UTC, f"{table.name}.{name} = {value!r}"
                        checked.add((table.name, name))
    assert checked == set(utc_columns()), "some datetime columns were never read back"


def test_instants_survive_the_round_trip(db: Database) -> None:
    with db.session(write=True) as session:
        fill_every_table(session)
    with db.session() as session:
        timesheet = session.scalars(select(models.Timesheet)).one()
        project = session.scalars(select(models.Project)).one()
        raw_begin = session.execute(text("SELECT begin FROM timesheets")).scalar_one()
    # 09:00 in Tonga (UTC+13) is 20:00 UTC the day before.
    assert timesheet.begin == dt.datetime(2024, 4, 30, 20, 0, tzinfo=dt.UTC)
    assert timesheet.end == dt.datetime(2024, 5, 1, 4, 30, tzinfo=dt.UTC)
    assert project.start == dt.datetime(2024, 1, 31, 23, 0, tzinfo=dt.UTC)
    if db.is_sqlite:
        # Stored as UTC text in one fixed form, so string order is time order.
        assert raw_begin == "2024-04-30 20:00:00.000000"
    else:
        assert raw_begin == dt.datetime(2024, 4, 30, 20, 0, tzinfo=dt.UTC)


def test_time_filters_compare_instants(db: Database) -> None:
    with db.session(write=True) as session:
        fill_every_table(session)
    with db.session() as session:
        query = select(func.count()).select_from(models.Timesheet)
        # 20:00 UTC on 30 April, given as 22:00 Berlin time.
        at = dt.datetime(2024, 4, 30, 22, 0, tzinfo=BERLIN)
        assert session.scalar(query.where(models.Timesheet.begin >= at)) == 1
        assert session.scalar(query.where(models.Timesheet.begin > at)) == 0


def test_a_naive_datetime_is_refused(db: Database) -> None:
    naive = dt.datetime(2030, 1, 1)  # noqa: DTZ001 - the point of the test

    def insert() -> None:
        with db.session(write=True) as session:
            session.add(models.ApiToken(user_id=1, token_hash="x" * 64, name="naive", expires_at=naive))

    def core_update() -> None:
        with db.session(write=True) as session:
            session.execute(update(models.User).values(created_at=naive))

    for write in (insert, core_update):
        with pytest.raises(StatementError, match="naive datetime given to the database"):
            write()
    with db.session() as session:
        assert session.scalar(select(func.count()).where(models.ApiToken.name == "naive")) == 0
        created = session.scalars(select(models.User.created_at)).all()
        assert all(value.year != 2030 for value in created)


# --- SQLite settings ------------------------------------------------------------------------------


def pragma(db: Database, name: str) -> Any:
    with db.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_pragmas_are_in_effect(sqlite_db: Database) -> None:
    assert pragma(sqlite_db, "journal_mode") == "wal"
    assert pragma(sqlite_db, "foreign_keys") == 1
    assert pragma(sqlite_db, "busy_timeout") == 1234
    assert pragma(sqlite_db, "synchronous") == 1  # NORMAL


def test_the_app_uses_the_configured_busy_timeout(sqlite_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url, sqlite_busy_timeout_ms=4321))
    try:
        assert pragma(app.state.db, "busy_timeout") == 4321
        assert pragma(app.state.db, "foreign_keys") == 1
    finally:
        app.state.db.dispose()


def test_the_file_stays_in_wal_mode(sqlite_db: Database, sqlite_url: str) -> None:
    pragma(sqlite_db, "journal_mode")
    plain = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        plain.close()


def test_sqlite_enforces_foreign_keys(sqlite_db: Database) -> None:
    def insert_orphan() -> None:
        with sqlite_db.session(write=True) as session:
            session.add(models.Project(name="Orphan", customer_id=999))

    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        insert_orphan()


def test_sqlite_cascades_deletes(sqlite_db: Database) -> None:
    with sqlite_db.session(write=True) as session:
        customer = models.Customer(name="Acme", timezone="UTC")
        session.add(models.Project(name="Portal", customer=customer))
    with sqlite_db.session(write=True) as session:
        session.execute(text("DELETE FROM customers"))
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count()).select_from(models.Project)) == 0


def test_write_sessions_take_the_lock_at_begin(sqlite_db: Database, sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: a writer holds the lock from its first statement on, so two writers never
    deadlock upgrading read locks; readers (plain BEGIN) take none."""
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        with sqlite_db.session() as session:
            session.execute(text("SELECT 1"))
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with sqlite_db.session(write=True) as session:
            session.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


# --- two processes, one SQLite file -------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys

    from punchclock.auth.permissions import system_caller
    from punchclock.customers.service import EDIT
    from punchclock.entities.crud import create
    from punchclock.db import Database

    url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database(url)
    caller = system_caller("Europe/Berlin")
    for i in range(count):
        with db.session(write=True) as session:
            create(session, spec=EDIT, caller=caller, data={"name": f"{prefix}-{i:03}"})
    db.dispose()
    """
)


def test_two_processes_write_one_sqlite_file(sqlite_url: str) -> None:
    count = 200
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, sqlite_url, prefix, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("first", "second")
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert (out, err) == ("", "")
    db = Database(sqlite_url)
    try:
        with db.session() as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            names = session.scalars(select(models.Customer.name)).all()
            numbers = session.scalars(select(models.Customer.number)).all()
    finally:
        db.dispose()
    expected = {f"{prefix}-{i:03}" for prefix in ("first", "second") for i in range(count)}
    assert len(names) == 2 * count
    assert set(names) == expected
    # Each write saw the committed count: the automatic numbers ({cc,4} is count + 2, as in Kimai)
    # run 0002…0401 without a gap or a duplicate.
    assert sorted(numbers) == [f"{n:04}" for n in range(2, 2 * count + 2)]


def test_postgresql_sessions_run_in_utc(database: Database) -> None:
    """Stored instants read back the same whatever the server's own timezone."""
    if database.is_sqlite:
        pytest.skip("SQLite has no session timezone")
    with database.engine.connect() as connection:
        assert connection.execute(text("SHOW timezone")).scalar() == "UTC"
