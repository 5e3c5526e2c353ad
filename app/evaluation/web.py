"""The 干部考评 screens' shared machinery: permission checks, the base page, the results
screen's row filters and the results export of the request's user (used by the screens, the
API and the export job)."""

from __future__ import annotations

from flask import flash, g, request
from flask_appbuilder import BaseView
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import select

from app.core.errors import DomainError, ImportRejected
from app.core.tabular import write_csv, write_xlsx
from app.evaluation import compute as eval_compute
from app.evaluation import results as eval_results
from app.evaluation import scoring
from app.extensions import db
from app.models import (
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
)
from app.security.scope import apply_cadre_scope, current_scope_prefix
from app.web.context import can
from app.web.downloads import CSV_MIME, XLSX_MIME

CATEGORY = "干部考评"


GRADES = (scoring.EXCELLENT, scoring.COMPETENT, scoring.BASIC, scoring.INCOMPETENT, scoring.UNDETERMINED)


PAGE = 50




def can_read_unpublished() -> bool:
    return can("read_unpublished", "Result")


def may_read_results(period: EvaluationPeriod) -> bool:
    """Results of a published period need Result.read; of any other, Result.read_unpublished."""
    return can_read_unpublished() or (period.state == "published" and can("read", "Result"))


def flash_error(exc: DomainError) -> None:
    if isinstance(exc, ImportRejected):
        for row, msg in exc.errors:
            flash(f"第 {row} 行：{msg}" if row else msg, "danger")
    else:
        flash(exc.message, "danger")


def period_by_code(code: str | None) -> EvaluationPeriod | None:
    if not code:
        return None
    return db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == code))


class EvalBaseView(BaseView):
    """A custom 干部考评 page: Chinese templates under eval/, the user's permissions at hand."""

    def render(self, template, **kwargs):
        return self.render_template(template, can=can, view=self, **kwargs)


def apply_result_filters(stmt, args, cadre_column, period_column):
    """?period=CODE, ?unit=CODE (the unit's subtree), ?category=…, ?grade=… on a results query."""
    from app.security.scope import subtree_ids, unit_path_by_code

    if args.get("period"):
        stmt = stmt.where(period_column.in_(select(EvaluationPeriod.id).where(EvaluationPeriod.code == args["period"])))
    if args.get("unit"):
        units = subtree_ids(unit_path_by_code(args["unit"]))
        stmt = stmt.where(EvaluationResult.org_unit_id.in_(units))  # the cadre's unit, on the result
    if args.get("category"):
        stmt = stmt.where(cadre_column.in_(select(Cadre.id).where(Cadre.post_category == args["category"])))
    if args.get("grade"):
        stmt = stmt.where(EvaluationResult.grade == args["grade"])
    return stmt


class ResultVisibilityFilter(BaseFilter):
    """Results of unpublished periods only for users with Result.read_unpublished."""

    name = "已发布"

    def apply(self, query, value):
        if can_read_unpublished():
            return query
        return query.filter(getattr(self.model, self.column_name).in_(eval_results.published_period_ids()))


class ResultRequestFilter(BaseFilter):
    """The screen's own filters (period, county, post category, grade) from the query string."""

    name = "筛选"

    def apply(self, query, value):
        from flask import has_request_context

        if not has_request_context():
            return query
        return apply_result_filters(query, request.args, EvaluationResult.cadre_id, EvaluationResult.period_id)


class ResultScreenFilter(ResultRequestFilter):
    """The results screen's filters: those of ResultRequestFilter, on one period at a time in
    the list (a result's own pages — show, trace — open whatever its period)."""

    def apply(self, query, value):
        from flask import has_request_context

        if not has_request_context() or not (request.endpoint or "").endswith(".list"):
            return super().apply(query, value)
        _periods, period = screen_periods()
        # One period at a time (an index range on (period_id, composite)); an unknown code shows nothing.
        query = query.filter(EvaluationResult.period_id == (period.id if period is not None else -1))
        args = {k: v for k, v in request.args.items() if k != "period"}
        return apply_result_filters(query, args, EvaluationResult.cadre_id, EvaluationResult.period_id)


def screen_periods() -> tuple[list[EvaluationPeriod], EvaluationPeriod | None]:
    """(periods the user may read, the one the results screen shows): ?period=CODE when the
    user may read it, else the latest computed one; once per request."""
    cached = g.get("_result_screen_periods")
    if cached is None:
        periods = eval_results.visible_periods(can_read_unpublished())
        code = request.args.get("period")
        if code:
            selected = next((p for p in periods if p.code == code), None)
        else:
            selected = next((p for p in periods if p.computed_at is not None), None)
        cached = g._result_screen_periods = (periods, selected)
    return cached


def _visible_codes(period: EvaluationPeriod):
    """The codes of the cadres with a result in `period` that the request's user may see,
    in the results screen's filters (?unit=, ?category=, ?grade=)."""
    stmt = select(Cadre.code).join(EvaluationResult, EvaluationResult.cadre_id == Cadre.id).where(
        EvaluationResult.period_id == period.id
    )
    return apply_result_filters(apply_cadre_scope(stmt, Cadre.id, current_scope_prefix()), request.args,
                                EvaluationResult.cadre_id, EvaluationResult.period_id)


def results_file(period_code: str, fmt: str, layout: str = "standard") -> tuple[bytes, str, str, int]:
    """(bytes, MIME type, file name, row count) of the results export for the request's user,
    in the screen's filters; layout "standard" (DESIGN.md section 7) or "list" (the screen's
    rows with unit, post and every indicator, 督查实绩 included). DomainError when the period
    is gone, unreadable or not computed (a job checks again)."""
    period = period_by_code(period_code)
    if period is None or not may_read_results(period):
        raise DomainError(f"考评期“{period_code}”不存在或您无权查看其结果")
    if period.computed_at is None:
        raise DomainError(f"考评期“{period.code}”尚未计算结果，请先计算")
    codes = set(db.session.scalars(_visible_codes(period)))
    listing = layout == "list"
    header, rows = (eval_compute.list_export_rows if listing else eval_compute.export_rows)(period)
    rows = [r for r in rows if r[0] in codes]
    body = write_csv(header, rows) if fmt == "csv" else write_xlsx(header, rows, title=period.code)
    name = f"考评结果{'列表' if listing else ''}_{period.code}{_filter_suffix()}.{fmt}"
    return body, CSV_MIME if fmt == "csv" else XLSX_MIME, name, len(rows)


def _filter_suffix() -> str:
    """The screen's filters in the export's file name (_XY03_优秀)."""
    return "".join(f"_{request.args[k]}" for k in ("unit", "category", "grade") if request.args.get(k))
