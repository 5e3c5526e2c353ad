"""The pure appeal rules (PLATFORM.md §2) with plain values: deadlines over holidays and 调休,
lights, legal actions, resolved levels, the figures' formulas and the evaluation indicator."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.appeals import rules
from app.appeals.rules import HOURS, WORKING_DAYS, Limit, TimeLimits
from app.supervision.deadlines import WorkCalendar

# 2026 National Day as a test calendar: 1–7 October off, Saturday 10 October worked (调休).
NATIONAL_DAY = WorkCalendar(
    holidays={date(2026, 10, d) for d in range(1, 8)},
    workdays={date(2026, 10, 10)},
)
PLAIN = WorkCalendar()
NORMAL = rules.DEFAULT_LIMITS["一般"]
URGENT = rules.DEFAULT_LIMITS["紧急"]
COMPLEX = rules.DEFAULT_LIMITS["复杂"]


def end(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59)


# ---------------------------------------------------------------- time limits

def test_default_limits_are_those_of_the_platform():
    assert (str(URGENT.sign), str(URGENT.reply)) == ("2 小时", "24 小时")
    assert (str(NORMAL.sign), str(NORMAL.reply)) == ("1 个工作日", "7 个工作日")
    assert (str(COMPLEX.sign), str(COMPLEX.reply)) == ("1 个工作日", "15 个工作日")


@pytest.mark.parametrize("assigned, expected", [
    (datetime(2026, 11, 2, 9, 0), date(2026, 11, 3)),     # Monday → Tuesday
    (datetime(2026, 11, 2, 0, 0), date(2026, 11, 3)),     # the event's own day never counts
    (datetime(2026, 11, 6, 16, 0), date(2026, 11, 9)),    # Friday → Monday
    (datetime(2026, 11, 7, 10, 0), date(2026, 11, 9)),    # Saturday → Monday
    (datetime(2026, 11, 8, 23, 59), date(2026, 11, 9)),   # Sunday late → Monday
])
def test_one_working_day_ends_at_the_last_second_of_the_next_working_day(assigned, expected):
    assert rules.sign_deadline(assigned, NORMAL, PLAIN) == end(expected)


def test_working_days_skip_holidays_and_count_make_up_saturdays():
    # Wednesday 30 September: 8 Thu (1), 9 Fri (2), Sat 10 调休 (3), 12 (4), 13 (5), 14 (6), 15 (7).
    assert rules.reply_deadline(datetime(2026, 9, 30, 15, 0), NORMAL, NATIONAL_DAY) == end(date(2026, 10, 15))
    # Without the 调休 Saturday it would be one working day later.
    no_make_up = WorkCalendar(holidays=NATIONAL_DAY.holidays)
    assert rules.reply_deadline(datetime(2026, 9, 30, 15, 0), NORMAL, no_make_up) == end(date(2026, 10, 16))
    # Received on a holiday: the first working day after it is 8 October.
    assert rules.sign_deadline(datetime(2026, 10, 3, 10, 0), NORMAL, NATIONAL_DAY) == end(date(2026, 10, 8))
    # Received on Friday 9 October: the next working day is the 调休 Saturday.
    assert rules.sign_deadline(datetime(2026, 10, 9, 17, 0), NORMAL, NATIONAL_DAY) == end(date(2026, 10, 10))
    # On the 调休 Saturday itself: the Monday after.
    assert rules.sign_deadline(datetime(2026, 10, 10, 9, 0), NORMAL, NATIONAL_DAY) == end(date(2026, 10, 12))


def test_fifteen_working_days_across_the_holiday():
    # From Monday 28 September: 29, 30 (2), 8, 9, 10 (5), 12–16 (10), 19–23 (15).
    assert rules.reply_deadline(datetime(2026, 9, 28, 8, 0), COMPLEX, NATIONAL_DAY) == end(date(2026, 10, 23))


def test_hours_are_calendar_hours_even_over_holidays_and_nights():
    received = datetime(2026, 10, 1, 22, 30)  # a holiday, late evening
    assert rules.sign_deadline(received, URGENT, NATIONAL_DAY) == datetime(2026, 10, 2, 0, 30)
    assert rules.reply_deadline(received, URGENT, NATIONAL_DAY) == datetime(2026, 10, 2, 22, 30)


def test_limits_are_checked():
    with pytest.raises(ValueError):
        Limit(0, HOURS)
    with pytest.raises(ValueError):
        Limit(1, "days")
    custom = TimeLimits(Limit(3, HOURS), Limit(2, WORKING_DAYS))
    assert rules.sign_deadline(datetime(2026, 11, 6, 22, 0), custom, PLAIN) == datetime(2026, 11, 7, 1, 0)
    assert rules.reply_deadline(datetime(2026, 11, 6, 22, 0), custom, PLAIN) == end(date(2026, 11, 10))
    with pytest.raises(ValueError):
        rules.nth_working_day_after(date(2026, 11, 2), 0, PLAIN)


def test_on_time_includes_the_last_second():
    deadline = end(date(2026, 11, 3))
    assert rules.on_time(deadline, deadline)
    assert not rules.on_time(deadline, deadline + timedelta(seconds=1))


# ---------------------------------------------------------------- lights

def test_lights_follow_supervision():
    deadline = end(date(2026, 11, 3))
    assert rules.light(deadline, None, deadline - timedelta(hours=30)) == rules.GREEN
    assert rules.light(deadline, None, deadline - timedelta(hours=23)) == rules.YELLOW
    assert rules.light(deadline, None, deadline) == rules.YELLOW  # the last second is still on time
    assert rules.light(deadline, None, deadline + timedelta(seconds=1)) == rules.RED
    assert rules.light(deadline, deadline, deadline + timedelta(days=3)) == rules.DONE
    assert rules.light(deadline, deadline + timedelta(seconds=1), deadline + timedelta(days=3)) == rules.OVERDUE_DONE
    assert rules.light(None, None, deadline) is None


# ---------------------------------------------------------------- actions

@pytest.mark.parametrize("action, state, kinds, allowed", [
    ("dispatch", rules.TO_DISPATCH, {rules.DISPATCHER}, True),
    ("dispatch", rules.TO_SIGN, {rules.DISPATCHER}, False),
    ("dispatch", rules.TO_DISPATCH, {rules.UNIT}, False),
    ("escalate", rules.HANDLING, {rules.GRID}, True),
    ("escalate", rules.TO_REVIEW, {rules.GRID}, False),
    ("whistle_to_department", rules.HANDLING, {rules.UNIT}, True),
    ("whistle_to_department", rules.HANDLING, {rules.DISPATCHER}, False),
    ("whistle_to_leader", rules.TO_SIGN, {rules.UNIT}, False),
    ("leader_assign", rules.TO_DISPATCH, {rules.LEADER}, True),
    ("leader_assign", rules.TO_DISPATCH, {rules.DISPATCHER}, False),
    ("reply", rules.HANDLING, {rules.UNIT}, True),
    ("reply", rules.TO_SIGN, {rules.UNIT}, False),
    ("review", rules.TO_REVIEW, {rules.REVIEWER}, True),
    ("review", rules.TO_REVIEW, {rules.UNIT}, False),
    ("callback", rules.TO_CALLBACK, {rules.REVIEWER}, True),
    ("callback", rules.CLOSED, {rules.REVIEWER}, False),
    ("merge", rules.HANDLING, {rules.DISPATCHER}, True),
    ("merge", rules.CLOSED, {rules.DISPATCHER}, False),
    ("merge", rules.MERGED, {rules.SYSTEM}, False),
    ("to_supervision", rules.HANDLING, {rules.SUPERVISOR}, True),
    ("to_supervision", rules.CLOSED, {rules.SUPERVISOR}, False),
    ("to_supervision", rules.HANDLING, {rules.DISPATCHER}, False),
    ("reply", rules.HANDLING, {rules.SYSTEM}, True),
])
def test_which_action_is_legal_from_which_state_for_whom(action, state, kinds, allowed):
    message = rules.action_error(action, state, kinds)
    assert (message is None) is allowed
    if not allowed:
        assert "不能" in message or "无权" in message


def test_refusals_name_the_state_in_chinese():
    assert rules.action_error("reply", rules.TO_SIGN, {rules.UNIT}) == "诉求当前状态为“待签收”，不能答复"
    assert rules.action_error("review", rules.TO_REVIEW, {rules.GRID}) == "您无权对该诉求审核答复"


# ---------------------------------------------------------------- levels

@pytest.mark.parametrize("kind, parent, level", [
    ("grid", "village", "网格"), ("village", "township", "村社区"), ("township", "county", "乡镇街道"),
    ("department", "county", "县区部门"), ("department", "city", "市直部门"), ("county", "city", None),
])
def test_resolved_level_from_the_unit_kind(kind, parent, level):
    assert rules.resolved_level(kind, parent) == level


# ---------------------------------------------------------------- figures and the indicator

def test_rates_of_counts():
    assert rules.sign_rate(3, 4) == 0.75
    assert rules.reply_rate(0, 5) == 0.0
    assert rules.satisfaction_rate(2, 1, 4) == 0.75
    assert rules.reopen_rate(1, 4) == 0.25
    assert rules.sign_rate(0, 0) is None and rules.satisfaction_rate(0, 0, 0) is None
    assert rules.shares({"网格": 3, "村社区": 1}) == {"网格": 0.75, "村社区": 0.25}
    assert rules.shares({"网格": 0}) == {"网格": None}


def test_indicator_hand_computed():
    # 100·(0.3·0.8 + 0.4·0.5 + 0.3·0.9) − 2·3 = 100·0.71 − 6 = 65
    assert rules.indicator(0.8, 0.5, 0.9, 3) == pytest.approx(65.0)
    assert rules.indicator(1.0, 1.0, 1.0, 0) == pytest.approx(100.0)
    assert rules.indicator(0.2, 0.1, 0.0, 10) == 0.0  # 10 − 20 clamped to 0
    assert rules.indicator(1.0, 1.0, 1.0, 0, weights=(0.5, 0.5, 0.5)) == 100.0  # clamped at 100 via renormalizing


def test_indicator_weights_and_penalty_are_parameters():
    # 100·(0.5·0.6 + 0.5·1.0 + 0·x) − 1·4 = 80 − 4 = 76
    assert rules.indicator(0.6, 1.0, 0.3, 4, weights=(0.5, 0.5, 0.0), penalty=1.0) == pytest.approx(76.0)
    with pytest.raises(ValueError):
        rules.indicator(0.5, 0.5, 0.5, 0, weights=(-0.1, 0.6, 0.5))


def test_indicator_leaves_out_what_was_not_counted():
    # no call-back yet: 100·(0.3·1 + 0.4·0.5)/0.7 = 71.43
    assert rules.indicator(1.0, 0.5, None, 0) == pytest.approx(100 * 0.5 / 0.7)
    assert rules.indicator(None, None, None, 0) is None
