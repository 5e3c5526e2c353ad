"""REST API of supervision: /api/v1/tasks/ and /api/v1/findings/ (FAB ModelRestApi, JWT).

Reads are scoped with the same base filters as the screens (the services' scope_tasks and
scope_findings). Writes never reach FAB's generic add/edit: POST/PUT/DELETE of tasks and
POST of findings call the supervision services with the acting user (scope and role checks,
audit, one transaction); the workflow is a set of POST routes such as
/api/v1/tasks/<pk>/sign. A refusal answers its Chinese message with the service's status
(400 invalid, 403 not allowed, 404 missing or out of scope, 409 conflict).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.core.errors import DomainError
from app.extensions import db
from app.models import Cadre, Finding, Inspection, OrgUnit, SupervisionTask, TimeLimitRule
from app.security.roles import API_METHODS, FINDING_ACTIONS, TASK_ACTIONS
from app.supervision import findings as F
from app.supervision import tasks as S
from app.supervision.access import get_report, get_report_attachment, task_reports, visible_assignment_ids
from app.supervision.web import (
    FINDING_LABELS,
    TASK_LABELS,
    FindingRequestFilter,
    FindingScopeFilter,
    TaskRequestFilter,
    TaskScopeFilter,
    attachment_rows,
    send_attachment,
)
from app.web.api import ScopedRestApi, id_by_code
from app.web.context import acting_user
from app.web.context import request_now as now


def _json() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("请求体须为 JSON 对象")
    return data


def _date(value, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DomainError(f"{what}格式应为 YYYY-MM-DD")


def _attachments(data: dict) -> list[tuple[str, bytes, str | None]]:
    """[{filename, content_base64, content_type}] -> the services' (filename, bytes, type)."""
    files = []
    for item in data.get("attachments") or []:
        try:
            content = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (binascii.Error, AttributeError):
            raise DomainError("附件内容须为 Base64 编码")
        files.append((item.get("filename"), content, item.get("content_type")))
    return files


def _task_fields(data: dict) -> dict:
    """JSON (codes for units, cadre and rule) -> the keyword fields of create_task/update_draft."""
    fields = {}
    for key in ("code", "title", "content", "source", "category", "leader_in_charge"):
        if key in data:
            fields[key] = data[key]
    if "rule" in data:
        rule_id = db.session.scalar(select(TimeLimitRule.id).where(TimeLimitRule.name == data["rule"]))
        fields["rule_id"] = rule_id if rule_id is not None else -1
    if "lead_unit" in data:
        fields["lead_unit_id"] = id_by_code(OrgUnit, data["lead_unit"], "主办单位")
    if "assist_units" in data:
        fields["assist_unit_ids"] = [id_by_code(OrgUnit, c, "协办单位") for c in data["assist_units"] or []]
    if "responsible_cadre" in data:
        fields["responsible_cadre_id"] = id_by_code(Cadre, data["responsible_cadre"], "责任干部")
    if "manual_deadline" in data:
        fields["manual_deadline"] = _date(data["manual_deadline"], "办结期限")
    return fields


class SupervisionApi(ScopedRestApi):
    """Answers a DomainError with its status and Chinese message."""

    def refused(self, exc: DomainError):
        db.session.rollback()
        return self.response(exc.status, message=exc.message)

    def call(self, fn, status: int = 200):
        try:
            result = fn(acting_user())
        except DomainError as exc:
            return self.refused(exc)
        return self.response(status, **(result or {"message": "OK"}))

    def check_write(self, item) -> None:  # FAB's generic write path is never used
        raise DomainError("请通过业务接口提交")


