"""credentials can be revoked; login attempts counted where every worker sees them

ab_user.auth_epoch: raised by a password change, a lockout, a deactivation and a logout; a
session or API token issued under an older value is refused (app/security/revocation.py).
Sessions and tokens issued before this revision carry no value and end at the upgrade.

auth_throttle: login attempts per key and fixed window, incremented with one atomic upsert
(app/security/throttle.py), so that the login rate limit holds across gunicorn workers and
app nodes (Flask-Limiter's memory storage counted per process).

Revision ID: b2d4f6a8c0e2
Revises: a1c3e5f7b9d1
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b2d4f6a8c0e2"
down_revision = "a1c3e5f7b9d1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_epoch", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    op.create_index("ix_auth_throttle_window_start", "auth_throttle", ["window_start"])


def downgrade():
    op.drop_index("ix_auth_throttle_window_start", table_name="auth_throttle")
    op.drop_table("auth_throttle")
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("auth_epoch")
