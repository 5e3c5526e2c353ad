"""city scale: covering indexes for the dashboard and profile aggregates

Measured at 50,000 cadres (docs/PERFORMANCE.md): the dashboard's head count of a scope
(cadre by unit and status) and its findings summary (finding by unit, state, severity),
and the profile's peer averages per dimension (result dimension by result, dimension,
score) read only these indexes instead of one table row per match.

Revision ID: b7e4c2d9f310
Revises: a1d17e0a0001
Create Date: 2026-11-28 05:20:00
"""

from alembic import op

revision = "b7e4c2d9f310"
down_revision = "a1d17e0a0001"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_cadre_org_unit_status", "cadre", ["org_unit_id", "status"]),
    ("ix_finding_unit_state_severity", "finding", ["org_unit_id", "state", "severity"]),
    ("ix_result_dimension_result_dimension_score", "evaluation_result_dimension", ["result_id", "dimension_id", "score"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
