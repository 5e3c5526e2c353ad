"""Shared machinery of the 督查督办 screens and API: the acting user and clock, row-scope and
request filters (SQL, calling the supervision services' scope functions), computed list
columns, multi-select lookup fields, attachment download and the Chinese error flash."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, has_request_context, redirect, request
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup, escape
from sqlalchemy import false, select
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import (
    FINDING_STATES,
    SEVERITIES,
    TASK_CATEGORIES,
    TASK_STATES,
    Attachment,
    Cadre,
    Finding,
    OrgUnit,
    SupervisionTask,
    finding_cadre,
)
from app.security.scope import (
    apply_cadre_scope,
    current_scope_prefix,
    request_user,
    subtree_ids,
    task_touches_subtree,
    unit_path_by_code,
)
from app.supervision import deadlines
from app.supervision import findings as F
from app.supervision import tasks as S
from app.web.context import request_now as now
from app.web.downloads import download, inline, preview_type
from app.web.lookup import LookupWidget
from app.web.modelview import PageFirstInterface

LIGHT_SHORT = {
    deadlines.GREEN: "绿灯",
    deadlines.YELLOW: "黄灯",
    deadlines.RED: "红灯",
    deadlines.OVERDUE_DONE: "超期已完成",
    deadlines.DONE: "按期完成",
}
OPEN = "open"  # pseudo state of the list filters: any open state


# ---------------------------------------------------------------- user and clock

def request_user_or_none():
    return request_user() if has_request_context() else None


# ---------------------------------------------------------------- errors

def flash_domain_error(exc: DomainError) -> None:
    """NotFound is a 404 (like a missing row); any other refusal is flashed in Chinese."""
    if isinstance(exc, NotFound):
        abort(404)
    flash(exc.message, "danger")


def run(command, success: str, back: str):
    """Run a service command for a POST button and go back with its Chinese outcome."""
    try:
        command()
    except DomainError as exc:
        flash_domain_error(exc)
    else:
        flash(success, "success")
    return redirect(back)


def uploaded_files(name: str = "attachments") -> list[tuple[str, bytes, str | None]]:
    """The files of a multipart form as the services take them: (filename, bytes, type)."""
    files = []
    for storage in request.files.getlist(name):
        if storage is None or not storage.filename:
            continue
        files.append((storage.filename, storage.read(), storage.mimetype))
    return files


def form_version() -> int | None:
    raw = (request.form.get("expected_version") or "").strip()
    return int(raw) if raw.isdigit() else None


def parse_date(raw: str | None, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        raise DomainError(f"请填写有效的{what}（格式：年-月-日）")


# ---------------------------------------------------------------- attachments

def attachment_rows(owner_table: str, owner_ids) -> dict[int, list]:
    """owner id -> its attachments (id, filename, size), without loading the contents."""
    ids = list(owner_ids)
    out: dict[int, list] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        select(Attachment.id, Attachment.owner_id, Attachment.filename, Attachment.size)
        .where(Attachment.owner_table == owner_table, Attachment.owner_id.in_(ids))
        .order_by(Attachment.id)
    )
    for aid, owner, filename, size in db.session.execute(stmt):
        out[owner].append({"id": aid, "filename": filename, "size": size})
    return out


def send_attachment(attachment: Attachment, preview: bool | None = None):
    """An attachment the caller has checked the user may read: shown in the browser when
    asked (?preview=1) and a PDF or an image, else downloaded."""
    if preview is None:
        preview = has_request_context() and request.args.get("preview") == "1"
    mime = preview_type(attachment.filename) if preview else None
    if mime is not None:
        return inline(attachment.content, mime, attachment.filename)
    return download(attachment.content, "application/octet-stream", attachment.filename)


def previewable(filename: str) -> bool:
    """Whether the browser can show the attachment in place (PDF, images)."""
    return preview_type(filename) is not None


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


# ---------------------------------------------------------------- filters (SQL)

class TaskScopeFilter(BaseFilter):
    """Row scope of supervision items: the services' scope_tasks for the acting user."""

    name = "管辖范围"

    def apply(self, query, value):
        user = request_user_or_none()
        return S.scope_tasks(query, user) if user is not None else query.where(false())


class FindingScopeFilter(BaseFilter):
    """Row scope of findings: the services' scope_findings for the acting user."""

    name = "管辖范围"

    def apply(self, query, value):
        user = request_user_or_none()
        return F.scope_findings(query, user) if user is not None else query.where(false())


