"""Supervision configuration: the default 13710 rules and the work calendar (DESIGN.md section 4).

`seed_defaults()` runs from `flask setup` and `flask supervision seed`; it only adds what is
missing, so an admin's edits to a rule or to a year's calendar survive a second run.
`work_calendar()` and `rule_of()` turn the stored rows into the pure values `app.deadlines`
works on; the deadline math never reads the database itself.
"""

from __future__ import annotations

from sqlalchemy import select

from app.core.commands import command
from app.core.errors import DomainError
from app.extensions import db
from app.models import TimeLimitRule, WorkCalendarDay
from app.supervision import deadlines
from app.supervision.calendar_seed import national_calendar

ORDINARY_RULE = "普通事项"
MAJOR_RULE = "重大复杂事项"
LONG_TERM_RULE = "长期事项"

# name -> columns; 13710: acknowledge same day (1), first report in 3 days (3), ordinary
# matters in 7 days (7), major/complex ones in 1 month (1); long items: deadline by hand and
# a report every 7 days.
DEFAULT_RULES: dict[str, dict] = {
    ORDINARY_RULE: dict(acknowledge_days=1, first_report_days=3, complete_days=7, complete_months=0),
    MAJOR_RULE: dict(acknowledge_days=1, first_report_days=3, complete_days=0, complete_months=1),
    LONG_TERM_RULE: dict(
        acknowledge_days=1, first_report_days=3, complete_days=0, complete_months=0,
        report_interval_days=7, long_term=True,
    ),
}
SEED_YEARS = range(2020, 2027)
HOLIDAY, WORKDAY = "holiday", "workday"
DAY_KINDS = {HOLIDAY: "法定节假日（休息）", WORKDAY: "调休上班"}


def seed_defaults(years=SEED_YEARS) -> dict[str, int]:
    """Add the missing default rules and the national calendar of years without any row.

    Returns {"rules": created, "calendar_days": created}. A year that already has rows is
    left alone (the admin may have corrected it), so running this twice adds nothing.
    """
    with command(None):
        rules = _seed_rules()
        days = _seed_calendar(years)
    return {"rules": rules, "calendar_days": days}


def _seed_rules() -> int:
    existing = set(db.session.scalars(select(TimeLimitRule.name)))
    created = 0
    for name, values in DEFAULT_RULES.items():
        if name not in existing:
            db.session.add(TimeLimitRule(name=name, active=True, **{"report_interval_days": 7, **values}))
            created += 1
    return created


def _seed_calendar(years) -> int:
    present = set(db.session.scalars(select(WorkCalendarDay.year).distinct()))
    created = 0
    for year in years:
        if year in present:
            continue
        holidays, workdays = national_calendar(year)
        for day in sorted(holidays):
            db.session.add(WorkCalendarDay(day=day, kind=HOLIDAY, year=year, note="法定节假日"))
        for day in sorted(workdays):
            db.session.add(WorkCalendarDay(day=day, kind=WORKDAY, year=year, note="调休上班"))
        created += len(holidays) + len(workdays)
    return created


def work_calendar() -> deadlines.WorkCalendar:
    """Return the admin-kept calendar as a pure WorkCalendar (one query, built per call)."""
    rows = db.session.execute(select(WorkCalendarDay.day, WorkCalendarDay.kind)).all()
    return deadlines.WorkCalendar(
        holidays={day for day, kind in rows if kind == HOLIDAY},
        workdays={day for day, kind in rows if kind == WORKDAY},
    )


def rule_of(row: TimeLimitRule) -> deadlines.Rule:
    """Return the pure deadline rule of a stored time-limit rule."""
    return deadlines.Rule(
        acknowledge_days=row.acknowledge_days,
        first_report_days=row.first_report_days,
        complete_days=row.complete_days,
        complete_months=row.complete_months,
        report_interval_days=row.report_interval_days,
        working_days=bool(row.working_days),
        long_term=bool(row.long_term),
    )


def check_rule(rule: TimeLimitRule) -> None:
    if not rule.long_term and not (rule.complete_days or rule.complete_months):
        raise DomainError("非长期事项须设定办结期限（天或月）")
    clash = select(TimeLimitRule.id).where(TimeLimitRule.name == rule.name, TimeLimitRule.id != rule.id)
    if rule.id is None:
        clash = select(TimeLimitRule.id).where(TimeLimitRule.name == rule.name)
    with db.session.no_autoflush:
        taken = db.session.scalar(clash) is not None
    if taken:
        message = f"规则名称“{rule.name}”已存在"
        db.session.rollback()
        raise DomainError(message)


def check_day(day: WorkCalendarDay) -> None:
    if day.kind not in DAY_KINDS:
        raise DomainError("请选择日期类型")
    day.year = day.day.year
    clash = select(WorkCalendarDay.id).where(WorkCalendarDay.day == day.day)
    if day.id is not None:
        clash = clash.where(WorkCalendarDay.id != day.id)
    with db.session.no_autoflush:
        taken = db.session.scalar(clash) is not None
    if taken:
        message = f"{day.day.isoformat()} 已在工作日历中，请修改原记录"
        db.session.rollback()
        raise DomainError(message)
