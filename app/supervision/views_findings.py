"""督查检查 (/inspections) and 督查发现问题 (/findings): scoped lists, recording forms, and the
rectification workflow (开始整改, 报告整改, 验收销号, 驳回, 问责) as POST buttons.

Changes go through app/services/supervision_findings; there is no generic edit or delete:
a finding moves only by the workflow and is closed by 销号.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, DatePickerWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup
from sqlalchemy import select
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import (
    ACCOUNTABILITY_MEASURES,
    FINDING_STATES,
    SEVERITIES,
    Attachment,
    Finding,
    Inspection,
    RectificationReport,
)
from app.security.roles import FINDING_ACTIONS, MODELVIEW_METHODS
from app.security.scope import RequestUnitFilter
from app.supervision import findings as F
from app.supervision.access import is_liaison
from app.supervision.web import (
    CHOICES,
    FINDING_LABELS,
    ComputedColumnsInterface,
    FindingRequestFilter,
    FindingScopeFilter,
    InspectionScopeFilter,
    LookupRequired,
    MultiLookupField,
    attachment_rows,
    datetime_text,
    describe_cadre,
    describe_unit,
    filter_summary,
    finding_overdue,
    flash_domain_error,
    form_version,
    human_size,
    ids_of,
    only_visible_finding,
    previewable,
    run,
    scoped_cadre,
    scoped_unit,
    send_attachment,
    uploaded_files,
    with_args,
)
from app.web.context import acting_user, can
from app.web.context import request_now as now
from app.web.lookup import LookupField
from app.web.modelview import ScopedModelView

RECTIFY_MODES = [("limited", "限期整改"), ("continuous", "持续整改")]
FINDING_COMPUTED = {
    "state_label": lambda f: F.finding_state_label(f.state),
    "deadline_text": lambda f: "持续整改" if f.continuous or f.deadline is None else f.deadline.isoformat(),
    "overdue": finding_overdue,
    "overdue_text": lambda f: "是" if finding_overdue(f) else "否",
    "cadre_names": lambda f: "、".join(c.name for c in f.cadres),
    "short_description": lambda f: f.description if len(f.description) <= 40 else f.description[:40] + "…",
}
SEVERITY_CLASS = {"一般": "label-default", "较重": "label-warning", "严重": "label-danger"}




def overdue_badge(value: bool) -> Markup:
    return Markup('<span class="label label-danger">超期</span>') if value else Markup("")


def severity_badge(value: str) -> Markup:
    return Markup(f'<span class="label {SEVERITY_CLASS.get(value, "label-default")}">{value}</span>')


# ---------------------------------------------------------------- 督查检查


class InspectionForm(DynamicForm):
    code = StringField("检查编号", [DataRequired(message="请填写检查编号"), Length(max=32)], widget=BS3TextFieldWidget())
    date = DateField("检查日期", [DataRequired(message="请填写检查日期")], widget=DatePickerWidget())
    mode = SelectField("检查方式", choices=[(m, m) for m in F.MODES], widget=Select2Widget())
    place = StringField("检查地点", [DataRequired(message="请填写检查地点"), Length(max=200)], widget=BS3TextFieldWidget())
    team = StringField("检查组", [Optional(), Length(max=200)], widget=BS3TextFieldWidget())
    org_unit = LookupField("被检查单位", [LookupRequired("请选择被检查单位")], loader=scoped_unit,
                           endpoint="LookupView.units", describe=describe_unit)


class InspectionEditForm(InspectionForm):
    expected_version = HiddenField()


class InspectionView(ScopedModelView):
    """督查检查 (明察暗访): list, record, and the findings of each."""

    route_base = "/inspections"
    datamodel = ComputedColumnsInterface(Inspection, {})
    class_permission_name = "Inspection"
    list_title = "督查检查"
    show_title = "督查检查详情"
    add_title = "登记督查检查"
    can_edit = can_delete = False
    label_columns = {"code": "检查编号", "date": "检查日期", "mode": "检查方式", "place": "检查地点", "team": "检查组",
                     "org_unit": "被检查单位", "org_unit.name": "被检查单位", "created_by": "登记人"}
    list_columns = ["code", "date", "mode", "place", "team", "org_unit.name", "created_by"]
    search_columns = ["code", "date", "mode", "place", "team"]
    order_columns = ["code", "date", "mode"]
    base_order = ("date", "desc")
    base_filters = [["id", InspectionScopeFilter, lambda: None], ["org_unit_id", RequestUnitFilter, lambda: None]]
    add_form = InspectionForm
    add_columns = ["code", "date", "mode", "place", "team", "org_unit"]
    export_columns = ["code", "date", "mode", "place", "team", "org_unit.code", "org_unit.name", "created_by"]

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        user = acting_user()
        form = InspectionForm()
        if request.method == "POST" and form.validate():
            try:
                inspection = F.create_inspection(form.code.data, form.date.data, form.place.data, form.team.data,
                                                 form.mode.data, form.org_unit.data.id, user=user, now=now())
            except DomainError as exc:
                flash_domain_error(exc)
            else:
                flash(f"已登记检查“{inspection.code}”，可继续登记发现的问题", "success")
                return redirect(url_for("InspectionView.show", pk=inspection.id))
        widget = self.add_widget(form=form, include_cols=self.add_columns, exclude_cols=[], fieldsets=None)
        return self.render_template(self.add_template, title=self.add_title, widgets={"add": widget})

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        user = acting_user()
        try:
            inspection = F.get_inspection(_int(pk), user)
        except NotFound:
            abort(404)
        findings = db.session.scalars(
            F.scope_findings(select(Finding).where(Finding.inspection_id == inspection.id), user).order_by(Finding.id)
        ).all()
        return self.render_template(
            "supervision/inspection_show.html", title=f"督查检查 {inspection.code}", inspection=inspection,
            findings=findings, may_add=can("write", "Finding"), state_label=F.finding_state_label,
            may_edit=can("write", "Inspection") and F.inspection_editable(inspection),
            overdue=finding_overdue,
        )

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """Correct an inspection until one of its findings was acted on (then it is fixed)."""
        user = acting_user()
        try:
            inspection = F.get_inspection(_int(pk), user)
        except NotFound:
            abort(404)
        if not F.inspection_editable(inspection):
            flash("本次检查发现的问题已开始整改或已记录问责，检查信息不能再修改", "warning")
            return redirect(url_for("InspectionView.show", pk=inspection.id))
        if request.method == "POST":
            form = InspectionEditForm()
        else:
            form = InspectionEditForm(obj=inspection)
            form.expected_version.data = inspection.version
        if request.method == "POST" and form.validate():
            try:
                F.update_inspection(inspection.id, form.code.data, form.date.data, form.place.data, form.team.data,
                                    form.mode.data, form.org_unit.data.id, user=user, now=now(),
                                    expected_version=form_version())
            except DomainError as exc:
                flash_domain_error(exc)
            else:
                flash("检查信息已保存", "success")
                return redirect(url_for("InspectionView.show", pk=inspection.id))
        widget = self.edit_widget(form=form, include_cols=[*self.add_columns, "expected_version"], exclude_cols=[],
                                  fieldsets=None)
        return self.render_template(self.edit_template, title="修改督查检查", widgets={"edit": widget})

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        return _no_generic_change(self, pk, "督查检查登记后不提供删除")

    def muldelete(self, items):  # not an action: inspections are kept
        abort(404)


def _no_generic_change(view, pk, message: str):
    """404 out of scope (like a missing row); in scope, a Chinese explanation."""
    view._scoped_get(_int(pk))
    flash(message, "warning")
    return redirect(url_for(f"{type(view).__name__}.show", pk=pk))


def _int(pk) -> int:
    if not str(pk).isdigit():
        abort(404)
    return int(pk)


# ---------------------------------------------------------------- 督查发现问题


class FindingForm(DynamicForm):
    inspection = SelectField("所属检查", coerce=int, choices=[], widget=Select2Widget())
    org_unit = LookupField("问题单位", [LookupRequired("请选择问题所在单位")], loader=scoped_unit,
                           endpoint="LookupView.units", describe=describe_unit)
    cadres = MultiLookupField("责任干部", [Optional()], loader=scoped_cadre, endpoint="LookupView.cadres",
                              describe=describe_cadre, description="问题计入所列干部的督查实绩")
    description = TextAreaField("问题描述", [DataRequired(message="请填写问题描述")], widget=BS3TextAreaFieldWidget())
    category = StringField("问题类别", [DataRequired(message="请填写问题类别"), Length(max=50)],
                           widget=BS3TextFieldWidget(), description="如：作风建设、安全生产、环境整治、民生服务")
    severity = SelectField("严重程度", choices=[(s, s) for s in SEVERITIES], widget=Select2Widget())
    requirement = TextAreaField("整改要求", [Optional()], widget=BS3TextAreaFieldWidget())
    mode = SelectField("整改方式", choices=RECTIFY_MODES, widget=Select2Widget())
    deadline = DateField("整改期限", [Optional()], widget=DatePickerWidget(), description="限期整改必填；持续整改不设期限")
    found_on = DateField("发现日期", [Optional()], widget=DatePickerWidget(), description="默认为检查日期")

    def fill_inspections(self, user) -> None:
        stmt = F.scope_inspections(select(Inspection), user).order_by(Inspection.date.desc(), Inspection.id.desc())
        self.inspection.choices = [(i.id, f"{i.code} {i.date} {i.place}") for i in db.session.scalars(stmt.limit(200))]


class FindingView(ScopedModelView):
    """督查发现问题: scoped list with the overdue flag, the rectification workflow on show."""

    route_base = "/findings"
    datamodel = ComputedColumnsInterface(Finding, FINDING_COMPUTED)
    class_permission_name = "Finding"
    method_permission_name = {**MODELVIEW_METHODS, **FINDING_ACTIONS}
    list_title = "督查发现问题"
    show_title = "督查发现问题详情"
    add_title = "登记发现问题"
    can_edit = can_delete = False
    list_template = "supervision/finding_list.html"
    keyword_columns = ("description", "category", "org_unit.name", "org_unit.code")
    label_columns = FINDING_LABELS
    list_columns = ["found_on", "org_unit.name", "category", "severity", "short_description", "cadre_names",
                    "state_label", "deadline_text", "overdue", "accountability"]
    order_columns = ["found_on", "category", "severity", "deadline"]
    search_columns = ["category", "severity", "state", "found_on", "description", "accountability"]
    search_form_extra_fields = {
        "state": SelectField("状态", choices=list(FINDING_STATES.items()), widget=Select2Widget()),
        "severity": SelectField("严重程度", choices=[(s, s) for s in SEVERITIES], widget=Select2Widget()),
    }
    base_order = ("found_on", "desc")
    base_filters = [["id", FindingScopeFilter, lambda: None], ["id", FindingRequestFilter, lambda: None]]
    formatters_columns = {"overdue": overdue_badge, "severity": severity_badge}
    add_form = FindingForm
    add_columns = ["inspection", "org_unit", "cadres", "description", "category", "severity", "requirement", "mode",
                   "deadline", "found_on"]
    export_columns = ["found_on", "inspection.code", "org_unit.code", "org_unit.name", "category", "severity",
                      "description", "cadre_names", "requirement", "deadline_text", "state_label", "overdue_text",
                      "rectified_at", "closed_at", "accountability", "accountability_note"]

    def render_template(self, template, **kwargs):
        kwargs.setdefault("filter_summary", filter_summary("finding"))
        kwargs.setdefault("choices", CHOICES)
        kwargs.setdefault("with_args", with_args)
        return super().render_template(template, **kwargs)

    def _export_value(self, item, column):
        if column in FINDING_COMPUTED:
            return FINDING_COMPUTED[column](item)
        return super()._export_value(item, column)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        user = acting_user()
        form = FindingForm()
        form.fill_inspections(user)
        if request.method == "GET" and request.args.get("inspection", "").isdigit():
            form.inspection.data = int(request.args["inspection"])
        if request.method == "POST" and form.validate():
            try:
                finding = F.add_finding(
                    form.inspection.data, form.org_unit.data.id, form.description.data, form.category.data,
                    form.severity.data, cadre_ids=ids_of(form.cadres.data), requirement=form.requirement.data,
                    deadline=form.deadline.data, continuous=form.mode.data == "continuous", user=user,
                    found_on=form.found_on.data, now=now(),
                )
            except DomainError as exc:
                flash_domain_error(exc)
            else:
                flash("问题已登记，等待问题单位整改", "success")
                return redirect(url_for("FindingView.show", pk=finding.id))
        widget = self.add_widget(form=form, include_cols=self.add_columns, exclude_cols=[], fieldsets=None)
        return self.render_template(self.add_template, title=self.add_title, widgets={"add": widget})

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        user = acting_user()
        return self._show_page(only_visible_finding(_int(pk), user), user)

    def _show_page(self, finding, user, kept: dict | None = None):
        """The show page; `kept`: a refused rectification report's input, shown again."""
        reports = db.session.scalars(
            select(RectificationReport).where(RectificationReport.finding_id == finding.id)
            .order_by(RectificationReport.created_at, RectificationReport.id)
        ).all()
        return self.render_template(
            "supervision/finding_show.html", title="督查发现问题详情", finding=finding, reports=reports,
            attachments=attachment_rows("rectification_report", [r.id for r in reports]),
            acts=finding_actions(finding, user), overdue=finding_overdue(finding),
            state_label=F.finding_state_label(finding.state), measures=ACCOUNTABILITY_MEASURES,
            chosen=(finding.accountability or "").split("、"), fmt={"dt": datetime_text, "size": human_size, "preview": previewable},
            kept=kept or {},
        )

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return _no_generic_change(self, pk, "发现问题的状态只能通过整改、验收等操作改变，不提供直接修改")

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        return _no_generic_change(self, pk, "发现问题不能删除，整改验收后销号")

    def muldelete(self, items):  # not an action: findings are closed by 销号, never deleted
        abort(404)

    @expose("/attachment/<int:aid>")
    @has_access
    def attachment(self, aid):
        row = db.session.get(Attachment, aid)
        if row is None or row.owner_table != "rectification_report":
            abort(404)
        report = db.session.get(RectificationReport, row.owner_id)
        if report is None:
            abort(404)
        only_visible_finding(report.finding_id, acting_user())
        return send_attachment(row)

    # ------------------------------------------------------------ workflow buttons

    @expose("/<int:pk>/start", methods=["POST"])
    @has_access
    def start(self, pk):
        return _finding_command(pk, lambda u: F.start_rectification(pk, user=u, expected_version=form_version()),
                                "已开始整改")

    @expose("/<int:pk>/rectification", methods=["POST"])
    @has_access
    def rectification(self, pk):
        text, files = request.form.get("text"), uploaded_files()
        user = acting_user()
        only_visible_finding(pk, user)
        try:
            F.report_rectification(pk, text, files, user=user, now=now(), expected_version=form_version())
        except DomainError as exc:
            flash_domain_error(exc)
            kept = {"text": text or "", "files": bool(files)}  # the user's input, in the open form again
            return self._show_page(only_visible_finding(pk, user), user, kept)
        flash("整改情况已报送，等待督查员验收", "success")
        return redirect(url_for("FindingView.show", pk=pk))

    @expose("/<int:pk>/verify", methods=["POST"])
    @has_access
    def verify(self, pk):
        note = request.form.get("note")
        return _finding_command(pk, lambda u: F.verify(pk, user=u, now=now(), note=note,
                                                       expected_version=form_version()), "验收通过，问题已销号")

    @expose("/<int:pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        note = request.form.get("note")
        return _finding_command(pk, lambda u: F.reject(pk, note, user=u, now=now(), expected_version=form_version()),
                                "已驳回，问题单位须继续整改")

    @expose("/<int:pk>/accountability", methods=["POST"])
    @has_access
    def accountability(self, pk):
        measures, note = request.form.getlist("measures"), request.form.get("note")
        return _finding_command(pk, lambda u: F.set_accountability(pk, measures, note, user=u,
                                                                   expected_version=form_version()), "问责情况已记录")


def _finding_command(pk: int, fn, success: str):
    user = acting_user()
    only_visible_finding(pk, user)
    return run(lambda: fn(user), success, url_for("FindingView.show", pk=pk))


def finding_actions(finding: Finding, user) -> dict:
    """Which buttons the user sees on a finding."""
    supervise = can("write", "Finding")
    own = can("rectify", "Finding") and is_liaison(user) and finding.org_unit_id == user.org_unit_id
    return {
        "start": own and finding.state == "pending",
        "report": own and finding.state == "rectifying",
        "verify": supervise and finding.state == "awaiting_verification",
        "reject": supervise and finding.state == "awaiting_verification",
        "accountability": supervise,
    }
