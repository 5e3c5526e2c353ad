"""干部考评 entry screens: the score/ballot/indicator grids, uploads, and adjustments."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.core.errors import DomainError
from app.evaluation import entry as eval_entry
from app.evaluation import imports as eval_import
from app.evaluation.web import PAGE, EvalBaseView, flash_error, period_by_code
from app.extensions import db
from app.models import (
    ADJUSTMENT_KINDS,
    ADJUSTMENT_STATUSES,
    Adjustment,
    Ballot,
    Cadre,
    EvaluationPeriod,
    IndicatorScore,
    RaterGroup,
    ScoreSheet,
)
from app.org.users import people_by_id, person_label
from app.security.scope import apply_cadre_scope, current_scope_prefix
from app.web.context import acting_user
from app.web.downloads import XLSX_MIME
from app.web.downloads import download as attachment
from app.web.modelview import queue_upload
from app.web.paging import page_number, page_of

UPLOADS = {
    "sheets": ("导入评分表或票数", eval_import.import_sheets,
               "评分表列：干部编号、评价组、各维度名称（每行一张评分表）；票数列：干部编号、评价组、优秀、称职、基本称职、"
               "不称职、不了解（每名干部每个投票组一行，重复导入将替换）。"),
    "indicators": ("导入实绩指标得分", eval_import.import_indicators,
                   "列：干部编号、指标、得分（0–100）；重复导入同一干部同一指标将替换原得分。"),
    "adjustments": ("导入加减分调整", eval_import.import_adjustments,
                    "列：干部编号、类型（加分/减分/一票否决/不定等次）、分值、事由；导入的调整视为已审批。"),
}


def _cadre_text(cadre: Cadre) -> str:
    return f"{cadre.name}（{cadre.code}）"


def _cadre_filter(stmt, column):
    q = (request.args.get("q") or "").strip()
    if q:
        ids = select(Cadre.id).where(or_(Cadre.code.startswith(q, autoescape=True),
                                         Cadre.name.startswith(q, autoescape=True)))
        stmt = stmt.where(column.in_(ids))
    return apply_cadre_scope(stmt, column, current_scope_prefix())


_page = page_number


def _cadres(ids) -> dict[int, Cadre]:
    return {c.id: c for c in db.session.scalars(select(Cadre).where(Cadre.id.in_(set(ids))))}


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _respond(call, counted=None):
    """Run a service call for a grid row; JSON answer with per-field Chinese errors (counted:
    the (period id, group id) whose sheets of the row's cadre are counted in the answer)."""
    try:
        row = call()
    except eval_entry.InvalidInput as exc:
        return jsonify(message=exc.message, errors=exc.fields), 400
    except DomainError as exc:
        return jsonify(message=exc.message), exc.status
    if row and row.get("cadre_id"):
        cadre = db.session.get(Cadre, row["cadre_id"])
        row["cadre_text"] = _cadre_text(cadre)
        row["entered_by"] = person_label(acting_user())
        if counted is not None:
            row["cadre_sheets"] = db.session.scalar(select(func.count()).select_from(ScoreSheet).where(
                ScoreSheet.period_id == counted[0], ScoreSheet.group_id == counted[1],
                ScoreSheet.cadre_id == cadre.id))
    return jsonify(ok=True, row=row)


class EntryView(EvalBaseView):
    """评分录入: a keyboard-first grid per period and rater group, indicator scores, uploads."""

    route_base = "/entry"
    class_permission_name = "Score"
    method_permission_name = {
        "list": "read", "grid": "read", "indicators": "read",
        "sheet": "write", "sheet_delete": "write", "ballot": "write", "indicator": "write",
        "upload": "import", "template": "import",
    }
    default_view = "list"

    def _period(self, period_id) -> EvaluationPeriod:
        return db.session.get(EvaluationPeriod, period_id) or abort(404)

    def _group(self, period, group_id) -> RaterGroup:
        group = db.session.get(RaterGroup, group_id)
        if group is None or group.scheme_id != period.scheme_id:
            abort(404)
        return group

    @expose("/list/")
    @has_access
    def list(self):
        periods = db.session.scalars(
            select(EvaluationPeriod).where(EvaluationPeriod.state != "draft")
            .order_by(EvaluationPeriod.start_date.desc(), EvaluationPeriod.code.desc())
        ).all()
        return self.render("eval/entry_index.html", title="评分录入", periods=periods, uploads=UPLOADS)

    @expose("/grid/<int:period_id>/<int:group_id>")
    @has_access
    def grid(self, period_id, group_id):
        period = self._period(period_id)
        group = self._group(period, group_id)
        if group.kind == "scores":
            fields = [{"key": str(d.id), "label": d.name, "max": 100} for d in period.scheme.dimensions]
            rows, total = self._sheet_rows(period, group)
            urls = {"save": url_for("EntryView.sheet", period_id=period.id, group_id=group.id),
                    "delete": url_for("EntryView.sheet_delete", period_id=period.id, group_id=group.id)}
            kind, hint = "sheet", "每行一张评分表；同一干部可录入多张。各维度得分 0–100。"
        else:
            fields = [{"key": k, "label": label, "integer": True} for k, label in eval_entry.VOTE_FIELDS.items()]
            rows, total = self._ballot_rows(period, group)
            urls = {"save": url_for("EntryView.ballot", period_id=period.id, group_id=group.id)}
            kind, hint = "ballot", "每名干部一行，填写各等次票数；再次保存同一干部将替换原票数。"
        return self._render_grid(period, f"{group.name}（{group.kind_label}）", kind, fields, rows, total, urls, hint,
                                 group=group)

    @expose("/indicators/<int:period_id>")
    @has_access
    def indicators(self, period_id):
        period = self._period(period_id)
        fields = [{"key": str(i.id), "label": i.name, "max": 100, "optional": True}
                  for i in eval_entry.entered_indicators(period)]
        if not fields:
            flash("该考评方案没有需要录入的实绩指标", "info")
            return redirect(url_for("EntryView.list"))
        stmt = _cadre_filter(select(IndicatorScore.cadre_id).where(IndicatorScore.period_id == period.id).distinct(),
                             IndicatorScore.cadre_id)
        total, ids = page_of(stmt.order_by(IndicatorScore.cadre_id.desc()), _page(), PAGE)
        cadres = _cadres(ids)
        values: dict[int, dict] = {cid: {} for cid in ids}
        for s in db.session.scalars(select(IndicatorScore).where(IndicatorScore.period_id == period.id,
                                                                 IndicatorScore.cadre_id.in_(ids))):
            values[s.cadre_id][str(s.indicator_id)] = s.score
        entered: dict[int, set] = {cid: set() for cid in ids}
        for cid, uid in db.session.execute(select(IndicatorScore.cadre_id, IndicatorScore.entered_by_id).where(
                IndicatorScore.period_id == period.id, IndicatorScore.cadre_id.in_(ids))):
            entered[cid].add(uid)
        people = people_by_id(uid for uids in entered.values() for uid in uids)
        rows = [{"id": cid, "cadre_id": cid, "cadre_text": _cadre_text(cadres[cid]), "values": values[cid],
                 "entered_by": _entered_text(entered[cid], people)} for cid in ids]
        urls = {"save": url_for("EntryView.indicator", period_id=period.id)}
        return self._render_grid(period, "实绩指标得分", "indicator", fields, rows, total, urls,
                                 "每名干部一行；留空的指标不录入（已有得分将被删除）。督查实绩由督查数据自动计算，不在此录入。")

    def _render_grid(self, period, subject, kind, fields, rows, total, urls, hint, group=None):
        editable = period.state == "scoring" and self.appbuilder.sm.has_access("can_write", "Score")
        config = {"kind": kind, "fields": fields, "rows": rows, "urls": urls, "editable": editable,
                  "lookup": url_for("LookupView.cadres")}
        return self.render("eval/entry_grid.html", title=f"评分录入：{period.name} · {subject}", period=period,
                           subject=subject, grid_config=config, fields=fields, total=total, page=_page(),
                           page_size=PAGE, hint=hint, editable=editable, group=group)

    def _sheet_rows(self, period, group):
        stmt = _cadre_filter(select(ScoreSheet).where(ScoreSheet.period_id == period.id,
                                                      ScoreSheet.group_id == group.id), ScoreSheet.cadre_id)
        total, sheets = page_of(stmt.options(selectinload(ScoreSheet.scores)).order_by(ScoreSheet.id.desc()),
                                _page(), PAGE)
        cadres = _cadres(s.cadre_id for s in sheets)
        people = people_by_id(s.entered_by_id for s in sheets)
        counts = sheet_counts(period, group, cadres)
        rows = []
        for sheet in sheets:
            row = eval_entry.sheet_dict(sheet)
            row["cadre_text"] = _cadre_text(cadres[sheet.cadre_id])
            row["entered_by"] = _entered_text({sheet.entered_by_id}, people)
            row["cadre_sheets"] = counts.get(sheet.cadre_id, 0)
            rows.append(row)
        return rows, total

    def _ballot_rows(self, period, group):
        stmt = _cadre_filter(select(Ballot).where(Ballot.period_id == period.id, Ballot.group_id == group.id),
                             Ballot.cadre_id)
        total, ballots = page_of(stmt.order_by(Ballot.id.desc()), _page(), PAGE)
        cadres = _cadres(b.cadre_id for b in ballots)
        people = people_by_id(b.entered_by_id for b in ballots)
        rows = []
        for ballot in ballots:
            row = eval_entry.ballot_dict(ballot)
            row["cadre_text"] = _cadre_text(cadres[ballot.cadre_id])
            row["entered_by"] = _entered_text({ballot.entered_by_id}, people)
            rows.append(row)
        return rows, total

    @expose("/sheet/<int:period_id>/<int:group_id>", methods=["POST"])
    @has_access
    def sheet(self, period_id, group_id):
        body = _json_body()
        return _respond(lambda: eval_entry.save_sheet(
            period_id, group_id, body.get("cadre_id"), body.get("values") or {}, body.get("id"), body.get("version"), user=acting_user()
        ), counted=(period_id, group_id))

    @expose("/sheet_delete/<int:period_id>/<int:group_id>", methods=["POST"])
    @has_access
    def sheet_delete(self, period_id, group_id):
        body = _json_body()
        return _respond(lambda: eval_entry.delete_sheet(period_id, group_id, body.get("id"), body.get("version"), user=acting_user()))

    @expose("/ballot/<int:period_id>/<int:group_id>", methods=["POST"])
    @has_access
    def ballot(self, period_id, group_id):
        body = _json_body()
        return _respond(lambda: eval_entry.save_ballot(period_id, group_id, body.get("cadre_id"),
                                                       body.get("values") or {}, user=acting_user()))

    @expose("/indicator/<int:period_id>", methods=["POST"])
    @has_access
    def indicator(self, period_id):
        body = _json_body()
        return _respond(lambda: eval_entry.save_indicators(period_id, body.get("cadre_id"), body.get("values") or {}, user=acting_user()))

    @expose("/template/<int:period_id>/<int:group_id>")
    @has_access
    def template(self, period_id, group_id):
        """An .xlsx to fill in for an upload of this period and rater group (评分表 or 票数)."""
        period = self._period(period_id)
        group = self._group(period, group_id)
        body, name = eval_import.sheet_template(period, group, user=acting_user())
        return attachment(body, XLSX_MIME, name)

    @expose("/upload/<int:period_id>/<kind>", methods=["GET", "POST"])
    @has_access
    def upload(self, period_id, kind):
        period = self._period(period_id)
        if kind not in UPLOADS:
            abort(404)
        title, _service, help_text = UPLOADS[kind]
        errors = []
        if request.method == "POST":  # the import itself runs as a background job (app/job_kinds.py)
            try:
                return queue_upload("eval_import", f"{title}（{period.name}）", {
                    "period": period.code, "upload": kind, "back": url_for("EntryView.list"),
                })
            except DomainError as exc:
                errors = [(None, exc.message)]
        return self.render_template("import.html", title=f"{title}：{period.name}", errors=errors, help=help_text,
                                    back=url_for("EntryView.list"))


def _entered_text(user_ids: set, people: dict) -> str:
    """Who entered a grid row: names and units; 命令行 for rows entered by a command."""
    names = sorted(people[u] for u in user_ids if u is not None)
    if None in user_ids:
        names.append("（未记录）")
    return "、".join(names)


def sheet_counts(period, group, cadres: dict) -> dict[int, int]:
    """{cadre id: how many sheets of `group` the cadre has in `period`} for the given cadres."""
    if not cadres:
        return {}
    return dict(db.session.execute(
        select(ScoreSheet.cadre_id, func.count()).where(
            ScoreSheet.period_id == period.id, ScoreSheet.group_id == group.id, ScoreSheet.cadre_id.in_(list(cadres)))
        .group_by(ScoreSheet.cadre_id)).all())


def describe_counts(counts: dict) -> str:
    labels = {"sheets": "评分表", "ballots": "票数", "replaced": "替换", "scores": "指标得分", "adjustments": "调整"}
    return "，".join(f"{labels[k]} {v} 条" for k, v in counts.items() if k in labels)


class AdjustmentView(EvalBaseView):
    """加减分调整: proposed by one staff member, approved or rejected by another."""

    route_base = "/adjustments"
    class_permission_name = "Adjustment"
    method_permission_name = {"list": "read", "propose": "write", "approve": "approve", "reject": "approve"}
    default_view = "list"

    @expose("/list/")
    @has_access
    def list(self):
        periods = db.session.scalars(
            select(EvaluationPeriod).where(EvaluationPeriod.state != "draft")
            .order_by(EvaluationPeriod.start_date.desc(), EvaluationPeriod.code.desc())
        ).all()
        period = period_by_code(request.args.get("period")) or next(
            (p for p in periods if p.state == "scoring"), periods[0] if periods else None)
        items, total, cadres = [], 0, {}
        if period is not None:
            stmt = _cadre_filter(select(Adjustment).where(Adjustment.period_id == period.id), Adjustment.cadre_id)
            status = request.args.get("status")
            if status in ADJUSTMENT_STATUSES:
                stmt = stmt.where(Adjustment.status == status)
            total, items = page_of(stmt.order_by(Adjustment.id.desc()), _page(), PAGE)
            cadres = _cadres(a.cadre_id for a in items)
        from app.core.audit import actor

        return self.render("eval/adjustments.html", title="加减分调整", periods=periods, period=period, items=items,
                           total=total, page=_page(), page_size=PAGE, cadres=cadres, kinds=ADJUSTMENT_KINDS,
                           statuses=ADJUSTMENT_STATUSES, me=actor()[1])

    def _back(self, period_id):
        period = db.session.get(EvaluationPeriod, period_id)
        return redirect(url_for("AdjustmentView.list", period=period.code if period else None))

    @expose("/propose/<int:period_id>", methods=["POST"])
    @has_access
    def propose(self, period_id):
        form = request.form
        try:
            item = eval_entry.propose_adjustment(period_id, form.get("cadre"), form.get("kind", ""),
                                                 form.get("value"), form.get("reason", ""), user=acting_user())
            flash(f"已提议{item.kind}调整，待另一名考评员审批后生效", "success")
        except DomainError as exc:
            flash_error(exc)
        return self._back(period_id)

    def _decide(self, pk, approve):
        item = db.session.get(Adjustment, pk) or abort(404)
        period_id = item.period_id
        try:
            eval_entry.decide_adjustment(pk, approve, user=acting_user())
            flash("调整已批准，结果需重新计算" if approve else "调整已驳回", "success")
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash_error(exc)
        return self._back(period_id)

    @expose("/approve/<int:pk>", methods=["POST"])
    @has_access
    def approve(self, pk):
        return self._decide(pk, True)

    @expose("/reject/<int:pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self._decide(pk, False)
