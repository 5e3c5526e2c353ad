"""工作指令 (instructions, their kept copies, member lists, 催办) and 支部联支部 (pairings, activities)

Revision ID: pt16b0000001
Revises: pt16a0000001
Create Date: 2026-12-05 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "pt16b0000001"
down_revision = "pt16a0000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_instruction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("reply_required", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("reply_due", sa.Date(), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("sender_unit_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("recipient_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["sender_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["supervision_task.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_party_instruction_sender_id", "party_instruction", ["sender_id"])
    op.create_index("ix_party_instruction_sender_unit_id", "party_instruction", ["sender_unit_id"])
    op.create_index("ix_party_instruction_state", "party_instruction", ["state"])
    op.create_index("ix_party_instruction_task_id", "party_instruction", ["task_id"])
    op.create_table(
        "party_instruction_unit",
        sa.Column("instruction_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["instruction_id"], ["party_instruction.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("instruction_id", "org_unit_id"),
    )
    op.create_index("ix_party_instruction_unit_org_unit_id", "party_instruction_unit", ["org_unit_id"])
    op.create_table(
        "party_instruction_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instruction_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.Column("branches", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("reminders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_reminded_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["instruction_id"], ["party_instruction.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instruction_id", "user_id", name="uq_party_instruction_copy_user"),
    )
    op.create_index("ix_party_instruction_copy_user_id", "party_instruction_copy", ["user_id"])
    op.create_index("ix_party_instruction_copy_org_unit_id", "party_instruction_copy", ["org_unit_id"])
    op.create_index("ix_party_instruction_copy_state", "party_instruction_copy", ["instruction_id", "state"])
    op.create_index("ix_party_instruction_copy_user_state", "party_instruction_copy", ["user_id", "state"])
    op.create_table(
        "party_instruction_member",
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("member_code", sa.String(length=32), nullable=False),
        sa.Column("member_name", sa.String(length=50), nullable=False),
        sa.Column("branch_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["copy_id"], ["party_instruction_copy.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["party_member.id"]),
        sa.PrimaryKeyConstraint("copy_id", "member_id"),
    )
    op.create_table(
        "party_instruction_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["copy_id"], ["party_instruction_copy.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_party_instruction_reminder_copy_id", "party_instruction_reminder", ["copy_id"])
    op.create_table(
        "party_pairing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_a_id", sa.Integer(), nullable=False),
        sa.Column("branch_b_id", sa.Integer(), nullable=False),
        sa.Column("unit_a_id", sa.Integer(), nullable=False),
        sa.Column("unit_b_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["branch_a_id"], ["party_org.id"]),
        sa.ForeignKeyConstraint(["branch_b_id"], ["party_org.id"]),
        sa.ForeignKeyConstraint(["unit_a_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["unit_b_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("branch_a_id", "branch_b_id", name="uq_party_pairing_branches"),
    )
    for col in ("branch_a_id", "branch_b_id", "unit_a_id", "unit_b_id"):
        op.create_index(f"ix_party_pairing_{col}", "party_pairing", [col])
    op.create_table(
        "party_pairing_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["pairing_id"], ["party_pairing.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_party_pairing_activity_pairing_id", "party_pairing_activity", ["pairing_id"])


def downgrade():
    op.drop_table("party_pairing_activity")
    op.drop_table("party_pairing")
    op.drop_table("party_instruction_reminder")
    op.drop_table("party_instruction_member")
    op.drop_table("party_instruction_copy")
    op.drop_table("party_instruction_unit")
    op.drop_table("party_instruction")
