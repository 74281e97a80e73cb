"""accommodations: extra attempts and extra minutes per learner and resource link

Revision ID: 0003_accommodations
Revises: 0002_certificate_status
Create Date: 2026-11-23 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_accommodations"
down_revision = "0002_certificate_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The unique (resource_link_pk, user_sub) index also serves the per-link listing.
    op.create_table(
        "ce_accommodation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_pk", sa.Integer(), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("learner_name", sa.String(length=500), nullable=False),
        sa.Column("extra_attempts", sa.Integer(), nullable=False),
        sa.Column("extra_minutes", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=500), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["registration_id"], ["lti_registration.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_link_pk"], ["lti_resource_link.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_link_pk", "user_sub", name="uq_accommodation"),
    )


def downgrade() -> None:
    op.drop_table("ce_accommodation")
