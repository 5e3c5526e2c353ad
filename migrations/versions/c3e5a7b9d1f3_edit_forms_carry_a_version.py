"""edit forms carry a version: units, career records, rewards, rules, calendar days, inspections

Two people editing the same row in FAB's edit forms: the later save silently overwrote the
earlier one (FAB re-reads the row at POST time). Each of these tables now has the version
column the cadres, items and findings already had: the form carries the version it was opened
with, and a save from a stale copy is refused (app/viewlib.py OptimisticEditMixin).

Revision ID: c3e5a7b9d1f3
Revises: 0a1b2c3d4e5f
Create Date: 2026-12-05 09:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c3e5a7b9d1f3"
down_revision = "0a1b2c3d4e5f"
branch_labels = None
depends_on = None

TABLES = ("org_unit", "career_record", "reward_penalty", "time_limit_rule", "work_calendar_day", "inspection")


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("version")
