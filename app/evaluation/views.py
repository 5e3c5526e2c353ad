"""干部考评 screens: schemes, periods, results, result use; entry screens in views_eval_entry.

Each screen is declared against one permission resource of app/security/roles.py; the rules
live in app/services (evaluation, eval_entry, eval_results, eval_compute).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import defer, lazyload, load_only, selectinload

from app.core.errors import DomainError
from app.evaluation import compute as eval_compute
from app.evaluation import periods as evaluation
from app.evaluation import results as eval_results
from app.evaluation import scoring
from app.evaluation.views_trace import ResultTraceMixin, trace_link
from app.evaluation.web import (
    GRADES,
    PAGE,
    EvalBaseView,
    ResultScreenFilter,
    ResultVisibilityFilter,
    _visible_codes,
    can,
    can_read_unpublished,
    flash_error,
    may_read_results,
    period_by_code,
    results_file,
    screen_periods,
)
from app.extensions import db
from app.jobs import services as jobs
from app.models import (
    PERIOD_KINDS,
    POST_CATEGORIES,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    EvaluationScheme,
    OrgUnit,
    ResultUse,
    ScoreSheet,
)
from app.security.roles import MODELVIEW_METHODS
from app.security.scope import UnitScopeFilter, apply_cadre_scope, current_scope_prefix, may_run_periods
from app.web.context import acting_user
from app.web.downloads import download as attachment
from app.web.modelview import EagerSQLAInterface, ScopedModelView, queue_job, request_query
from app.web.paging import page_number, page_of

# ---------------------------------------------------------------- 考评周期


class PeriodView(EvalBaseView):
    """考评周期: list with state and actions as POST buttons; create form. No free state field."""

    route_base = "/periods"
    class_permission_name = "Period"
    method_permission_name = {"list": "read", "add": "write", "transition": "write", "compute": "write",
                              "unlock": "unlock"}
    default_view = "list"

    @expose("/list/")
    @has_access
    def list(self):
        periods = db.session.scalars(
            select(EvaluationPeriod).order_by(EvaluationPeriod.start_date.desc(), EvaluationPeriod.code.desc())
        ).all()
        sheets = dict(db.session.execute(
            select(ScoreSheet.period_id, func.count()).group_by(ScoreSheet.period_id)
        ).all())
        results = dict(db.session.execute(
            select(EvaluationResult.period_id, func.count()).group_by(EvaluationResult.period_id)
        ).all())
        return self.render("eval/period_list.html", title="考评周期", periods=periods, sheets=sheets,
                           results=results, is_stale=eval_results.is_stale, may_read_results=may_read_results,
                           may_run_periods=may_run_periods(acting_user()))

    @expose("/add/", methods=["GET", "POST"])
    @has_access
    def add(self):
        schemes = db.session.scalars(select(EvaluationScheme).order_by(EvaluationScheme.name)).all()
        periods = db.session.scalars(select(EvaluationPeriod).order_by(EvaluationPeriod.code.desc())).all()
        values, error = dict(request.form), None
        if request.method == "POST":
            try:
                period = evaluation.create_period(
                    values.get("code"), values.get("name"), values.get("kind"), values.get("scheme"),
                    values.get("start"), values.get("end"), values.get("previous") or None, user=acting_user()
                )
                flash(f"考评期“{period.code}”已创建（草稿）", "success")
                return redirect(url_for("PeriodView.list"))
            except DomainError as exc:
                error = exc.message
        return self.render("eval/period_form.html", title="新建考评周期", schemes=schemes, periods=periods,
                           kinds=PERIOD_KINDS, values=values, error=error)

    @expose("/transition/<int:pk>/<action>", methods=["POST"])
    @has_access
    def transition(self, pk, action):
        period = db.session.get(EvaluationPeriod, pk) or abort(404)
        if action not in ("open", "lock", "publish"):
            abort(404)
        try:
            evaluation.transition(period.code, action, user=acting_user())
            flash(f"考评期“{period.code}”当前状态：{period.state_label}", "success")
        except DomainError as exc:
            flash_error(exc)
        return redirect(url_for("PeriodView.list"))

    @expose("/compute/<int:pk>", methods=["POST"])
    @has_access
    def compute(self, pk):
        """Queue the computation as a background job (a city takes minutes); refused at once
        when the user may not compute, or the period is not computable."""
        period = db.session.get(EvaluationPeriod, pk) or abort(404)
        if not may_run_periods(acting_user()):
            flash("只有市级组织部考评员可以计算考评期结果", "danger")
        elif period.state not in eval_compute.COMPUTABLE_STATES:
            flash(f"考评期“{period.code}”当前状态为{period.state_label}，只有评分中或已锁定的考评期才能计算", "danger")
        else:
            running = jobs.pending("compute", "period", period.code)
            if running is not None:
                flash(f"考评期“{period.code}”已有计算任务在排队或运行中", "info")
                return redirect(url_for("JobView.show", pk=running.id))
            return queue_job("compute", f"计算考评期结果：{period.name}（{period.code}）",
                             {"period": period.code, "back": url_for("PeriodView.list")})
        return redirect(url_for("PeriodView.list"))

    @expose("/unlock/<int:pk>", methods=["POST"])
    @has_access
    def unlock(self, pk):
        period = db.session.get(EvaluationPeriod, pk) or abort(404)
        try:
            eval_results.unlock(period.code, request.form.get("reason", ""), user=acting_user())
            flash(f"考评期“{period.code}”已解锁，恢复为评分中（已记入审计日志）", "success")
        except DomainError as exc:
            flash_error(exc)
        return redirect(url_for("PeriodView.list"))


# ---------------------------------------------------------------- 考评结果


def _fmt2(value):
    return "" if value is None else f"{scoring.round_half_up(float(value)):.2f}"


def _fmt_dict(value):
    if not value:
        return ""
    return "；".join(f"{k}：{'缺' if v is None else _fmt2(v)}" for k, v in value.items())


class ResultView(ResultTraceMixin, ScopedModelView):
    """考评结果 (/results/): scoped by the cadre's unit, unpublished periods for staff and admins;
    each result traced to its inputs at /results/<id>/trace (views_eval_trace)."""

    route_base = "/results"
    # The list loads what it shows: the period from the session (the screen shows one, already
    # loaded without its scheme's dimensions, groups and indicators), the cadre without its
    # unit, and not the JSON columns only the show page and the trace read (100 JSON documents
    # decoded a page).
    datamodel = EagerSQLAInterface(EvaluationResult, options=(
        lazyload(EvaluationResult.period),
        selectinload(EvaluationResult.cadre).options(
            load_only(Cadre.code, Cadre.name, Cadre.position, Cadre.post_category), lazyload(Cadre.org_unit)),
        selectinload(EvaluationResult.org_unit).options(load_only(OrgUnit.name)),
        defer(EvaluationResult.group_scores), defer(EvaluationResult.indicator_scores),
        defer(EvaluationResult.dimension_scores), defer(EvaluationResult.inputs),
    ))
    class_permission_name = "Result"
    method_permission_name = {**MODELVIEW_METHODS, "golden": "read", "listing": "read", "trace": "read"}
    list_title = "考评结果"
    show_title = "考评结果详情"
    base_permissions = ["can_read"]  # results are rebuilt by compute only: no add/edit/delete
    list_template = "eval/result_list.html"
    label_columns = {
        "period": "考评期", "period.code": "考评期", "cadre": "干部", "cadre.code": "干部编号", "cadre.name": "姓名",
        "cadre.post_category": "岗位类别", "org_unit.name": "所属单位", "cadre.position": "职务", "sanping": "三评得分", "group_scores": "各评价组得分",
        "indicator_scores": "实绩指标", "composite_raw": "调整前综合分", "adjustment": "调整分",
        "composite": "综合得分", "rank": "排名", "peer_count": "同类人数", "percentile": "百分位",
        "delta": "较上期", "grade": "等次", "veto": "一票否决", "undetermined": "不定等次", "flags": "提示",
        "computed_at": "计算时间", "cadre_id": "特写", "id": "溯源",
    }
    list_columns = ["period.code", "cadre.code", "cadre.name", "org_unit.name", "cadre.post_category", "sanping",
                    "adjustment",
                    "composite", "rank", "peer_count", "delta", "grade", "flags", "cadre_id", "id"]
    show_columns = ["period", "cadre", "cadre.post_category", "group_scores", "sanping", "indicator_scores",
                    "composite_raw", "adjustment", "composite", "rank", "peer_count", "percentile", "delta", "grade",
                    "veto", "undetermined", "flags", "computed_at", "cadre_id", "id"]
    search_columns = []
    order_columns = ["composite", "rank", "sanping", "delta"]
    base_order = ("composite", "desc")
    base_filters = [
        ["org_unit_id", UnitScopeFilter, lambda: None],  # the cadre's unit, kept on the result
        ["period_id", ResultVisibilityFilter, lambda: None],
        ["cadre_id", ResultScreenFilter, lambda: None],
    ]
    formatters_columns = {
        "sanping": _fmt2, "adjustment": _fmt2, "composite": _fmt2, "composite_raw": _fmt2, "delta": _fmt2,
        "percentile": lambda v: "" if v is None else f"{v * 100:.1f}%",
        "group_scores": _fmt_dict, "indicator_scores": _fmt_dict,
        "veto": lambda v: "是" if v else "否", "undetermined": lambda v: "是" if v else "否",
        "rank": lambda v: "" if v is None else v, "flags": lambda v: v or "",
        "cadre_id": lambda v: Markup(f'<a href="/cadre-profile/{int(v)}">查看特写</a>'),
        "id": trace_link,
    }

    def muldelete(self, items):  # results are rebuilt by compute only
        abort(404)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(self._toolbar())
        return super().render_template(template, **kwargs)

    def _toolbar(self) -> dict:
        periods, selected = screen_periods()
        stale = [p for p in ([selected] if selected else periods) if eval_results.is_stale(p)]
        uncomputed = selected is not None and selected.computed_at is None
        return {"periods": periods, "selected": selected, "stale": stale, "uncomputed": uncomputed,
                "categories": POST_CATEGORIES, "grades": GRADES, "export_period": selected or next(
                    (p for p in periods if p.computed_at), None)}

    @expose("/golden/<fmt>")
    @has_access
    def golden(self, fmt):
        """The results export of DESIGN.md section 7, limited to the rows this user may see;
        a big one (over EXPORT_SYNC_MAX_ROWS rows) is made by a background job."""
        return self._results_export(fmt, "standard")

    @expose("/listing/<fmt>")
    @has_access
    def listing(self, fmt):
        """The results screen as a file: exactly its rows (period, unit, post category, grade
        filters and the row scope), with each cadre's unit and post and 督查实绩."""
        return self._results_export(fmt, "list")

    def _results_export(self, fmt, layout):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        period = period_by_code(request.args.get("period"))
        if period is None or not may_read_results(period):
            abort(404)
        if period.computed_at is None:
            flash(f"考评期“{period.code}”尚未计算结果，请先计算", "warning")
            return redirect(url_for("ResultView.list", period=period.code))
        count = db.session.scalar(select(func.count()).select_from(_visible_codes(period).subquery()))
        if count > current_app.config["EXPORT_SYNC_MAX_ROWS"]:
            return queue_job("results_export", f"导出考评结果：{period.name}（{fmt}）", {
                "period": period.code, "fmt": fmt, "layout": layout, "path": request.path,
                "query": request_query(), "back": url_for("ResultView.list", period=period.code),
            })
        body, mime, name, _count = results_file(period.code, fmt, layout)
        return attachment(body, mime, name)


