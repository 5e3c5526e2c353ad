"""online anonymous 民主测评: voting sessions, their ballot lines with tallies, one-time codes

No vote row, no timestamp on a line or a code, nothing that refers to a code: the schema
itself keeps a code, a time or an order of voting apart from the choices (PLATFORM.md §6).

Revision ID: d7f1a3c5e9b2
Revises: c3e5a7b9d1f3
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d7f1a3c5e9b2"
down_revision = "c3e5a7b9d1f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voting_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("categories", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["rater_group.id"]),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["period_id"], ["evaluation_period.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_voting_session_period_id", "voting_session", ["period_id"])
    op.create_index("ix_voting_session_org_unit_id", "voting_session", ["org_unit_id"])
    op.create_index("ix_voting_session_state", "voting_session", ["state"])
    op.create_table(
        "voting_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("excellent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("competent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("basic", sa.Integer(), server_default="0", nullable=False),
        sa.Column("incompetent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unknown", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["voting_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "cadre_id", name="uq_voting_line_session_cadre"),
    )
    op.create_index("ix_voting_line_cadre_id", "voting_line", ["cadre_id"])
    op.create_table(
        "voting_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["voting_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index("ix_voting_code_session_state", "voting_code", ["session_id", "state"])


def downgrade():
    op.drop_index("ix_voting_code_session_state", table_name="voting_code")
    op.drop_table("voting_code")
    op.drop_index("ix_voting_line_cadre_id", table_name="voting_line")
    op.drop_table("voting_line")
    op.drop_index("ix_voting_session_state", table_name="voting_session")
    op.drop_index("ix_voting_session_org_unit_id", table_name="voting_session")
    op.drop_index("ix_voting_session_period_id", table_name="voting_session")
    op.drop_table("voting_session")
