"""invoices: invoices, their custom fields and the timesheets each was made from

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 22:44:47.394797
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import punchclock.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_number", sa.String(length=50), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("tax", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("vat", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("invoice_filename", sa.String(length=150), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_filename", name="uq_invoices_filename"),
        sa.UniqueConstraint("invoice_number", name="uq_invoices_number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_modified_at"), ["modified_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invoice_meta",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id", "name", name="uq_invoice_meta_entity_name"),
    )
    with op.batch_alter_table("invoice_meta", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_meta_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_meta_modified_at"), ["modified_at"], unique=False)

    op.create_table(
        "invoice_timesheets",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("timesheet_id", sa.Integer(), nullable=False),
        sa.Column("modified_at", punchclock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["timesheet_id"], ["timesheets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invoice_id", "timesheet_id"),
    )
    with op.batch_alter_table("invoice_timesheets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_timesheets_modified_at"), ["modified_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoice_timesheets_timesheet_id"), ["timesheet_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_timesheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_timesheets_timesheet_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_timesheets_modified_at"))

    op.drop_table("invoice_timesheets")
    with op.batch_alter_table("invoice_meta", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_meta_modified_at"))
        batch_op.drop_index(batch_op.f("ix_invoice_meta_entity_id"))

    op.drop_table("invoice_meta")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_user_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_modified_at"))
        batch_op.drop_index(batch_op.f("ix_invoices_customer_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_created_at"))

    op.drop_table("invoices")
