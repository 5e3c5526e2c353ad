"""督查督办 screens: 督查事项 (/tasks) with the 13710 workflow as POST buttons; the findings,
settings, to-do and board screens live in views_supervision_* and are registered here.

Every change goes through app/services/supervision_tasks (validation, scope, audit,
transaction); the views only declare columns and turn refusals into Chinese messages.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action as fab_action
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, DatePickerWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select
from sqlalchemy.orm import defaultload, lazyload, load_only
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import (
    TASK_CATEGORIES,
    TASK_STATES,
    Cadre,
    ExtensionRequest,
    OrgUnit,
    SupervisionTask,
    TaskAssignment,
    TaskReminder,
    TimeLimitRule,
)
from app.security.roles import MODELVIEW_METHODS, TASK_ACTIONS
from app.supervision import tasks as S
from app.supervision.access import (
    ACTIVE_STATES,
    get_report_attachment,
    is_liaison,
    task_reports,
    visible_assignment_ids,
)
from app.supervision.reminders import LEVEL_LABELS
from app.supervision.web import (
    CHOICES,
    TASK_LABELS,
    ComputedColumnsInterface,
    LookupRequired,
    MultiLookupField,
    TaskRequestFilter,
    TaskScopeFilter,
    attachment_rows,
    datetime_text,
    days_late_text,
    describe_cadre,
    describe_unit,
    due_text,
    filter_summary,
    flash_domain_error,
    form_version,
    human_size,
    ids_of,
    light_badge,
    only_visible_task,
    parse_date,
    previewable,
    run,
    scoped_cadre,
    scoped_unit,
    send_attachment,
    task_light_now,
    uploaded_files,
    with_args,
)
from app.web.context import acting_user
from app.web.context import can as _can
from app.web.context import request_now as now
from app.web.lookup import LookupField
from app.web.modelview import ScopedModelView

CATEGORY = "督查督办"
EXTENSION_STATES = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"}
REPORT_KINDS = {"progress": "进展反馈", "completion": "办结报告"}

TASK_COMPUTED = {
    "state_label": lambda t: S.state_label(t.state),
    "light": task_light_now,
    "light_label": lambda t: S.LIGHT_LABELS.get(task_light_now(t), ""),
    "days_late": lambda t: S.days_late(t, now()),
    "late_text": lambda t: S.late_text(t, now()),
    "assist_names": lambda t: "、".join(u.name for u in t.assist_units),
    "complete_due_text": lambda t: due_text(t.complete_due),
}
FORM_COLUMNS = ["code", "title", "category", "rule", "manual_deadline", "lead_unit", "assist_units",
                "responsible_cadre", "leader_in_charge", "source", "content", "expected_version"]



def _unit_lookup(label, required):
    return LookupField(label, [LookupRequired(f"请选择{label}")] if required else [Optional()],
                       loader=scoped_unit, endpoint="LookupView.units", describe=describe_unit)


class TaskForm(DynamicForm):
    """A draft's fields. No state field: states move only by the workflow buttons."""

    code = StringField("事项编号", [DataRequired(message="请填写事项编号"), Length(max=32)], widget=BS3TextFieldWidget(),
                       description="新建时自动编号（如 DC-2026-0001），可以修改，不能与已有事项重复")
    title = StringField("事项名称", [DataRequired(message="请填写事项名称"), Length(max=200)], widget=BS3TextFieldWidget())
    category = SelectField("事项类别", choices=[(c, c) for c in TASK_CATEGORIES], widget=Select2Widget(),
                           description="督大事：重大决策部署；督难事：重点难点任务；督实事：民生实事")
    rule = SelectField("时限规则", coerce=int, choices=[], widget=Select2Widget(),
                       description="13710：当天签收部署，3 天内首次反馈，普通事项 7 天、重大复杂事项 1 个月内办结；"
                                   "长期事项须人工设定办结期限，每 7 天反馈一次")
    manual_deadline = DateField("办结期限（人工设定）", [Optional()], widget=DatePickerWidget(),
                                description="长期事项必填；其他事项填写后代替按规则计算的办结期限",
                                render_kw={"data-past-warning": "该办结期限早于今天，已经过期：交办前请修改"})
    lead_unit = _unit_lookup("主办单位", True)
    assist_units = MultiLookupField("协办单位", [Optional()], loader=scoped_unit, endpoint="LookupView.units",
                                    describe=describe_unit)
    responsible_cadre = LookupField("责任干部", [Optional()], loader=scoped_cadre, endpoint="LookupView.cadres",
                                    describe=describe_cadre, description="督查实绩计入该干部的考评")
    leader_in_charge = StringField("分管领导", [Optional(), Length(max=50)], widget=BS3TextFieldWidget())
    source = StringField("事项来源", [Optional(), Length(max=100)], widget=BS3TextFieldWidget(),
                         description="如：市委常委会议定事项、群众来信来访")
    content = TextAreaField("事项内容", [Optional()], widget=BS3TextAreaFieldWidget())
    expected_version = HiddenField()

    def fill_rules(self) -> None:
        rules = db.session.scalars(select(TimeLimitRule).where(TimeLimitRule.active).order_by(TimeLimitRule.id))
        self.rule.choices = [(r.id, r.name) for r in rules]

    def service_fields(self) -> dict:
        """The keyword fields of create_task/update_draft."""
        return {
            "code": self.code.data, "title": self.title.data, "content": self.content.data,
            "source": self.source.data, "category": self.category.data, "rule_id": self.rule.data,
            "lead_unit_id": self.lead_unit.data.id, "assist_unit_ids": ids_of(self.assist_units.data),
            "responsible_cadre_id": self.responsible_cadre.data.id if self.responsible_cadre.data else None,
            "leader_in_charge": self.leader_in_charge.data, "manual_deadline": self.manual_deadline.data,
        }


