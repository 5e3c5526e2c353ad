"""考评方案 screens: list, show, the whole-scheme form (validated by scoring.validate_scheme),
JSON upload and download; saved through evaluation.import_scheme."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from app.core.errors import DomainError, ImportRejected
from app.evaluation import periods as evaluation
from app.evaluation import scoring
from app.evaluation.web import EvalBaseView
from app.extensions import db
from app.models import EvaluationPeriod, EvaluationScheme
from app.web.context import acting_user
from app.web.downloads import JSON_MIME, download

# ---------------------------------------------------------------- 考评方案


def _num(form, key, label, errors, cast=float, default=None):
    text = (form.get(key) or "").strip()
    if text == "":
        if default is not None:
            return default
        errors.append(f"{label}不能为空")
        return None
    try:
        return cast(text)
    except ValueError:
        errors.append(f"{label}“{text}”不是有效的数字")
        return None


def scheme_from_form(form) -> tuple[dict, list[str]]:
    """The golden JSON layout of a scheme from the form's rows, and the parse errors."""
    errors: list[str] = []
    dims, seen = [], set()
    for name, weight in zip(form.getlist("dim_name"), form.getlist("dim_weight")):
        name = name.strip()
        if not name and not weight.strip():
            continue
        if name in seen:
            errors.append(f"考评维度名称“{name}”重复")
        seen.add(name)
        dims.append({"name": name, "weight": _num({"w": weight}, "w", f"考评维度“{name}”的权重", errors)})
    groups = []
    rows = zip(form.getlist("grp_name"), form.getlist("grp_kind"), form.getlist("grp_weight"),
               form.getlist("grp_p1"), form.getlist("grp_p2"), form.getlist("grp_p3"), form.getlist("grp_p4"))
    for name, kind, weight, *points in rows:
        name = name.strip()
        if not name and not weight.strip():
            continue
        group = {"name": name, "kind": kind, "weight": _num({"w": weight}, "w", f"评价组“{name}”的权重", errors)}
        if kind == "votes":
            group["points"] = {
                grade: _num({"p": p}, "p", f"评价组“{name}”的“{grade}”票分值", errors)
                for grade, p in zip(scoring.VOTE_GRADES, points)
            }
        groups.append(group)
    indicators = []
    for name, weight, source in zip(form.getlist("ind_name"), form.getlist("ind_weight"), form.getlist("ind_source")):
        name = name.strip()
        if not name and not weight.strip():
            continue
        indicators.append({"name": name, "weight": _num({"w": weight}, "w", f"实绩指标“{name}”的权重", errors),
                           "source": source})
    data = {
        "name": (form.get("name") or "").strip(),
        "trim_min": _num(form, "trim_min", "去掉最高最低分的最少份数", errors, int),
        "dimensions": dims,
        "rater_groups": groups,
        "sanping_weight": _num(form, "sanping_weight", "三评权重 α", errors),
        "indicators": indicators,
        "adjustment_cap": _num(form, "adjustment_cap", "调整分上限", errors),
        "grades": {
            "excellent_min": _num(form, "excellent_min", "优秀分数线", errors),
            "excellent_quota": _num(form, "excellent_quota", "优秀比例", errors),
            "competent_min": _num(form, "competent_min", "称职分数线", errors),
            "basic_min": _num(form, "basic_min", "基本称职分数线", errors),
        },
        "supervision_penalties": {
            key: _num(form, f"pen_{key}", label, errors) for key, label in PENALTY_LABELS.items()
        },
        "appeals_settings": {
            key: _num(form, f"apl_{key}", f"诉求办理实绩的{label}", errors, default=getattr(DEFAULT_APPEALS, key))
            for key, label in scoring.APPEALS_SETTING_LABELS.items()
        },
    }
    return data, errors


DEFAULT_APPEALS = scoring.AppealsSettings()


PENALTY_LABELS = {
    "overdue_task": "每项超期督查事项扣分",
    "general": "每个一般问题扣分",
    "serious": "每个较重问题扣分",
    "severe": "每个严重问题扣分",
    "overdue_rectification": "每个整改超期问题扣分",
}

DEFAULT_SCHEME = {
    "name": "", "trim_min": 5, "sanping_weight": 0.6, "adjustment_cap": 5,
    "dimensions": [{"name": n, "weight": w} for n, w in (("德", 0.2), ("能", 0.2), ("勤", 0.15), ("绩", 0.3), ("廉", 0.15))],
    "rater_groups": [
        {"name": "组织评价", "kind": "scores", "weight": 0.4},
        {"name": "领导和同事评价", "kind": "scores", "weight": 0.3},
        {"name": "群众评价", "kind": "votes", "weight": 0.3, "points": dict(scoring.DEFAULT_VOTE_POINTS)},
    ],
    "indicators": [{"name": "项目建设实绩", "weight": 0.2, "source": "entered"},
                   {"name": "基层治理实绩", "weight": 0.2, "source": "entered"}],
    "grades": {"excellent_min": 90, "excellent_quota": 0.2, "competent_min": 75, "basic_min": 60},
    "supervision_penalties": {"overdue_task": 5, "general": 2, "serious": 5, "severe": 10, "overdue_rectification": 3},
    "appeals_settings": {"sign": 0.3, "reply": 0.4, "satisfaction": 0.3, "reopen": 2},
}


