"""certificate_pdf: the PDF of each certificate as issued, served on every download

Revision ID: 0004_certificate_pdf
Revises: 0003_accommodations
Create Date: 2026-12-06 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_certificate_pdf"
down_revision = "0003_accommodations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: certificates issued before this revision get their PDF stored on first download.
    with op.batch_alter_table("ce_certificate") as batch:
        batch.add_column(sa.Column("pdf", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ce_certificate") as batch:
        batch.drop_column("pdf")
