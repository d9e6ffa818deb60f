"""external ids: client-chosen keys that make bulk writes upserts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import punchclock.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_ids",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner_id", "entity", "external_id"),
    )
    with op.batch_alter_table("external_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_external_ids_modified_at"), ["modified_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("external_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_ids_modified_at"))
    op.drop_table("external_ids")
