"""change log: one row per changed entity, in commit order, with tombstones

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import punchclock.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOMBSTONE = sa.text("op = 'delete'")
# Entities that exist before the log does enter it as upserts, so a first read of the feed sees them.
FEED_TABLES = (
    ("customer", "customers"),
    ("project", "projects"),
    ("activity", "activities"),
    ("user", "users"),
    ("team", "teams"),
    ("tag", "tags"),
    ("timesheet", "timesheets"),
)


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=6), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("previous_owner_id", sa.Integer(), nullable=True),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entity", "entity_id", name="uq_change_log_entity"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index("ix_change_log_entity_seq", ["entity", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_log_modified_at"), ["modified_at"], unique=False)
        batch_op.create_index(
            "ix_change_log_tombstones",
            ["modified_at"],
            unique=False,
            sqlite_where=TOMBSTONE,
            postgresql_where=TOMBSTONE,
        )

    op.create_table(
        "change_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("purged_until", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("change_log_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_log_state_modified_at"), ["modified_at"], unique=False)

    for entity, table in FEED_TABLES:
        owner = "user_id" if entity == "timesheet" else "NULL"
        op.execute(
            sa.text(
                "INSERT INTO change_log (entity, entity_id, op, owner_id, modified_at) "
                f"SELECT :entity, id, 'upsert', {owner}, modified_at FROM {table} ORDER BY id"
            ).bindparams(entity=entity)
        )


def downgrade() -> None:
    with op.batch_alter_table("change_log_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_log_state_modified_at"))
    op.drop_table("change_log_state")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_tombstones")
        batch_op.drop_index(batch_op.f("ix_change_log_modified_at"))
        batch_op.drop_index("ix_change_log_entity_seq")
    op.drop_table("change_log")