class InspectionScopeFilter(BaseFilter):
    name = "管辖范围"

    def apply(self, query, value):
        user = request_user_or_none()
        return F.scope_inspections(query, user) if user is not None else query.where(false())


def unit_ids_by_code(code: str, exact: bool = False):
    """A select of the ids of the subtree of the unit with this code (none if unknown);
    with `exact`, of that unit alone."""
    if exact:
        return select(OrgUnit.id).where(OrgUnit.code == code)
    return subtree_ids(unit_path_by_code(code))


def _arg(name: str) -> str:
    return (request.args.get(name) or "").strip() if has_request_context() else ""


class TaskRequestFilter(BaseFilter):
    """Narrow the task list by request arguments, in SQL (inside the scope):

    ?light=green|yellow|red|overdue_done|done (the services' light_filter at the request's
    clock), ?unit=CODE (lead OR an assisting unit in that unit's subtree), ?lead=CODE (lead
    unit in the subtree), ?state=STATE|open, ?category=, ?responsible=CADRE_CODE,
    ?completion=ontime|late (completion report before / at or after the deadline).
    """

    name = "按条件筛选"

    def apply(self, query, value):
        t = SupervisionTask
        if light := _arg("light"):
            query = S.light_filter(query, light, now())
        if code := _arg("unit"):
            query = query.where(task_touches_subtree(unit_path_by_code(code)))
        if code := _arg("lead"):
            query = query.where(t.lead_unit_id.in_(unit_ids_by_code(code, exact=_arg("exact") == "1")))
        if state := _arg("state"):
            query = query.where(t.state.in_(S.OPEN_STATES) if state == OPEN else t.state == state)
        if category := _arg("category"):
            query = query.where(t.category == category)
        if code := _arg("responsible"):
            query = query.where(t.responsible_cadre_id.in_(select(Cadre.id).where(Cadre.code == code)))
        completion = _arg("completion")
        if completion == "ontime":
            query = query.where(t.submitted_at.is_not(None), t.submitted_at < t.complete_due)
        elif completion == "late":
            query = query.where(t.submitted_at.is_not(None), t.submitted_at >= t.complete_due)
        return query


class FindingRequestFilter(BaseFilter):
    """Narrow the findings list: ?unit=CODE (subtree; &exact=1 that unit alone), ?state=STATE|open, ?severity=,
    ?category=, ?overdue=1|0 (rectification overdue or not, at the request's clock),
    ?limited=1 (限期整改 only), ?reported=1 (待验收 or 已销号), ?cadre=CODE, ?inspection=ID."""

    name = "按条件筛选"

    def apply(self, query, value):
        f = Finding
        if code := _arg("unit"):
            query = query.where(f.org_unit_id.in_(unit_ids_by_code(code, exact=_arg("exact") == "1")))
        if state := _arg("state"):
            query = query.where(f.state.in_(F.OPEN_FINDING_STATES) if state == OPEN else f.state == state)
        if severity := _arg("severity"):
            query = query.where(f.severity == severity)
        if category := _arg("category"):
            query = query.where(f.category == category)
        overdue = _arg("overdue")
        if overdue == "1":
            query = F.overdue_filter(query, now())
        elif overdue == "0":
            query = query.where(~F.rectification_overdue_condition(now()))
        if _arg("limited") == "1":
            query = query.where(f.continuous.is_not(True), f.deadline.is_not(None))
        if _arg("reported") == "1":
            query = query.where(f.state.in_(("awaiting_verification", "closed")))
        if code := _arg("cadre"):
            named = select(finding_cadre.c.finding_id).join(Cadre, Cadre.id == finding_cadre.c.cadre_id)
            query = query.where(f.id.in_(named.where(Cadre.code == code)))
        if (inspection := _arg("inspection")).isdigit():
            query = query.where(f.inspection_id == int(inspection))
        return query


