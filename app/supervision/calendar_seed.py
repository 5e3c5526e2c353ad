"""Seed the working calendar (DESIGN.md section 4) from the published national arrangements.

The `chinese_calendar` package carries the State Council's holiday notices for 2004–2026;
later years are added by the admin. Only this seed reads the package: the deadline math
(`app/deadlines.py`) reads the stored table.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def national_calendar(year: int) -> tuple[set[date], set[date]]:
    """Return (statutory holidays, weekend make-up working days) of a year the package covers.

    Holidays are the days the package names as holidays (including the weekend days inside
    a holiday run) plus any weekday it marks as a rest day; make-up days are Saturdays and
    Sundays it marks as working days (调休上班).
    """
    low, high = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    if not low <= year <= high:
        raise ValueError(f"{year} 年的节假日安排未收录（内置数据仅覆盖 {low}–{high} 年），请由管理员手工维护工作日历")
    holidays: set[date] = set()
    workdays: set[date] = set()
    day = date(year, 1, 1)
    while day.year == year:
        rest, name = chinese_calendar.get_holiday_detail(day)
        if rest and (name is not None or day.weekday() < 5):
            holidays.add(day)
        elif not rest and day.weekday() >= 5:
            workdays.add(day)
        day += timedelta(days=1)
    return holidays, workdays
