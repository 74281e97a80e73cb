"""tool_key_signs_from: a rotated LTI key is published first and signs from this time on

Revision ID: 0005_tool_key_signs_from
Revises: 0004_certificate_pdf
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_tool_key_signs_from"
down_revision = "0004_certificate_pdf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no backfill: keys from before this revision signed from their created_at, which is
    # what lti_tool/keys.py reads a NULL as.
    with op.batch_alter_table("lti_tool_key") as batch:
        batch.add_column(sa.Column("signs_from", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lti_tool_key") as batch:
        batch.drop_column("signs_from")
