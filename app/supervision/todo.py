"""Row scope of supervision lists and the 我的待办 (to-do) of a user, set-based."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, not_, or_, select, true
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ExtensionRequest, Finding, SupervisionTask, TaskAssignment, TaskReminder, task_assist_unit
from app.security.scope import units_visible_to
from app.supervision import deadlines
from app.supervision.access import (
    ACTIVE_STATES,
    default_now,
    is_liaison,
    is_supervisor,
    task_visible,
)
from app.supervision.findings import scope_findings

TODO_KEYS = ("returned", "to_sign", "reports_due", "extensions", "reviews", "reminders", "findings_to_rectify", "findings_to_verify")


def scope_tasks(stmt, user):
    """Restrict a select of SupervisionTask to what the user may see (None: everything).

    Supervisors, admins, leaders: lead or any assisting unit in their subtree. Liaisons:
    lead or an assisting unit is their own unit, drafts excluded. Other roles: nothing.
    """
    return task_visible(stmt, user)


def supervisable(user):
    """SQL condition: the user may run supervisor commands on the task (every addressed
    unit lies in their subtree); the twin of supervision_tasks.can_supervise."""
    ids = units_visible_to(user)
    if ids is None:
        return true()
    outside = exists().where(task_assist_unit.c.task_id == SupervisionTask.id, task_assist_unit.c.org_unit_id.not_in(ids))
    return and_(SupervisionTask.lead_unit_id.in_(ids), not_(outside))


def todo(user, now: dt.datetime | None = None, limit: int = 200) -> dict[str, list]:
    """Return what waits on the user, one query per list (each at most `limit` rows):

    liaisons — returned: own lead assignments of items a supervisor returned (退办, the
      reason in task.state_reason) whose completion is not yet reported again;
      to_sign: own unit's unsigned assignments of 已交办/办理中 items;
      reports_due: own signed assignments of 办理中 items still owing the first report, a
      periodic report or their completion report due within 24 h or overdue;
      reminders: unread reminders to the own unit; findings_to_rectify: own findings
      待整改/整改中.
    supervisors/admins — extensions: pending requests; reviews: items 待审核 (both only on
      items they may supervise); reminders: unread reminders to units in their subtree;
      findings_to_verify: findings 待验收 in their subtree.
    Everyone else (leaders) gets empty lists. Assignments come with their task loaded.
    """
    now = default_now(now)
    lists: dict[str, list] = {key: [] for key in TODO_KEYS}
    if user is not None and is_liaison(user) and user.org_unit_id and not is_supervisor(user):
        _liaison_todo(lists, user.org_unit_id, now, limit)
    elif is_supervisor(user):
        _supervisor_todo(lists, user, limit)
    return lists


def _liaison_todo(lists: dict, unit_id: int, now: dt.datetime, limit: int) -> None:
    a, t = TaskAssignment, SupervisionTask
    cut = now + deadlines.YELLOW_WINDOW
    mine = select(a).join(t, t.id == a.task_id).options(joinedload(a.task)).where(a.org_unit_id == unit_id)
    lists["to_sign"] = _all(mine.where(t.state.in_(ACTIVE_STATES), a.signed_at.is_(None)).order_by(a.acknowledge_due, a.id), limit)
    owing = or_(
        a.first_report_at.is_(None),
        a.next_report_due <= cut,
        and_(a.completion_reported_at.is_(None), t.complete_due <= cut),
    )
    # 退办 moves the item back to 办理中 with its reason; until the lead unit reports completion
    # again it waits as 被退回 (whatever its deadlines), and only there.
    returned = and_(t.state == "in_progress", t.state_reason.is_not(None), a.is_lead,
                    a.completion_reported_at.is_(None))
    lists["returned"] = _all(mine.where(returned).order_by(t.complete_due, a.id), limit)
    lists["reports_due"] = _all(
        mine.where(t.state == "in_progress", a.signed_at.is_not(None), owing, not_(returned))
        .order_by(t.complete_due, a.id), limit
    )
    lists["reminders"] = _all(
        select(TaskReminder)
        .where(TaskReminder.org_unit_id == unit_id, TaskReminder.read_at.is_(None))
        .order_by(TaskReminder.created_at.desc(), TaskReminder.id.desc()),
        limit,
    )
    lists["findings_to_rectify"] = _all(
        select(Finding)
        .where(Finding.org_unit_id == unit_id, Finding.state.in_(("pending", "rectifying")))
        .order_by(Finding.deadline, Finding.id),
        limit,
    )


def _supervisor_todo(lists: dict, user, limit: int) -> None:
    t = SupervisionTask
    lists["extensions"] = _all(
        select(ExtensionRequest)
        .join(t, t.id == ExtensionRequest.task_id)
        .where(ExtensionRequest.state == "pending", t.state.in_(ACTIVE_STATES), supervisable(user))
        .order_by(ExtensionRequest.requested_at, ExtensionRequest.id),
        limit,
    )
    lists["reviews"] = _all(
        select(t).where(t.state == "pending_review", supervisable(user)).order_by(t.submitted_at, t.id), limit
    )
    reminders = select(TaskReminder).where(TaskReminder.read_at.is_(None))
    ids = units_visible_to(user)
    if ids is not None:
        reminders = reminders.where(TaskReminder.org_unit_id.in_(ids))
    lists["reminders"] = _all(reminders.order_by(TaskReminder.created_at.desc(), TaskReminder.id.desc()), limit)
    lists["findings_to_verify"] = _all(
        scope_findings(select(Finding).where(Finding.state == "awaiting_verification"), user)
        .order_by(Finding.rectified_at, Finding.id),
        limit,
    )


def _all(stmt, limit: int) -> list:
    return list(db.session.scalars(stmt.limit(limit)).unique())