class SchemeView(EvalBaseView):
    """考评方案: list, show, a whole-scheme form, JSON upload and download."""

    route_base = "/schemes"
    class_permission_name = "Scheme"
    method_permission_name = {"list": "read", "show": "read", "json": "read", "form": "write", "upload": "import"}
    default_view = "list"

    @expose("/list/")
    @has_access
    def list(self):
        schemes = db.session.scalars(select(EvaluationScheme).order_by(EvaluationScheme.name)).all()
        used = dict(db.session.execute(
            select(EvaluationPeriod.scheme_id, func.count()).group_by(EvaluationPeriod.scheme_id)
        ).all())
        return self.render("eval/scheme_list.html", title="考评方案", schemes=schemes, used=used)

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        scheme = db.session.get(EvaluationScheme, pk) or abort(404)
        periods = db.session.scalars(select(EvaluationPeriod).where(EvaluationPeriod.scheme_id == pk)).all()
        return self.render("eval/scheme_show.html", title=f"考评方案：{scheme.name}", scheme=scheme,
                           periods=periods, penalties=PENALTY_LABELS,
                           appeals=scoring.APPEALS_SETTING_LABELS)

    @expose("/json/<int:pk>")
    @has_access
    def json(self, pk):
        scheme = db.session.get(EvaluationScheme, pk) or abort(404)
        body = json.dumps(evaluation.scheme_rules(scheme).to_json(), ensure_ascii=False, indent=2).encode("utf-8")
        return download(body, JSON_MIME, f"{scheme.name}.json")

    @expose("/form/", methods=["GET", "POST"])
    @expose("/form/<int:pk>", methods=["GET", "POST"])
    @has_access
    def form(self, pk=None):
        scheme = db.session.get(EvaluationScheme, pk) if pk else None
        if pk and scheme is None:
            abort(404)
        data = evaluation.scheme_rules(scheme).to_json() if scheme else DEFAULT_SCHEME
        errors: list[str] = []
        if request.method == "POST":
            data, errors = scheme_from_form(request.form)
            if not errors:
                try:
                    saved = self._save(scheme, data)
                    flash(f"考评方案“{saved.name}”已保存", "success")
                    return redirect(url_for("SchemeView.show", pk=saved.id))
                except ImportRejected as exc:
                    errors = [msg for _, msg in exc.errors]
                except DomainError as exc:
                    errors = [exc.message]
        title = f"编辑考评方案：{scheme.name}" if scheme else "新建考评方案"
        page = self.render("eval/scheme_form.html", title=title, data=data, errors=errors, scheme=scheme,
                           penalties=PENALTY_LABELS, vote_grades=scoring.VOTE_GRADES,
                           appeals=scoring.APPEALS_SETTING_LABELS)
        return (page, 400) if errors else page  # a refused scheme is a 400, shown with its reasons

    @staticmethod
    def _save(scheme, data) -> EvaluationScheme:
        try:
            if scheme is not None and scheme.name != data["name"]:
                taken = db.session.scalar(select(EvaluationScheme.id).where(EvaluationScheme.name == data["name"]))
                if taken:
                    raise DomainError(f"方案名称“{data['name']}”已被其他方案使用")
                scheme.name = data["name"]  # renamed in place: import_scheme then replaces this scheme
            elif scheme is None and db.session.scalar(
                select(EvaluationScheme.id).where(EvaluationScheme.name == data["name"])
            ):
                raise DomainError(f"方案名称“{data['name']}”已存在；如需修改请编辑该方案")
            saved, _ = evaluation.import_scheme(data, user=acting_user())
            return saved
        except Exception:
            db.session.rollback()
            raise

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        errors = []
        if request.method == "POST":
            file = request.files.get("file")
            if file is None or not file.filename:
                errors = [(None, "请选择要导入的方案文件（.json）")]
            elif not file.filename.lower().endswith(".json"):
                errors = [(None, "方案文件应为 .json 文件")]
            else:
                try:
                    scheme, created = evaluation.import_scheme(file.read(), user=acting_user())
                    flash(f"考评方案“{scheme.name}”已{'创建' if created else '替换'}", "success")
                    return redirect(url_for("SchemeView.show", pk=scheme.id))
                except ImportRejected as exc:
                    db.session.rollback()
                    errors = exc.errors
                except DomainError as exc:
                    db.session.rollback()
                    errors = [(None, exc.message)]
        page = self.render_template(
            "eval/import_json.html", title="导入考评方案（JSON）", errors=errors,
            help="JSON 格式与示例方案 scheme.json 相同：name、trim_min、dimensions、rater_groups、sanping_weight、"
                 "indicators、adjustment_cap、grades、supervision_penalties；同名方案将被替换（仅限未被非草稿考评期使用的方案）。",
            back=url_for("SchemeView.list"),
        )
        return (page, 400) if errors else page
