"""Unit tests of the pure 13710 deadline rules (DESIGN.md section 4), no database.

The 2022 calendar is built here from `chinese_calendar` (the published arrangement) and
cross-checked by hand: 2022-04-02 (Sat) worked, 04-03..05 off; 2022-10-01..07 off,
10-08 (Sat) and 10-09 (Sun) worked; 2022-04-30..05-04 off, 04-24 (Sun) and 05-07 (Sat) worked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.supervision.calendar_seed import national_calendar
from app.supervision.deadlines import (
    LIGHT_LABELS,
    LONG_TERM,
    MAJOR,
    ORDINARY,
    Rule,
    WorkCalendar,
    add_days,
    add_months,
    days_late,
    extend,
    item_light,
    light,
    milestones,
    next_report_due,
)

D = date.fromisoformat
WORKING = Rule(working_days=True)
EMPTY = WorkCalendar(frozenset(), frozenset())


def days_of(year: int) -> list[date]:
    """Every day of a year."""
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def calendar_from_package(year: int) -> WorkCalendar:
    """Build a year's calendar straight from chinese_calendar, independently of the seed."""
    days = days_of(year)
    holidays = {d for d in days if d.weekday() < 5 and chinese_calendar.is_holiday(d)}
    workdays = {d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)}
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


CAL = calendar_from_package(2022)


def due(day: str) -> datetime:
    """The instant a day's milestone falls due: the next midnight."""
    return datetime.combine(D(day) + timedelta(days=1), datetime.min.time())


# --- the calendar agrees with the published arrangement ---------------------------------


def test_calendar_agrees_with_package_on_every_day_of_2022():
    days = days_of(2022)
    assert [d for d in days if CAL.is_working_day(d) != chinese_calendar.is_workday(d)] == []
    in_lieu = {d for d in days_of(2022) if chinese_calendar.is_in_lieu(d)}
    assert in_lieu and in_lieu <= CAL.holidays  # weekdays given off in exchange for make-up days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2022-04-02", True),  # Saturday, make-up working day for 清明
        ("2022-04-03", False),
        ("2022-04-04", False),  # Monday, holiday
        ("2022-04-05", False),  # Tuesday, holiday
        ("2022-04-06", True),
        ("2022-10-01", False),
        ("2022-10-03", False),  # Monday, National Day
        ("2022-10-07", False),  # Friday, National Day
        ("2022-10-08", True),  # Saturday, make-up
        ("2022-10-09", True),  # Sunday, make-up
        ("2022-10-10", True),
        ("2022-06-11", False),  # ordinary Saturday
        ("2022-06-13", True),  # ordinary Monday
    ],
)
def test_calendar_by_hand(day, working):
    assert CAL.is_working_day(D(day)) is working
    assert chinese_calendar.is_workday(D(day)) is working


def test_calendar_refuses_a_day_both_holiday_and_workday():
    with pytest.raises(ValueError, match="既是节假日又是调休工作日"):
        WorkCalendar(frozenset({D("2022-04-02")}), frozenset({D("2022-04-02")}))


def test_seed_matches_the_published_2022_arrangement():
    holidays, workdays = national_calendar(2022)
    assert D("2022-04-02") in workdays
    assert D("2022-10-03") in holidays
    assert {D("2022-10-08"), D("2022-10-09"), D("2022-04-24"), D("2022-05-07")} <= workdays
    assert D("2022-06-11") not in holidays | workdays  # an ordinary weekend is neither
    seeded = WorkCalendar(frozenset(holidays), frozenset(workdays))
    days = days_of(2022)
    assert [d for d in days if seeded.is_working_day(d) != chinese_calendar.is_workday(d)] == []


@pytest.mark.parametrize("year", [2003, 2027])
def test_seed_refuses_a_year_the_package_does_not_cover(year):
    with pytest.raises(ValueError, match="节假日安排未收录"):
        national_calendar(year)


# --- counting days ---------------------------------------------------------------------


def test_calendar_days_do_not_count_the_start_day():
    assert add_days(D("2022-06-13"), 3, ORDINARY, CAL) == D("2022-06-16")  # Mon -> Thu
    assert add_days(D("2022-06-13"), 7, ORDINARY, CAL) == D("2022-06-20")  # Mon -> Mon


def test_calendar_days_ending_on_a_weekend_roll_to_monday():
    assert add_days(D("2022-06-08"), 3, ORDINARY, CAL) == D("2022-06-13")  # Sat 06-11 -> Mon


def test_working_days_skip_the_weekend():
    assert add_days(D("2022-06-09"), 3, WORKING, CAL) == D("2022-06-14")  # Thu: Fri, Mon, Tue
    assert add_days(D("2022-06-09"), 3, ORDINARY, CAL) == D("2022-06-13")  # calendar: Sun -> Mon


