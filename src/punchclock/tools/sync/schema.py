"""The tables ``punchclock sync`` writes: plain, documented, readable by any SQL tool.

Every table and column is described in docs/sync-schema.md (a test keeps the two in step). Design:

- One table per entity, named in the singular, with the server's ids as primary keys and snake_case
  columns; ``user_account`` because ``user`` is a reserved word in PostgreSQL.
- No foreign keys: a row may reference what the token may not see (another user's project), and
  batches arrive in the server's order, not in dependency order. The reference columns are indexed.
- Instants are UTC (``timestamptz`` on PostgreSQL; ``YYYY-MM-DD HH:MM:SS`` text on SQLite, which its
  date functions read); a timesheet also keeps the UTC offset it was shown with.
- ``sync_hash`` is a fingerprint of the row as last written: unchanged rows are not written again.
- ``sync_state`` holds the schema version, the source and the checkpoints; ``sync_seen`` the ids
  seen by a full pass still running (rows not seen when it ends are deleted).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects import sqlite

SCHEMA_VERSION = 1

metadata = MetaData()

# SQLite keeps text; without the microseconds it is the form its date and time functions expect.
Instant = DateTime(timezone=True).with_variant(
    sqlite.DATETIME(  # type: ignore[no-untyped-call]
        storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
        regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)",
    ),
    "sqlite",
)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=False)


def _hash() -> Column[int]:
    return Column("sync_hash", BigInteger, nullable=False)


def _budget() -> list[Column]:  # type: ignore[type-arg]
    return [Column("budget", Float), Column("time_budget", Integer), Column("budget_type", Text)]


customer = Table(
    "customer",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("number", Text),
    Column("comment", Text),
    Column("visible", Boolean, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("company", Text),
    Column("vat_id", Text),
    Column("contact", Text),
    Column("address", Text),
    Column("address_line1", Text),
    Column("address_line2", Text),
    Column("address_line3", Text),
    Column("post_code", Text),
    Column("city", Text),
    Column("country", Text),
    Column("currency", Text),
    Column("language", Text),
    Column("timezone", Text),
    Column("phone", Text),
    Column("fax", Text),
    Column("mobile", Text),
    Column("email", Text),
    Column("homepage", Text),
    Column("invoice_email", Text),
    Column("buyer_reference", Text),
    Column("color", Text),
    *_budget(),
    Column("modified_at", Instant),
    _hash(),
)

project = Table(
    "project",
    metadata,
    _id(),
    Column("customer_id", Integer, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("number", Text),
    Column("order_number", Text),
    Column("order_date", Date),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("comment", Text),
    Column("visible", Boolean, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("global_activities", Boolean, nullable=False),
    Column("color", Text),
    *_budget(),
    Column("modified_at", Instant),
    _hash(),
)

activity = Table(
    "activity",
    metadata,
    _id(),
    Column("project_id", Integer, index=True),
    Column("name", Text, nullable=False),
    Column("number", Text),
    Column("comment", Text),
    Column("visible", Boolean, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("color", Text),
    *_budget(),
    Column("modified_at", Instant),
    _hash(),
)

user_account = Table(
    "user_account",
    metadata,
    _id(),
    Column("username", Text, nullable=False),
    Column("email", Text),
    Column("alias", Text),
    Column("title", Text),
    Column("account_number", Text),
    Column("avatar", Text),
    Column("color", Text),
    Column("enabled", Boolean, nullable=False),
    Column("system_account", Boolean, nullable=False),
    Column("roles", Text),
    Column("supervisor_id", Integer),
    Column("language", Text),
    Column("locale", Text),
    Column("timezone", Text),
    Column("modified_at", Instant),
    _hash(),
)

user_preference = Table(
    "user_preference",
    metadata,
    Column("user_id", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("user_id", "name"),
)

team = Table(
    "team",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("color", Text),
    Column("modified_at", Instant),
    _hash(),
)

team_member = Table(
    "team_member",
    metadata,
    Column("team_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False, index=True),
    Column("teamlead", Boolean, nullable=False),
    PrimaryKeyConstraint("team_id", "user_id"),
)


def _team_link(name: str, column: str) -> Table:
    return Table(
        name,
        metadata,
        Column("team_id", Integer, nullable=False),
        Column(column, Integer, nullable=False, index=True),
        PrimaryKeyConstraint("team_id", column),
    )


team_customer = _team_link("team_customer", "customer_id")
team_project = _team_link("team_project", "project_id")
team_activity = _team_link("team_activity", "activity_id")

tag = Table(
    "tag",
    metadata,
    Column("name", Text, primary_key=True),
    Column("id", Integer, unique=True),
    Column("color", Text),
    Column("visible", Boolean, nullable=False),
    _hash(),
)

timesheet = Table(
    "timesheet",
    metadata,
    _id(),
    Column("user_id", Integer, nullable=False, index=True),
    Column("project_id", Integer, nullable=False, index=True),
    Column("activity_id", Integer, nullable=False, index=True),
    Column("begin_utc", Instant, nullable=False, index=True),
    Column("end_utc", Instant),
    Column("begin_offset_minutes", Integer, nullable=False),
    Column("end_offset_minutes", Integer),
    Column("begin_date", Date, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("break_seconds", Integer, nullable=False),
    Column("description", Text),
    Column("billable", Boolean, nullable=False),
    Column("exported", Boolean, nullable=False),
    Column("rate", Float),
    Column("internal_rate", Float),
    Column("hourly_rate", Float),
    Column("fixed_rate", Float),
    Column("modified_at", Instant),
    _hash(),
)

timesheet_tag = Table(
    "timesheet_tag",
    metadata,
    Column("timesheet_id", Integer, nullable=False),
    Column("tag_name", Text, nullable=False, index=True),
    PrimaryKeyConstraint("timesheet_id", "tag_name"),
)

meta_field = Table(
    "meta_field",
    metadata,
    Column("entity", Text, nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("entity", "entity_id", "name"),
)

rate = Table(
    "rate",
    metadata,
    Column("entity", Text, nullable=False),
    Column("id", Integer, nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("user_id", Integer),
    Column("rate", Float, nullable=False),
    Column("internal_rate", Float),
    Column("is_fixed", Boolean, nullable=False),
    PrimaryKeyConstraint("entity", "id"),
    Index("ix_rate_entity_id", "entity", "entity_id"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

sync_seen = Table(
    "sync_seen",
    metadata,
    Column("entity", Text, nullable=False),
    Column("id", Integer, nullable=False),
    PrimaryKeyConstraint("entity", "id"),
)
