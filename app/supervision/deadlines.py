"""Pure 13710 deadline math (DESIGN.md section 4): plain values in, plain values out.

No Flask, no SQLAlchemy, no calendar package: the working calendar arrives as two plain
sets of dates (the admin-kept `WorkCalendar` table, seeded by `services/calendar_seed.py`).

How periods are counted (the decisions every caller relies on):

- 13710's "1" means acknowledge/deploy *on the day of assignment* (当日部署): the
  acknowledge milestone counts the assignment day as day 1, so `acknowledge_days=1` is due
  at the end of that day, or at the end of the next working day when assigned on a
  non-working day.
- Every other period follows the civil-law rule (民法典 第二百零一条): the starting day is not
  counted, so "3 days" from Monday is Thursday and "1 month" from 31 January is the last
  day of February (第二百零二条: no corresponding day -> the month's last day).
- Calendar-day periods whose last day is a non-working day end on the next working day
  (期限届满日为节假日的，以节假日后的第一个工作日为届满日); a weekend make-up working day
  (调休上班) is a working day. Working-day periods count only working days after the start.
- A milestone is due at the END of its day: the returned datetime is the next midnight and
  the milestone is met when done strictly before it (done < due).
"""

from __future__ import annotations

import calendar as _monthcal
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

ONE_DAY = timedelta(days=1)
YELLOW_WINDOW = timedelta(hours=24)

ACKNOWLEDGE = "acknowledge"
FIRST_REPORT = "first_report"
COMPLETE = "complete"
MILESTONE_LABELS = {ACKNOWLEDGE: "签收部署", FIRST_REPORT: "首次反馈", COMPLETE: "办结"}

GREEN, YELLOW, RED, OVERDUE_DONE, DONE = "green", "yellow", "red", "overdue_done", "done"
LIGHT_LABELS = {
    GREEN: "绿灯（正常）",
    YELLOW: "黄灯（即将超期）",
    RED: "红灯（已超期）",
    OVERDUE_DONE: "超期已完成",
    DONE: "按期完成",
}
# Worst first: an open overdue milestone outranks one about to fall due; a milestone that
# was completed late stays visible (超期已完成 is kept) over on-track and on-time ones.
LIGHT_SEVERITY = (RED, YELLOW, OVERDUE_DONE, GREEN, DONE)


@dataclass(frozen=True)
class WorkCalendar:
    """Statutory holidays and weekend make-up working days (调休) kept by the admin."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        clash = self.holidays & self.workdays
        if clash:
            raise ValueError(f"日期 {min(clash).isoformat()} 不能既是节假日又是调休工作日")

    def is_working_day(self, d: date) -> bool:
        """Mon–Fri unless a holiday; Sat/Sun only when a make-up working day."""
        if d in self.holidays:
            return False
        return d.weekday() < 5 or d in self.workdays


@dataclass(frozen=True)
class Rule:
    """A 13710 time-limit rule; counts are days unless named otherwise.

    acknowledge_days: "1" = acknowledge/deploy on the day of assignment (day 1 is that day).
    first_report_days: "3" = first progress report within 3 days after assignment.
    complete_days / complete_months: "7" = ordinary matters within 7 days; "1" = major or
        complex matters within 1 month (months first, then any extra days).
    report_interval_days: periodic progress reports of long-term items.
    working_days: count working days instead of calendar days.
    long_term: 长期事项, the completion deadline is set by hand.
    "0" = every item is tracked until cleared: nothing here ever drops a milestone.
    """

    acknowledge_days: int = 1
    first_report_days: int = 3
    complete_days: int = 7
    complete_months: int = 0
    report_interval_days: int = 7
    working_days: bool = False
    long_term: bool = False

    def __post_init__(self) -> None:
        _check_rule(self)


def _check_rule(rule: Rule) -> None:
    """Refuse a rule that cannot produce sensible deadlines."""
    if rule.acknowledge_days < 1:
        raise ValueError("签收时限至少为 1 天（当日）")
    if min(rule.first_report_days, rule.complete_days, rule.complete_months) < 0:
        raise ValueError("时限不能为负数")
    if rule.report_interval_days < 1:
        raise ValueError("定期反馈间隔至少为 1 天")
    if not rule.long_term and rule.complete_days == 0 and rule.complete_months == 0:
        raise ValueError("非长期事项须设置办结时限（天数或月数）")


ORDINARY = Rule()
MAJOR = Rule(complete_days=0, complete_months=1)
LONG_TERM = Rule(complete_days=0, long_term=True)


def next_working_day(d: date, cal: WorkCalendar) -> date:
    """Return d itself if it is a working day, else the first working day after it."""
    while not cal.is_working_day(d):
        d += ONE_DAY
    return d


def add_days(start: date, n: int, rule: Rule, cal: WorkCalendar) -> date:
    """Return the last day of an n-day period starting after `start` (always a working day).

    Calendar days: start + n, rolled forward to a working day. Working days: the n-th
    working day after start; n == 0 gives start rolled forward to a working day.
    """
    if n < 0:
        raise ValueError("天数不能为负数")
    if not rule.working_days:
        return next_working_day(start + timedelta(days=n), cal)
    d = start
    for _ in range(n):
        d = next_working_day(d + ONE_DAY, cal)
    return next_working_day(d, cal)


def shift_months(start: date, n: int) -> date:
    """Return the same day n months later, clamped to that month's last day."""
    months = start.year * 12 + start.month - 1 + n
    year, month = divmod(months, 12)
    last = _monthcal.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def add_months(start: date, n: int, cal: WorkCalendar) -> date:
    """Return the last day of an n-month period, clamped to month end, rolled to a working day."""
    if n < 0:
        raise ValueError("月数不能为负数")
    return next_working_day(shift_months(start, n), cal)