def test_calendar_deadline_on_national_day_rolls_to_first_working_day():
    # 2022-09-26 + 7 = 2022-10-03 (holiday) -> 2022-10-08, a make-up Saturday.
    assert add_days(D("2022-09-26"), 7, ORDINARY, CAL) == D("2022-10-08")
    # 2022-03-31 + 3 = 2022-04-03 (holiday Sunday) -> 04-04, 04-05 holidays -> 2022-04-06.
    assert add_days(D("2022-03-31"), 3, ORDINARY, CAL) == D("2022-04-06")


def test_make_up_saturday_counts_as_a_working_day():
    assert add_days(D("2022-03-30"), 3, ORDINARY, CAL) == D("2022-04-02")  # not rolled
    assert add_days(D("2022-04-01"), 1, WORKING, CAL) == D("2022-04-02")
    assert add_days(D("2022-04-01"), 2, WORKING, CAL) == D("2022-04-06")
    assert add_days(D("2022-09-30"), 2, WORKING, CAL) == D("2022-10-09")  # make-up Sunday
    assert add_days(D("2022-09-30"), 3, WORKING, CAL) == D("2022-10-10")


def test_zero_working_days_is_the_start_rolled_forward():
    assert add_days(D("2022-06-13"), 0, WORKING, CAL) == D("2022-06-13")
    assert add_days(D("2022-10-01"), 0, WORKING, CAL) == D("2022-10-08")


def test_month_end_clamping():
    assert add_months(D("2022-01-31"), 1, EMPTY) == D("2022-02-28")
    assert add_months(D("2024-01-31"), 1, EMPTY) == D("2024-02-29")  # leap year
    assert add_months(D("2022-01-31"), 13, EMPTY) == D("2023-02-28")
    assert add_months(D("2022-01-15"), 1, EMPTY) == D("2022-02-15")


def test_month_end_then_rolled_past_labour_day():
    # 2022-03-31 + 1 month = 04-30 (Saturday, Labour Day holiday to 05-04) -> 05-05.
    assert add_months(D("2022-03-31"), 1, CAL) == D("2022-05-05")


# --- milestones ------------------------------------------------------------------------


def test_ordinary_milestones():
    got = milestones(datetime(2022, 6, 13, 15, 30), ORDINARY, CAL)
    assert got == {
        "acknowledge": due("2022-06-13"),  # the same day, due before midnight
        "first_report": due("2022-06-16"),
        "complete": due("2022-06-20"),
    }


def test_major_matter_completes_within_one_month():
    got = milestones(datetime(2022, 3, 31, 9), MAJOR, CAL)
    assert got["complete"] == due("2022-05-05")
    assert got["first_report"] == due("2022-04-06")


def test_assigned_on_a_rest_day_is_acknowledged_on_the_next_working_day():
    def acknowledge(at: datetime) -> datetime:
        return milestones(at, ORDINARY, CAL)["acknowledge"]

    assert acknowledge(datetime(2022, 6, 11, 14)) == due("2022-06-13")  # Saturday -> Monday
    assert acknowledge(datetime(2022, 10, 2, 9)) == due("2022-10-08")  # holiday -> make-up Sat
    assert acknowledge(datetime(2022, 4, 2, 9)) == due("2022-04-02")  # make-up Sat: same day


def test_working_day_rule_milestones():
    got = milestones(datetime(2022, 9, 29, 10), Rule(complete_days=7, working_days=True), CAL)
    # working days after 09-29: 09-30, 10-08, 10-09, 10-10, 10-11, 10-12, 10-13
    assert got == {
        "acknowledge": due("2022-09-29"),
        "first_report": due("2022-10-09"),
        "complete": due("2022-10-13"),
    }


def test_milestones_keep_the_time_zone():
    tz = timezone(timedelta(hours=8))
    got = milestones(datetime(2022, 6, 13, 15, tzinfo=tz), ORDINARY, CAL)
    assert got["complete"] == datetime(2022, 6, 21, tzinfo=tz)


def test_long_term_items_need_a_manual_deadline():
    with pytest.raises(ValueError, match="长期事项须人工设定办结期限"):
        milestones(datetime(2022, 6, 13, 9), LONG_TERM, CAL)
    got = milestones(datetime(2022, 6, 13, 9), LONG_TERM, CAL, manual_deadline=D("2022-12-31"))
    assert got["complete"] == due("2022-12-31")
    assert got["first_report"] == due("2022-06-16")


def test_manual_deadline_before_assignment_is_refused():
    with pytest.raises(ValueError, match="不得早于交办日期"):
        milestones(datetime(2022, 6, 13, 9), LONG_TERM, CAL, manual_deadline=D("2022-06-12"))


