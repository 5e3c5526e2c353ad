"""audit entries carry their unit

The audit log is scoped like every other screen: a county admin sees the entries about rows
of its subtree and the logins of its own users. Each entry keeps the unit it is about (the
cadre's unit for a cadre's rows, an item's lead unit, a finding's unit, a user's unit); the
entries already written are filled in from the rows they name, where those still exist.
No foreign key: an entry outlives the unit it names.

Revision ID: a1c3e5f7b9d1
Revises: f6a8c0e2d4f6
Create Date: 2026-12-05 07:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c3e5f7b9d1"
down_revision = "f6a8c0e2d4f6"
branch_labels = None
depends_on = None

# table -> SQL giving the unit of the row whose id is :rid (row ids are stored as text)
_ROW = "CAST(audit_log.row_id AS INTEGER)"
BACKFILL = {
    "org_unit": f"SELECT id FROM org_unit WHERE id = {_ROW}",
    "cadre": f"SELECT org_unit_id FROM cadre WHERE id = {_ROW}",
    "ab_user": f"SELECT org_unit_id FROM ab_user WHERE id = {_ROW}",
    "supervision_task": f"SELECT lead_unit_id FROM supervision_task WHERE id = {_ROW}",
    "task_assignment": f"SELECT org_unit_id FROM task_assignment WHERE id = {_ROW}",
    "task_reminder": f"SELECT org_unit_id FROM task_reminder WHERE id = {_ROW}",
    "inspection": f"SELECT org_unit_id FROM inspection WHERE id = {_ROW}",
    "finding": f"SELECT org_unit_id FROM finding WHERE id = {_ROW}",
    "extension_request": "SELECT t.lead_unit_id FROM extension_request e JOIN supervision_task t ON t.id = e.task_id"
                         f" WHERE e.id = {_ROW}",
    "task_report": "SELECT a.org_unit_id FROM task_report r JOIN task_assignment a ON a.id = r.assignment_id"
                   f" WHERE r.id = {_ROW}",
    "rectification_report": "SELECT f.org_unit_id FROM rectification_report r JOIN finding f ON f.id = r.finding_id"
                            f" WHERE r.id = {_ROW}",
}
for _table in ("career_record", "reward_penalty", "score_sheet", "ballot", "indicator_score", "adjustment",
               "result_use", "cadre_conclusion"):
    BACKFILL[_table] = f"SELECT c.org_unit_id FROM {_table} x JOIN cadre c ON c.id = x.cadre_id WHERE x.id = {_ROW}"


SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, '审计日志只能追加，不能修改'); END"
)


def upgrade():
    # Plain ALTER TABLE (no batch copy of the table on SQLite: that would drop its triggers).
    op.add_column("audit_log", sa.Column("org_unit_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_log_unit_id", "audit_log", ["org_unit_id", "id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    # The log is append-only (migration a1d17e0a0001): the one fill of the new column lifts the
    # update guard for this step only.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only" if postgresql
               else "DROP TRIGGER IF EXISTS audit_log_no_update")
    # Only numeric row ids name a row (bulk entries say "period:2022-Y").
    numeric = ("audit_log.row_id ~ '^[0-9]+$'" if postgresql
               else "audit_log.row_id NOT GLOB '*[^0-9]*' AND audit_log.row_id <> ''")
    for table, unit_sql in BACKFILL.items():
        op.execute(
            f"UPDATE audit_log SET org_unit_id = ({unit_sql}) "
            f"WHERE audit_log.table_name = '{table}' AND {numeric}"
        )
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only" if postgresql else SQLITE_NO_UPDATE)


def downgrade():
    op.drop_index("ix_audit_log_unit_id", table_name="audit_log")
    op.drop_column("audit_log", "org_unit_id")