def can(perm: str, resource: str = "Task") -> bool:
    return _can(perm, resource)


class TaskView(ScopedModelView):
    """督查事项: scoped list with lights, draft forms, and the workflow on the show page."""

    route_base = "/tasks"
    # The list and its export load what they show, no more. The responsible cadre's own unit
    # is never shown: joining it inside the outer join of the cadre made SQLite materialize
    # cadre x unit (50,000 rows) for every page. Neither are the rule, the lead unit's parent
    # nor the assignments' units (the lights need only the assignments' dates); the assisting
    # units only in the export. A 25-row page: 21 → 15 ms to load on PostgreSQL.
    datamodel = ComputedColumnsInterface(
        SupervisionTask, TASK_COMPUTED,
        list_options=(
            lazyload(SupervisionTask.rule),
            defaultload(SupervisionTask.responsible_cadre).options(
                load_only(Cadre.code, Cadre.name), lazyload(Cadre.org_unit)),
            defaultload(SupervisionTask.lead_unit).options(
                load_only(OrgUnit.code, OrgUnit.name), lazyload(OrgUnit.parent)),
            defaultload(SupervisionTask.assignments).lazyload(TaskAssignment.org_unit),
            defaultload(SupervisionTask.assist_units).lazyload(OrgUnit.parent),
        ),
        page_options=(lazyload(SupervisionTask.assist_units),),
    )
    class_permission_name = "Task"
    method_permission_name = {**MODELVIEW_METHODS, **TASK_ACTIONS}
    list_title = "督查事项"
    show_title = "督查事项详情"
    add_title = "新建督查事项（草稿）"
    edit_title = "修改督查事项（草稿）"
    list_template = "supervision/task_list.html"
    label_columns = TASK_LABELS
    list_columns = ["code", "title", "category", "state_label", "light", "late_text", "lead_unit.name",
                    "responsible_cadre.name", "complete_due"]
    order_columns = ["code", "title", "category", "complete_due"]
    search_columns = ["code", "title", "state", "category", "source", "complete_due"]
    search_form_extra_fields = {
        "state": SelectField("状态", choices=list(TASK_STATES.items()), widget=Select2Widget()),
        "category": SelectField("事项类别", choices=[(c, c) for c in TASK_CATEGORIES], widget=Select2Widget()),
    }
    base_order = ("id", "desc")
    base_filters = [["id", TaskScopeFilter, lambda: None], ["id", TaskRequestFilter, lambda: None]]
    formatters_columns = {"light": light_badge, "complete_due": due_text, "days_late": days_late_text}
    add_form = edit_form = TaskForm
    add_columns = edit_columns = FORM_COLUMNS
    export_columns = ["code", "title", "category", "state_label", "light_label", "days_late", "late_text",
                      "lead_unit.code",
                      "lead_unit.name", "assist_names", "responsible_cadre.code", "responsible_cadre.name",
                      "leader_in_charge", "source", "assigned_at", "complete_due_text", "submitted_at", "completed_at"]

    def row_editable(self, row: dict) -> bool:
        """Edit and delete only drafts: after assignment the workflow buttons move a task."""
        return row.get("state_label") == TASK_STATES["draft"]

    row_deletable = row_editable

    def render_template(self, template, **kwargs):
        kwargs.setdefault("filter_summary", filter_summary("task"))
        kwargs.setdefault("choices", CHOICES)
        kwargs.setdefault("with_args", with_args)
        return super().render_template(template, **kwargs)

    def _export_value(self, item, column):
        if column in TASK_COMPUTED:
            return TASK_COMPUTED[column](item)
        return super()._export_value(item, column)

    # ------------------------------------------------------------ drafts

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        user = acting_user()
        form = TaskForm()
        form.fill_rules()
        if request.method == "GET":
            form.code.data = S.next_task_code(now())
        if request.method == "POST" and form.validate():
            fields = form.service_fields()
            try:
                task = S.create_task(fields.pop("code"), fields.pop("title"), user=user,
                                     lead_unit_id=fields.pop("lead_unit_id"), **fields)
            except DomainError as exc:
                flash_domain_error(exc)
            else:
                flash(f"已创建草稿“{task.code}”，核对后请点击“交办”。", "success")
                return redirect(url_for("TaskView.show", pk=task.id))
        return self._form_page(form, self.add_title, "add")

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        user = acting_user()
        task = only_visible_task(_int(pk), user)
        if task.state != "draft":
            flash(f"事项“{task.code}”已{S.state_label(task.state)}，交办后的事项不能再修改内容", "warning")
            return redirect(url_for("TaskView.show", pk=task.id))
        if request.method == "POST":
            form = TaskForm()
        else:
            form = TaskForm(obj=task)
            form.rule.data = task.rule_id
            form.expected_version.data = task.version
            _flash_draft_warnings(task)
        form.fill_rules()
        if request.method == "POST" and form.validate():
            try:
                S.update_draft(task.id, user=user, expected_version=form_version(), **form.service_fields())
            except DomainError as exc:
                flash_domain_error(exc)
            else:
                flash("草稿已保存", "success")
                return redirect(url_for("TaskView.show", pk=task.id))
        return self._form_page(form, self.edit_title, "edit")

    def _form_page(self, form, title, kind):
        widget = (self.add_widget if kind == "add" else self.edit_widget)(
            form=form, include_cols=FORM_COLUMNS, exclude_cols=[], fieldsets=None
        )
        template = self.add_template if kind == "add" else self.edit_template
        return self.render_template(template, title=title, widgets={kind: widget}, related_views=[])

    def _delete(self, pk):
        """Only drafts are deleted (an assigned item is terminated instead), by their supervisor,
        through the service (which claims the draft against a 交办 at the same instant)."""
        try:
            S.delete_draft(self._scoped_get(pk).id, acting_user())
        except DomainError as exc:
            flash_domain_error(exc)
        else:
            flash(self.delete_row_message, "success")
        self.update_redirect()

    @fab_action("muldelete", "删除", "确定删除所选草稿吗？", "fa-trash", single=False)
    def muldelete(self, items):
        user, done = acting_user(), 0
        for item in items if isinstance(items, list) else [items]:
            try:
                S.delete_draft(item.id, user)
                done += 1
            except DomainError as exc:
                flash(exc.message, "danger")
        if done:
            flash(f"已删除 {done} 项草稿", "success")
        return redirect(self.get_redirect())

    @fab_action("assign_selected", "交办", "确定交办所选草稿吗？交办后按时限规则计算各环节期限。", "fa-paper-plane",
                single=False)
    def assign_selected(self, items):
        user, done = acting_user(), 0
        for item in items if isinstance(items, list) else [items]:
            try:
                S.assign(item.id, user=user, now=now())
                done += 1
            except DomainError as exc:
                flash(exc.message, "danger")
        if done:
            flash(f"已交办 {done} 项", "success")
        return redirect(self.get_redirect())

    # ------------------------------------------------------------ show

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        user = acting_user()
        return self._show_page(only_visible_task(_int(pk), user), user)

    def _show_page(self, task, user, kept: dict | None = None):
        """The show page; `kept`: a refused report form's input, shown again in its open panel."""
        page = task_page(task, user)
        return self.render_template("supervision/task_show.html", title=f"督查事项 {task.code}", task=task,
                                    kept=kept or {}, **page)

    def _keep_input(self, pk: int, kind: str):
        """A refused report: the show page again with what the user typed (files excepted)."""
        user = acting_user()
        kept = {"kind": kind, **{k: request.form.get(k, "") for k in ("done_text", "undone_reason", "next_steps")}}
        kept["files"] = bool(uploaded_files())
        return self._show_page(only_visible_task(pk, user), user, kept)

    @expose("/attachment/<int:aid>")
    @has_access
    def attachment(self, aid):
        """An attachment of a report the user may read (supervision_access.get_report_attachment:
        another unit's own report of a shared item is as missing as a missing one); else 404."""
        try:
            row = get_report_attachment(aid, acting_user())
        except NotFound:
            abort(404)
        return send_attachment(row)

    # ------------------------------------------------------------ supervisor buttons

    @expose("/<int:pk>/assign", methods=["POST"])
    @has_access
    def assign(self, pk):
        return _task_command(pk, lambda u: S.assign(pk, user=u, now=now(), expected_version=form_version()),
                             "已交办，各承办单位的签收、反馈和办结期限已按时限规则计算")

    @expose("/<int:pk>/approve", methods=["POST"])
    @has_access
    def approve(self, pk):
        return _task_command(pk, lambda u: S.approve_completion(pk, user=u, now=now(),
                                                                expected_version=form_version()), "审核通过，事项已办结")

    @expose("/<int:pk>/return", methods=["POST"])
    @has_access
    def return_task(self, pk):
        reason = request.form.get("reason")
        return _task_command(pk, lambda u: S.return_task(pk, reason, user=u, now=now(),
                                                         expected_version=form_version()), "已退办，主办单位须重新报送办结")

    @expose("/<int:pk>/terminate", methods=["POST"])
    @has_access
    def terminate(self, pk):
        reason = request.form.get("reason")
        return _task_command(pk, lambda u: S.terminate(pk, reason, user=u, now=now(),
                                                       expected_version=form_version()), "事项已终止")

    @expose("/<int:pk>/remind", methods=["POST"])
    @has_access
    def remind(self, pk):
        raw = request.form.get("assignment_id") or ""
        target = int(raw) if raw.isdigit() else None
        message = request.form.get("message")

        def send(u):
            made = S.send_reminder(pk, target, message, user=u, now=now())
            flash(f"已向 {len(made)} 个承办单位发出催办", "success")

        return _task_command(pk, send, None)

    @expose("/<int:pk>/extension/<int:rid>", methods=["POST"])
    @has_access
    def decide_extension(self, pk, rid):
        request_row = db.session.get(ExtensionRequest, rid)
        if request_row is None or request_row.task_id != pk:
            abort(404)
        approve = request.form.get("decision") == "approve"
        note = request.form.get("note")
        return _task_command(pk, lambda u: S.decide_extension(rid, approve, note, user=u, now=now()),
                             "已批准延期，办结期限已调整" if approve else "已驳回延期申请")

    # ------------------------------------------------------------ liaison buttons

    @expose("/<int:pk>/sign", methods=["POST"])
    @has_access
    def sign(self, pk):
        return _assignment_command(pk, lambda u, a: S.sign(a.id, user=u, now=now()), "已签收")

    @expose("/<int:pk>/report", methods=["POST"])
    @has_access
    def report(self, pk):
        form, files = request.form, uploaded_files()
        return _assignment_command(
            pk, lambda u, a: S.report_progress(a.id, form.get("done_text"), form.get("undone_reason"),
                                               form.get("next_steps"), files, user=u, now=now()),
            "进展反馈已报送", refused=lambda: self._keep_input(pk, "report"))

    @expose("/<int:pk>/complete", methods=["POST"])
    @has_access
    def complete(self, pk):
        form, files = request.form, uploaded_files()
        return _assignment_command(
            pk, lambda u, a: S.submit_completion(a.id, form.get("done_text"), form.get("undone_reason"),
                                                 form.get("next_steps"), files, user=u, now=now(),
                                                 expected_version=form_version()),
            "办结报告已报送", refused=lambda: self._keep_input(pk, "complete"))

    @expose("/<int:pk>/extension", methods=["POST"])
    @has_access
    def request_extension(self, pk):
        def ask(u, a):
            new_date = parse_date(request.form.get("new_date"), "延期后的办结日期")
            S.request_extension(pk, a.id, new_date, request.form.get("reason"), user=u, now=now())

        return _assignment_command(pk, ask, "延期申请已提交，等待督查员审批")

    @expose("/reminder/<int:rid>/read", methods=["POST"])
    @has_access
    def read_reminder(self, rid):
        back = _safe_next(url_for("TodoView.index"))
        return run(lambda: S.mark_reminder_read(rid, user=acting_user(), now=now()), "催办已标记为已读", back)


