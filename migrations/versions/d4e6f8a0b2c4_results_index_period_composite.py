"""results screen: index on (period_id, composite)

The results screen shows one period at a time ordered by composite, descending: with this
index the first page of 50,000 results is an index range read, not a sort.

Revision ID: d4e6f8a0b2c4
Revises: c3d5e7f9a1b2
Create Date: 2026-11-28 08:10:00
"""

from alembic import op

revision = "d4e6f8a0b2c4"
down_revision = "c3d5e7f9a1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_evaluation_result_period_composite", "evaluation_result", ["period_id", "composite"])


def downgrade():
    op.drop_index("ix_evaluation_result_period_composite", table_name="evaluation_result")