class TaskApi(SupervisionApi):
    resource_name = "tasks"
    datamodel = SQLAInterface(SupervisionTask)
    class_permission_name = "Task"
    method_permission_name = {**API_METHODS, **TASK_ACTIONS}
    base_filters = [["id", TaskScopeFilter, lambda: None], ["id", TaskRequestFilter, lambda: None]]
    # The responsible cadre is added by pre_get/pre_get_list: a dotted nullable relation whose
    # own eager unit join is inner would drop the items without one.
    list_columns = ["id", "code", "title", "category", "state", "lead_unit.id", "lead_unit.code", "lead_unit.name",
                    "rule.name", "assigned_at", "complete_due", "submitted_at", "completed_at", "version"]
    show_columns = list_columns + ["content", "source", "leader_in_charge", "manual_deadline",
                                   "original_complete_due", "state_reason", "terminated_at"]
    add_columns = edit_columns = ["code", "title"]
    search_columns = ["code", "title", "state", "category"]
    order_columns = ["id", "code", "complete_due", "state"]
    base_order = ("id", "desc")
    list_title = show_title = "督查事项"
    label_columns = {**TASK_LABELS, "id": "编号", "lead_unit.id": "主办单位ID", "rule.name": "时限规则",
                     "version": "版本", "original_complete_due": "原办结期限", "state_reason": "退办或终止理由",
                     "terminated_at": "终止时间"}

    # ------------------------------------------------------------ reads, with computed facts

    def pre_get_list(self, data: dict) -> None:
        tasks = {t.id: t for t in db.session.scalars(select(SupervisionTask).where(SupervisionTask.id.in_(data["ids"])))}
        for item, pk in zip(data["result"], data["ids"]):
            _computed(item, tasks.get(pk))

    def pre_get(self, data: dict) -> None:
        task = db.session.get(SupervisionTask, data["id"])
        _computed(data["result"], task)
        data["result"]["assist_units"] = [u.code for u in task.assist_units]
        mine = visible_assignment_ids(task, acting_user())  # another unit's own assignment is not shown
        data["result"]["assignments"] = [
            {"id": a.id, "unit": a.org_unit.code, "is_lead": a.is_lead, "acknowledge_due": _iso(a.acknowledge_due),
             "first_report_due": _iso(a.first_report_due), "next_report_due": _iso(a.next_report_due),
             "signed_at": _iso(a.signed_at), "first_report_at": _iso(a.first_report_at),
             "completion_reported_at": _iso(a.completion_reported_at)}
            for a in task.assignments if a.id in mine
        ]

    # ------------------------------------------------------------ reports and their attachments

    @expose("/<int:pk>/reports", methods=["GET"])
    @protect()
    @safe
    def reports(self, pk):
        """The item's reports this user may read (the same rule as the screen's)."""
        def read(user):
            task = S.get_task(pk, user)
            rows = task_reports(task, user)
            files = attachment_rows("task_report", [r.id for r in rows])
            return {"result": [_report_json(r, files[r.id]) for r in rows]}

        return self.call(read)

    @expose("/<int:pk>/reports/<int:rid>", methods=["GET"])
    @protect()
    @safe
    def report_detail(self, pk, rid):
        """One report of the item; another unit's own report of a shared item is a 404."""
        def read(user):
            row = get_report(pk, rid, user)
            return {"result": _report_json(row, attachment_rows("task_report", [row.id])[row.id])}

        return self.call(read)

    @expose("/<int:pk>/attachments/<int:aid>", methods=["GET"])
    @protect()
    @safe
    def attachment(self, pk, aid):
        """Download an attachment of a report of the item that this user may read."""
        try:
            row = get_report_attachment(aid, acting_user(), task_id=pk)
        except DomainError as exc:
            return self.refused(exc)
        return send_attachment(row)

    # ------------------------------------------------------------ writes through the services

    def post_headless(self):
        def create(user):
            fields = _task_fields(_json())
            code, title = fields.pop("code", None), fields.pop("title", None)
            lead = fields.pop("lead_unit_id", None)
            if lead is None:
                raise DomainError("请指定主办单位（lead_unit，单位编码）")
            if "rule_id" not in fields:
                raise DomainError("请指定时限规则（rule，规则名称）")
            task = S.create_task(code or "", title or "", lead_unit_id=lead, user=user, **fields)
            return {"id": task.id, "result": {"code": task.code, "state": task.state, "version": task.version}}

        return self.call(create, 201)

    def put_headless(self, pk):
        def update(user):
            data = _json()
            task = S.update_draft(int(pk), user=user, expected_version=data.get("version"), **_task_fields(data))
            return {"result": {"id": task.id, "code": task.code, "state": task.state, "version": task.version}}

        if not str(pk).isdigit():
            return self.response_404()
        return self.call(update)

    def delete_headless(self, pk):
        def delete(user):
            S.delete_draft(int(pk), user)
            return {"message": "OK"}

        if not str(pk).isdigit():
            return self.response_404()
        return self.call(delete)

    # ------------------------------------------------------------ workflow

    @expose("/<int:pk>/assign", methods=["POST"])
    @protect()
    @safe
    def assign(self, pk):
        """交办 a draft (supervisor)."""
        return self.call(lambda u: _state(S.assign(pk, user=u, now=now(), expected_version=_version())))

    @expose("/<int:pk>/approve", methods=["POST"])
    @protect()
    @safe
    def approve(self, pk):
        """审核通过 (supervisor)."""
        return self.call(lambda u: _state(S.approve_completion(pk, user=u, now=now(), expected_version=_version())))

    @expose("/<int:pk>/return", methods=["POST"])
    @protect()
    @safe
    def return_task(self, pk):
        """退办 with {"reason"} (supervisor)."""
        return self.call(lambda u: _state(S.return_task(pk, _json().get("reason"), user=u, now=now(),
                                                        expected_version=_version())))

    @expose("/<int:pk>/terminate", methods=["POST"])
    @protect()
    @safe
    def terminate(self, pk):
        """终止 with {"reason"} (supervisor)."""
        return self.call(lambda u: _state(S.terminate(pk, _json().get("reason"), user=u, now=now(),
                                                      expected_version=_version())))

    @expose("/<int:pk>/remind", methods=["POST"])
    @protect()
    @safe
    def remind(self, pk):
        """人工催办 with {"message", "unit"?} (supervisor)."""
        def send(user):
            data = _json()
            target = None
            if data.get("unit"):
                task = S.get_task(pk, user)
                target = next((a.id for a in task.assignments if a.org_unit.code == data["unit"]), -1)
            made = S.send_reminder(pk, target, data.get("message"), user=user, now=now())
            return {"result": [r.id for r in made]}

        return self.call(send, 201)

    @expose("/<int:pk>/extensions/<int:rid>", methods=["POST"])
    @protect()
    @safe
    def decide_extension(self, pk, rid):
        """批准/驳回延期 with {"approve": true|false, "note"} (supervisor)."""
        def decide(user):
            data = _json()
            S.get_task(pk, user)
            row = S.decide_extension(rid, bool(data.get("approve")), data.get("note"), user=user, now=now(),
                                     task_id=pk)
            return {"result": {"id": row.id, "state": row.state}}

        return self.call(decide)

    @expose("/<int:pk>/sign", methods=["POST"])
    @protect()
    @safe
    def sign(self, pk):
        """签收 the own unit's assignment (liaison)."""
        return self.call(lambda u: _state(S.sign(_own(pk, u), user=u, now=now()).task))

    @expose("/<int:pk>/report", methods=["POST"])
    @protect()
    @safe
    def report(self, pk):
        """反馈 {"done_text", "undone_reason", "next_steps", "attachments"} (liaison)."""
        def send(user):
            data = _json()
            row = S.report_progress(_own(pk, user), data.get("done_text"), data.get("undone_reason"),
                                    data.get("next_steps"), _attachments(data), user=user, now=now())
            return {"result": {"id": row.id}}

        return self.call(send, 201)

    @expose("/<int:pk>/complete", methods=["POST"])
    @protect()
    @safe
    def complete(self, pk):
        """报送办结 {"done_text", …} (liaison)."""
        def send(user):
            data = _json()
            row = S.submit_completion(_own(pk, user), data.get("done_text"), data.get("undone_reason"),
                                      data.get("next_steps"), _attachments(data), user=user, now=now(),
                                      expected_version=data.get("version"))
            return {"result": {"id": row.id, "state": row.assignment.task.state}}

        return self.call(send, 201)

    @expose("/<int:pk>/extension", methods=["POST"])
    @protect()
    @safe
    def request_extension(self, pk):
        """延期申请 {"new_date": "YYYY-MM-DD", "reason"} (the lead unit's liaison)."""
        def ask(user):
            data = _json()
            new_date = _date(data.get("new_date"), "延期后的办结日期")
            if new_date is None:
                raise DomainError("请填写延期后的办结日期")
            row = S.request_extension(pk, _own(pk, user), new_date, data.get("reason"), user=user, now=now())
            return {"result": {"id": row.id, "state": row.state}}

        return self.call(ask, 201)


