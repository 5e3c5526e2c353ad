"""Who may do what in supervision, and the transaction every supervision command runs in.

Commands receive the acting `user` explicitly (an AppUser; None = the CLI or the system,
unrestricted), so the web UI, the API, the CLI and the tests call them the same way:

- supervisor actions need the 督查员 or 系统管理员 role; liaison actions need the 承办联络员
  role *and* the user's unit to be the addressed unit; 县区领导 and everyone else change nothing
  (Forbidden);
- a row the user may not see raises NotFound, exactly like a missing row (DESIGN.md section 6).
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import and_, false, or_, select

from app.core import audit, claims, clock, commands
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import (
    TASK_STATES,
    Attachment,
    OrgUnit,
    SupervisionTask,
    TaskAssignment,
    TaskReport,
)
from app.security import roles as R
from app.security.scope import covers_whole_tree, prefix_of, task_addressed_to, task_touches_subtree, unit_visible_to

SYSTEM = "系统"
TASK = "督查事项"
NOT_FOUND = "督查事项不存在或不在您的管辖范围内"
ACTIVE_STATES = ("assigned", "in_progress")  # the addressed units are working on it
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Evidence is documents, spreadsheets, images and archives; anything a browser or the OS
# would run (html, js, exe, scripts …) is refused.
ALLOWED_ATTACHMENT_TYPES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".ofd", ".txt", ".csv",
                            ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".zip", ".rar", ".7z")
STALE = "已被他人修改，您的操作未保存。请刷新后重试。"
TAKEN = "已被他人处理，请刷新后重试"


# ---------------------------------------------------------------- roles and scope

def role_names(user) -> set[str]:
    return {role.name for role in getattr(user, "roles", None) or []}


def is_supervisor(user) -> bool:
    """督查员 or 系统管理员 (None, the CLI, counts as one)."""
    return user is None or bool(role_names(user) & {R.SUPERVISOR, R.ADMIN})


def is_liaison(user) -> bool:
    return user is not None and R.LIAISON in role_names(user)


def reads_subtree(user) -> bool:
    """Roles that read supervision rows of their whole subtree (not only their own unit)."""
    return user is None or bool(role_names(user) & {R.SUPERVISOR, R.ADMIN, R.LEADER})


def require_supervisor(user) -> None:
    if not is_supervisor(user):
        raise Forbidden("只有督查员或系统管理员可以执行此操作")


def require_liaison_of(user, unit_id: int, what: str) -> None:
    """The user must be the liaison of `unit_id` (None, the CLI, may act for any unit)."""
    if user is None:
        return
    if not is_liaison(user):
        raise Forbidden(f"只有本单位承办联络员可以{what}")
    if user.org_unit_id != unit_id:
        raise Forbidden(f"只能为本单位{what}")


def task_visible(stmt, user):
    """Restrict a select of SupervisionTask to the tasks the user may see.

    Supervisors, admins and leaders: the lead unit or any assisting unit lies in their
    subtree. Liaisons: the lead unit or an assisting unit is their own unit, and the task
    has been assigned (a draft is addressed to nobody yet). Anyone else sees nothing.
    """
    if user is None:
        return stmt
    if reads_subtree(user):
        if covers_whole_tree(prefix_of(user)):  # the city: every item (its lead unit is required)
            return stmt.where(SupervisionTask.lead_unit_id.is_not(None))
        return stmt.where(task_touches_subtree(prefix_of(user)))
    if is_liaison(user) and user.org_unit_id:
        return stmt.where(SupervisionTask.state != "draft", task_addressed_to(user.org_unit_id))
    return stmt.where(false())


# ---------------------------------------------------------------- a shared item's per-unit material
#
# An item can be addressed to units of several counties. Who reads what of it (README,
# "督查事项跨县共享的可见范围"): everyone who sees the item (task_visible) sees the item itself
# (its fields, state, deadline, extension decisions); each addressed unit's own material (its
# assignment, its reports and their attachments, reminders sent to it) is read by that unit,
# by the lead unit's side and by the item's supervisors; the lead unit's completion report,
# which consolidates every unit's work, is read by every unit. Anything else answers 404.

REPORT_NOT_FOUND = "办理反馈或附件不存在或不在您的管辖范围内"


def covers_unit(unit: OrgUnit | None, user) -> bool:
    """Whether the user acts for `unit`: its liaison, or a supervisor, admin or leader whose
    subtree contains it (None, the CLI or the system: every unit)."""
    if user is None:
        return True
    if unit is None:
        return False
    if reads_subtree(user):
        return unit_visible_to(unit, user)
    return is_liaison(user) and unit.id == user.org_unit_id


def sees_whole_item(task: SupervisionTask, user) -> bool:
    """The lead unit's side (its liaison; leaders, supervisors and admins whose subtree holds
    it, the city's included) and the item's supervisor of record (督查责任人, by default the
    supervisor who created it) read every addressed unit's material."""
    if user is None or covers_unit(task.lead_unit, user):
        return True
    return is_supervisor(user) and task.supervisor_id is not None and task.supervisor_id == user.id


def visible_assignment_ids(task: SupervisionTask, user) -> set[int]:
    """The assignments of a visible task whose own material the user may read."""
    whole = sees_whole_item(task, user)
    return {a.id for a in task.assignments if whole or covers_unit(a.org_unit, user)}


def _consolidated(report: TaskReport) -> bool:
    return report.kind == "completion" and report.assignment.is_lead


