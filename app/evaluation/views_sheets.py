"""评分表 (/scoresheets/): the score sheets of one cadre, read-only, on the Score permission.

The list always shows one cadre, chosen by `?cadre=<id>` with a search-as-you-type picker
(never a select box of every cadre), optionally one period by `?period=<code>`. The cadre is
resolved through the row scope (app/security/scope.py): out of scope, or no cadre, the list
is empty. The query is `cadre_id = ? AND period_id IN (periods)`, which both SQLite and
PostgreSQL answer from the index ix_score_sheet_period_cadre (period_id, cadre_id), count
included, whatever the number of sheets.
"""

from __future__ import annotations

from flask import g, request
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import literal, select, union_all

from app.evaluation import scoring
from app.extensions import db
from app.models import Dimension, EvaluationPeriod, RaterGroup, ScoreSheet
from app.security.scope import SelectedCadreFilter, selected_cadre
from app.web.modelview import EagerSQLAInterface, ScopedModelView


class SheetPeriodFilter(BaseFilter):
    """`period_id IN (the periods, or the one of ?period=<code>)`: also what lets the database
    seek the (period_id, cadre_id) index for one cadre instead of scanning it."""

    name = "按考评期筛选"

    def apply(self, query, value):
        periods = select(EvaluationPeriod.id)
        code = (request.args.get("period") or "").strip()
        if code:
            periods = periods.where(EvaluationPeriod.code == code)
        return query.filter(ScoreSheet.period_id.in_(periods))


def names() -> dict[str, dict[int, tuple[str, int, str]]]:
    """id -> (name, sort, code) of periods, rater groups and dimensions: one query per request
    (small tables: a few rows per scheme and period)."""
    if "sheet_names" not in g:
        stmt = union_all(
            select(literal("period"), EvaluationPeriod.id, EvaluationPeriod.name, literal(0), EvaluationPeriod.code),
            select(literal("group"), RaterGroup.id, RaterGroup.name, RaterGroup.sort, literal("")),
            select(literal("dimension"), Dimension.id, Dimension.name, Dimension.sort, literal("")),
        )
        out: dict[str, dict] = {"period": {}, "group": {}, "dimension": {}}
        for kind, pk, name, sort, code in db.session.execute(stmt):
            out[kind][pk] = (name, sort or 0, code)
        g.sheet_names = out
    return g.sheet_names


def _name(kind: str, pk) -> str:
    return names()[kind].get(pk, ("", 0, ""))[0]


def _cadre_text(cadre_id) -> str:
    cadre = selected_cadre()
    return f"{cadre.name}（{cadre.code}）" if cadre is not None and cadre.id == cadre_id else ""


def _scores_text(scores) -> str:
    """'德 90.00；能 85.00…' in the scheme's dimension order."""
    dims = names()["dimension"]
    items = sorted(scores or [], key=lambda s: (dims.get(s.dimension_id, ("", 0, ""))[1], s.dimension_id))
    return "；".join(f"{_name('dimension', s.dimension_id)} {scoring.round_half_up(float(s.value)):.2f}" for s in items)


class ScoreSheetView(ScopedModelView):
    """评分表 of one cadre: period, rater group, entry time and the value of each dimension."""

    route_base = "/scoresheets"
    datamodel = EagerSQLAInterface(ScoreSheet, eager=("scores",))
    class_permission_name = "Score"
    method_permission_name = {"list": "read"}
    base_permissions = ["can_read"]
    include_route_methods = {"list"}  # read-only: entry and deletion live on the 评分录入 grid
    list_title = "评分表"
    list_template = "eval/sheet_list.html"
    unit_filter = False
    label_columns = {"period_id": "考评期", "cadre_id": "干部", "group_id": "评价组", "created_at": "录入时间",
                     "scores": "各维度得分"}
    list_columns = ["period_id", "cadre_id", "group_id", "created_at", "scores"]
    order_columns = ["period_id", "group_id", "created_at"]
    search_columns: list[str] = []
    base_order = ("created_at", "desc")
    base_filters = [["cadre_id", SelectedCadreFilter, lambda: None], ["period_id", SheetPeriodFilter, lambda: None]]
    formatters_columns = {
        "period_id": lambda v: _name("period", v),
        "group_id": lambda v: _name("group", v),
        "cadre_id": _cadre_text,
        "created_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "",
        "scores": _scores_text,
    }

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            periods = [(code, name) for _, (name, _, code) in sorted(names()["period"].items(), reverse=True)]
            kwargs.update(cadre=selected_cadre(), asked=(request.args.get("cadre") or "").strip(),
                          period_code=(request.args.get("period") or "").strip(), periods=periods)
        return super().render_template(template, **kwargs)
