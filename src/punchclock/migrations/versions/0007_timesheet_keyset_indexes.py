"""timesheet order indexes end with the id (keyset pages without a sort)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns before, columns after)
INDEXES = {
    "ix_timesheets_user_begin": (["user_id", "begin"], ["user_id", "begin", "id"]),
    "ix_timesheets_user_end": (["user_id", "end"], ["user_id", "end", "id"]),
    "ix_timesheets_user_rate": (["user_id", "rate"], ["user_id", "rate", "id"]),
    "ix_timesheets_begin": (["begin"], ["begin", "id"]),
    "ix_timesheets_end": (["end"], ["end", "id"]),
    "ix_timesheets_rate": (["rate"], ["rate", "id"]),
}


def _replace(use: int) -> None:
    with op.batch_alter_table("timesheets", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns[use], unique=False)


def upgrade() -> None:
    _replace(1)


def downgrade() -> None:
    _replace(0)
