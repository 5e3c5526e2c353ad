"""诉求 figure cells: per unit subtree and receipt day, the figures that change only with a write,
and the (unit, day) pairs whose appeals changed (kept by triggers on appeal, appeal_assignment and
org_unit, whatever wrote the row); partial indexes for the part that moves with the clock

Revision ID: ap15c0000005
Revises: sc18a0000004
Create Date: 2026-12-05 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "ap15c0000005"
down_revision = "sc18a0000004"
branch_labels = None
depends_on = None

CELLS = ("received", "replied", "on_time", "callbacks", "satisfied", "basic", "called_back", "reopened", "reopens",
         "level0", "level1", "level2", "level3", "level4", "sign_on_time", "sign_settled", "refusals")
OPEN_SIGN = "signed_at IS NULL AND refused_at IS NULL AND ended_at IS NULL"
APPEAL_COLUMNS = ("state, received_at, occurred_unit_id, reply_deadline, replied_at, resolved_level, reopen_count, "
                  "callback_count, satisfied_count, basic_count")
ASSIGNMENT_COLUMNS = "appeal_id, org_unit_id, appeal_received_at, sign_deadline, signed_at, refused_at, ended_at"
EVERYTHING = "0, '1900-01-01'"  # unit 0: count every cell again

SQLITE_TRIGGERS = (
    """CREATE TRIGGER trg_appeal_figures_ins AFTER INSERT ON appeal BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.occurred_unit_id, date(NEW.received_at));
       END""",
    f"""CREATE TRIGGER trg_appeal_figures_upd AFTER UPDATE OF {APPEAL_COLUMNS} ON appeal BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.occurred_unit_id, date(OLD.received_at));
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.occurred_unit_id, date(NEW.received_at));
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day)
           SELECT org_unit_id, date(appeal_received_at) FROM appeal_assignment WHERE appeal_id = NEW.id;
       END""",
    """CREATE TRIGGER trg_appeal_figures_del AFTER DELETE ON appeal BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.occurred_unit_id, date(OLD.received_at));
       END""",
    """CREATE TRIGGER trg_appeal_assignment_figures_ins AFTER INSERT ON appeal_assignment BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.org_unit_id, date(NEW.appeal_received_at));
       END""",
    f"""CREATE TRIGGER trg_appeal_assignment_figures_upd AFTER UPDATE OF {ASSIGNMENT_COLUMNS} ON appeal_assignment
       BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.org_unit_id, date(OLD.appeal_received_at));
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.org_unit_id, date(NEW.appeal_received_at));
       END""",
    """CREATE TRIGGER trg_appeal_assignment_figures_del AFTER DELETE ON appeal_assignment BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.org_unit_id, date(OLD.appeal_received_at));
       END""",
    f"""CREATE TRIGGER trg_org_unit_figures_moved AFTER UPDATE OF path ON org_unit WHEN OLD.path <> NEW.path BEGIN
         INSERT OR IGNORE INTO appeal_figure_dirty (unit_id, day) VALUES ({EVERYTHING});
       END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION appeal_figures_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           INSERT INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.occurred_unit_id, OLD.received_at::date)
             ON CONFLICT DO NOTHING;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           INSERT INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.occurred_unit_id, NEW.received_at::date)
             ON CONFLICT DO NOTHING;
         END IF;
         IF TG_OP = 'UPDATE' THEN
           INSERT INTO appeal_figure_dirty (unit_id, day)
             SELECT DISTINCT org_unit_id, appeal_received_at::date FROM appeal_assignment WHERE appeal_id = NEW.id
             ON CONFLICT DO NOTHING;
         END IF;
         RETURN NULL;
       END $$""",
    f"""CREATE TRIGGER trg_appeal_figures AFTER INSERT OR DELETE OR UPDATE OF {APPEAL_COLUMNS} ON appeal
       FOR EACH ROW EXECUTE FUNCTION appeal_figures_dirty()""",
    """CREATE FUNCTION appeal_assignment_figures_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           INSERT INTO appeal_figure_dirty (unit_id, day) VALUES (OLD.org_unit_id, OLD.appeal_received_at::date)
             ON CONFLICT DO NOTHING;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           INSERT INTO appeal_figure_dirty (unit_id, day) VALUES (NEW.org_unit_id, NEW.appeal_received_at::date)
             ON CONFLICT DO NOTHING;
         END IF;
         RETURN NULL;
       END $$""",
    f"""CREATE TRIGGER trg_appeal_assignment_figures AFTER INSERT OR DELETE OR UPDATE OF {ASSIGNMENT_COLUMNS}
       ON appeal_assignment FOR EACH ROW EXECUTE FUNCTION appeal_assignment_figures_dirty()""",
    f"""CREATE FUNCTION org_unit_figures_moved() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.path IS DISTINCT FROM NEW.path THEN
           INSERT INTO appeal_figure_dirty (unit_id, day) VALUES ({EVERYTHING}) ON CONFLICT DO NOTHING;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_org_unit_figures_moved AFTER UPDATE OF path ON org_unit
       FOR EACH ROW EXECUTE FUNCTION org_unit_figures_moved()""",
)


def upgrade():
    op.create_table(
        "appeal_figure_cell",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in CELLS],
        sa.PrimaryKeyConstraint("unit_id", "day"),
    )
    op.create_table(
        "appeal_figure_dirty",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day"),
    )
    op.create_index("ix_appeal_unreplied_deadline", "appeal", ["reply_deadline"],
                    sqlite_where=sa.text("replied_at IS NULL"), postgresql_where=sa.text("replied_at IS NULL"))
    op.create_index("ix_appeal_assignment_open_sign", "appeal_assignment", ["sign_deadline"],
                    sqlite_where=sa.text(OPEN_SIGN), postgresql_where=sa.text(OPEN_SIGN))
    statements = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)
    op.execute(f"INSERT INTO appeal_figure_dirty (unit_id, day) VALUES ({EVERYTHING})")  # the appeals already there


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_org_unit_figures_moved ON org_unit")
        op.execute("DROP TRIGGER IF EXISTS trg_appeal_assignment_figures ON appeal_assignment")
        op.execute("DROP TRIGGER IF EXISTS trg_appeal_figures ON appeal")
        for function in ("org_unit_figures_moved", "appeal_assignment_figures_dirty", "appeal_figures_dirty"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in ("appeal_figures_ins", "appeal_figures_upd", "appeal_figures_del", "appeal_assignment_figures_ins",
                     "appeal_assignment_figures_upd", "appeal_assignment_figures_del", "org_unit_figures_moved"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}")
    op.drop_index("ix_appeal_assignment_open_sign", table_name="appeal_assignment")
    op.drop_index("ix_appeal_unreplied_deadline", table_name="appeal")
    op.drop_table("appeal_figure_dirty")
    op.drop_table("appeal_figure_cell")
