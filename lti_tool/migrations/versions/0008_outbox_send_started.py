"""outbox_send_started: remember that a score's send began, so a resend after a crash checks first

Revision ID: 0008_outbox_send_started
Revises: 0007_activity_owner
Create Date: 2026-12-07 05:40:00

A worker killed while the platform was handling its POST leaves the row pending. The next worker
sees `send_started_at` set and, where the platform grants result.readonly, reads the learner's
result first: a result that already holds this score means the row is marked sent, not POSTed again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_outbox_send_started"
down_revision = "0007_activity_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lti_outbox") as batch:
        batch.add_column(sa.Column("send_started_at", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("lti_outbox") as batch:
        batch.drop_column("send_started_at")
