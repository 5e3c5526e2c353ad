"""Pure rules of the party register: full years, band cutoffs, a member's consistency.

Full years between two dates (age at a date, 党龄 from 转正时间): year difference, less one if
the later date's month and day come before the earlier's. In SQL the bands compare the date
column with cutoff dates: "at least N full years at as_of" is "on or before as_of moved back N
years" (29 February moved to a year without it becomes 28 February), which is the same rule,
portable across SQLite and PostgreSQL and readable from an index.
"""

from __future__ import annotations

import datetime as dt

from app.party.models import MEMBER_EDUCATIONS, MEMBER_GENDERS, MEMBER_STATUSES

AGE_BANDS = ("≤30", "31–40", "41–50", "51–60", "≥61")
AGE_LOWER = (31, 41, 51, 61)  # the first age of each band after the first
PARTY_AGE_BANDS = ("<5", "5–10", "11–20", "21–30", ">30")
PARTY_AGE_LOWER = (5, 11, 21, 31)
FLOWING = ("是", "否")
MIN_JOIN_AGE = 18


def full_years(start: dt.date, end: dt.date) -> int:
    """Full years from `start` to `end` (negative when `end` is earlier)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def years_back(day: dt.date, years: int) -> dt.date:
    """`day` moved back `years` years; 29 February into a common year becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def band(years: int, lower: tuple[int, ...], names: tuple[str, ...]) -> str:
    """The band `years` falls in: names[i] for lower[i-1] <= years < lower[i]."""
    index = sum(1 for bound in lower if years >= bound)
    return names[index]


def age_band(birth: dt.date, as_of: dt.date) -> str:
    return band(full_years(birth, as_of), AGE_LOWER, AGE_BANDS)


def formal_at(status: str, confirmed_at: dt.date | None, as_of: dt.date) -> bool:
    """Whether a member was a 正式党员 at `as_of`: 转正 on or before it (a later 转正 makes them
    预备 then; member_errors gives every 正式党员 a 转正时间 and no 预备党员 one)."""
    return status == "正式党员" and confirmed_at is not None and confirmed_at <= as_of


def party_age_band(status: str, confirmed_at: dt.date | None, as_of: dt.date) -> str:
    """党龄 band at `as_of`: full years from 转正时间; a 预备党员 (then) counts in "<5"."""
    if not formal_at(status, confirmed_at, as_of):
        return PARTY_AGE_BANDS[0]
    return band(full_years(confirmed_at, as_of), PARTY_AGE_LOWER, PARTY_AGE_BANDS)


def member_errors(*, gender, birth_date, education, joined_at, confirmed_at, status, today: dt.date) -> list[str]:
    """Why a member's fields do not hold together (Chinese, one reason a line); [] if they do."""
    errors = []
    if gender not in MEMBER_GENDERS:
        errors.append(f"性别“{gender or ''}”无效，应为“男”或“女”")
    if education not in MEMBER_EDUCATIONS:
        errors.append(f"学历“{education or ''}”无效，应为{'、'.join(MEMBER_EDUCATIONS)}之一")
    if status not in MEMBER_STATUSES:
        errors.append(f"党员类别“{status or ''}”无效，应为“正式党员”或“预备党员”")
    if birth_date is not None and birth_date > today:
        errors.append("出生日期晚于今天")
    if joined_at is not None and joined_at > today:
        errors.append("入党时间晚于今天")
    if birth_date is not None and joined_at is not None and full_years(birth_date, joined_at) < MIN_JOIN_AGE:
        errors.append(f"入党时间早于年满 {MIN_JOIN_AGE} 周岁")
    if confirmed_at is not None:
        if confirmed_at > today:
            errors.append("转正时间晚于今天")
        if joined_at is not None and confirmed_at < joined_at:
            errors.append("转正时间早于入党时间")
        if status == "预备党员":
            errors.append("预备党员不应填写转正时间")
    elif status == "正式党员":
        errors.append("正式党员须填写转正时间")
    return errors