def _flash_draft_warnings(task) -> None:
    for warning in S.draft_warnings(task, now()):
        flash(warning, "warning")


def _int(pk) -> int:
    if not str(pk).isdigit():
        abort(404)
    return int(pk)


def _safe_next(default: str) -> str:
    nxt = request.form.get("next") or request.args.get("next") or ""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else default


def _task_command(pk: int, fn, success: str | None):
    """Run a supervisor command on a visible task (404 otherwise) and go back to its page."""
    user = acting_user()
    only_visible_task(pk, user)
    back = _safe_next(url_for("TaskView.show", pk=pk))
    try:
        fn(user)
    except DomainError as exc:
        flash_domain_error(exc)
    else:
        if success:
            flash(success, "success")
    return redirect(back)


def _assignment_command(pk: int, fn, success: str, refused=None):
    """Run a liaison command on the user's own assignment of a visible task; refused (a
    DomainError, flashed): `refused()`'s answer if given, else back to the page."""
    user = acting_user()
    task = only_visible_task(pk, user)
    raw = request.form.get("assignment_id") or ""
    assignment = next((a for a in task.assignments if str(a.id) == raw), None)
    if assignment is None:
        assignment = next((a for a in task.assignments if a.org_unit_id == user.org_unit_id), None)
    if assignment is None:
        flash("本单位不是该事项的承办单位，不能办理", "danger")
        return redirect(url_for("TaskView.show", pk=pk))
    back = _safe_next(url_for("TaskView.show", pk=pk))
    try:
        fn(user, assignment)
    except DomainError as exc:
        flash_domain_error(exc)
        if refused is not None:
            return refused()
    else:
        flash(success, "success")
    return redirect(back)


