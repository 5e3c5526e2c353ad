"""inputs carry who entered them; score sheets the file they came from

score_sheet.entered_by_id, ballot.entered_by_id, indicator_score.entered_by_id: the user who
entered the row (grid or upload); the entry grid and the trace show their name and unit. No
foreign key: the id is kept when a user is deleted (shown as 已删除的用户), and a key check per
imported sheet would slow a city's import. score_sheet.source_hash: the SHA-256 of the file a
sheet was imported from, so that the same file uploaded twice is refused.

Revision ID: 0bd9929014c9
Revises: d7f1a3c5e9b2
Create Date: 2026-12-05 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0bd9929014c9"
down_revision = "d7f1a3c5e9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("score_sheet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_score_sheet_period_source", ["period_id", "source_hash"])
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("indicator_score", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("indicator_score", schema=None) as batch_op:
        batch_op.drop_column("entered_by_id")
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_column("entered_by_id")
    with op.batch_alter_table("score_sheet", schema=None) as batch_op:
        batch_op.drop_index("ix_score_sheet_period_source")
        batch_op.drop_column("source_hash")
        batch_op.drop_column("entered_by_id")
