"""Lights (红黄绿灯) and days late of supervision items: derived, never stored.

One definition, two implementations that must agree (a test checks them on a set of tasks):
`task_milestones`/`task_light` for one loaded task, and `light_filter` for set-based lists.

The milestones of a task (each a (due, done_at) pair):

- per assignment: 签收 (acknowledge_due, signed_at), 首次反馈 (first_report_due,
  first_report_at), and for long-term items the next periodic report (next_report_due,
  never done while the task is open);
- on the task: 办结 (complete_due, submitted_at).

`submitted_at` is set exactly while the task is 待审核 or 已办结 (the lead unit's completion
report; 退办 clears it). Once it is set, the completion report consolidates the item: any
milestone still open counts as done at `submitted_at`. So a task waiting for review never
turns red while the supervisor reviews, and a completed task shows 按期完成 or 超期已完成.

Drafts and terminated tasks have no light (None) and match no light filter.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, false, func, not_, or_
from sqlalchemy.orm import aliased

from app.models import SupervisionTask, TaskAssignment
from app.supervision import deadlines

LIT_STATES = ("assigned", "in_progress", "pending_review", "completed")
OPEN_STATES = ("assigned", "in_progress", "pending_review")
LIGHTS = (deadlines.GREEN, deadlines.YELLOW, deadlines.RED, deadlines.OVERDUE_DONE, deadlines.DONE)
LIGHT_LABELS = deadlines.LIGHT_LABELS
REPORT = "report"  # the periodic report milestone of long-term items
MILESTONE_LABELS = {**deadlines.MILESTONE_LABELS, REPORT: "定期反馈"}


def task_milestones(task: SupervisionTask) -> list[tuple[str, TaskAssignment | None, dt.datetime, dt.datetime | None]]:
    """Return (milestone, assignment or None, due, done_at) of a task, as described above."""
    if task.state not in LIT_STATES or task.complete_due is None:
        return []
    closed = task.submitted_at
    items: list = [(deadlines.COMPLETE, None, task.complete_due, closed)]
    for a in task.assignments:
        if a.acknowledge_due is not None:
            items.append((deadlines.ACKNOWLEDGE, a, a.acknowledge_due, a.signed_at or closed))
        if a.first_report_due is not None:
            items.append((deadlines.FIRST_REPORT, a, a.first_report_due, a.first_report_at or closed))
        if a.next_report_due is not None:
            items.append((REPORT, a, a.next_report_due, closed))
    return items


def task_light(task: SupervisionTask, now: dt.datetime) -> str | None:
    """Return green/yellow/red/overdue_done/done (deadlines.item_light), None without milestones."""
    pairs = [(due, done) for _, _, due, done in task_milestones(task)]
    return deadlines.item_light(pairs, now) if pairs else None


def days_late(task: SupervisionTask, now: dt.datetime) -> int:
    """Return the most whole days any milestone of the task is (or was) late; 0 if none."""
    return max((deadlines.days_late(due, done, now) for _, _, due, done in task_milestones(task)), default=0)


LATE_NAMES = {deadlines.ACKNOWLEDGE: "签收", deadlines.FIRST_REPORT: "首次反馈", deadlines.COMPLETE: "办结",
              REPORT: "定期反馈"}
_LATE_ORDER = (deadlines.ACKNOWLEDGE, deadlines.FIRST_REPORT, REPORT, deadlines.COMPLETE)


def late_milestones(task: SupervisionTask, now: dt.datetime) -> list[tuple[str, int]]:
    """Return (milestone, days) of each kind of milestone that is (or was) late, most days
    first (the most late assignment's days for the per-unit milestones); [] if none."""
    worst: dict[str, int] = {}
    for name, _, due, done in task_milestones(task):
        days = deadlines.days_late(due, done, now)
        if days:
            worst[name] = max(days, worst.get(name, 0))
    return sorted(worst.items(), key=lambda item: (-item[1], _LATE_ORDER.index(item[0])))


def late_text(task: SupervisionTask, now: dt.datetime) -> str:
    """The late milestones in words, e.g. "首次反馈超期 2 天" or "签收超期 3 天、首次反馈超期 1 天";
    "" when nothing is late."""
    return "、".join(f"{LATE_NAMES[name]}超期 {days} 天" for name, days in late_milestones(task, now))


def completion_days_late(task: SupervisionTask, now: dt.datetime) -> int:
    """Return the whole days the completion (办结) is or was late; 0 for drafts and terminated."""
    if task.state not in LIT_STATES or task.complete_due is None:
        return 0
    return deadlines.days_late(task.complete_due, task.submitted_at, now)


# ---------------------------------------------------------------- the same rules in SQL

# One alias per module, built once: aliased() makes its column proxies afresh on first use
# (about 1 ms per light filter, twice per list: count and page). Each use sits in an EXISTS
# of its own, never inside another, so sharing the alias never correlates two of them.
_MILESTONE = aliased(TaskAssignment, name="milestone")


def _open_due(condition):
    """SQL: the task has a milestone still open (not done) whose due satisfies `condition`.

    A milestone is open when its own done column is NULL and the task has no
    `submitted_at` (which would close it); the task itself must be lit. A lit task without
    `submitted_at` is in an open state: 已办结 is reached only from 待审核, whose entry sets
    `submitted_at`, and only 退办 clears it (back to 办理中). So the test on the state is
    `OPEN_STATES`, not `LIT_STATES`: the same rows, but an index on state then picks the few
    open items out of years of completed ones before anything else is evaluated.
    """
    t, a = SupervisionTask, _MILESTONE
    per_assignment = exists().where(
        a.task_id == t.id,
        or_(
            and_(a.signed_at.is_(None), condition(a.acknowledge_due)),
            and_(a.first_report_at.is_(None), condition(a.first_report_due)),
            condition(a.next_report_due),
        ),
    )
    return and_(
        t.state.in_(OPEN_STATES),
        t.submitted_at.is_(None),
        or_(and_(t.complete_due.is_not(None), condition(t.complete_due)), per_assignment),
    )


def _done_late():
    """SQL: the task has a milestone done at or after its due (超期已完成)."""
    t, a = SupervisionTask, _MILESTONE
    closed = t.submitted_at
    per_assignment = exists().where(
        a.task_id == t.id,
        or_(
            func.coalesce(a.signed_at, closed) >= a.acknowledge_due,
            func.coalesce(a.first_report_at, closed) >= a.first_report_due,
            closed >= a.next_report_due,
        ),
    )
    # spelled so that it is never NULL: not_() of a NULL would drop the row from every filter
    on_task = and_(closed.is_not(None), t.complete_due.is_not(None), closed >= t.complete_due)
    return and_(t.state.in_(LIT_STATES), or_(on_task, per_assignment))


def light_condition(light: str, now: dt.datetime):
    """Return the SQL condition "the task's light is `light` at `now`".

    With cut = now + 24 h, and milestones as in the module docstring:
    - red:          a lit task has an open milestone with due <= now;
    - yellow:       not red, and an open milestone with now < due <= cut;
    - overdue_done: neither, and a milestone done at or after its due (done >= due);
    - green:        none of these, and an open milestone (necessarily due > cut);
    - done:         a lit task with none of these (every milestone done before its due).
    Exactly the rules of deadlines.light/item_light (severity red > yellow > overdue_done >
    green > done), so `light_filter` and `task_light` agree on every task.
    """
    cut = now + deadlines.YELLOW_WINDOW
    # Only the conditions a light needs are built: each one is a sizeable expression
    # (the dashboard asks for several lights per request).
    red = lambda: _open_due(lambda due: due <= now)  # noqa: E731
    yellow = lambda: _open_due(lambda due: and_(due > now, due <= cut))  # noqa: E731
    any_open = lambda: _open_due(lambda due: due.is_not(None))  # noqa: E731
    if light == deadlines.RED:
        return red()
    if light == deadlines.YELLOW:
        return and_(yellow(), not_(red()))
    if light == deadlines.OVERDUE_DONE:
        return and_(_done_late(), not_(red()), not_(yellow()))
    if light == deadlines.GREEN:
        return and_(any_open(), not_(red()), not_(yellow()), not_(_done_late()))
    if light == deadlines.DONE:
        lit = and_(SupervisionTask.state.in_(LIT_STATES), SupervisionTask.complete_due.is_not(None))
        return and_(lit, not_(any_open()), not_(_done_late()))
    return false()


def light_filter(stmt, light: str, now: dt.datetime):
    """Filter a select of SupervisionTask to the tasks whose light is `light` at `now`.

    `light` is one of green/yellow/red/overdue_done/done (deadlines constants); an unknown
    value matches nothing. See `light_condition` for the exact SQL semantics.
    """
    return stmt.where(light_condition(light, now))
