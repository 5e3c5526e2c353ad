"""结构分析 cells: each unit's member counts per kept day, and the units whose members changed
(kept by triggers on party_member, whatever wrote the row)

Revision ID: pt16c0000003
Revises: ap15b0000002
Create Date: 2026-12-05 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "pt16c0000003"
down_revision = "ap15b0000002"
branch_labels = None
depends_on = None

CELLS = 15

SQLITE_TRIGGERS = (
    """CREATE TRIGGER trg_party_member_structure_ins AFTER INSERT ON party_member BEGIN
         INSERT OR IGNORE INTO party_structure_dirty (unit_id) VALUES (NEW.org_unit_id); END""",
    """CREATE TRIGGER trg_party_member_structure_del AFTER DELETE ON party_member BEGIN
         INSERT OR IGNORE INTO party_structure_dirty (unit_id) VALUES (OLD.org_unit_id); END""",
    """CREATE TRIGGER trg_party_member_structure_upd AFTER UPDATE ON party_member BEGIN
         INSERT OR IGNORE INTO party_structure_dirty (unit_id) VALUES (OLD.org_unit_id);
         INSERT OR IGNORE INTO party_structure_dirty (unit_id) VALUES (NEW.org_unit_id); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION party_member_structure_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           INSERT INTO party_structure_dirty (unit_id) VALUES (OLD.org_unit_id) ON CONFLICT DO NOTHING;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           INSERT INTO party_structure_dirty (unit_id) VALUES (NEW.org_unit_id) ON CONFLICT DO NOTHING;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_party_member_structure AFTER INSERT OR UPDATE OR DELETE ON party_member
       FOR EACH ROW EXECUTE FUNCTION party_member_structure_dirty()""",
)


def upgrade():
    op.create_table(
        "party_structure_day",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("as_of"),
    )
    op.create_table(
        "party_structure_cell",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        *[sa.Column(f"c{i}", sa.Integer(), server_default="0", nullable=False) for i in range(CELLS)],
        sa.PrimaryKeyConstraint("as_of", "unit_id"),
    )
    op.create_table(
        "party_structure_dirty",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    statements = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_party_member_structure ON party_member")
        op.execute("DROP FUNCTION IF EXISTS party_member_structure_dirty()")
    else:
        for name in ("ins", "del", "upd"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_party_member_structure_{name}")
    op.drop_table("party_structure_dirty")
    op.drop_table("party_structure_cell")
    op.drop_table("party_structure_day")
