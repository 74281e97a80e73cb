"""lineitem_claim: one worker at a time finds or creates a resource link's line item

Revision ID: 0006_lineitem_claim
Revises: 0005_tool_key_signs_from
Create Date: 2026-12-06 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_lineitem_claim"
down_revision = "0005_tool_key_signs_from"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lti_resource_link") as batch:
        batch.add_column(sa.Column("lineitem_claim_owner", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("lineitem_claim_until", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("lti_resource_link") as batch:
        batch.drop_column("lineitem_claim_until")
        batch.drop_column("lineitem_claim_owner")
