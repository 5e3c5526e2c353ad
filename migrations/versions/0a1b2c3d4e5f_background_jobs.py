"""background jobs: imports, computes and exports run by `flask jobs worker`

A 150,000-row cadre upload ran inside the web request and was killed by gunicorn's worker
timeout after 30 s. Long work is now a row of `job` (kind, parameters, the uploaded file,
state, progress, result, every error row, the export's file, who and which unit, times, the
worker's claim and heartbeat), claimed and run by a worker process (app/services/jobs.py).

Revision ID: 0a1b2c3d4e5f
Revises: b2d4f6a8c0e2
Create Date: 2026-12-05 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0a1b2c3d4e5f"
down_revision = "b2d4f6a8c0e2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("input_name", sa.String(length=255), nullable=True),
        sa.Column("input_data", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("output_name", sa.String(length=255), nullable=True),
        sa.Column("output_mime", sa.String(length=100), nullable=True),
        sa.Column("output_data", sa.LargeBinary(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("committed_at", sa.DateTime(), nullable=True),
        sa.Column("claim", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_state_id", "job", ["state", "id"])
    op.create_index("ix_job_user_id", "job", ["user_id", "id"])


def downgrade():
    op.drop_index("ix_job_user_id", table_name="job")
    op.drop_index("ix_job_state_id", table_name="job")
    op.drop_table("job")