def task_reports(task: SupervisionTask, user) -> list[TaskReport]:
    """The reports of a visible task that the user may read, oldest first."""
    stmt = (
        select(TaskReport).join(TaskAssignment, TaskAssignment.id == TaskReport.assignment_id)
        .where(TaskAssignment.task_id == task.id)
    )
    if not sees_whole_item(task, user):
        own = visible_assignment_ids(task, user)
        stmt = stmt.where(or_(TaskReport.assignment_id.in_(own),
                              and_(TaskAssignment.is_lead.is_(True), TaskReport.kind == "completion")))
    return list(db.session.scalars(stmt.order_by(TaskReport.created_at, TaskReport.id)))


def get_report(task_id: int, report_id: int, user) -> TaskReport:
    """A report of the task `task_id` that the user may read, else NotFound (a report of
    another item, another unit's own report, a missing one alike)."""
    task = get_task(task_id, user)
    report = db.session.get(TaskReport, report_id)
    if report is None or report.assignment.task_id != task.id:
        raise NotFound(REPORT_NOT_FOUND)
    if not (_consolidated(report) or report.assignment_id in visible_assignment_ids(task, user)):
        raise NotFound(REPORT_NOT_FOUND)
    return report


def get_report_attachment(attachment_id: int, user, task_id: int | None = None) -> Attachment:
    """An attachment of a report the user may read (of the task `task_id` when given)."""
    row = db.session.get(Attachment, attachment_id)
    report = db.session.get(TaskReport, row.owner_id) if row is not None and row.owner_table == "task_report" else None
    if report is None or (task_id is not None and report.assignment.task_id != task_id):
        raise NotFound(REPORT_NOT_FOUND)
    get_report(report.assignment.task_id, report.id, user)
    return row


def state_label(state: str) -> str:
    return TASK_STATES.get(state, state)


def refuse(task: SupervisionTask, verb: str, hint: str = "") -> DomainError:
    """The DomainError of an illegal transition, in Chinese."""
    label = state_label(task.state)
    return DomainError(f"事项“{task.code}”当前状态为“{label}”，不能{verb}" + (f"；{hint}" if hint else ""))


def get_task(task_id: int, user=None) -> SupervisionTask:
    """Return a task the user may see, else NotFound (missing and out of scope alike)."""
    task = db.session.scalar(task_visible(select(SupervisionTask).where(SupervisionTask.id == task_id), user))
    if task is None:
        raise NotFound(NOT_FOUND)
    return task


def supervised_task(task_id: int, user) -> SupervisionTask:
    """A task a supervisor may change: visible, and every addressed unit in their subtree."""
    require_supervisor(user)
    task = get_task(task_id, user)
    if not all(unit_visible_to(unit, user) for unit in [task.lead_unit, *task.assist_units]):
        raise Forbidden("该事项涉及您管辖范围以外的单位，只能由上级督查员处理")
    return task


def own_assignment(assignment_id: int, user, what: str) -> TaskAssignment:
    """An assignment of a visible task whose unit is the acting liaison's own unit."""
    assignment = db.session.get(TaskAssignment, assignment_id)
    if assignment is None:
        raise NotFound(NOT_FOUND)
    get_task(assignment.task_id, user)
    require_liaison_of(user, assignment.org_unit_id, what)
    return assignment


def check_version(obj, expected_version, what: str) -> None:
    """Refuse an edit made from a stale copy (optimistic locking on `version`)."""
    if expected_version is not None and int(expected_version) != obj.version:
        raise Conflict(f"{what}{STALE}")


def claim(obj, column: str, expected, what: str = "该事项") -> None:
    """Hold `obj`'s row for the running command while `column` still has an `expected` value
    (a tuple of values, or None for "not set yet"); then reload everything the session holds.

    Call it inside `command()`, before any change, once per row the transition reads and
    writes (a task before its assignments or requests, the same order everywhere); see
    app/services/claims.py. No row matched: someone moved it first, and the loser gets a
    Conflict "…已被他人处理，请刷新后重试" (409) that changed nothing.
    """
    claims.claim(obj, column, expected, f"{what}{TAKEN}")


def username(user) -> str:
    return user.username if user is not None else audit.SYSTEM


def default_now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else clock.now()


def required_text(value: str | None, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message)
    return value


# ---------------------------------------------------------------- transaction

def command(user, what: str = "该记录"):
    """The supervision commands' transaction: app/core/commands.py with their Chinese words
    for a stale copy and for a duplicate."""
    return commands.command(user, f"{what}{STALE}", f"{what}与已有记录冲突（编号重复或已被他人处理），未保存。")


# ---------------------------------------------------------------- attachments

def save_attachments(owner_table: str, owner_id: int, attachments, user) -> list[Attachment]:
    """Store (filename, bytes, content_type) files for a report, each at most 10 MB."""
    saved = []
    for item in attachments or ():
        filename, content, content_type = (tuple(item) + (None,))[:3]
        name = os.path.basename((filename or "").replace("\\", "/")).strip()
        if not name:
            raise DomainError("附件文件名不能为空")
        if not name.lower().endswith(ALLOWED_ATTACHMENT_TYPES):
            raise DomainError(f"附件“{name}”的文件类型不允许上传（允许：PDF、Word、Excel、图片、文本、压缩包）")
        if content is None or len(content) == 0:
            raise DomainError(f"附件“{name}”为空文件")
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise DomainError(f"附件“{name}”超过 10 MB，未保存")
        row = Attachment(
            owner_table=owner_table, owner_id=owner_id, filename=name[-200:],
            content_type=(content_type or None) and content_type[:100], size=len(content),
            content=bytes(content), created_by=username(user),
        )
        db.session.add(row)
        saved.append(row)
    return saved