def test_long_term_reports_every_seven_days():
    assert next_report_due(datetime(2022, 6, 13, 10), LONG_TERM, CAL) == due("2022-06-20")
    # 09-26 + 7 = 10-03 (National Day) -> 10-08.
    assert next_report_due(datetime(2022, 9, 26, 10), LONG_TERM, CAL) == due("2022-10-08")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"acknowledge_days": 0},
        {"complete_days": -1},
        {"report_interval_days": 0},
        {"complete_days": 0},  # an ordinary item with no completion period
    ],
)
def test_nonsense_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        Rule(**kwargs)


# --- extensions ------------------------------------------------------------------------


def test_extension_before_the_deadline_to_a_later_day():
    old = due("2022-06-20")
    assert extend(old, D("2022-06-25"), now=old - timedelta(microseconds=1)) == due("2022-06-25")


def test_extension_at_or_after_the_deadline_is_refused():
    old = due("2022-06-20")
    for now in (old, old + timedelta(days=1)):
        with pytest.raises(ValueError, match="延期申请须在期限届满前提出"):
            extend(old, D("2022-06-25"), now=now)


@pytest.mark.parametrize("new_day", ["2022-06-20", "2022-06-19"])
def test_extension_must_move_the_deadline_later(new_day):
    with pytest.raises(ValueError, match="须晚于原期限"):
        extend(due("2022-06-20"), D(new_day), now=datetime(2022, 6, 18))


# --- lights ----------------------------------------------------------------------------

DUE = due("2022-06-20")  # 2022-06-21 00:00
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (DUE - timedelta(hours=24) - SECOND, "green"),
        (DUE - timedelta(hours=24), "yellow"),  # exactly 24 h left is already yellow
        (DUE - timedelta(microseconds=1), "yellow"),
        (DUE, "red"),  # the due instant itself is overdue
        (DUE + timedelta(days=3), "red"),
    ],
)
def test_light_of_an_open_milestone(now, expected):
    assert light(DUE, None, now) == expected


def test_light_of_a_done_milestone():
    later = DUE + timedelta(days=10)
    assert light(DUE, DUE - timedelta(microseconds=1), later) == "done"
    assert light(DUE, DUE, later) == "overdue_done"  # done at the due instant is late
    assert light(DUE, DUE + timedelta(days=2), later) == "overdue_done"


def test_every_light_has_a_chinese_label():
    assert LIGHT_LABELS == {
        "green": "绿灯（正常）",
        "yellow": "黄灯（即将超期）",
        "red": "红灯（已超期）",
        "overdue_done": "超期已完成",
        "done": "按期完成",
    }


ON_TIME = (DUE, DUE - timedelta(hours=1))
LATE = (DUE, DUE + timedelta(hours=1))
OPEN_FAR = (DUE + timedelta(days=5), None)
OPEN_NEAR = (DUE + timedelta(hours=12), None)
OPEN_PAST = (DUE - timedelta(hours=1), None)
NOW = DUE + timedelta(hours=2)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([ON_TIME, OPEN_FAR, OPEN_NEAR, OPEN_PAST, LATE], "red"),
        ([ON_TIME, OPEN_FAR, OPEN_NEAR, LATE], "yellow"),
        ([ON_TIME, OPEN_FAR, LATE], "overdue_done"),
        ([ON_TIME, OPEN_FAR], "green"),
        ([ON_TIME, ON_TIME], "done"),
    ],
)
def test_item_light_is_the_worst_milestone(parts, expected):
    assert item_light(parts, NOW) == expected


def test_item_light_needs_milestones():
    with pytest.raises(ValueError):
        item_light([], NOW)


# --- days late -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done_at", "now", "expected"),
    [
        (DUE - SECOND, DUE + timedelta(days=9), 0),  # on time, however late we look
        (DUE, DUE, 0),
        (DUE + SECOND, DUE + timedelta(days=9), 1),  # part of a day counts as a day
        (DUE + timedelta(days=1), DUE + timedelta(days=9), 1),
        (DUE + timedelta(days=1, seconds=1), DUE + timedelta(days=9), 2),
        (None, DUE - timedelta(days=1), 0),  # open, not yet due
        (None, DUE + timedelta(days=3), 3),  # open and overdue: counted up to now
    ],
)
def test_days_late(done_at, now, expected):
    assert days_late(DUE, done_at, now) == expected


# --- properties ------------------------------------------------------------------------

starts = st.dates(min_value=date(2022, 1, 1), max_value=date(2022, 12, 31))


@given(start=starts, n=st.integers(min_value=0, max_value=60), working=st.booleans())
def test_deadlines_always_land_on_a_working_day(start, n, working):
    rule = Rule(working_days=working)
    assert CAL.is_working_day(add_days(start, n, rule, CAL))


@given(start=starts, a=st.integers(0, 60), b=st.integers(0, 60), working=st.booleans())
def test_add_days_is_monotone_in_n(start, a, b, working):
    rule = Rule(working_days=working)
    low, high = sorted((a, b))
    assert add_days(start, low, rule, CAL) <= add_days(start, high, rule, CAL)
