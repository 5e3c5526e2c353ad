"""results carry their cadre's unit

The results screen counts a county's results of a period at every page view. Scoped through
the cadre ("cadre in a unit of the subtree"), PostgreSQL hashed the county's 4,900 cadres
and read the period's 50,000 results to find theirs: 10-13 ms per count. With the cadre's
unit on the result, the count reads the (period, unit) index for the subtree's units.

evaluation_result.org_unit_id is the cadre's unit, always: compute writes it, and a cadre's
move to another unit moves its results with it (the Cadre listener at the end of
app/models.py), so who sees a result does not change: the users of the cadre's unit and
its ancestors. Existing results are filled in here from their cadres. No foreign key: the
column is a copy of the cadre's own (itself a foreign key), and a key check per inserted row
cost a city's compute about 2 s (a fifth of it).

Revision ID: f6a8c0e2d4f6
Revises: e5f7a9b1c3d5
Create Date: 2026-11-28 11:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f6a8c0e2d4f6"
down_revision = "e5f7a9b1c3d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("evaluation_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_unit_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE evaluation_result SET org_unit_id = "
        "(SELECT cadre.org_unit_id FROM cadre WHERE cadre.id = evaluation_result.cadre_id)"
    )
    with op.batch_alter_table("evaluation_result", schema=None) as batch_op:
        batch_op.alter_column("org_unit_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_evaluation_result_period_unit", ["period_id", "org_unit_id"])


def downgrade():
    with op.batch_alter_table("evaluation_result", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluation_result_period_unit")
        batch_op.drop_column("org_unit_id")