# ---------------------------------------------------------------- 结果运用


class ResultUseView(EvalBaseView):
    """结果运用: suggestions drawn from the results and the staff decisions on them.

    Declared on the Period resource so that the menu shows only to those who run periods
    (staff and admins); reading, generating and deciding check the Result permissions.
    """

    route_base = "/resultuses"
    class_permission_name = "Period"
    method_permission_name = {"list": "read", "generate": "read", "decide": "read"}
    default_view = "list"

    @expose("/list/")
    @has_access
    def list(self):
        periods = [p for p in eval_results.visible_periods(can_read_unpublished()) if p.computed_at]
        period = period_by_code(request.args.get("period")) or (periods[0] if periods else None)
        if period is not None and (period not in periods or not may_read_results(period)):
            abort(404)
        uses, total, page = [], 0, page_number()
        grades = {}
        if period is not None:
            stmt = apply_cadre_scope(select(ResultUse).where(ResultUse.period_id == period.id), ResultUse.cadre_id,
                                     current_scope_prefix())
            for key in ("suggestion", "decision"):
                value = request.args.get(key)
                if value == "未决定" and key == "decision":
                    stmt = stmt.where(ResultUse.decision.is_(None))
                elif value:
                    stmt = stmt.where(getattr(ResultUse, key) == value)
            total, uses = page_of(
                stmt.join(Cadre, ResultUse.cadre_id == Cadre.id).order_by(ResultUse.suggestion, Cadre.code), page, PAGE)
            grades = dict(db.session.execute(
                select(EvaluationResult.cadre_id, EvaluationResult.grade).where(
                    EvaluationResult.period_id == period.id,
                    EvaluationResult.cadre_id.in_([u.cadre_id for u in uses]),
                )
            ).all())
        return self.render("eval/result_use.html", title="结果运用", periods=periods, period=period, uses=uses,
                           total=total, page=page, page_size=PAGE, grades=grades, decisions=eval_results.DECISIONS,
                           suggestions=(scoring.SUGGEST_PROMOTE, scoring.SUGGEST_TALK, scoring.SUGGEST_ADJUST),
                           may_write=can("write", "Result"))

    @expose("/generate/<int:pk>", methods=["POST"])
    @has_access
    def generate(self, pk):
        period = db.session.get(EvaluationPeriod, pk) or abort(404)
        if not can("write", "Result"):
            abort(403)
        try:
            counts = eval_results.generate_result_uses(period.code, user=acting_user())
            flash(f"已生成结果运用建议：新增 {counts['added']} 条，移除 {counts['removed']} 条未决定的过时建议，"
                  f"共 {counts['total']} 条", "success")
        except DomainError as exc:
            flash_error(exc)
        return redirect(url_for("ResultUseView.list", period=period.code))

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        if not can("write", "Result"):
            abort(403)
        use = db.session.get(ResultUse, pk) or abort(404)
        code = use.period.code
        try:
            eval_results.decide_result_use(pk, request.form.get("decision", ""), request.form.get("note", ""),
                                           request.form.get("version", ""), user=acting_user())
            flash(f"已记录对 {use.cadre.name}（{use.cadre.code}）“{use.suggestion}”的决定", "success")
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash_error(exc)
        back = request.form.get("next", "")
        if not back.startswith("/resultuses/"):
            back = url_for("ResultUseView.list", period=code)
        return redirect(back)
