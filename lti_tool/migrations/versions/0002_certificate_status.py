"""certificate status log

Revision ID: 0002_certificate_status
Revises: 0001
Create Date: 2026-11-22 03:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_certificate_status"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ce_certificate_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cert_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replacement_id", sa.String(length=100), nullable=False),
        sa.Column("actor", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ce_certificate_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ce_certificate_status_cert_id"), ["cert_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ce_certificate_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ce_certificate_status_cert_id"))
    op.drop_table("ce_certificate_status")