def _report_json(report, files: list[dict]) -> dict:
    return {"id": report.id, "unit": report.assignment.org_unit.code, "is_lead": report.assignment.is_lead,
            "kind": report.kind, "done_text": report.done_text, "undone_reason": report.undone_reason,
            "next_steps": report.next_steps, "created_at": _iso(report.created_at), "created_by": report.created_by,
            "attachments": files}


def _version():
    data = request.get_json(silent=True)
    return data.get("version") if isinstance(data, dict) else None


def _own(pk: int, user) -> int:
    """The id of the acting user's own unit's assignment of a visible task."""
    task = S.get_task(pk, user)
    for a in task.assignments:
        if a.org_unit_id == getattr(user, "org_unit_id", None):
            return a.id
    raise DomainError("本单位不是该事项的承办单位，不能办理")


def _state(task: SupervisionTask) -> dict:
    return {"result": {"id": task.id, "state": task.state, "state_label": S.state_label(task.state),
                       "version": task.version, "complete_due": _iso(task.complete_due)}}


def _iso(value):
    return value.isoformat() if value is not None else None


def _computed(item: dict, task: SupervisionTask | None) -> None:
    if task is None:
        return
    light = S.task_light(task, now())
    item["state_label"] = S.state_label(task.state)
    item["light"] = light
    item["light_label"] = S.LIGHT_LABELS.get(light) if light else None
    item["days_late"] = S.days_late(task, now())
    cadre = task.responsible_cadre
    item["responsible_cadre"] = {"code": cadre.code, "name": cadre.name} if cadre is not None else None