# ---------------------------------------------------------------- the show page's facts


def task_page(task: SupervisionTask, user) -> dict:
    """Everything the show page needs, with a fixed number of queries."""
    at = now()
    reports = task_reports(task, user)  # another unit's own reports are not this user's to read
    mine = visible_assignment_ids(task, user)
    extensions = db.session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.task_id == task.id).order_by(ExtensionRequest.requested_at)
    ).all()
    reminders = db.session.scalars(
        select(TaskReminder).where(TaskReminder.task_id == task.id, TaskReminder.assignment_id.in_(mine))
        .order_by(TaskReminder.created_at.desc(), TaskReminder.id.desc())
    ).all()
    units = {a.id: a.org_unit for a in task.assignments}
    return {
        "state_label": S.state_label(task.state),
        "light": S.task_light(task, at),
        "days": S.days_late(task, at),
        "late": S.late_text(task, at),
        "assignments": [_assignment_row(task, a, at) for a in task.assignments if a.id in mine],
        "reports": reports,
        "attachments": attachment_rows("task_report", [r.id for r in reports]),
        "extensions": extensions,
        "reminders": reminders,
        "units": units,
        "acts": task_actions(task, user, at, extensions),
        "warnings": S.draft_warnings(task, at),
        "labels": {"extension": EXTENSION_STATES, "report": REPORT_KINDS, "level": LEVEL_LABELS,
                   "milestone": S.MILESTONE_LABELS},
        "fmt": {"dt": datetime_text, "due": due_text, "size": human_size, "badge": light_badge, "preview": previewable,
                "days": days_late_text},
        "today": at.date().isoformat(),
    }


