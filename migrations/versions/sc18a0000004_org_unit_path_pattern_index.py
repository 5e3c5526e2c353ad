"""PostgreSQL: org_unit.path indexed for prefix LIKE (text_pattern_ops), so a subtree's units
are an index range there too (the default b-tree follows the collation, which LIKE cannot use)

Revision ID: sc18a0000004
Revises: pt16c0000003
Create Date: 2026-12-05 17:00:00
"""

from alembic import op

revision = "sc18a0000004"
down_revision = "pt16c0000003"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_org_unit_path_pattern ON org_unit (path text_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_org_unit_path_pattern")