class FindingApi(SupervisionApi):
    resource_name = "findings"
    datamodel = SQLAInterface(Finding)
    class_permission_name = "Finding"
    method_permission_name = {**API_METHODS, **FINDING_ACTIONS}
    include_route_methods = {"get", "get_list", "info", "post", *FINDING_ACTIONS}
    base_filters = [["id", FindingScopeFilter, lambda: None], ["id", FindingRequestFilter, lambda: None]]
    list_columns = ["id", "found_on", "inspection.code", "org_unit.id", "org_unit.code", "org_unit.name", "category",
                    "severity", "description", "requirement", "continuous", "deadline", "state", "rectified_at",
                    "closed_at", "accountability", "accountability_note", "version"]
    show_columns = list_columns
    add_columns = ["description"]
    search_columns = ["category", "severity", "state", "found_on"]
    order_columns = ["id", "found_on", "severity", "deadline"]
    base_order = ("id", "desc")
    list_title = show_title = "督查发现问题"
    label_columns = {**FINDING_LABELS, "id": "编号", "org_unit.id": "单位ID", "version": "版本"}

    def pre_get_list(self, data: dict) -> None:
        rows = {f.id: f for f in db.session.scalars(select(Finding).where(Finding.id.in_(data["ids"])))}
        for item, pk in zip(data["result"], data["ids"]):
            _finding_computed(item, rows.get(pk))

    def pre_get(self, data: dict) -> None:
        _finding_computed(data["result"], db.session.get(Finding, data["id"]))

    def post_headless(self):
        """登记问题 {"inspection": CODE, "unit": CODE, "description", "category", "severity",
        "cadres": [CODE], "requirement", "deadline" | "continuous": true, "found_on"} (supervisor)."""
        def create(user):
            data = _json()
            inspection = id_by_code(Inspection, data.get("inspection"), "督查检查") or -1
            unit = id_by_code(OrgUnit, data.get("unit"), "问题单位")
            cadres = [id_by_code(Cadre, c, "责任干部") for c in data.get("cadres") or []]
            finding = F.add_finding(
                inspection, unit, data.get("description"), data.get("category"), data.get("severity"),
                cadre_ids=cadres, requirement=data.get("requirement"), deadline=_date(data.get("deadline"), "整改期限"),
                continuous=bool(data.get("continuous")), user=user, found_on=_date(data.get("found_on"), "发现日期"),
            )
            return {"id": finding.id, "result": {"state": finding.state, "version": finding.version}}

        return self.call(create, 201)

    @expose("/<int:pk>/start", methods=["POST"])
    @protect()
    @safe
    def start(self, pk):
        """开始整改 (the unit's liaison)."""
        return self.call(lambda u: _finding_state(F.start_rectification(pk, user=u, expected_version=_version())))

    @expose("/<int:pk>/rectification", methods=["POST"])
    @protect()
    @safe
    def rectification(self, pk):
        """报告整改 {"text", "attachments"} (the unit's liaison)."""
        def send(user):
            data = _json()
            F.report_rectification(pk, data.get("text"), _attachments(data), user=user, now=now(),
                                   expected_version=data.get("version"))
            return _finding_state(F.get_finding(pk, user))

        return self.call(send, 201)

    @expose("/<int:pk>/verify", methods=["POST"])
    @protect()
    @safe
    def verify(self, pk):
        """验收销号 {"note"?} (supervisor)."""
        return self.call(lambda u: _finding_state(F.verify(pk, user=u, now=now(), note=(_json_or_empty()).get("note"),
                                                           expected_version=_version())))

    @expose("/<int:pk>/reject", methods=["POST"])
    @protect()
    @safe
    def reject(self, pk):
        """驳回整改 {"note"} (supervisor)."""
        return self.call(lambda u: _finding_state(F.reject(pk, _json_or_empty().get("note"), user=u, now=now(),
                                                           expected_version=_version())))

    @expose("/<int:pk>/accountability", methods=["POST"])
    @protect()
    @safe
    def accountability(self, pk):
        """问责 {"measures": [...], "note"} (supervisor)."""
        def record(user):
            data = _json()
            return _finding_state(F.set_accountability(pk, data.get("measures") or [], data.get("note"), user=user,
                                                       expected_version=data.get("version")))

        return self.call(record)


def _json_or_empty() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _finding_state(finding: Finding) -> dict:
    return {"result": {"id": finding.id, "state": finding.state, "state_label": F.finding_state_label(finding.state),
                       "version": finding.version, "accountability": finding.accountability}}


def _finding_computed(item: dict, finding: Finding | None) -> None:
    if finding is None:
        return
    item["state_label"] = F.finding_state_label(finding.state)
    item["overdue"] = F.rectification_overdue(finding, now())
    item["cadres"] = [c.code for c in finding.cadres]


def register_supervision_apis(appbuilder) -> None:
    for api in (TaskApi, FindingApi):
        appbuilder.add_api(api)
