"""outbox_learner_index: find a learner's scores in a link by (link, user, status)

Revision ID: 0009_outbox_learner_index
Revises: 0008_outbox_send_started
Create Date: 2026-12-07 13:00:00

Every scored submit supersedes the learner's unsent scores in the link. With only the link as an
index, that UPDATE read every score of the link (all its learners, all their attempts), so a
submit slowed down as the course's outbox grew. The new index's first column is the link, so it
also serves what the link index served (the instructor report), and that index is dropped.
"""

from alembic import op

revision = "0009_outbox_learner_index"
down_revision = "0008_outbox_send_started"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lti_outbox_learner", "lti_outbox", ["resource_link_pk", "user_sub", "status"])
    op.drop_index("ix_lti_outbox_resource_link_pk", table_name="lti_outbox")


def downgrade() -> None:
    op.create_index("ix_lti_outbox_resource_link_pk", "lti_outbox", ["resource_link_pk"])
    op.drop_index("ix_lti_outbox_learner", table_name="lti_outbox")
