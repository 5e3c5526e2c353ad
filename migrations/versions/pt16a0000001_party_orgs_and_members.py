"""party organizations and members (PLATFORM.md §4)

party_org: 党委/党总支/党支部 in a tree, each tied to a unit, with its secretary (a user
account and/or a member). party_member: the register; org_unit_id is the branch's unit,
copied for set-based scope and structure figures (ix_party_member_unit_stats covers every
column the figures read).

Revision ID: pt16a0000001
Revises: 0bd9929014c9
Create Date: 2026-12-05 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "pt16a0000001"
down_revision = "0bd9929014c9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("secretary_id", sa.Integer(), nullable=True),
        sa.Column("secretary_member_id", sa.Integer(), nullable=True),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["party_org.id"]),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["secretary_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_party_org_parent_id", "party_org", ["parent_id"])
    op.create_index("ix_party_org_secretary_id", "party_org", ["secretary_id"])
    op.create_index("ix_party_org_unit_kind", "party_org", ["org_unit_id", "kind"])
    op.create_table(
        "party_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.String(length=4), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ethnicity", sa.String(length=20), nullable=True),
        sa.Column("education", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.Date(), nullable=False),
        sa.Column("confirmed_at", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("flowing", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("flowing_to", sa.String(length=200), nullable=True),
        sa.Column("party_post", sa.String(length=50), nullable=True),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("cadre_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["party_org.id"]),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("cadre_id"),
    )
    op.create_index("ix_party_member_name", "party_member", ["name"])
    op.create_index("ix_party_member_branch_id", "party_member", ["branch_id"])
    op.create_index("ix_party_member_unit_stats", "party_member",
                    ["org_unit_id", "joined_at", "birth_date", "confirmed_at", "gender", "education",
                     "status", "flowing"])
    with op.batch_alter_table("party_org", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_party_org_secretary_member", "party_member",
                                    ["secretary_member_id"], ["id"])


def downgrade():
    with op.batch_alter_table("party_org", schema=None) as batch_op:
        batch_op.drop_constraint("fk_party_org_secretary_member", type_="foreignkey")
    op.drop_index("ix_party_member_unit_stats", table_name="party_member")
    op.drop_index("ix_party_member_branch_id", table_name="party_member")
    op.drop_index("ix_party_member_name", table_name="party_member")
    op.drop_table("party_member")
    op.drop_index("ix_party_org_unit_kind", table_name="party_org")
    op.drop_index("ix_party_org_secretary_id", table_name="party_org")
    op.drop_index("ix_party_org_parent_id", table_name="party_org")
    op.drop_table("party_org")