def _assignment_row(task, a: TaskAssignment, at) -> dict:
    from app.supervision import deadlines

    milestones = []
    for name, assignment, due, done in S.task_milestones(task):
        if assignment is a:
            milestones.append({"label": S.MILESTONE_LABELS[name], "due": due, "done": done,
                               "light": deadlines.light(due, done, at)})
    return {"a": a, "milestones": milestones}


def task_actions(task: SupervisionTask, user, at, extensions) -> dict:
    """Which buttons the user sees: only what the services would accept from them now."""
    supervise = can("write") and S.can_supervise(task, user)
    own = None
    if can("handle") and is_liaison(user):
        own = next((a for a in task.assignments if a.org_unit_id == user.org_unit_id), None)
    active = task.state in ACTIVE_STATES
    pending = [e for e in extensions if e.state == "pending"]
    signed = own is not None and own.signed_at is not None
    working = own is not None and task.state == "in_progress" and signed
    unsigned = [a.org_unit.name for a in task.assignments if a.signed_at is None]
    return {
        "edit": supervise and task.state == "draft",
        "assign": supervise and task.state == "draft",
        "approve": supervise and task.state == "pending_review",
        "return": supervise and task.state == "pending_review",
        "terminate": supervise and task.state in ("draft", *S.OPEN_STATES),
        "remind": supervise and active,
        "decide": supervise and active and bool(pending),
        "own": own,
        "sign": own is not None and active and not signed,
        "report": working,
        "complete": working and own.completion_reported_at is None and not (own.is_lead and unsigned),
        "complete_blocked": working and own.is_lead and bool(unsigned) and "、".join(unsigned),
        "extend": (own is not None and own.is_lead and active and signed and not pending
                   and task.complete_due is not None and at < task.complete_due),
    }