def end_of_day(d: date, like: datetime | None = None) -> datetime:
    """Return the instant a day ends (next midnight), in the time zone of `like`."""
    tz = like.tzinfo if like is not None else None
    return datetime.combine(d + ONE_DAY, time.min, tzinfo=tz)


def complete_date(start: date, rule: Rule, cal: WorkCalendar) -> date:
    """Return the completion day of a non-long-term rule: months first, then days."""
    if rule.complete_months == 0:
        return add_days(start, rule.complete_days, rule, cal)
    base = shift_months(start, rule.complete_months)
    return add_days(base, rule.complete_days, rule, cal)


def milestones(
    assigned_at: datetime, rule: Rule, cal: WorkCalendar, manual_deadline: date | None = None
) -> dict[str, datetime]:
    """Return the due instants {acknowledge, first_report, complete} of an assignment.

    A manual deadline is required for long-term items and, when given, overrides the
    rule's completion period for any item (e.g. a major matter filed with its own timeline);
    it is taken as set, not rolled to a working day.
    """
    start = assigned_at.date()
    if manual_deadline is not None and manual_deadline < start:
        raise ValueError("办结期限不得早于交办日期")
    if rule.long_term and manual_deadline is None:
        raise ValueError("长期事项须人工设定办结期限")
    done_by = manual_deadline or complete_date(start, rule, cal)
    days = {
        ACKNOWLEDGE: add_days(start, rule.acknowledge_days - 1, rule, cal),
        FIRST_REPORT: add_days(start, rule.first_report_days, rule, cal),
        COMPLETE: done_by,
    }
    return {key: end_of_day(d, assigned_at) for key, d in days.items()}


def next_report_due(
    last_report_at_or_assigned: datetime, rule: Rule, cal: WorkCalendar
) -> datetime:
    """Return when the next periodic progress report falls due (long-term items)."""
    start = last_report_at_or_assigned.date()
    day = add_days(start, rule.report_interval_days, rule, cal)
    return end_of_day(day, last_report_at_or_assigned)


def extend(deadline: datetime, new_date: date, now: datetime) -> datetime:
    """Return the extended deadline; refuse a late request or a date not after the old one."""
    if now >= deadline:
        raise ValueError("延期申请须在期限届满前提出，当前期限已届满")
    extended = end_of_day(new_date, deadline)
    if extended <= deadline:
        raise ValueError("延期后的期限须晚于原期限")
    return extended


def light(due: datetime, done_at: datetime | None, now: datetime) -> str:
    """Return the light of one milestone; exactly 24 h before due is already yellow."""
    if done_at is not None:
        return OVERDUE_DONE if done_at >= due else DONE
    if now >= due:
        return RED
    return YELLOW if due - now <= YELLOW_WINDOW else GREEN


def item_light(milestones: list[tuple[datetime, datetime | None]], now: datetime) -> str:
    """Return the worst light of (due, done_at) pairs (order: LIGHT_SEVERITY)."""
    if not milestones:
        raise ValueError("事项没有任何期限节点")
    lights = {light(due, done_at, now) for due, done_at in milestones}
    return next(name for name in LIGHT_SEVERITY if name in lights)


def days_late(due: datetime, done_at: datetime | None, now: datetime) -> int:
    """Return whole calendar days late (any part of a day counts as one), 0 if on time."""
    end = done_at if done_at is not None else now
    if end <= due:
        return 0
    return -(-(end - due) // ONE_DAY)  # exact ceiling on timedeltas, no float rounding
