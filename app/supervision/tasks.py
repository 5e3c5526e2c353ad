"""Supervision item (督查事项) use cases: the 13710 workflow as commands (DESIGN.md section 4).

草稿 → 已交办 (assign) → 办理中 (first unit signs) → 待审核 (lead unit's completion report)
→ 已办结 (approve); 待审核 → 办理中 (return_task); any open state → 已终止 (terminate).

Every command takes plain values, an optional `user` (AppUser; None = CLI/system, no
restriction) and `now` (default: the current time), checks the role and the row scope
(see supervision_access), refuses an illegal transition with a DomainError that changes
nothing, is audited by the ORM listener, and commits its own transaction. Commands that
change the task accept `expected_version` (optimistic locking: Conflict on mismatch).
Every transition first claims the rows it moves (`claim`: a conditional UPDATE on the state
it read), so of two users acting at the same instant one succeeds and the other gets a
Conflict "该事项已被他人处理，请刷新后重试" with nothing changed.

Lights, scope filters and the to-do list live in supervision_lights / supervision_todo,
reminders in supervision_reminders; they are re-exported here so callers need one import.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import (
    TASK_CATEGORIES,
    AppUser,
    Cadre,
    ExtensionRequest,
    OrgUnit,
    SupervisionTask,
    TaskAssignment,
    TaskReport,
    TimeLimitRule,
)
from app.security.scope import unit_visible_to
from app.supervision import deadlines
from app.supervision.access import (  # noqa: F401  (get_task, state_label re-exported)
    ACTIVE_STATES,
    NOT_FOUND,
    TASK,
    check_version,
    claim,
    command,
    default_now,
    get_task,
    is_supervisor,
    own_assignment,
    refuse,
    require_liaison_of,
    require_supervisor,
    required_text,
    save_attachments,
    state_label,
    supervised_task,
    username,
)
from app.supervision.lights import (  # noqa: F401  (re-exported API)
    LIGHT_LABELS,
    LIGHTS,
    MILESTONE_LABELS,
    OPEN_STATES,
    completion_days_late,
    days_late,
    late_milestones,
    late_text,
    light_condition,
    light_filter,
    task_light,
    task_milestones,
)
from app.supervision.reminders import (  # noqa: F401  (re-exported API)
    create_due_reminders,
    mark_reminder_read,
    send_reminder,
)
from app.supervision.setup import rule_of, work_calendar
from app.supervision.todo import scope_tasks, todo  # noqa: F401  (re-exported API)

TASK_FIELDS = (
    "code", "title", "content", "source", "category", "rule_name", "rule_id", "lead_unit_id",
    "assist_unit_ids", "responsible_cadre_id", "leader_in_charge", "supervisor_id", "manual_deadline",
)


# ---------------------------------------------------------------- drafts

def create_task(code: str, title: str, *, lead_unit_id: int, user=None, **fields) -> SupervisionTask:
    """Create a draft item (supervisor). Keyword fields: content, source, category
    (督大事/督难事/督实事), rule_name or rule_id, assist_unit_ids, responsible_cadre_id,
    leader_in_charge, supervisor_id (default: the user), manual_deadline (a date; required
    for 长期事项, else it overrides the rule's completion period)."""
    require_supervisor(user)
    _check_fields(fields)
    fields.setdefault("category", TASK_CATEGORIES[-1])
    if "rule_id" not in fields and "rule_name" not in fields:
        raise DomainError("请选择时限规则")
    if fields.get("supervisor_id") is None and user is not None:
        fields["supervisor_id"] = user.id
    with command(user, TASK):
        task = SupervisionTask(state="draft")
        _apply(task, {"code": code, "title": title, "lead_unit_id": lead_unit_id, **fields}, user)
        db.session.add(task)
    return task


TASK_CODE_PREFIX = "DC"


def next_task_code(now: dt.datetime | None = None) -> str:
    """The next free automatic 事项编号 of the year: DC-2026-0001, DC-2026-0002, … (one more
    than the highest number of that form; codes typed by hand in other forms are ignored)."""
    prefix = f"{TASK_CODE_PREFIX}-{default_now(now).year}-"
    codes = db.session.scalars(select(SupervisionTask.code).where(SupervisionTask.code.like(prefix + "%")))
    numbers = [int(code[len(prefix):]) for code in codes if code[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


def update_draft(task_id: int, user=None, expected_version: int | None = None, **fields) -> SupervisionTask:
    """Change fields of a draft (same keywords as create_task, plus code/title/lead_unit_id)."""
    _check_fields(fields)
    task = supervised_task(task_id, user)
    if task.state != "draft":
        raise refuse(task, "修改", "交办后的事项不能再修改内容")
    with command(user, TASK):
        claim(task, "state", ("draft",))
        check_version(task, expected_version, TASK)
        _apply(task, fields, user)
    return task


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise TypeError(f"unknown task fields: {', '.join(sorted(unknown))}")


def _apply(task: SupervisionTask, fields: dict, user) -> None:
    """Validate and set the given fields of a draft; raise DomainError on the first bad value."""
    with db.session.no_autoflush:  # a duplicate code is reported, not flushed into an IntegrityError
        _set_fields(task, fields, user)


def _set_fields(task: SupervisionTask, fields: dict, user) -> None:
    text_limits = {"code": 32, "title": 200, "source": 100, "leader_in_charge": 50}
    for key, limit in text_limits.items():
        if key in fields:
            value = (fields[key] or "").strip() or None
            if value and len(value) > limit:
                raise DomainError(f"{_LABELS[key]}过长（最多 {limit} 个字符）")
            setattr(task, key, value)
    for key in ("code", "title"):
        if not getattr(task, key):
            raise DomainError(f"{_LABELS[key]}不能为空")
    if "code" in fields:
        clash = select(SupervisionTask.id).where(SupervisionTask.code == task.code, SupervisionTask.id != task.id)
        if task.id is None:
            clash = select(SupervisionTask.id).where(SupervisionTask.code == task.code)
        if db.session.scalar(clash) is not None:
            raise DomainError(f"事项编号“{task.code}”已存在")
    if "content" in fields:
        task.content = (fields["content"] or "").strip() or None
    if "category" in fields:
        if fields["category"] not in TASK_CATEGORIES:
            raise DomainError(f"事项类别应为 {'/'.join(TASK_CATEGORIES)} 之一")
        task.category = fields["category"]
    if "rule_id" in fields or "rule_name" in fields:
        task.rule = _rule(fields.get("rule_id"), fields.get("rule_name"))
    if "lead_unit_id" in fields:
        task.lead_unit = _unit(fields["lead_unit_id"], user, "主办单位")
    if "assist_unit_ids" in fields:
        ids = list(dict.fromkeys(fields["assist_unit_ids"] or ()))
        task.assist_units = [_unit(i, user, "协办单位") for i in ids]
    if task.lead_unit in task.assist_units:
        raise DomainError("主办单位不能同时是协办单位")
    if "responsible_cadre_id" in fields:
        task.responsible_cadre_id = _cadre(fields["responsible_cadre_id"], user)
    if "supervisor_id" in fields:
        sid = fields["supervisor_id"]
        if sid is not None and db.session.get(AppUser, sid) is None:
            raise DomainError("督查责任人账号不存在")
        task.supervisor_id = sid
    if "manual_deadline" in fields:
        task.manual_deadline = fields["manual_deadline"]
    if task.rule.long_term and task.manual_deadline is None:
        raise DomainError(f"“{task.rule.name}”须人工设定办结期限")


_LABELS = {"code": "事项编号", "title": "事项名称", "source": "事项来源", "leader_in_charge": "分管领导"}


def _rule(rule_id, rule_name) -> TimeLimitRule:
    stmt = select(TimeLimitRule).where(
        TimeLimitRule.id == rule_id if rule_id is not None else TimeLimitRule.name == rule_name
    )
    rule = db.session.scalar(stmt)
    if rule is None or not rule.active:
        raise DomainError(f"时限规则“{rule_name or rule_id}”不存在或已停用")
    return rule


def _unit(unit_id, user, what: str) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or not unit_visible_to(unit, user):
        raise DomainError(f"{what}不存在或不在您的管辖范围内")
    return unit


def _cadre(cadre_id, user) -> int | None:
    if cadre_id is None:
        return None
    cadre = db.session.get(Cadre, cadre_id)
    if cadre is None or not unit_visible_to(cadre.org_unit, user):
        raise DomainError("责任干部不存在或不在您的管辖范围内")
    return cadre.id


# ---------------------------------------------------------------- 交办 and 签收

def assign(task_id: int, user=None, now: dt.datetime | None = None, expected_version: int | None = None) -> SupervisionTask:
    """交办 a draft: one assignment per addressed unit (lead first) with its 13710 milestones."""
    now = default_now(now)
    task = supervised_task(task_id, user)
    if task.state != "draft":
        raise refuse(task, "交办", "只有草稿可以交办")
    with command(user, TASK):
        claim(task, "state", ("draft",))
        check_version(task, expected_version, TASK)
        try:
            due = deadlines.milestones(now, rule_of(task.rule), work_calendar(), task.manual_deadline)
        except ValueError as exc:
            raise DomainError(str(exc))
        units = [task.lead_unit, *sorted(task.assist_units, key=lambda u: u.code)]
        for unit in units:
            task.assignments.append(
                TaskAssignment(
                    org_unit=unit, org_unit_id=unit.id, is_lead=unit.id == task.lead_unit_id,
                    acknowledge_due=due[deadlines.ACKNOWLEDGE], first_report_due=due[deadlines.FIRST_REPORT],
                )
            )
        task.assigned_at = now
        task.complete_due = task.original_complete_due = due[deadlines.COMPLETE]
        task.state = "assigned"
    return task


def sign(assignment_id: int, user=None, now: dt.datetime | None = None) -> TaskAssignment:
    """签收 by the liaison of the assignment's unit; the task moves to 办理中 on the first one."""
    now = default_now(now)
    assignment = own_assignment(assignment_id, user, "签收")
    task = assignment.task
    if task.state not in ACTIVE_STATES:
        raise refuse(task, "签收")
    if assignment.signed_at is not None:
        raise DomainError("本单位已签收该事项，不能重复签收")
    with command(user, TASK):
        claim(task, "state", ACTIVE_STATES)
        claim(assignment, "signed_at", None)
        assignment.signed_at, assignment.signed_by = now, username(user)
        if task.state == "assigned":
            task.state = "in_progress"
    return assignment


# ---------------------------------------------------------------- 反馈 and 办结 reports

def report_progress(
    assignment_id: int, done_text: str, undone_reason: str | None = None, next_steps: str | None = None,
    attachments=(), user=None, now: dt.datetime | None = None,
) -> TaskReport:
    """反馈 on a signed assignment: attachments are (filename, bytes, content_type) tuples."""
    now = default_now(now)
    assignment = own_assignment(assignment_id, user, "反馈进展")
    task = assignment.task
    if task.state != "in_progress":
        raise refuse(task, "反馈进展")
    if assignment.signed_at is None:
        raise DomainError("请先签收再反馈进展")
    with command(user, TASK):
        claim(task, "state", ("in_progress",))
        report = _report(assignment, "progress", done_text, undone_reason, next_steps, attachments, user, now)
        if task.rule.long_term:
            assignment.next_report_due = deadlines.next_report_due(now, rule_of(task.rule), work_calendar())
    return report


def submit_completion(
    assignment_id: int, done_text: str, undone_reason: str | None = None, next_steps: str | None = None,
    attachments=(), user=None, now: dt.datetime | None = None, expected_version: int | None = None,
) -> TaskReport:
    """办结 report. The lead unit's moves the task to 待审核 once every unit has signed; an
    assisting unit's is kept on its own assignment and changes no state."""
    now = default_now(now)
    assignment = own_assignment(assignment_id, user, "报送办结")
    task = assignment.task
    if task.state != "in_progress":
        raise refuse(task, "报送办结", "尚未全部签收或已报送办结的事项不能再报送")
    if assignment.signed_at is None:
        raise DomainError("请先签收再报送办结")
    with command(user, TASK):
        claim(task, "state", ("in_progress",))
        if assignment.is_lead:
            unsigned = [a.org_unit.name for a in task.assignments if a.signed_at is None]
            if unsigned:
                raise DomainError("以下单位尚未签收，主办单位暂不能报送办结：" + "、".join(unsigned))
            check_version(task, expected_version, TASK)
        report = _report(assignment, "completion", done_text, undone_reason, next_steps, attachments, user, now)
        assignment.completion_reported_at = now
        assignment.next_report_due = None
        if assignment.is_lead:
            task.state, task.submitted_at = "pending_review", now
    return report


def _report(assignment, kind, done_text, undone_reason, next_steps, attachments, user, now) -> TaskReport:
    report = TaskReport(
        assignment=assignment, assignment_id=assignment.id, kind=kind,
        done_text=required_text(done_text, "请填写完成情况"),
        undone_reason=(undone_reason or "").strip() or None, next_steps=(next_steps or "").strip() or None,
        created_at=now, created_by=username(user),
    )
    db.session.add(report)
    db.session.flush()
    save_attachments("task_report", report.id, attachments, user)
    assignment.first_report_at = assignment.first_report_at or now
    assignment.last_report_at = now
    return report


# ---------------------------------------------------------------- 延期

def request_extension(
    task_id: int, assignment_id: int, new_date: dt.date, reason: str, user=None, now: dt.datetime | None = None
) -> ExtensionRequest:
    """延期申请 by the lead unit's liaison, before the completion deadline; one pending at a time."""
    now = default_now(now)
    assignment = own_assignment(assignment_id, user, "申请延期")
    task = assignment.task
    if task.id != task_id:
        raise NotFound(NOT_FOUND)
    if not assignment.is_lead:
        raise Forbidden("只有主办单位可以申请延期")
    if task.state not in ACTIVE_STATES:
        raise refuse(task, "申请延期")
    if assignment.signed_at is None:
        raise DomainError("请先签收再申请延期")
    reason = required_text(reason, "请填写延期理由")
    with command(user, "延期申请"):
        claim(task, "state", ACTIVE_STATES)
        pending = select(ExtensionRequest.id).where(ExtensionRequest.task_id == task.id,
                                                    ExtensionRequest.state == "pending")
        if db.session.scalar(pending) is not None:
            raise DomainError("该事项已有待审批的延期申请，请等待督查员审批后再申请")
        try:
            deadlines.extend(task.complete_due, new_date, now)
        except ValueError as exc:
            raise DomainError(str(exc))
        request = ExtensionRequest(
            task=task, task_id=task.id, assignment_id=assignment.id, old_due=task.complete_due,
            requested_date=new_date, reason=reason, state="pending", requested_by=username(user), requested_at=now,
        )
        db.session.add(request)
    return request


def decide_extension(
    request_id: int, approve: bool, note: str | None = None, user=None, now: dt.datetime | None = None,
    task_id: int | None = None,
) -> ExtensionRequest:
    """Approve (moves task.complete_due; the request keeps old_due) or reject (note required).
    `task_id`: the item the caller names (a URL's); a request of another item is NotFound,
    refused before anything is written."""
    now = default_now(now)
    require_supervisor(user)
    request = db.session.get(ExtensionRequest, request_id)
    if request is None or (task_id is not None and request.task_id != task_id):
        raise NotFound("延期申请不存在或不在您的管辖范围内")
    task = supervised_task(request.task_id, user)
    if request.state != "pending":
        raise DomainError("该延期申请已处理，不能重复审批")
    if task.state not in ACTIVE_STATES:
        raise refuse(task, "审批延期")
    note = (note or "").strip() or None
    if not approve and note is None:
        raise DomainError("驳回延期申请须说明理由")
    with command(user, "延期申请"):
        claim(task, "state", ACTIVE_STATES)
        claim(request, "state", ("pending",), "该延期申请")
        if approve and task.complete_due != request.old_due:
            raise Conflict("事项的办结期限已变更，请刷新后重新审批")
        if approve:
            # The request was made in time (checked when asked); the decision may come later.
            task.complete_due = deadlines.extend(request.old_due, request.requested_date, request.requested_at)
        request.state = "approved" if approve else "rejected"
        request.decided_by, request.decided_at, request.decision_note = username(user), now, note
    return request


# ---------------------------------------------------------------- review and closing

def approve_completion(
    task_id: int, user=None, now: dt.datetime | None = None, expected_version: int | None = None
) -> SupervisionTask:
    """审核通过: 待审核 → 已办结."""
    now = default_now(now)
    task = supervised_task(task_id, user)
    if task.state != "pending_review":
        raise refuse(task, "审核通过", "只有待审核的事项可以办结")
    with command(user, TASK):
        claim(task, "state", ("pending_review",))
        check_version(task, expected_version, TASK)
        task.state, task.completed_at = "completed", now
    return task


def return_task(
    task_id: int, reason: str, user=None, now: dt.datetime | None = None, expected_version: int | None = None
) -> SupervisionTask:
    """退办: 待审核 → 办理中 with a reason; the lead unit must report completion again."""
    now = default_now(now)
    task = supervised_task(task_id, user)
    if task.state != "pending_review":
        raise refuse(task, "退办", "只有待审核的事项可以退办")
    reason = required_text(reason, "退办须说明理由")
    with command(user, TASK):
        claim(task, "state", ("pending_review",))
        check_version(task, expected_version, TASK)
        task.state, task.state_reason, task.submitted_at = "in_progress", reason, None
        for assignment in task.assignments:
            if assignment.is_lead:
                assignment.completion_reported_at = None
                if task.rule.long_term:
                    assignment.next_report_due = deadlines.next_report_due(now, rule_of(task.rule), work_calendar())
    return task


def terminate(
    task_id: int, reason: str, user=None, now: dt.datetime | None = None, expected_version: int | None = None
) -> SupervisionTask:
    """终止 any open item (草稿/已交办/办理中/待审核) with a reason; pending extensions lapse."""
    now = default_now(now)
    task = supervised_task(task_id, user)
    if task.state not in ("draft", *OPEN_STATES):
        raise refuse(task, "终止", "已办结或已终止的事项不能终止")
    reason = required_text(reason, "终止事项须说明理由")
    with command(user, TASK):
        claim(task, "state", ("draft", *OPEN_STATES))
        check_version(task, expected_version, TASK)
        pending = db.session.scalars(
            select(ExtensionRequest).where(ExtensionRequest.task_id == task.id, ExtensionRequest.state == "pending")
        ).all()
        task.state, task.state_reason, task.terminated_at = "terminated", reason, now
        for request in pending:
            request.state, request.decided_by, request.decided_at = "rejected", username(user), now
            request.decision_note = "事项已终止，延期申请自动作废"
    return task


def delete_draft(task_id: int, user=None) -> None:
    """Delete a draft (an assigned item is terminated instead). Claimed in 草稿 first: a
    交办 at the same instant either comes first (the deletion is refused) or finds no item."""
    task = supervised_task(task_id, user)
    if task.state != "draft":
        raise DomainError(f"事项“{task.code}”已{state_label(task.state)}，只有草稿可以删除；已交办的事项请使用终止")
    with command(user, TASK):
        claim(task, "state", ("draft",))
        db.session.delete(task)


def draft_warnings(task: SupervisionTask, now: dt.datetime | None = None) -> list[str]:
    """What to tell the supervisor about a draft before 交办 (Chinese; [] if nothing): a
    办结期限 set by hand that has already passed (交办 would refuse it)."""
    today = default_now(now).date()
    deadline = task.manual_deadline
    if task.state != "draft" or deadline is None or deadline >= today:
        return []
    return [f"人工设定的办结期限 {deadline.isoformat()} 已过（今天是 {today.isoformat()}），"
            "交办前请修改办结期限，否则无法按期办结"]


def can_supervise(task: SupervisionTask, user) -> bool:
    """Whether the user may run supervisor commands on this (visible) task; for screens."""
    return is_supervisor(user) and all(unit_visible_to(u, user) for u in [task.lead_unit, *task.assist_units])
