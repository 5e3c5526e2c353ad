"""results carry their dimension scores and inputs; periods carry their peer-group figures

At city scale (50,000 cadres) a profile averaged 250,000 result-dimension rows per view and a
compute rewrote them all. Now compute writes, in the same pass:

- evaluation_result.dimension_scores: dimension name -> score (JSON), replacing the table
  evaluation_result_dimension (one row per result and dimension);
- evaluation_result.inputs: the counts of the inputs the result was computed from (tracing);
- evaluation_period.peer_stats: per post category, the peer count, average composite and
  average per dimension (what a profile compares a cadre with).

Existing rows are carried over: dimension scores move into the JSON column and each
computed period's peer figures are derived here with the same rules as compute.

Revision ID: c3d5e7f9a1b2
Revises: b7e4c2d9f310
Create Date: 2026-11-28 07:40:00
"""

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "c3d5e7f9a1b2"
down_revision = "b7e4c2d9f310"
branch_labels = None
depends_on = None


def _round(value):
    return None if value is None else round(float(value), 6)


def upgrade():
    with op.batch_alter_table("evaluation_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dimension_scores", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
    with op.batch_alter_table("evaluation_period", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peer_stats", sa.JSON(), nullable=True))

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT d.result_id, dim.name, d.score FROM evaluation_result_dimension d "
        "JOIN evaluation_dimension dim ON dim.id = d.dimension_id ORDER BY d.result_id, dim.sort, dim.id"
    ))
    by_result = defaultdict(dict)
    for rid, name, score in rows:
        by_result[rid][name] = score
    if by_result:
        bind.execute(
            sa.text("UPDATE evaluation_result SET dimension_scores = :d WHERE id = :i").bindparams(
                sa.bindparam("d", type_=sa.JSON)),
            [{"d": dims, "i": rid} for rid, dims in by_result.items()],
        )
    periods = bind.execute(sa.text("SELECT DISTINCT period_id FROM evaluation_result")).scalars().all()
    for pid in periods:
        stats = {}
        for category, count, avg in bind.execute(sa.text(
            "SELECT c.post_category, count(r.composite), avg(r.composite) FROM evaluation_result r "
            "JOIN cadre c ON c.id = r.cadre_id WHERE r.period_id = :p AND r.undetermined = :f "
            "GROUP BY c.post_category"), {"p": pid, "f": False}):
            stats[category or ""] = {"count": int(count or 0), "avg_composite": _round(avg), "dims": {}}
        for category, name, avg in bind.execute(sa.text(
            "SELECT c.post_category, dim.name, avg(d.score) FROM evaluation_result_dimension d "
            "JOIN evaluation_result r ON r.id = d.result_id JOIN cadre c ON c.id = r.cadre_id "
            "JOIN evaluation_dimension dim ON dim.id = d.dimension_id WHERE r.period_id = :p "
            "GROUP BY c.post_category, dim.name"), {"p": pid}):
            entry = stats.setdefault(category or "", {"count": 0, "avg_composite": None, "dims": {}})
            entry["dims"][name] = _round(avg)
        bind.execute(sa.text("UPDATE evaluation_period SET peer_stats = :s WHERE id = :p").bindparams(
            sa.bindparam("s", type_=sa.JSON)), {"s": stats, "p": pid})

    with op.batch_alter_table("evaluation_result_dimension", schema=None) as batch_op:
        batch_op.drop_index("ix_result_dimension_result_dimension_score")
        batch_op.drop_index(batch_op.f("ix_evaluation_result_dimension_result_id"))
    op.drop_table("evaluation_result_dimension")


def downgrade():
    op.create_table(
        "evaluation_result_dimension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("dimension_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["dimension_id"], ["evaluation_dimension.id"]),
        sa.ForeignKeyConstraint(["result_id"], ["evaluation_result.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_result_dimension", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_result_dimension_result_id"), ["result_id"], unique=False)
        batch_op.create_index("ix_result_dimension_result_dimension_score", ["result_id", "dimension_id", "score"])
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT r.id, r.dimension_scores, p.scheme_id FROM evaluation_result r "
        "JOIN evaluation_period p ON p.id = r.period_id WHERE r.dimension_scores IS NOT NULL"
    )).all()
    dims = {(s, n): i for i, s, n in bind.execute(sa.text("SELECT id, scheme_id, name FROM evaluation_dimension"))}
    values = []
    for rid, scores, scheme_id in rows:
        scores = json.loads(scores) if isinstance(scores, str) else scores
        for name, score in (scores or {}).items():
            if (scheme_id, name) in dims:
                values.append({"r": rid, "d": dims[(scheme_id, name)], "s": score})
    if values:
        bind.execute(sa.text("INSERT INTO evaluation_result_dimension (result_id, dimension_id, score) "
                             "VALUES (:r, :d, :s)"), values)
    with op.batch_alter_table("evaluation_period", schema=None) as batch_op:
        batch_op.drop_column("peer_stats")
    with op.batch_alter_table("evaluation_result", schema=None) as batch_op:
        batch_op.drop_column("inputs")
        batch_op.drop_column("dimension_scores")