def filter_summary(kind: str) -> list[str]:
    """Chinese phrases for the request filters in force, shown above a list."""
    labels = []
    light = _arg("light")
    if light:
        labels.append("灯色：" + LIGHT_SHORT.get(light, "无效"))
    unit_what = "单位" if kind == "finding" else "单位（主办或协办）"
    for key, what in (("unit", unit_what), ("lead", "主办单位"), ("responsible", "责任干部"), ("cadre", "涉及干部")):
        if code := _arg(key):
            name = db.session.scalar(select(OrgUnit.name).where(OrgUnit.code == code)) if key in ("unit", "lead") \
                else db.session.scalar(select(Cadre.name).where(Cadre.code == code))
            labels.append(f"{what}：{name or code}")
    states = TASK_STATES if kind == "task" else FINDING_STATES
    if state := _arg("state"):
        labels.append("状态：" + ("未办结" if state == OPEN and kind == "task" else "未销号" if state == OPEN
                                 else states.get(state, state)))
    for key, what in (("category", "类别"), ("severity", "严重程度")):
        if value := _arg(key):
            labels.append(f"{what}：{value}")
    completion = {"ontime": "按期办结", "late": "超期办结"}.get(_arg("completion"))
    if completion:
        labels.append(completion)
    overdue = {"1": "整改超期", "0": "整改未超期"}.get(_arg("overdue"))
    if overdue:
        labels.append(overdue)
    if _arg("limited") == "1":
        labels.append("限期整改")
    if _arg("reported") == "1":
        labels.append("已报送整改")
    if _arg("exact") == "1":
        labels.append("仅本级（不含下级单位）")
    return labels


def with_args(**changes) -> str:
    """The current list's address with some arguments changed (None drops one), first page."""
    from flask import url_for

    args = {k: v for k, v in request.args.to_dict().items() if not k.startswith("page_")}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


FILTER_ARGS = ("light", "unit", "lead", "state", "category", "responsible", "completion", "severity", "overdue",
               "limited", "reported", "cadre", "inspection", "exact")
CHOICES = {
    "task_states": [(OPEN, "未办结（全部）"), *TASK_STATES.items()],
    "finding_states": [(OPEN, "未销号（全部）"), *FINDING_STATES.items()],
    "categories": [(c, c) for c in TASK_CATEGORIES],
    "severities": [(s, s) for s in SEVERITIES],
    "lights": [(k, LIGHT_SHORT[k]) for k in (deadlines.GREEN, deadlines.YELLOW, deadlines.RED,
                                             deadlines.OVERDUE_DONE, deadlines.DONE)],
}


# ---------------------------------------------------------------- computed columns

class ComputedColumnsInterface(PageFirstInterface):
    """A SQLAInterface whose lists and shows may name computed columns (never stored), whose
    list queries may replace the model's default loading (`list_options`), and whose pages
    are picked by key before their rows are loaded (PageFirstInterface)."""

    def __init__(self, obj, computed: dict, session=None, list_options: tuple = (), page_options: tuple = ()):
        """list_options: loader options of the list page and of its export; page_options:
        the list page's only (relations its columns never show, which the export needs)."""
        super().__init__(obj, session=session)
        self.computed = computed
        self.list_options = list_options
        self.page_options = page_options

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        options = self.list_options + self.page_options
        return query.options(*options) if options else query

    def export_rows(self, filters, order_column: str, order_direction: str, limit: int) -> list:
        """The rows of an export: the list's filters and order, `limit` rows, list_options."""
        query = SQLAInterface.apply_all(self, self.session.query(self.obj), filters, order_column, order_direction,
                                        0, limit)
        return query.options(*self.list_options).all() if self.list_options else query.all()

    def _get_attr_value(self, item, col):
        fn = self.computed.get(col)
        if fn is not None:
            return fn(item)
        return SQLAInterface._get_attr_value(item, col)


def light_badge(light: str | None) -> Markup:
    if light is None:
        return Markup('<span class="sv-light sv-light-none">—</span>')
    return Markup(f'<span class="sv-light sv-light-{light}" title="{escape(deadlines.LIGHT_LABELS[light])}">'
                  f'{escape(LIGHT_SHORT[light])}</span>')


def task_light_now(task: SupervisionTask) -> str | None:
    return S.task_light(task, now())


def days_late_text(days: int) -> str:
    return f"{days} 天" if days else ""


def datetime_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def due_text(value) -> str:
    """A deadline instant (the next midnight) shown as its last day."""
    if value is None:
        return ""
    return (value - dt.timedelta(microseconds=1)).date().isoformat()


def finding_overdue(finding: Finding) -> bool:
    return F.rectification_overdue(finding, now())


# ---------------------------------------------------------------- lookup fields

def scoped_unit(raw) -> OrgUnit | None:
    unit = db.session.get(OrgUnit, int(raw))
    prefix = current_scope_prefix()
    if unit is None or (prefix is not None and not unit.path.startswith(prefix)):
        return None
    return unit


