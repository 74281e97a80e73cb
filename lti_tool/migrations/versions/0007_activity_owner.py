"""activity_owner: each platform's instructors have their own activities beside the shared library

Revision ID: 0007_activity_owner
Revises: 0006_lineitem_claim
Create Date: 2026-12-07 02:30:00

Existing activities become the shared library (owner 0), as they were: visible to every platform.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_activity_owner"
down_revision = "0006_lineitem_claim"
branch_labels = None
depends_on = None

# SQLite's copy of the table names the old unnamed UNIQUE(slug) by this convention, so it can be dropped.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _slug_unique_name() -> str:
    for uc in sa.inspect(op.get_bind()).get_unique_constraints("ce_activity"):
        if uc["column_names"] == ["slug"]:
            return uc["name"] or "uq_ce_activity_slug"
    return "uq_ce_activity_slug"


def upgrade() -> None:
    name = _slug_unique_name()
    with op.batch_alter_table("ce_activity", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(name, type_="unique")
        batch.create_unique_constraint("uq_activity_owner_slug", ["owner_id", "slug"])


def downgrade() -> None:
    # Only the shared library fits the old one-activity-per-id table: refuse rather than lose a
    # platform's own activities.
    own = op.get_bind().execute(sa.text("SELECT count(*) FROM ce_activity WHERE owner_id != 0")).scalar()
    if own:
        raise RuntimeError(
            f"{own} activities belong to single platforms and the old schema cannot hold them. "
            "Export them (the instructor page's OLX download) and delete them before downgrading."
        )
    with op.batch_alter_table("ce_activity", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_activity_owner_slug", type_="unique")
        batch.drop_column("owner_id")
        batch.create_unique_constraint("uq_ce_activity_slug", ["slug"])
