"""催办: automatic reminders for yellow/red milestones, manual ones, and marking them read.

Automatic reminders are addressed to a unit's assignment, one per (assignment, milestone,
level, due): `TaskReminder.dedup_key` is unique, so `create_due_reminders` can run from cron
as often as wanted. An approved extension moves the completion due, so a new red reminder
is made if the new deadline is missed too.

Milestones of an assignment, for reminders (the unit's own part of the item):
签收 (acknowledge_due, signed_at), 首次反馈 (first_report_due, first_report_at), 定期反馈
(next_report_due, long-term items), 办结 (task.complete_due, completion_reported_at).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select

from app.core.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import SupervisionTask, TaskAssignment, TaskReminder
from app.supervision import deadlines
from app.supervision.access import (
    ACTIVE_STATES,
    SYSTEM,
    command,
    default_now,
    get_task,
    refuse,
    require_liaison_of,
    supervised_task,
    username,
)
from app.supervision.lights import MILESTONE_LABELS, REPORT

MANUAL = "manual"
LEVEL_LABELS = {deadlines.YELLOW: "即将到期", deadlines.RED: "已超期", MANUAL: "人工催办"}
_CHUNK = 500


def assignment_milestones(assignment: TaskAssignment, task: SupervisionTask) -> list[tuple[str, dt.datetime, dt.datetime | None]]:
    """Return (milestone, due, done_at) of one unit's part of an item."""
    items = [
        (deadlines.ACKNOWLEDGE, assignment.acknowledge_due, assignment.signed_at),
        (deadlines.FIRST_REPORT, assignment.first_report_due, assignment.first_report_at),
        (REPORT, assignment.next_report_due, None),
        (deadlines.COMPLETE, task.complete_due, assignment.completion_reported_at),
    ]
    return [(name, due, done) for name, due, done in items if due is not None]


def dedup_key(assignment_id: int, milestone: str, level: str, due: dt.datetime) -> str:
    return f"{assignment_id}:{milestone}:{level}:{due:%Y%m%d%H%M}"


def _message(task: SupervisionTask, milestone: str, level: str, due: dt.datetime) -> str:
    last_day = (due - dt.timedelta(microseconds=1)).date()
    state = "已超期" if level == deadlines.RED else "即将到期"
    return (
        f"督查事项“{task.title}”（{task.code}）的{MILESTONE_LABELS[milestone]}期限"
        f"为 {last_day.isoformat()}，{state}，请抓紧办理。"
    )


def create_due_reminders(now: dt.datetime | None = None) -> int:
    """Create the missing automatic reminders of every open item; return how many were made.

    One query finds the assignments of 已交办/办理中 items with a milestone due within 24 h
    or overdue, one query per 500 candidates finds the keys already made.
    """
    now = default_now(now)
    try:
        return _create_due_reminders(now)
    except Conflict:  # another run inserted the same keys meanwhile: recount once
        return _create_due_reminders(now)


def _create_due_reminders(now: dt.datetime) -> int:
    cut = now + deadlines.YELLOW_WINDOW
    a, t = TaskAssignment, SupervisionTask
    rows = db.session.execute(
        select(a, t)
        .join(t, t.id == a.task_id)
        .where(
            t.state.in_(ACTIVE_STATES),
            or_(
                and_(a.signed_at.is_(None), a.acknowledge_due <= cut),
                and_(a.first_report_at.is_(None), a.first_report_due <= cut),
                a.next_report_due <= cut,
                and_(a.completion_reported_at.is_(None), t.complete_due <= cut),
            ),
        )
        .order_by(t.id, a.id)
    ).all()
    candidates: dict[str, TaskReminder] = {}
    for assignment, task in rows:
        for milestone, due, done in assignment_milestones(assignment, task):
            level = deadlines.light(due, done, now)
            if level not in (deadlines.YELLOW, deadlines.RED):
                continue
            key = dedup_key(assignment.id, milestone, level, due)
            candidates[key] = TaskReminder(
                task_id=task.id, assignment_id=assignment.id, org_unit_id=assignment.org_unit_id,
                milestone=milestone, level=level, due_at=due, message=_message(task, milestone, level, due),
                created_at=now, created_by=SYSTEM, dedup_key=key,
            )
    keys = list(candidates)
    existing: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        existing.update(db.session.scalars(select(TaskReminder.dedup_key).where(TaskReminder.dedup_key.in_(chunk))))
    new = [reminder for key, reminder in candidates.items() if key not in existing]
    with command(None, "催办"):
        db.session.add_all(new)
    return len(new)


def send_reminder(
    task_id: int, assignment_id: int | None = None, message: str | None = None, user=None,
    now: dt.datetime | None = None,
) -> list[TaskReminder]:
    """人工催办 by a supervisor: to one assignment, or (None) to every unit still working on it."""
    now = default_now(now)
    task = supervised_task(task_id, user)
    if task.state not in ACTIVE_STATES:
        raise refuse(task, "催办", "只有已交办或办理中的事项可以催办")
    if assignment_id is not None:
        targets = [a for a in task.assignments if a.id == assignment_id]
        if not targets:
            raise NotFound("该事项没有这个承办单位")
    else:
        targets = [a for a in task.assignments if a.completion_reported_at is None]
    if not targets:
        raise DomainError("各承办单位均已报送办结，无需催办")
    text = (message or "").strip() or f"请抓紧办理督查事项“{task.title}”（{task.code}）。"
    made = []
    with command(user, "催办"):
        for assignment in targets:
            open_items = [(due, name) for name, due, done in assignment_milestones(assignment, task) if done is None]
            milestone = min(open_items)[1] if open_items else deadlines.COMPLETE
            due = min(open_items)[0] if open_items else task.complete_due
            reminder = TaskReminder(
                task_id=task.id, assignment_id=assignment.id, org_unit_id=assignment.org_unit_id,
                milestone=milestone, level=MANUAL, due_at=due, message=text, created_at=now,
                created_by=username(user),
            )
            db.session.add(reminder)
            made.append(reminder)
    return made


def mark_reminder_read(reminder_id: int, user=None, now: dt.datetime | None = None) -> TaskReminder:
    """Mark a reminder read by the liaison of the unit it is addressed to; idempotent."""
    now = default_now(now)
    reminder = db.session.get(TaskReminder, reminder_id)
    if reminder is None:
        raise NotFound("催办记录不存在或不在您的管辖范围内")
    try:
        get_task(reminder.task_id, user)
    except NotFound:
        raise NotFound("催办记录不存在或不在您的管辖范围内")
    require_liaison_of(user, reminder.org_unit_id, "处理催办")
    if reminder.read_at is None:
        with command(user, "催办"):
            reminder.read_at = now
    return reminder