def scoped_cadre(raw) -> Cadre | None:
    return db.session.scalar(apply_cadre_scope(select(Cadre).where(Cadre.id == int(raw)), Cadre.id, current_scope_prefix()))


def describe_unit(unit: OrgUnit) -> str:
    return f"{unit.name}（{unit.code}）"


def describe_cadre(cadre: Cadre) -> str:
    from app.web.lookup import cadre_text

    return cadre_text(cadre)  # name, code, unit and post, as the picker lists them


class LookupRequired:
    """Required for a lookup field: only an empty choice is "missing"; a chosen id out of the
    scope keeps the field's own message (DataRequired would replace it)."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if not field.raw_data or not field.raw_data[0]:
            field.errors[:] = []
            raise StopValidation(self.message)


class MultiLookupWidget(LookupWidget):
    """A multiple <select> searching the server as the user types (select2 + /lookup/...)."""

    def __call__(self, field, **kwargs):
        from flask import url_for

        options = "".join(
            f'<option value="{obj.id}" selected>{escape(field.label_for(obj))}</option>' for obj in field.data or []
        )
        return Markup(
            f'<select multiple class="form-control lookup-select" id="{field.id}" name="{field.name}" '
            f'data-url="{url_for(self.endpoint)}" data-placeholder="输入名称或编码搜索，可多选">{options}</select>'
        )


class MultiLookupField(Field):
    """Several related rows bound by id, each checked against the row scope on submit."""

    def __init__(self, label=None, validators=None, *, loader, endpoint, describe=str, **kwargs):
        super().__init__(label, validators, widget=MultiLookupWidget(endpoint), **kwargs)
        self.loader = loader
        self.label_for = describe
        self._bad = False

    def process_data(self, value):
        self.data = list(value or [])

    def process_formdata(self, valuelist):
        self._bad = False
        found, seen = [], set()
        for raw in valuelist:
            if not raw or raw in seen:
                continue
            seen.add(raw)
            obj = self.loader(raw) if str(raw).isdigit() else None
            if obj is None:
                self._bad = True
            else:
                found.append(obj)
        self.data = found

    def pre_validate(self, form):
        if self._bad:
            raise ValidationError("所选项不存在或不在您的管辖范围内")

    def _value(self):
        return ",".join(str(obj.id) for obj in self.data or [])


def ids_of(objs) -> list[int]:
    return [obj.id for obj in objs or []]


def only_visible_task(pk: int, user) -> SupervisionTask:
    """The task or a 404 (missing and out of scope alike)."""
    try:
        return S.get_task(pk, user)
    except NotFound:
        abort(404)


def only_visible_finding(pk: int, user) -> Finding:
    try:
        return F.get_finding(pk, user)
    except NotFound:
        abort(404)


TASK_LABELS = {
    "code": "事项编号", "title": "事项名称", "content": "事项内容", "source": "事项来源", "category": "事项类别",
    "rule": "时限规则", "rule.name": "时限规则", "lead_unit": "主办单位", "lead_unit.name": "主办单位",
    "lead_unit.code": "主办单位编码", "assist_units": "协办单位", "assist_names": "协办单位",
    "responsible_cadre": "责任干部", "responsible_cadre.name": "责任干部", "responsible_cadre.code": "责任干部编号",
    "leader_in_charge": "分管领导", "state": "状态", "state_label": "状态", "light": "灯色", "light_label": "灯色",
    "days_late": "超期天数", "late_text": "超期情况", "manual_deadline": "办结期限（人工设定）", "assigned_at": "交办时间",
    "complete_due": "办结期限", "complete_due_text": "办结期限", "submitted_at": "报送办结时间",
    "completed_at": "办结时间", "expected_version": "",
}


FINDING_LABELS = {
    "inspection": "所属检查", "inspection.code": "检查编号", "org_unit": "问题单位", "org_unit.name": "问题单位",
    "org_unit.code": "单位编码", "description": "问题描述", "short_description": "问题描述", "category": "问题类别",
    "severity": "严重程度", "requirement": "整改要求", "continuous": "持续整改", "deadline": "整改期限",
    "deadline_text": "整改期限", "state": "状态", "state_label": "状态", "found_on": "发现日期",
    "rectified_at": "报送整改时间", "closed_at": "销号时间", "accountability": "问责情况",
    "accountability_note": "问责说明", "cadres": "责任干部", "cadre_names": "责任干部", "overdue": "整改超期",
    "overdue_text": "整改超期",
}
