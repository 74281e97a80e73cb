"""outbox_last_problem: what kind of failure the last send of a score met, for the instructor report

Revision ID: 0010_outbox_last_problem
Revises: 0009_outbox_learner_index
Create Date: 2026-12-07 21:00:00

`last_error` is the platform's or the network's own words (English, technical). `last_problem` is
one code (unreachable, access, gone, busy, rejected, unexpected) that the report explains in the
instructor's language, with what to do.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_last_problem"
down_revision = "0009_outbox_learner_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lti_outbox") as batch:
        batch.add_column(sa.Column("last_problem", sa.String(20), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("lti_outbox") as batch:
        batch.drop_column("last_problem")
