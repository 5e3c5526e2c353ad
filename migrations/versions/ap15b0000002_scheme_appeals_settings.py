"""schemes carry the 诉求办理实绩 settings

A scheme indicator may take `source: "appeals"` (PLATFORM.md §2): 100·(w_s·签收及时率 +
w_r·按时答复率 + w_m·满意率) − p·重办件数, clamped to [0, 100]. The three weights and the
points per 重办 are scheme settings (defaults 0.3, 0.4, 0.3 and 2).

Revision ID: ap15b0000002
Revises: ap15a0000001
Create Date: 2026-12-05 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "ap15b0000002"
down_revision = "ap15a0000001"
branch_labels = None
depends_on = None

COLUMNS = (("appeal_weight_sign", "0.3"), ("appeal_weight_reply", "0.4"), ("appeal_weight_satisfaction", "0.3"),
           ("appeal_penalty_reopen", "2"))


def upgrade():
    with op.batch_alter_table("evaluation_scheme", schema=None) as batch_op:
        for name, default in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Float(), server_default=default, nullable=False))


def downgrade():
    with op.batch_alter_table("evaluation_scheme", schema=None) as batch_op:
        for name, _default in reversed(COLUMNS):
            batch_op.drop_column(name)
